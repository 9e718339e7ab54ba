"""The one place that decides which units a user may see and act on.

A command (บก./ภ.จว.) is the nearest unit at or above a unit that is flagged `is_admin_scope`;
its technology staff administer everything below it. The user a service acts for is an `Actor`
built once per request from the login, so rules never reach into Flask themselves.
"""
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Officer, Unit

CENTRAL_IT, COMMAND_TECH, PERSONNEL, AUDITOR, ADMIN = (
    "CentralIT", "CommandTech", "Personnel", "Auditor", "Admin",
)


@dataclass(frozen=True)
class Actor:
    """Who is acting: the login, their officer record, their roles and their command."""

    user_id: int
    officer_id: int | None = None
    roles: frozenset[str] = frozenset()
    command_id: int | None = None
    email: str | None = None

    def has_role(self, role: str) -> bool:
        return role in self.roles


def command_of(session: Session, unit_id: int | None) -> int | None:
    """The administering command of a unit: itself or its nearest `is_admin_scope` ancestor."""
    seen = set()
    while unit_id is not None and unit_id not in seen:
        seen.add(unit_id)
        row = session.execute(
            select(Unit.is_admin_scope, Unit.parent_id).where(Unit.id == unit_id)
        ).one_or_none()
        if row is None:
            return None
        if row.is_admin_scope:
            return unit_id
        unit_id = row.parent_id
    return None


def units_under(session: Session, root_id: int) -> select:
    """A selectable of the ids of a unit and everything below it (recursive, any depth)."""
    tree = select(Unit.id).where(Unit.id == root_id).cte("subtree", recursive=True)
    tree = tree.union_all(select(Unit.id).where(Unit.parent_id == tree.c.id))
    return select(tree.c.id)


def working_unit_id(officer: Officer) -> int:
    """Where an officer works now: the acting unit while a temporary assignment lasts."""
    return officer.acting_unit_id or officer.home_unit_id


def actor_for(session: Session, user) -> Actor:
    """The Actor for a FAB user (any object with id, email and roles)."""
    officer = session.scalar(select(Officer).where(Officer.user_id == user.id))
    command_id = command_of(session, working_unit_id(officer)) if officer else None
    return Actor(
        user_id=user.id,
        officer_id=officer.id if officer else None,
        roles=frozenset(role.name for role in user.roles),
        command_id=command_id,
        email=getattr(user, "email", None),
    )
