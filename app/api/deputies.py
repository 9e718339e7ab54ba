"""Deputies through the API: a head (or a Central IT user) names who decides in their place while away.

The same service as the My deputies screen (app.services.delegations): one names deputies for
oneself only (Admin for anyone, by `principal_user_id`), and cancels only one's own delegations.
"""
from flask_appbuilder.api import expose
from flask_appbuilder.security.decorators import protect
from marshmallow import Schema, fields
from sqlalchemy import select

from app import labels
from app.api.base import (
    RefSchema,
    SitthiApi,
    api_actor,
    id_field,
    json_body,
    known_id,
    operation,
    page_args,
    page_of,
    page_schema,
    person,
    text_field,
)
from app.api.contract import SaneDate, UtcDateTime
from app.extensions import db
from app.formatting import local_today
from app.models import Delegation, User
from app.security.scope import ADMIN
from app.services import delegations as service


class NameDeputySchema(Schema):
    deputy_user_id = id_field(required=True, metadata={"description": "The deputy's login (an officer in service)."})
    starts_on = SaneDate(required=True, metadata={"description": "Today or later."})
    ends_on = SaneDate(required=True, metadata={"description": f"At most {service.MAX_DAYS} days after the first day."})
    reason = text_field(service.REASON_LIMIT, load_default="")
    principal_user_id = id_field(allow_none=True, load_default=None, metadata={
        "description": "Admin only: whose deputy this is (empty: yourself)."})


class DelegationSchema(Schema):
    id = fields.Integer()
    principal = fields.Nested(RefSchema)
    deputy = fields.Nested(RefSchema)
    starts_on = SaneDate()
    ends_on = SaneDate()
    reason = fields.String(allow_none=True)
    state = fields.String(metadata={"enum": list(labels.DELEGATION_STATE)})
    state_label = fields.String()
    created_at = UtcDateTime()


class CancelledSchema(Schema):
    id = fields.Integer()
    removed = fields.Boolean(metadata={"description": "true: it had not started, and is gone; false: it "
                                                     "ended yesterday (see `delegation`)"})
    delegation = fields.Nested(DelegationSchema, allow_none=True)


DelegationPageSchema = page_schema(DelegationSchema, "DelegationPageSchema")


def _delegation(delegation: Delegation) -> dict:
    state = service.state_of(delegation, local_today())
    return {
        "id": delegation.id, "principal": person(db.session.get(User, delegation.principal_user_id)),
        "deputy": person(db.session.get(User, delegation.deputy_user_id)), "starts_on": delegation.starts_on,
        "ends_on": delegation.ends_on, "reason": delegation.reason, "state": state,
        "state_label": labels.label_of(labels.DELEGATION_STATE, state), "created_at": delegation.created_at,
    }


class DeputiesApi(SitthiApi):
    resource_name = "deputies"
    class_permission_name = "MyDeputy"
    openapi_spec_tag = "Deputies"
    field_names = {"deputy": "deputy_user_id", "principal": "principal_user_id"}

    @expose("/", methods=["GET"])
    @protect()
    @operation("My deputies", paged=True, response=DelegationPageSchema, answer="A page of delegations",
               refusals={400: "Bad paging arguments"},
               description="The delegations I made, latest first (Admin: everyone's).")
    def my_deputies(self):
        actor = api_actor()
        query = select(Delegation).order_by(Delegation.starts_on.desc(), Delegation.id.desc())
        if not actor.has_role(ADMIN):
            query = query.where(Delegation.principal_user_id == actor.user_id)
        return self.response(200, **DelegationPageSchema().dump(page_of(query, page_args(), _delegation)))

    @expose("/", methods=["POST"])
    @protect()
    @operation("Name a deputy", body=NameDeputySchema, response=DelegationSchema, status=201,
               answer="The delegation", services=[service.name_deputy], refusals={
                   400: "Input refused: days in the past, too long, overlapping another delegation, a "
                        "deputy who may not stand in (nothing saved)",
                   403: "Not one who may name a deputy, or for someone else (only Admin may)",
                   404: "No such user"},
               description="The deputy certifies, returns or rejects the requests that name you as head, "
                           "in your place and recorded as for you, from the first to the last day.")
    def name(self):
        args = NameDeputySchema().load(json_body())
        delegation = service.name_deputy(db.session, api_actor(), args["deputy_user_id"], args["starts_on"],
                                         args["ends_on"], args["reason"], local_today(),
                                         principal_user_id=args["principal_user_id"])
        db.session.commit()
        return self.response(201, **DelegationSchema().dump(_delegation(delegation)))

    @expose("/<int:pk>/cancel", methods=["POST"])
    @protect()
    @operation("Cancel a delegation", response=CancelledSchema, answer="What is left of the delegation",
               services=[service.cancel_delegation],
               refusals={400: "It has already ended", 403: None,
                         404: "No such delegation, or not one you may change"},
               description="The deputy loses your authority at once: one that has not started is removed, "
                           "one that ran on earlier days ends yesterday.")
    def cancel(self, pk: int):
        left = service.cancel_delegation(db.session, api_actor(), known_id(pk, service.MSG_NOT_FOUND), local_today())
        db.session.commit()
        return self.response(200, **CancelledSchema().dump(
            {"id": pk, "removed": left is None, "delegation": None if left is None else _delegation(left)}))
