"""REST API for access requests: the same request service, rules and scope as the screens.

Whether a user may see or act on a request is decided by ``app.services.access_requests``; this
module only reads JSON, calls the service, commits on success and rolls back on any error
(app.api.base). Files go up inside the JSON as base64 (``attachments: [{kind, filename,
content_base64}]``) and pass the same content check as the screen's uploads (PDF/JPEG by their
bytes, size limit).
"""
import re
from typing import Any

from flask import current_app
from flask_appbuilder.api import expose
from flask_appbuilder.security.decorators import protect
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from app import labels
from app.api.base import (
    Base64Bytes,
    RefSchema,
    SitthiApi,
    api_actor,
    coded,
    id_field,
    json_body,
    known_id,
    operation,
    page_args,
    page_of,
    page_schema,
    person,
    ref,
)
from app.api.base import CheckSchema as CheckSchema
from app.api.base import CodedRefSchema as CodedRefSchema
from app.api.base import RankGroupSchema as RankGroupSchema
from app.api.contract import SaneDate, UtcDateTime
from app.errors import N_, FieldsRefused, NotFound, SitthiError, translate
from app.extensions import db
from app.formatting import local_today, localized, office_clock
from app.models import AccessRequest, ApprovalStage, Attachment, Decision, Grant
from app.models.request import ATTACHMENT_KINDS, REQUEST_KINDS
from app.read_trail import note_read
from app.security.scope import Actor
from app.services import access_requests as service
from app.services import audit, eligibility
from app.services.inboxes import waiting_for

MSG_KIND_FIXED = N_("The kind of a request cannot be changed: make a new request instead.")

# The service names form fields; the API names its JSON fields.
FIELD_NAMES = {
    "certifying_head": "certifying_head_id",
    "target_unit": "target_unit_id",
    "rank_group": "sources",
    "functions": "function_ids",
}

LINKAGE_FIELD = re.compile(r"^fields_(\d+)$")
LINKAGE_ANSWER = re.compile(r"^answer_(\d+)_(\d+)$")


def api_field(name: str | None) -> str | None:
    """The JSON field a service's form-field name stands for: a source's fields and answers are
    named by the source (and question) they are about."""
    if not name:
        return name
    if name.startswith("upload_"):
        return "attachments"
    if found := LINKAGE_FIELD.match(name):
        return f"sources[{found[1]}].field_ids"
    if found := LINKAGE_ANSWER.match(name):
        return f"sources[{found[1]}].answers[{found[2]}]"
    return FIELD_NAMES.get(name, name)


# Which inbox a request waits in, from the actor of the stage it waits at.
WAITING_AS = {
    "certifying_head": "certifying_head",
    "central_it": "central_it",
    "command_tech": "command_tech",
    "agency": "agency_activation",
}


# -- input ---------------------------------------------------------------------------------------
class RankChoiceSchema(Schema):
    data_source_id = id_field(required=True, metadata={"description": "A data source (GET its id from the screens)."})
    rank_group_id = id_field(allow_none=True, load_default=None,
                             metadata={"description": "Rank group, for sources that need one (civil registration)."})


class AnswerInputSchema(Schema):
    question_id = id_field(required=True, metadata={"description": "A justification question of the source."})
    value = fields.String(required=True, validate=validate.Length(max=service.TEXT_LIMIT), metadata={
        "description": "The answer; a date as yyyy-mm-dd (Common Era)."})


class SourceChoiceSchema(RankChoiceSchema):
    field_ids = fields.List(id_field(), allow_none=True, load_default=None, validate=validate.Length(max=200),
                            metadata={"description": "The source's data fields asked for, each one the agency's "
                                                     "agreement in force allows; left out or null: every field "
                                                     "it allows."})
    answers = fields.List(fields.Nested(AnswerInputSchema), load_default=list, validate=validate.Length(max=50),
                          metadata={"description": "Answers to the source's justification questions (the "
                                                   "required ones must be answered before submitting)."})


def source_choice(values: dict) -> service.SourceChoice:
    """A source as the request form sends it: its rank group, fields and answers."""
    field_ids = values.get("field_ids")
    return service.SourceChoice(
        values["data_source_id"], values.get("rank_group_id"),
        field_ids=None if field_ids is None else tuple(field_ids),
        answers=tuple((a["question_id"], a["value"]) for a in values.get("answers") or ()))


class AttachmentUploadSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(ATTACHMENT_KINDS))
    filename = fields.String(required=True, validate=validate.Length(min=1, max=255))
    content_base64 = Base64Bytes(required=True, metadata={
        "type": "string", "format": "byte", "description": "The PDF or JPEG file, base64-encoded."})


def _request_fields(create: bool) -> dict[str, fields.Field]:
    """The draft's fields; on create, left-out fields take defaults, on update they keep their value."""

    def opt(default):
        return {"load_default": default} if create else {}

    return {
        "kind": fields.String(required=create, validate=validate.OneOf(REQUEST_KINDS), metadata={
            "description": "The kind of request; cannot change after creation."}),
        "contact_email": fields.String(validate=validate.Length(max=254), **opt("")),
        "contact_mobile": fields.String(validate=validate.Length(max=20), **opt("")),
        "duty_performed": fields.String(validate=validate.Length(max=service.TEXT_LIMIT), **opt("")),
        "duty_mismatch": fields.Boolean(**opt(False)),
        "pledge_accepted": fields.Boolean(**opt(False)),
        "certifying_head_id": id_field(allow_none=True, **opt(None)),
        "target_unit_id": id_field(allow_none=True, **opt(None)),
        "assignment_until": SaneDate(allow_none=True, **opt(None)),
        "sources": fields.List(fields.Nested(SourceChoiceSchema), validate=validate.Length(max=50),
                               **opt(list)),
        "function_ids": fields.List(id_field(), validate=validate.Length(max=50), **opt(list)),
        "attachments": fields.List(fields.Nested(AttachmentUploadSchema), validate=validate.Length(max=10),
                                   load_default=list, metadata={"description": "Files to add."}),
    }


RequestCreateSchema = Schema.from_dict(_request_fields(create=True), name="RequestCreateSchema")
RequestUpdateSchema = Schema.from_dict({
    **_request_fields(create=False),
    "version": fields.Integer(strict=True, required=True, metadata={
        "description": "The `version` read with the request; a stale one is refused with 409."}),
    "remove_attachment_ids": fields.List(id_field(), validate=validate.Length(max=50), load_default=list),
}, name="RequestUpdateSchema")


class SubmitSchema(Schema):
    version = fields.Integer(strict=True, allow_none=True, load_default=None)


class CancelSchema(Schema):
    version = fields.Integer(strict=True, allow_none=True, load_default=None)
    comment = fields.String(validate=validate.Length(max=service.TEXT_LIMIT), load_default="")


class ItemDecisionSchema(Schema):
    item_id = id_field(required=True)
    approve = fields.Boolean(required=True)
    comment = fields.String(validate=validate.Length(max=service.TEXT_LIMIT), load_default="")


class DecideSchema(Schema):
    transition = fields.String(required=True, validate=validate.OneOf(service.STAGE_DECISIONS))
    comment = fields.String(validate=validate.Length(max=service.TEXT_LIMIT), load_default="", metadata={
        "description": "Required to return or reject."})
    version = fields.Integer(strict=True, required=True)
    items = fields.List(fields.Nested(ItemDecisionSchema), validate=validate.Length(max=50), load_default=list,
                        metadata={"description": "Per-item decisions, only at the Central IT stage, where "
                                                 "an approval decides every pending item: list each one, or "
                                                 "set `approve_remaining`. Rejecting an item needs its `comment`."})
    approve_remaining = fields.Boolean(load_default=False, metadata={
        "description": "At the Central IT stage: approve every pending item not listed in `items`."})
    attest = fields.Boolean(load_default=False, metadata={
        "description": "The certifying head confirms the circular's attestation (the officer is fit to "
                       "hold the rights; the head will supervise their use). Required to approve at the "
                       "head's stage; recorded with the decision."})


class ActivationSchema(Schema):
    activated = fields.Boolean(required=True, metadata={"description": "true: activated; false: refused."})
    agency_reference = fields.String(validate=validate.Length(max=100), load_default="")
    activated_on = SaneDate(allow_none=True, load_default=None, metadata={"description": "Default: today."})
    comment = fields.String(validate=validate.Length(max=service.TEXT_LIMIT), load_default="", metadata={
        "description": "Required when the agency refused."})
    version = fields.Integer(strict=True, required=True, metadata={"description": "The item's `version`."})


# -- output --------------------------------------------------------------------------------------
class StageSchema(Schema):
    id = fields.Integer()
    position = fields.Integer()
    actor = fields.String(metadata={"enum": list(labels.STAGE_ACTOR)})
    name = fields.String()


class DataFieldSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class AnswerSchema(Schema):
    question_id = fields.Integer(allow_none=True, metadata={"description": "null: the question was dropped since."})
    question = fields.String(metadata={"description": "The question's words as they were asked."})
    value = fields.String()


class GrantSchema(Schema):
    id = fields.Integer()
    state = fields.String()
    state_label = fields.String()
    valid_from = SaneDate()
    valid_until = SaneDate(allow_none=True)
    agency_reference = fields.String(allow_none=True)
    activated_on = SaneDate(allow_none=True)
    answers = fields.List(fields.Nested(AnswerSchema), metadata={"description": "The justification given for it."})
    # Last: the name shadows marshmallow's `fields` in the class body.
    fields = fields.List(fields.Nested(DataFieldSchema), metadata={"description": "The data fields it gives."})


class ItemSchema(Schema):
    id = fields.Integer()
    source = fields.Nested(CodedRefSchema, allow_none=True)
    function = fields.Nested(CodedRefSchema, allow_none=True)
    rank_group = fields.Nested(RankGroupSchema, allow_none=True)
    above_own_rank = fields.Boolean()
    state = fields.String()
    state_label = fields.String()
    comment = fields.String(allow_none=True)
    agency_reference = fields.String(allow_none=True)
    activated_on = SaneDate(allow_none=True)
    awaiting_activation = fields.Boolean()
    version = fields.Integer(metadata={"description": "Send it back to record the activation."})
    answers = fields.List(fields.Nested(AnswerSchema), metadata={"description": "The answers to its justification questions."})
    grant = fields.Nested(GrantSchema, allow_none=True)
    # Last: the name shadows marshmallow's `fields` in the class body.
    fields = fields.List(fields.Nested(DataFieldSchema), metadata={"description": "The source's data fields asked for."})


class AttachmentSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    kind_label = fields.String()
    filename = fields.String()
    content_type = fields.String()
    size_bytes = fields.Integer()
    sha256 = fields.String()
    uploaded_at = UtcDateTime()


class DecisionSchema(Schema):
    id = fields.Integer()
    transition = fields.String()
    label = fields.String()
    from_state = fields.String()
    to_state = fields.String()
    stage = fields.Nested(StageSchema, allow_none=True)
    item_id = fields.Integer(allow_none=True)
    actor = fields.Nested(RefSchema, allow_none=True)
    comment = fields.String(allow_none=True)
    decided_at = UtcDateTime()
    attested = fields.Boolean(metadata={"description": "The head confirmed the attestation with this decision."})


class HeldRightSchema(Schema):
    id = fields.Integer()
    source = fields.Nested(CodedRefSchema, allow_none=True)
    function = fields.Nested(CodedRefSchema, allow_none=True)
    rank_group = fields.Nested(RankGroupSchema, allow_none=True)
    state = fields.String()
    valid_until = SaneDate(allow_none=True)


class RequestSummarySchema(Schema):
    id = fields.Integer()
    number = fields.String(allow_none=True)
    kind = fields.String(metadata={"enum": list(REQUEST_KINDS)})
    kind_label = fields.String()
    state = fields.String()
    state_label = fields.String()
    requester = fields.Nested(RefSchema)
    unit = fields.Nested(RefSchema)
    current_stage = fields.Nested(StageSchema, allow_none=True)
    created_at = UtcDateTime()
    submitted_at = UtcDateTime(allow_none=True)
    completed_at = UtcDateTime(allow_none=True)
    due_on = SaneDate(allow_none=True)
    overdue = fields.Boolean()
    version = fields.Integer()


class InboxRowSchema(RequestSummarySchema):
    waiting_as = fields.String(metadata={"enum": list(WAITING_AS.values())})


class RequestDetailSchema(RequestSummarySchema):
    contact_email = fields.String()
    contact_mobile = fields.String()
    duty_performed = fields.String()
    duty_mismatch = fields.Boolean()
    pledge_accepted = fields.Boolean()
    certifying_head = fields.Nested(RefSchema, allow_none=True)
    target_unit = fields.Nested(RefSchema, allow_none=True)
    assignment_until = SaneDate(allow_none=True)
    updated_at = UtcDateTime()
    items = fields.List(fields.Nested(ItemSchema))
    attachments = fields.List(fields.Nested(AttachmentSchema))
    decisions = fields.List(fields.Nested(DecisionSchema))
    checks = fields.List(fields.Nested(CheckSchema))
    current_rights = fields.List(fields.Nested(HeldRightSchema), metadata={
        "description": "The rights the requester holds or is about to hold now."})
    allowed = fields.List(fields.String(), metadata={
        "description": "What this user may do now: submit, resubmit, cancel (the requester); approve, "
                       "return, reject (the stage's decider); activate, refuse_activation (Central IT, "
                       "for items awaiting the agency)."})


RequestPageSchema = page_schema(RequestSummarySchema, "RequestPageSchema")
InboxPageSchema = page_schema(InboxRowSchema, "InboxPageSchema")


# -- helpers -------------------------------------------------------------------------------------
def _stage(stage: ApprovalStage | None) -> dict | None:
    if stage is None:
        return None
    return {"id": stage.id, "position": stage.position, "actor": stage.actor, "name": localized(stage)}


def rank_group(group) -> dict | None:
    return None if group is None else {"id": group.id, "number": group.number, "name": localized(group)}


def _held(grant: Grant) -> dict:
    return {"id": grant.id, "source": coded(grant.data_source), "function": coded(grant.function),
            "rank_group": rank_group(grant.rank_group), "state": grant.state, "valid_until": grant.valid_until}


def _check(check: eligibility.Check) -> dict:
    return {"code": check.code, "status": check.status,
            "status_label": labels.label_of(labels.CHECK_STATUS, check.status),
            "message": translate(check.message, check.params), "params": check.params,
            "item_id": check.item_id, "field": api_field(check.field)}


def _summary(req: AccessRequest, today) -> dict:
    return {
        "id": req.id, "number": req.number, "kind": req.kind,
        "kind_label": labels.label_of(labels.REQUEST_KIND, req.kind),
        "state": req.state, "state_label": labels.label_of(labels.REQUEST_STATE, req.state),
        "requester": ref(req.requester, str(req.requester)), "unit": ref(req.unit),
        "current_stage": _stage(req.current_stage), "created_at": req.created_at,
        "submitted_at": req.submitted_at, "completed_at": req.completed_at, "due_on": req.due_on,
        "overdue": bool(req.due_on and req.due_on < today), "version": req.version,
    }


def data_fields(item) -> list[dict]:
    return [{"id": f.id, "code": f.code, "name": localized(f)} for f in (item.fields if item is not None else ())]


def answers(item) -> list[dict]:
    return [{"question_id": a.question_id, "question": localized(a, "label"), "value": a.value}
            for a in (item.answers if item is not None else ())]


def _item(req: AccessRequest, item, grant: Grant | None) -> dict:
    return {
        "id": item.id, "source": coded(item.data_source), "function": coded(item.function),
        "rank_group": rank_group(item.rank_group),
        "above_own_rank": item.above_own_rank, "state": item.state,
        "state_label": labels.label_of(labels.ITEM_STATE, item.state), "comment": item.comment,
        "agency_reference": item.agency_reference, "activated_on": item.activated_on,
        "awaiting_activation": service.awaits_agency(req, item), "version": item.version,
        "fields": data_fields(item), "answers": answers(item),
        "grant": None if grant is None else {
            "id": grant.id, "state": grant.state,
            "state_label": labels.label_of(labels.GRANT_STATE, grant.state),
            "valid_from": grant.valid_from, "valid_until": grant.valid_until,
            "agency_reference": grant.agency_reference, "activated_on": grant.activated_on,
            "fields": data_fields(item), "answers": answers(item),
        },
    }


def detail(actor: Actor, req: AccessRequest) -> dict:
    session, today = db.session, local_today()
    item_ids = [item.id for item in req.items]
    grants = {grant.request_item_id: grant for grant in session.scalars(
        select(Grant).where(Grant.request_item_id.in_(item_ids)))} if item_ids else {}
    attachments = session.scalars(
        select(Attachment).where(Attachment.request_id == req.id).order_by(Attachment.id)).all()
    decisions = session.scalars(
        select(Decision).where(Decision.request_id == req.id).order_by(Decision.decided_at, Decision.id)).all()
    allowed = service.requester_transitions(actor, req) + service.stage_transitions(session, actor, req)
    if service.activation_items(db.session, actor, req):
        allowed += ["activate", "refuse_activation"]
    return RequestDetailSchema().dump({
        **_summary(req, today),
        "contact_email": req.contact_email, "contact_mobile": req.contact_mobile,
        "duty_performed": req.duty_performed, "duty_mismatch": req.duty_mismatch,
        "pledge_accepted": req.pledge_accepted,
        "certifying_head": ref(req.certifying_head, str(req.certifying_head or "")),
        "target_unit": ref(req.target_unit), "assignment_until": req.assignment_until,
        "updated_at": req.updated_at,
        "items": [_item(req, item, grants.get(item.id)) for item in req.items],
        "attachments": [{
            "id": a.id, "kind": a.kind, "kind_label": labels.label_of(labels.ATTACHMENT_KIND, a.kind),
            "filename": a.filename, "content_type": a.content_type, "size_bytes": a.size_bytes,
            "sha256": a.sha256, "uploaded_at": a.uploaded_at,
        } for a in attachments],
        "decisions": [{
            "id": d.id, "transition": d.transition,
            "label": labels.transition_label(d.transition, d.stage.actor if d.stage else None),
            "from_state": d.from_state, "to_state": d.to_state, "stage": _stage(d.stage),
            "item_id": d.item_id, "actor": person(d.actor), "comment": d.comment, "decided_at": d.decided_at,
            "attested": d.attested,
        } for d in decisions],
        "current_rights": [_held(g) for g in eligibility.live_grants_of(session, [req.requester_id]).get(
            req.requester_id, [])],
        "checks": [_check(c) for c in eligibility.check_request(session, req, today)],
        "allowed": allowed,
    })


def _request_data(kind: str, values: dict) -> service.RequestData:
    return service.RequestData(
        kind=kind,
        contact_email=values["contact_email"], contact_mobile=values["contact_mobile"],
        duty_performed=values["duty_performed"], duty_mismatch=values["duty_mismatch"],
        pledge_accepted=values["pledge_accepted"], certifying_head_id=values["certifying_head_id"],
        target_unit_id=values["target_unit_id"], assignment_until=values["assignment_until"],
        sources=tuple(source_choice(s) for s in values["sources"]),
        function_ids=tuple(values["function_ids"]),
    )


_REQUEST_FIELDS = frozenset({
    "contact_email", "contact_mobile", "duty_performed", "duty_mismatch", "pledge_accepted",
    "certifying_head_id", "target_unit_id", "assignment_until", "sources", "function_ids",
})


def _current_values(req: AccessRequest) -> dict:
    return {
        "contact_email": req.contact_email or "", "contact_mobile": req.contact_mobile or "",
        "duty_performed": req.duty_performed or "", "duty_mismatch": req.duty_mismatch,
        "pledge_accepted": req.pledge_accepted, "certifying_head_id": req.certifying_head_id,
        "target_unit_id": req.target_unit_id, "assignment_until": req.assignment_until,
        "sources": [{"data_source_id": i.data_source_id, "rank_group_id": i.rank_group_id,
                     "field_ids": [f.id for f in i.fields],
                     "answers": [{"question_id": a.question_id, "value": a.value} for a in i.answers
                                 if a.question_id is not None]}
                    for i in req.items if i.data_source_id],
        "function_ids": [i.function_id for i in req.items if i.function_id],
    }


def _uploads(attachments: list[dict]) -> tuple[service.Upload, ...]:
    return tuple(service.Upload(a["kind"], a["filename"], a["content_base64"]) for a in attachments)




# What a request's commands refuse, in the requests' own words.
NOT_MINE = {403: "Not my request"}
NO_SUCH_REQUEST = {404: "No such request, or not one you may see"}
COMMAND_REFUSALS = {400: "Input refused (nothing saved)", 403: None, **NO_SUCH_REQUEST}


class RequestsApi(SitthiApi):
    """Access requests: make, follow and decide them. JWT only; same rules as the screens."""

    resource_name = "requests"
    class_permission_name = "RequestDesk"
    openapi_spec_tag = "Requests"

    # -- answers ----------------------------------------------------------------------------
    def error_response(self, error: SitthiError):
        field = getattr(error, "field", None)
        if isinstance(error, service.Ineligible) and not field:
            field = next((c.field for c in error.checks if c.field), None)
        body: dict[str, Any] = {"message": error.translated(), "field": api_field(field)}
        if isinstance(error, FieldsRefused):
            body["errors"] = {}
            for name, message, params in error.problems:
                key = api_field(name)
                body["errors"][key] = " ".join(filter(None, (body["errors"].get(key), translate(message, params))))
        if isinstance(error, service.Ineligible):
            body["checks"] = [_check(c) for c in error.checks]
        return self.response(error.status, **body)

    def _done(self, req: AccessRequest, status: int = 200):
        """Commit the command's work, then answer with the request as it is now."""
        request_id = req.id
        db.session.commit()
        actor = api_actor()
        try:
            current = service.load_request(db.session, actor, request_id)
        except NotFound:  # done, but no longer one this user may see
            return self.response(status, id=request_id)
        return self.response(status, **detail(actor, current))

    # -- reading ----------------------------------------------------------------------------
    @expose("/", methods=["GET"])
    @protect()
    @operation("My requests", description="The requests I made, newest first, a page at a time.",
               paged=True, response=RequestPageSchema, answer="A page of my requests",
               refusals={400: "Bad paging arguments"})
    def my_requests(self):
        args = page_args()
        actor, today = api_actor(), local_today()
        if actor.officer_id is None:
            return self.response(200, count=0, page=args["page"], page_size=args["page_size"], result=[])
        query = select(AccessRequest).where(AccessRequest.requester_id == actor.officer_id).order_by(
            AccessRequest.created_at.desc(), AccessRequest.id.desc())
        page = page_of(query, args, lambda r: _summary(r, today))
        return self.response(200, **RequestPageSchema().dump(page))

    @expose("/inbox", methods=["GET"])
    @protect()
    @operation("Requests waiting for me", paged=True, response=InboxPageSchema,
               answer="A page of waiting requests", refusals={400: "Bad paging arguments"}, description=(
                   "The union of the inboxes my roles give: to certify as the named unit head; to verify "
                   "at the Central IT stage and awaiting agency activation (CentralIT); account requests "
                   "of my command (CommandTech; a temporary assignment belongs to the target unit's "
                   "command). Each row says which inbox it is in (`waiting_as`) and whether it is "
                   "`overdue`. Soonest due first."))
    def inbox(self):
        args = page_args()
        actor, today = api_actor(), local_today()
        condition = waiting_for(db.session, actor)
        if condition is None:
            return self.response(200, count=0, page=args["page"], page_size=args["page_size"], result=[])
        query = select(AccessRequest).where(condition).order_by(
            AccessRequest.due_on.asc().nulls_last(), AccessRequest.id.asc())

        def row(req):
            return {**_summary(req, today), "waiting_as": WAITING_AS.get(req.current_stage.actor)}

        return self.response(200, **InboxPageSchema().dump(page_of(query, args, row)))

    @expose("/<int:pk>", methods=["GET"])
    @protect()
    @operation("A request", response=RequestDetailSchema, answer="The request", refusals=NO_SUCH_REQUEST,
               services=[service.load_request], description=(
                   "Fields, items (with their grant once approved), attachment metadata (files are read "
                   "on the request page), the decisions timeline, eligibility checks, `version` and "
                   "`allowed`: what this user may do now. A request the user may not see answers 404, "
                   "like one that does not exist."))
    def show(self, pk: int):
        actor = api_actor()
        req = service.load_request(db.session, actor, known_id(pk, service.MSG_NOT_FOUND))
        body = detail(actor, req)
        note_read(actor, "read", officer_ids=[req.requester_id], obj=req, purpose=audit.handling(req))
        return self.response(200, **body)

    # -- the requester's commands -----------------------------------------------------------
    @expose("/", methods=["POST"])
    @protect()
    @operation("Make a draft", body=RequestCreateSchema, response=RequestDetailSchema, status=201,
               answer="The draft", services=[service.save_draft],
               refusals={400: "Input refused (nothing saved)",
                         403: "Not allowed (e.g. the login has no officer record)"}, description=(
                   "Saves a draft of my own. Files go in `attachments` as base64 (PDF or JPEG, checked "
                   "by content and size like the screen's uploads). Submit it with POST /{pk}/submit."))
    def create(self):
        values = RequestCreateSchema().load(json_body())
        req = service.save_draft(
            db.session, api_actor(), _request_data(values["kind"], values), office_clock(),
            uploads=_uploads(values["attachments"]),
            max_upload_bytes=current_app.config["ATTACHMENT_MAX_BYTES"],
        )
        return self._done(req, 201)

    @expose("/<int:pk>", methods=["PUT"])
    @protect()
    @operation("Change my draft or returned request", body=RequestUpdateSchema, response=RequestDetailSchema,
               answer="The request as saved", services=[service.save_draft],
               refusals={**COMMAND_REFUSALS, **NOT_MINE,
                         409: "Stale version, or the request can no longer be edited"}, description=(
                   "Fields left out keep their value; `sources` and `function_ids`, when given, replace "
                   "the request's items. `attachments` are added, `remove_attachment_ids` removed. "
                   "`version` must be the one read with the request, or nothing is saved (409)."))
    def update(self, pk: int):
        changes = RequestUpdateSchema().load(json_body())
        actor = api_actor()
        req = service.load_request(db.session, actor, known_id(pk, service.MSG_NOT_FOUND))
        if changes.get("kind", req.kind) != req.kind:
            raise service.invalid("kind", MSG_KIND_FIXED)
        values = {**_current_values(req), **{k: v for k, v in changes.items() if k in _REQUEST_FIELDS}}
        saved = service.save_draft(
            db.session, actor, _request_data(req.kind, values), office_clock(), request_id=req.id,
            expected_version=changes["version"], uploads=_uploads(changes["attachments"]),
            remove_attachment_ids=tuple(changes["remove_attachment_ids"]),
            max_upload_bytes=current_app.config["ATTACHMENT_MAX_BYTES"],
        )
        return self._done(saved)

    @expose("/<int:pk>/submit", methods=["POST"])
    @protect()
    @operation("Submit or resubmit", body=SubmitSchema, body_required=False, response=RequestDetailSchema,
               answer="The submitted request", services=[service.submit],
               refusals={**COMMAND_REFUSALS, **NOT_MINE, 400: "Incomplete or ineligible (see `field` or `checks`)",
                         409: "Stale version, or not in a state that can be submitted"}, description=(
                   "Checks eligibility; a refusal lists every failed check in `checks`. A returned "
                   "request goes back to the stage that returned it. The body may be empty; send "
                   "`version` to be sure nobody changed the request since you read it."))
    def submit(self, pk: int):
        args = SubmitSchema().load(json_body(required=False))
        req = service.submit(db.session, api_actor(), known_id(pk, service.MSG_NOT_FOUND), office_clock(),
                             expected_version=args["version"])
        return self._done(req)

    @expose("/<int:pk>/cancel", methods=["POST"])
    @protect()
    @operation("Cancel", body=CancelSchema, body_required=False, response=RequestDetailSchema,
               answer="The cancelled request", services=[service.cancel],
               refusals={**COMMAND_REFUSALS, **NOT_MINE, 400: "Input refused",
                         409: "Stale version, or already final"})
    def cancel(self, pk: int):
        args = CancelSchema().load(json_body(required=False))
        req = service.cancel(db.session, api_actor(), known_id(pk, service.MSG_NOT_FOUND), office_clock(),
                             expected_version=args["version"], comment=args["comment"])
        return self._done(req)

    # -- deciders' commands -----------------------------------------------------------------
    @expose("/<int:pk>/decide", methods=["POST"])
    @protect()
    @operation("Decide at the current stage", body=DecideSchema, response=RequestDetailSchema,
               answer="The request after the decision", services=[service.decide],
               refusals={**COMMAND_REFUSALS, 400: "Input refused", 403: "Not the one this stage waits for",
                         409: "Stale version, not waiting at a stage, or a comment is missing"}, description=(
                   "Only the actor the current stage designates may decide (the named head, Central IT, "
                   "the command's technology staff), never the requester, and nobody at two stages of one "
                   "request. Returning or rejecting needs a comment. The head approves with `attest: "
                   "true`. At the Central IT stage `items` decide item by item (every pending item, or "
                   "`approve_remaining`). Every approval is judged again on the day: a failing check "
                   "(officer not active, source closed, agreement ended, a document missing, a right "
                   "already held) refuses it with the reasons, and approving over a warning needs a "
                   "comment."))
    def decide(self, pk: int):
        args = DecideSchema().load(json_body())
        items = tuple(service.ItemDecision(i["item_id"], i["approve"], i["comment"]) for i in args["items"])
        req = service.decide(db.session, api_actor(), known_id(pk, service.MSG_NOT_FOUND), args["transition"],
                             office_clock(), expected_version=args["version"], comment=args["comment"],
                             item_decisions=items, approve_remaining=args["approve_remaining"],
                             attest=args["attest"])
        return self._done(req)

    @expose("/items/<int:item_id>/activation", methods=["POST"])
    @protect()
    @operation("Record the agency's activation (Central IT)", body=ActivationSchema,
               response=RequestDetailSchema, answer="The item's request after the activation",
               services=[service.record_activation],
               refusals={400: "Input refused", 403: "Only Central IT records activations, never for its own request",
                         404: "No such item, or not one you may see",
                         409: "Stale version, or the item is not awaiting activation"}, description=(
                   "For an item awaiting the agency (`awaiting_activation`): activated with the agency's "
                   "reference, or refused with the reason in `comment`. `version` is the item's."))
    def activation(self, item_id: int):
        args = ActivationSchema().load(json_body())
        item = service.record_activation(
            db.session, api_actor(), known_id(item_id, service.MSG_NOT_FOUND), office_clock(),
            activated=args["activated"], reference=args["agency_reference"], activated_on=args["activated_on"],
            comment=args["comment"], expected_version=args["version"])
        return self._done(item.request)
