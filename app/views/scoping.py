"""Filters that tie a screen to the logged-in officer ("my requests", "my permissions")."""
from flask import g
from flask_appbuilder.models.filters import BaseFilter
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.formatting import local_today
from app.models import Officer
from app.security.scope import Actor
from app.services.delegations import actor_on


def current_officer_id() -> int | None:
    if not current_user or not current_user.is_authenticated:
        return None
    return db.session.scalar(select(Officer.id).where(Officer.user_id == current_user.id))


def current_actor() -> Actor:
    """The logged-in user as the services see them, built once per request."""
    actor = g.get("_sitthi_actor")
    if actor is None or actor.user_id != current_user.id:
        opened = g.get("_sitthi_opened")  # the session user's officer and principals, if read
        actor = actor_on(db.session, current_user, local_today(),
                         opened[1:] if opened and opened[0] == current_user.id else None)
        g._sitthi_actor = actor
    return actor


class OwnedByCurrentOfficer(BaseFilter):
    """Rows whose `column_name` is the current user's officer; nothing for a user without one."""

    def apply(self, query, value):
        officer_id = current_officer_id()
        column = getattr(self.model, self.column_name)
        if officer_id is None:
            return query.filter(column.is_(None), column.isnot(None))
        return query.filter(column == officer_id)
