"""Group requests (แบบกลุ่ม) through the API: the same group service, reach and refusals as the screens.

Who may file and for whom is app.services.group_requests' (a unit head for the officers they head,
CommandTech and Personnel for their command, at most MAX_OFFICERS officers, never oneself); this
module reads JSON into the same GroupData the group form builds. A refused group keeps nothing, and
its answer names each problem at its field and each failing officer's checks at `officers.<id>`.
"""
from flask import current_app, request
from flask_appbuilder.api import expose
from flask_appbuilder.security.decorators import protect
from marshmallow import EXCLUDE, Schema, fields, validate

from app import labels
from app.api.base import (
    CheckSchema,
    RefSchema,
    SitthiApi,
    api_actor,
    id_field,
    json_body,
    known_id,
    operation,
    ref,
)
from app.api.contract import SaneDate, UtcDateTime
from app.api.requests import (
    AttachmentUploadSchema,
    SourceChoiceSchema,
    StageSchema,
    _check,
    _uploads,
    api_field,
    source_choice,
)
from app.errors import translate
from app.extensions import db
from app.formatting import localized, office_clock
from app.read_trail import note_read
from app.services import access_requests
from app.services import group_requests as service

SEARCH_LIMIT = 20


# -- input ---------------------------------------------------------------------------------------
class GroupCreateSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(service.GROUP_KINDS))
    officer_ids = fields.List(id_field(), required=True, validate=validate.Length(max=service.MAX_OFFICERS), metadata={
        "description": f"The officers filed for (at most {service.MAX_OFFICERS}): of the units you head, "
                       "or of your command (CommandTech, Personnel); never yourself."})
    contact_email = fields.String(validate=validate.Length(max=254), load_default="")
    contact_mobile = fields.String(validate=validate.Length(max=20), load_default="")
    duty_performed = fields.String(validate=validate.Length(max=access_requests.TEXT_LIMIT), load_default="")
    pledge_accepted = fields.Boolean(load_default=False)
    attest = fields.Boolean(load_default=False, metadata={
        "description": "A unit head filing for officers they head certifies them: required then."})
    sources = fields.List(fields.Nested(SourceChoiceSchema), validate=validate.Length(max=50), load_default=list,
                          metadata={"description": "A source without `rank_group_id` asks for each officer's own. "
                                                   "Its `field_ids` and `answers` are the group's: every line asks "
                                                   "for those fields with those answers, judged as one request's."})
    function_ids = fields.List(id_field(), validate=validate.Length(max=50), load_default=list)
    attachments = fields.List(fields.Nested(AttachmentUploadSchema), validate=validate.Length(max=10),
                              load_default=list, metadata={"description": "The group's documents, kept with every line."})


class OfficerSearchArgs(Schema):
    class Meta:
        unknown = EXCLUDE  # _l_

    q = fields.String(required=True, validate=validate.Length(min=1, max=100))


# -- output --------------------------------------------------------------------------------------
class GroupLineSchema(Schema):
    id = fields.Integer()
    number = fields.String(allow_none=True)
    requester = fields.Nested(RefSchema)
    certifying_head = fields.Nested(RefSchema, allow_none=True)
    state = fields.String()
    state_label = fields.String()
    current_stage = fields.Nested(StageSchema, allow_none=True)
    due_on = SaneDate(allow_none=True)


class GroupSummarySchema(Schema):
    id = fields.Integer()
    number = fields.String()
    kind = fields.String(metadata={"enum": list(service.GROUP_KINDS)})
    kind_label = fields.String()
    filer = fields.Nested(RefSchema)
    unit = fields.Nested(RefSchema)
    submitted_at = UtcDateTime(allow_none=True)
    lines = fields.Integer(metadata={"description": "How many officers' lines it has."})


class GroupDetailSchema(GroupSummarySchema):
    lines = fields.List(fields.Nested(GroupLineSchema), metadata={"description": "The lines you may see."})
    contact_email = fields.String()
    contact_mobile = fields.String()
    duty_performed = fields.String()
    pledge_accepted = fields.Boolean()
    tally = fields.Dict(keys=fields.String(), values=fields.Integer(),
                        metadata={"description": "How many of the visible lines stand in each state."})


class GroupListSchema(Schema):
    count = fields.Integer()
    result = fields.List(fields.Nested(GroupSummarySchema))


class FoundOfficerSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    unit = fields.Nested(RefSchema, allow_none=True)


class FoundOfficersSchema(Schema):
    result = fields.List(fields.Nested(FoundOfficerSchema))


class GroupRefusalSchema(Schema):
    message = fields.String()
    field = fields.String(allow_none=True)
    errors = fields.Dict(metadata={"description": "Each problem at its field; each failing officer's at "
                                                  "`officer_ids.<officer id>`."})
    lines = fields.Dict(metadata={"description": "officer id -> the failed checks of that officer's line."})
    checks = fields.List(fields.Nested(CheckSchema))


# -- answers -------------------------------------------------------------------------------------
def _stage(stage) -> dict | None:
    return None if stage is None else {"id": stage.id, "position": stage.position, "actor": stage.actor,
                                       "name": localized(stage)}


def _summary(group, count: int) -> dict:
    return {"id": group.id, "number": group.number, "kind": group.kind,
            "kind_label": labels.label_of(labels.REQUEST_KIND, group.kind),
            "filer": ref(group.filer, str(group.filer)), "unit": ref(group.unit),
            "submitted_at": group.submitted_at, "lines": count}


def _line(line) -> dict:
    return {"id": line.id, "number": line.number, "requester": ref(line.requester, str(line.requester)),
            "certifying_head": ref(line.certifying_head, str(line.certifying_head or "")),
            "state": line.state, "state_label": labels.label_of(labels.REQUEST_STATE, line.state),
            "current_stage": _stage(line.current_stage), "due_on": line.due_on}


def _detail(group, lines) -> dict:
    return GroupDetailSchema().dump({
        **_summary(group, len(lines)), "lines": [_line(line) for line in lines],
        "contact_email": group.contact_email, "contact_mobile": group.contact_mobile,
        "duty_performed": group.duty_performed, "pledge_accepted": group.pledge_accepted,
        "tally": service.tally(lines)})


def _group_data(values: dict) -> service.GroupData:
    return service.GroupData(
        kind=values["kind"], officer_ids=tuple(values["officer_ids"]),
        contact_email=values["contact_email"], contact_mobile=values["contact_mobile"],
        duty_performed=values["duty_performed"], pledge_accepted=values["pledge_accepted"],
        attest=values["attest"],
        sources=tuple(source_choice(s) for s in values["sources"]),
        function_ids=tuple(values["function_ids"]))


class GroupRequestsApi(SitthiApi):
    """Group requests: file one for many officers, follow the groups you may see."""

    resource_name = "group-requests"
    class_permission_name = "GroupRequest"
    openapi_spec_tag = "Group requests"
    extra_schemas = (*SitthiApi.extra_schemas, GroupRefusalSchema)
    field_names = {"officers": "officer_ids", "functions": "function_ids", "rank_group": "sources"}

    def error_response(self, error):
        if not isinstance(error, service.GroupRefused):
            field = getattr(error, "field", None)
            if field and field.startswith("upload_"):
                error.field = "attachments"
            return super().error_response(error)
        errors = {self._api_field(name): message for name, message in error.translated_by_field().items()}
        lines = {}
        for line in error.outcome.failing_lines:
            errors[f"officer_ids.{line.officer.id}"] = " ".join(translate(c.message, c.params) for c in line.failures)
            lines[str(line.officer.id)] = [_check(c) for c in line.failures]
        field = next(iter(error.outcome.problems), None) or "officers"
        return self.response(400, message=error.translated(), field=self._api_field(field),
                             errors=errors, lines=lines)

    def _api_field(self, name: str) -> str:
        # A source's fields and answers are named as the requests API names them.
        return self.field_names.get(name) or api_field(name)

    @expose("/", methods=["GET"])
    @protect()
    @operation("Group requests I may see", response=GroupListSchema, answer="The groups, newest first",
               refusals={}, services=[service.groups_of], description=(
                   "The groups I filed, those of my command (CommandTech, Personnel), and those with a "
                   "line I may see; the newest 100."))
    def groups(self):
        rows = service.groups_of(db.session, api_actor())
        return self.response(200, **GroupListSchema().dump(
            {"count": len(rows), "result": [_summary(group, count) for group, count in rows]}))

    @expose("/<int:pk>", methods=["GET"])
    @protect()
    @operation("A group request", response=GroupDetailSchema, answer="The group and the lines I may see",
               refusals={404: "No such group, or not one you may see"},
               services=[service.load_group, service.visible_lines], description=(
                   "Each line is an access request of its own (GET /api/v1/requests/{id}), decided alone: "
                   "`tally` counts the visible lines by state."))
    def show(self, pk: int):
        actor = api_actor()
        group = service.load_group(db.session, actor, known_id(pk, service.MSG_NOT_FOUND))
        lines = service.visible_lines(db.session, actor, group)
        body = _detail(group, lines)
        note_read(actor, "read", officer_ids=[line.requester_id for line in lines], obj=group,
                  summary=f"group {group.number}")
        return self.response(200, **body)

    @expose("/officers", methods=["GET"])
    @protect()
    @operation("Find officers I may file for", response=FoundOfficersSchema, answer="At most 20 officers",
               query=({"in": "query", "name": "q", "required": True, "description":
                       "Part of a name, or all 13 digits of a national ID (never a part of one)",
                       "schema": {"type": "string", "minLength": 1, "maxLength": 100}},),
               refusals={400: "No search term", 403: "You may file for nobody"},
               permission="write", services=[service.find_officers])
    def officers(self):
        args = OfficerSearchArgs().load(request.args.to_dict())
        actor = api_actor()
        if not service.may_file(db.session, actor):
            raise service.NotAllowed(service.MSG_NOT_FILER)
        found = service.find_officers(db.session, actor, args["q"], limit=SEARCH_LIMIT)
        return self.response(200, **FoundOfficersSchema().dump({"result": [
            {"id": o.id, "name": str(o), "unit": ref(o.acting_unit or o.home_unit)} for o in found]}))

    @expose("/", methods=["POST"])
    @protect()
    @operation("File a group request", body=GroupCreateSchema, response=GroupDetailSchema, status=201,
               answer="The group as filed, every line sent",
               services=[service.file_group, access_requests.draft_line, access_requests.submit_line],
               refusals={400: "Refused: each problem at its field, each failing officer at `officer_ids.<id>` "
                              "and in `lines`; nothing was filed",
                         403: "Only a unit head, CommandTech or Personnel files a group"}, description=(
                   "One transaction: every officer's line is built and judged, and unless every line passes "
                   "nothing is kept. Each line is an access request of its own, sent up its chain to the "
                   "officer's own unit head. Officers out of your reach, or ids that do not exist, refuse "
                   "the group at `officer_ids` alike."))
    def file(self):
        values = GroupCreateSchema().load(json_body())
        actor = api_actor()
        outcome = service.file_group(
            db.session, actor, _group_data(values), office_clock(), uploads=_uploads(values["attachments"]),
            max_upload_bytes=current_app.config["ATTACHMENT_MAX_BYTES"], send=True)
        group_id = outcome.group.id
        db.session.commit()
        group = service.load_group(db.session, actor, group_id)
        return self.response(201, **_detail(group, service.visible_lines(db.session, actor, group)))

