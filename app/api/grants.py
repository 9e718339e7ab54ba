"""Permissions (grants) through the API: read them in your scope; the command's technology staff change them.

The commands are CommandTech's, as on the Permissions screens: assign a function, suspend, revoke,
extend, reinstate, record the duty order. Each calls the same function of app.services.grants as
the screen, which loads the grant through the row scope and allows only the staff of the officer's
own command: a grant of another command is not found (404), one's own grants are refused (403).
"""
from flask_appbuilder.api import expose
from flask_appbuilder.security.decorators import protect
from marshmallow import Schema, fields

from app import labels
from app.api.base import (
    CodedRefSchema,
    RankGroupSchema,
    RefSchema,
    SitthiApi,
    api_actor,
    coded,
    id_field,
    json_body,
    known_id,
    operation,
    ref,
    text_field,
    version_field,
)
from app.api.contract import SaneDate, UtcDateTime
from app.api.requests import AnswerSchema, DataFieldSchema, answers, data_fields
from app.api.scoped import ScopedApi, datamodel, unit_columns
from app.errors import N_, NotFound
from app.extensions import db
from app.formatting import localized, office_clock
from app.models import Grant
from app.security.scope import is_visible
from app.services import grants as service


class GrantsApi(ScopedApi):
    """Rights officers hold, in the reader's scope. Read-only: CommandTech's commands change them."""

    resource_name = "grants"
    class_permission_name = "Grant"
    openapi_spec_tag = "Grants"
    datamodel = datamodel(Grant)
    list_columns = [
        "id", "officer.id", "officer.first_name_th", "officer.last_name_th",
        "data_source.id", "data_source.code", "data_source.name_th",
        "function.id", "function.code", "function.name_th", "rank_group.id", "rank_group.number",
        "state", "valid_from", "valid_until", *unit_columns("command"),
    ]
    show_columns = [
        *list_columns, "request.id", "request.number", "agency_reference", "activated_on",
        "granted_by.id", "granted_by.username", "revoked_at", "reason", "created_at", "updated_at",
        "version",
    ]
    search_columns = ["officer", "data_source", "function", "state", "valid_from", "valid_until", "command"]
    order_columns = ["id", "state", "valid_from", "valid_until"]
    base_order = ("id", "asc")


# -- the commands' bodies and answer -------------------------------------------------------------
class ReasonSchema(Schema):
    reason = text_field(service.REASON_LIMIT, required=True, metadata={
        "description": "Why: told to the officer and kept with the permission."})
    version = version_field()


class ExtendSchema(Schema):
    valid_until = SaneDate(required=True, metadata={
        "description": f"Later than the current end, at most {service.MAX_VALIDITY_MONTHS} months from today."})
    version = version_field()


class VersionSchema(Schema):
    version = version_field()


class AssignSchema(Schema):
    officer_id = id_field(required=True, metadata={"description": "An active officer of your command."})
    function_id = id_field(required=True, metadata={"description": "A function your command may assign."})
    valid_until = SaneDate(allow_none=True, load_default=None, metadata={
        "description": "Empty: the function's default validity."})
    duty_order_id = id_field(allow_none=True, load_default=None, metadata={
        "description": "The duty order (คำสั่ง) of your command behind the function."})


class DutyOrderSchema(Schema):
    duty_order_id = id_field(required=True, metadata={"description": "A duty order of your command."})


class GrantResultSchema(Schema):
    id = fields.Integer()
    officer = fields.Nested(RefSchema)
    function = fields.Nested(CodedRefSchema, allow_none=True)
    source = fields.Nested(CodedRefSchema, allow_none=True)
    rank_group = fields.Nested(RankGroupSchema, allow_none=True)
    state = fields.String(metadata={"enum": list(labels.GRANT_STATE)})
    state_label = fields.String()
    valid_from = SaneDate()
    valid_until = SaneDate(allow_none=True)
    reason = fields.String(allow_none=True)
    command = fields.Nested(RefSchema, allow_none=True)
    duty_order_id = fields.Integer(allow_none=True)
    revoked_at = UtcDateTime(allow_none=True)
    version = fields.Integer(metadata={"description": "Send it back with the next change."})


MSG_NO_GRANT = N_("No such permission, or not one you may see.")


class JustificationSchema(Schema):
    id = fields.Integer()
    source = fields.Nested(CodedRefSchema, allow_none=True)
    request_id = fields.Integer(allow_none=True)
    answers = fields.List(fields.Nested(AnswerSchema), metadata={
        "description": "The justification the officer gave, with the questions' words as asked."})
    # Last: the name shadows marshmallow's `fields` in the class body.
    fields = fields.List(fields.Nested(DataFieldSchema), metadata={"description": "The data fields it gives."})


class GrantJustificationApi(SitthiApi):
    """What a search permission gives and why (Linkage Center rules), for whoever reads the grant."""

    resource_name = "grants"
    class_permission_name = "Grant"
    openapi_spec_tag = "Grants"

    @expose("/<int:pk>/justification", methods=["GET"])
    @protect()
    @operation("The data fields and justification of a permission", response=JustificationSchema,
               answer="Its fields and answers (empty for a function, or a grant made by hand)",
               refusals={404: "No such permission, or not one you may see"})
    def justification(self, pk: int):
        actor = api_actor()
        grant = db.session.get(Grant, known_id(pk, MSG_NO_GRANT))
        if grant is None or not is_visible(db.session, actor, Grant, grant.id):
            raise NotFound(MSG_NO_GRANT)
        item = grant.request_item
        return self.response(200, **JustificationSchema().dump({
            "id": grant.id, "source": coded(grant.data_source), "request_id": grant.request_id,
            "fields": data_fields(item), "answers": answers(item)}))


def grant_result(grant: Grant) -> dict:
    group = grant.rank_group
    return GrantResultSchema().dump({
        "id": grant.id, "officer": ref(grant.officer, str(grant.officer)), "function": coded(grant.function),
        "source": coded(grant.data_source),
        "rank_group": None if group is None else {"id": group.id, "number": group.number, "name": localized(group)},
        "state": grant.state, "state_label": labels.label_of(labels.GRANT_STATE, grant.state),
        "valid_from": grant.valid_from, "valid_until": grant.valid_until, "reason": grant.reason,
        "command": ref(grant.command), "duty_order_id": grant.duty_order_id, "revoked_at": grant.revoked_at,
        "version": grant.version,
    })


CHANGE_REFUSALS = {
    400: "Input refused, or the permission's state or the officer does not allow it (nothing saved)",
    403: "Not a command's technology staff, or your own permission, or an officer no longer of your command",
    404: "No such permission, or not one of your command",
    409: "The permission changed since you read it (`version`)",
}


class GrantCommandsApi(SitthiApi):
    """CommandTech's commands on the permissions of their own command (the Permissions screens)."""

    resource_name = "grants"
    class_permission_name = "CommandGrant"
    openapi_spec_tag = "Grants"

    def _changed(self, grant: Grant):
        db.session.commit()
        return self.response(200, **grant_result(grant))

    @expose("/<int:pk>/suspend", methods=["POST"])
    @protect()
    @operation("Suspend a permission (CommandTech)", body=ReasonSchema, response=GrantResultSchema,
               answer="The suspended permission", refusals=CHANGE_REFUSALS, services=[service.suspend],
               description="An active permission stops until reinstated; the reason is required.")
    def suspend(self, pk: int):
        args = ReasonSchema().load(json_body())
        return self._changed(service.suspend(db.session, api_actor(), known_id(pk, service.MSG_NOT_FOUND),
                                             args["reason"], office_clock(), expected_version=args["version"]))

    @expose("/<int:pk>/revoke", methods=["POST"])
    @protect()
    @operation("Revoke a permission (CommandTech)", body=ReasonSchema, response=GrantResultSchema,
               answer="The revoked permission", refusals=CHANGE_REFUSALS, services=[service.revoke],
               description="Ends the permission for good; the owner agency is asked to close its account.")
    def revoke(self, pk: int):
        args = ReasonSchema().load(json_body())
        return self._changed(service.revoke(db.session, api_actor(), known_id(pk, service.MSG_NOT_FOUND),
                                            args["reason"], office_clock(), expected_version=args["version"]))

    @expose("/<int:pk>/extend", methods=["POST"])
    @protect()
    @operation("Extend a function permission (CommandTech)", body=ExtendSchema, response=GrantResultSchema,
               answer="The extended permission", refusals=CHANGE_REFUSALS, services=[service.extend],
               description="Rights to other agencies' data are renewed through a request instead.")
    def extend(self, pk: int):
        args = ExtendSchema().load(json_body())
        return self._changed(service.extend(db.session, api_actor(), known_id(pk, service.MSG_NOT_FOUND),
                                            args["valid_until"], office_clock(), expected_version=args["version"]))

    @expose("/<int:pk>/reinstate", methods=["POST"])
    @protect()
    @operation("Reinstate a suspended permission (CommandTech)", body=VersionSchema, body_required=False,
               response=GrantResultSchema, answer="The active permission", refusals=CHANGE_REFUSALS,
               services=[service.reinstate])
    def reinstate(self, pk: int):
        args = VersionSchema().load(json_body(required=False))
        return self._changed(service.reinstate(db.session, api_actor(), known_id(pk, service.MSG_NOT_FOUND),
                                               office_clock(), expected_version=args["version"]))

    @expose("/<int:pk>/duty-order", methods=["POST"])
    @protect()
    @operation("Record the duty order behind a function permission (CommandTech)", body=DutyOrderSchema,
               response=GrantResultSchema, answer="The permission with its duty order",
               refusals=CHANGE_REFUSALS, services=[service.attach_duty_order])
    def duty_order(self, pk: int):
        args = DutyOrderSchema().load(json_body())
        return self._changed(service.attach_duty_order(db.session, api_actor(), known_id(pk, service.MSG_NOT_FOUND),
                                                       args["duty_order_id"], office_clock()))


class AssignApi(SitthiApi):
    """Assign a function to an officer of one's command (the Assign function screen)."""

    resource_name = "grants"
    class_permission_name = "AssignFunction"
    openapi_spec_tag = "Grants"

    @expose("/assign", methods=["POST"])
    @protect()
    @operation("Assign a function (CommandTech)", body=AssignSchema, response=GrantResultSchema, status=201,
               answer="The new permission", services=[service.assign_function], refusals={
                   400: "Input refused: a function the command may not give, an officer it does not fit, "
                        "one they already hold, a validity out of range, a duty order not of your command "
                        "(nothing saved)",
                   403: "Not a command's technology staff, or your own permission",
                   404: "No such officer in your command"},
               description="The same rules as the Assign function screen; the officer is told by mail.")
    def assign(self):
        args = AssignSchema().load(json_body())
        grant = service.assign_function(db.session, api_actor(), args["officer_id"], args["function_id"],
                                        office_clock(), valid_until=args["valid_until"],
                                        duty_order_id=args["duty_order_id"])
        db.session.commit()
        return self.response(201, **grant_result(grant))
