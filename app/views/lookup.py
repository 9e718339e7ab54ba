"""`/lookup/<kind>?q=`: the search behind every AJAX select, 20 rows at a time."""
from flask import abort, jsonify, request
from flask_appbuilder import BaseView, expose
from flask_login import current_user
from sqlalchemy import false, or_, select

from app.domain.inputs import as_id
from app.extensions import db
from app.models import AccessRequest, Grant, Officer, Unit, User
from app.models.collation import thai
from app.models.loading import its_text
from app.security.rate_limits import search_endpoint
from app.security.scope import scoped
from app.services import officer_search
from app.views.scoping import current_actor

PAGE = 20


def _officers(term: str):
    query = officer_search.search_officers(select(Officer), term)
    return query.order_by(*officer_search.name_order(term))


def _units(term: str):
    query = select(Unit).order_by(thai(Unit.name_th))
    if term:
        query = query.where(
            or_(
                Unit.name_th.contains(term),
                Unit.abbr_th.contains(term),
                Unit.code.startswith(term),
                Unit.name_en.ilike("%" + term + "%"),
            )
        )
    return query


def _users(term: str):
    query = select(User).order_by(User.username)
    if term:
        query = query.where(or_(User.username.startswith(term), User.email.startswith(term)))
    return query


def _requests(term: str):
    query = select(AccessRequest).order_by(AccessRequest.id.desc())
    if term:
        query = query.where(AccessRequest.number.startswith(term))
    return query


def _grants(term: str):
    query = select(Grant).order_by(Grant.id.desc())
    if term.isdigit():
        grant_id = as_id(term)  # one no grant can have finds none; the database would refuse it
        query = query.where(Grant.id == grant_id if grant_id is not None else false())
    return query


# kind -> (query builder, the FAB resource whose read permission the caller needs)
LOOKUPS = {
    "officer": (_officers, "Officer"),
    "unit": (_units, "Unit"),
    "user": (_users, "UserDBModelView"),
    "request": (_requests, "AccessRequest"),
    "grant": (_grants, "Grant"),
}


class LookupView(BaseView):
    route_base = "/lookup"
    default_view = "lookup"

    @expose("/<kind>")
    @search_endpoint
    def lookup(self, kind: str):
        if kind not in LOOKUPS:
            abort(404)
        build, resource = LOOKUPS[kind]
        if not current_user.is_authenticated:
            abort(401)
        permission = "can_list" if resource == "UserDBModelView" else "can_read"
        if not self.appbuilder.sm.has_access(permission, resource):
            abort(403)
        term = (request.args.get("q") or "").strip()[:100]
        query = build(term)
        model = query.column_descriptions[0]["entity"]
        # A picker offers only the rows its user may see: the same scope as the lists.
        if model is not User:
            query = scoped(db.session, current_actor(), query, model)
        rows = db.session.scalars(query.limit(PAGE).options(*its_text(model))).all()
        return jsonify(results=[{"id": row.id, "text": str(row)} for row in rows])
