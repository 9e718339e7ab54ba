"""Deactivation notices through the API: agencies asked to close the account of a right that ended.

Read in the reader's row scope (Central IT and auditors, as on the screen); the Central IT Center
records each agency's confirmation through app.services.deactivation, as the screen's form does.
"""
from flask_appbuilder.api import expose
from flask_appbuilder.security.decorators import protect
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from app import labels
from app.api.base import (
    RefSchema,
    SitthiApi,
    api_actor,
    json_body,
    known_id,
    operation,
    page_args,
    page_of,
    page_schema,
    ref,
)
from app.api.contract import SaneDate, UtcDateTime
from app.errors import N_, NotFound
from app.extensions import db
from app.formatting import local_today, office_clock
from app.models import DeactivationNotice
from app.security.scope import is_visible, scoped
from app.services import deactivation as service

MSG_NOT_FOUND = N_("No such deactivation notice, or not one you may see.")


class ConfirmSchema(Schema):
    agency_reference = fields.String(required=True, validate=validate.Length(min=1, max=100), metadata={
        "description": "The agency's reference for the deactivation."})
    deactivated_on = SaneDate(allow_none=True, load_default=None, metadata={"description": "Default: today."})


class NoticeSchema(Schema):
    id = fields.Integer()
    grant_id = fields.Integer()
    officer = fields.Nested(RefSchema)
    agency = fields.Nested(RefSchema)
    state = fields.String(metadata={"enum": list(labels.NOTICE_STATE)})
    state_label = fields.String()
    reason = fields.String()
    created_at = UtcDateTime()
    agency_reference = fields.String(allow_none=True)
    deactivated_on = SaneDate(allow_none=True)
    confirmed_at = UtcDateTime(allow_none=True)


NoticePageSchema = page_schema(NoticeSchema, "NoticePageSchema")


def _notice(notice: DeactivationNotice) -> dict:
    return {
        "id": notice.id, "grant_id": notice.grant_id, "officer": ref(notice.grant.officer, str(notice.grant.officer)),
        "agency": ref(notice.agency), "state": notice.state,
        "state_label": labels.label_of(labels.NOTICE_STATE, notice.state), "reason": notice.reason,
        "created_at": notice.created_at, "agency_reference": notice.agency_reference,
        "deactivated_on": notice.deactivated_on, "confirmed_at": notice.confirmed_at,
    }


class DeactivationNoticesApi(SitthiApi):
    resource_name = "deactivation-notices"
    class_permission_name = "DeactivationNotice"
    openapi_spec_tag = "Deactivation notices"

    @expose("/", methods=["GET"])
    @protect()
    @operation("Deactivation notices", paged=True, response=NoticePageSchema, answer="A page of notices",
               refusals={400: "Bad paging arguments"}, description="Pending notices first, newest first.")
    def notices(self):
        query = scoped(db.session, api_actor(), select(DeactivationNotice), DeactivationNotice).order_by(
            DeactivationNotice.state.desc(), DeactivationNotice.created_at.desc(), DeactivationNotice.id.desc())
        return self.response(200, **NoticePageSchema().dump(page_of(query, page_args(), _notice)))

    @expose("/<int:pk>/confirm", methods=["POST"])
    @protect()
    @operation("Record the agency's confirmation (Central IT)", body=ConfirmSchema, response=NoticeSchema,
               answer="The confirmed notice", services=[service.confirm], refusals={
                   400: "Input refused, a date in the future, or already confirmed (nothing saved)",
                   403: "Only the Central IT Center records it", 404: MSG_NOT_FOUND})
    def confirm(self, pk: int):
        args = ConfirmSchema().load(json_body())
        actor = api_actor()
        if not is_visible(db.session, actor, DeactivationNotice, known_id(pk, MSG_NOT_FOUND)):
            raise NotFound(MSG_NOT_FOUND)
        notice = service.confirm(db.session, actor, pk, args["agency_reference"], args["deactivated_on"],
                                 local_today(), office_clock().now)
        db.session.commit()
        return self.response(200, **NoticeSchema().dump(_notice(notice)))
