"""Commands on access requests: save a draft, submit, cancel, decide at a stage, record activation.

These functions are the only code that changes a request's state. Each one loads the request
through the visibility rule, checks the stale-form version, asks the state machine whether the
transition may fire, checks that the actor is the one the stage designates, then writes the
new state, the Decision, the AuditEvent and the outbox mail in the caller's transaction. Nothing
here commits: the caller commits once, or rolls everything back.
"""
import re
from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.exc import StaleDataError

from app.domain import inputs
from app.domain.named import named
from app.domain.thai_dates import thai_date
from app.errors import (
    N_,
    FieldsRefused,
    NotAllowed,
    NotFound,
    SitthiError,
    StaleRecord,
    ValidationFailed,
    translate,
)
from app.models import (
    LIVE_GRANT_STATES,
    AccessRequest,
    ApprovalChain,
    ApprovalStage,
    Attachment,
    DataSource,
    Decision,
    Grant,
    ItemAnswer,
    Officer,
    RankGroup,
    RequestItem,
    RequestNumberCounter,
    StageChase,
    SystemFunction,
    Unit,
    User,
)
from app.models.request import ATTACHMENT_KINDS, REQUEST_KINDS
from app.security.scope import CENTRAL_IT, COMMAND_TECH, Actor, command_of, command_staff, is_visible
from app.services import (
    audit,
    deactivation,
    eligibility,
    expiry,
    fallback_heads,
    linkage,
    notifications,
    personnel_rules,
    stage_waits,
)
from app.services.attachments import check_uploads
from app.services.business_days import due_date
from app.services.clock import Clock
from app.services.conflicts import conflicts_are_stale
from app.workflow import machine

MSG_NO_OFFICER = N_("Your login is not linked to an officer record, so you cannot make requests.")
MSG_NOT_FOUND = N_("No such request, or not one you may see.")
MSG_STALE = N_("Someone changed this request after you opened it. Nothing was saved: reload the page and try again.")
MSG_NOT_YOURS = N_("Only the officer who made this request may change it.")
MSG_NOT_EDITABLE = N_("Only a draft or a request returned for correction can be edited.")
MSG_OWN_REQUEST = N_("You cannot decide on your own request.")
MSG_TWO_STAGES = N_("You already decided this request at another stage; someone else must decide this one.")
MSG_NOT_HEAD = N_("Only the unit head named on this request can certify it.")
MSG_NOT_CENTRAL_IT = N_("Only the Central IT Center can decide at this stage.")
MSG_NOT_COMMAND_TECH = N_("Only the technology staff of %(command)s can decide at this stage.")
MSG_ITEMS_ONLY_AT_CENTRAL_IT = N_("Items are decided one by one only at the Central IT Center stage.")
MSG_ALL_ITEMS_REJECTED = N_("Every item is rejected: reject the request instead, with a comment.")
MSG_UNKNOWN_ITEM = N_("That item does not belong to this request.")
MSG_BAD_KIND = N_("Unknown request kind.")
MSG_NO_CHAIN = N_("No approval chain is set up for this kind of request; ask an administrator.")
MSG_BAD_EMAIL = N_("Enter a valid e-mail address, like name@police.go.th.")
MSG_BAD_MOBILE = N_("Enter a mobile number of 10 digits starting with 0, like 0812345678.")
MSG_REQUIRED = N_("This field is required.")
MSG_TOO_LONG = N_("Keep this under %(limit)s characters.")
MSG_SOURCE_CLOSED = N_("%(source)s is not open for requests yet.")
MSG_UNKNOWN_SOURCE = N_("Unknown data source.")
MSG_UNKNOWN_FUNCTION = N_("Unknown or withdrawn system function.")
MSG_NEEDS_GROUP = N_("Choose a rank group for %(source)s.")
MSG_SOURCES_NOT_FOR_KIND = N_("Data sources are asked for only in an external search request.")
MSG_FUNCTIONS_NOT_FOR_KIND = N_("System functions are asked for only in a function or account request.")
MSG_HEAD_UNKNOWN = N_("The certifying head was not found in the personnel records.")
MSG_HEAD_SELF = N_("You cannot name yourself as the certifying head.")
MSG_TARGET_UNIT = N_("Choose the unit of the temporary assignment (not your current unit).")
MSG_ASSIGNMENT_UNTIL = N_("The end of the assignment must be after today and within two years.")
MSG_BAD_ATTACHMENT_KIND = N_("Unknown kind of document.")
MSG_ITEM_DECIDED = N_("An item that was already decided cannot be removed.")
MSG_NOT_AWAITING_ACTIVATION = N_("This item is not waiting for activation by the agency.")
MSG_REFERENCE_REQUIRED = N_("Enter the agency's reference for the activation.")
MSG_ACTIVATION_DATE = N_("The activation date cannot be in the future or before the approval.")
MSG_REASON_REQUIRED = N_("Give the reason the agency refused activation.")
MSG_INELIGIBLE = N_("The request cannot be submitted: %(reasons)s")
MSG_CANNOT_APPROVE = N_("This cannot be approved: %(reasons)s")
MSG_WARNINGS_NEED_COMMENT = N_("Approving over a warning needs a comment saying why: %(reasons)s")
MSG_CHOOSE_EVERY_ITEM = N_("Choose approve or reject for every item.")
MSG_CHOOSE_ITEM = N_("Choose approve or reject for this item.")
MSG_ITEM_REASON = N_("Give the reason %(item)s is rejected: the officer will read it.")
MSG_ATTEST = N_("Confirm the certification: the officer is fit to hold these rights and you will supervise their use.")
MSG_NO_AGREEMENT = N_("No valid data-sharing agreement with %(agency)s: %(source)s cannot be requested.")

EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
MOBILE = re.compile(r"^0\d{9}$")
SEARCH_KINDS = eligibility.SEARCH_KINDS
FUNCTION_KINDS = eligibility.FUNCTION_KINDS
# A completed account request always leaves the officer this function's grant.
ACCOUNT_KINDS = frozenset({"new_account", "account_renewal"})
ACCOUNT_FUNCTION = "crimes_account"
STAGE_DECISIONS = ("approve", "return", "reject")
TEXT_LIMIT = inputs.TEXT_LIMIT


class Ineligible(SitthiError):
    """The eligibility checks failed; every reason is listed, each in the user's language."""

    status = 400

    def __init__(self, checks: list[eligibility.Check], message: str = MSG_INELIGIBLE):
        super().__init__(message, reasons="; ".join(c.message % c.params for c in checks))
        self.checks = checks

    def translated(self) -> str:
        reasons = "; ".join(translate(c.message, c.params) for c in self.checks)
        return translate(self.message, {"reasons": reasons})


def invalid(field_name: str, message: str, **params) -> ValidationFailed:
    error = ValidationFailed(message, **params)
    error.field = field_name
    return error


# -- what a form hands to the service ---------------------------------------------------------
@dataclass(frozen=True)
class SourceChoice:
    data_source_id: int
    rank_group_id: int | None = None
    # Linkage Center rules: the source's data fields asked for (None: not stated, so every field
    # the agreement allows) and the answers to its justification questions (question id, text).
    field_ids: tuple[int, ...] | None = None
    answers: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class RequestData:
    kind: str
    contact_email: str = ""
    contact_mobile: str = ""
    duty_performed: str = ""
    duty_mismatch: bool = False
    pledge_accepted: bool = False
    certifying_head_id: int | None = None
    target_unit_id: int | None = None
    assignment_until: date | None = None
    sources: tuple[SourceChoice, ...] = ()
    function_ids: tuple[int, ...] = ()
    # How a person typed the dates of their answers: dd/mm/yyyy in the Buddhist Era (Thai).
    dates_in_buddhist_era: bool = False


@dataclass(frozen=True)
class Upload:
    kind: str
    filename: str
    content: bytes


@dataclass(frozen=True)
class ItemDecision:
    item_id: int
    approve: bool
    comment: str = ""


# A grant the agency activates comes alive unless it was ended meanwhile: a revoked or suspended
# grant keeps its state (only a person brings a suspended one back).
ENDED_WHILE_ACTIVATING = ("revoked", "suspended")


# -- who may see and who may act ----------------------------------------------------------------
def deciding_command_id(session: Session, request: AccessRequest) -> int | None:
    """The command whose technology staff handle the request (the target's, for ช่วยราชการ)."""
    unit_id = request.target_unit_id if request.kind == "temporary_assignment" else request.unit_id
    return command_of(session, unit_id or request.unit_id)


def can_view(session: Session, actor: Actor, request: AccessRequest) -> bool:
    """The row scope of app.security.scope, the same rule every list applies."""
    return is_visible(session, actor, AccessRequest, request.id)


def load_request(session: Session, actor: Actor, request_id: int, options=()) -> AccessRequest:
    """The request if the actor may see it; `options` load what the caller's page reads of it."""
    request = session.get(AccessRequest, request_id, options=options)
    if request is None or not can_view(session, actor, request):
        raise NotFound(MSG_NOT_FOUND)
    return request


def _check_version(record, expected_version: int | None) -> None:
    """Refuse a form opened on an older version; the row is read again, not taken from memory,
    so a change committed meanwhile by someone else is seen before anything is judged."""
    expected = inputs.expected_version(expected_version)  # not a whole number: refused, not a crash
    if expected is None:
        return
    object_session(record).refresh(record)
    if record.version != expected:
        raise StaleRecord(MSG_STALE)


def _flush(session: Session) -> None:
    """Write now, so a concurrent decision is caught here as a clear conflict."""
    try:
        session.flush()
    except StaleDataError as error:
        raise StaleRecord(MSG_STALE) from error


def _is_requester(actor: Actor, request: AccessRequest) -> bool:
    return (actor.officer_id is not None and actor.officer_id == request.requester_id) or (
        request.created_by_id is not None and request.created_by_id == actor.user_id
    )


def standing_in_for(actor: Actor, request: AccessRequest, stage: ApprovalStage | None) -> int | None:
    """The user id of the named head this actor certifies for as their deputy today, else None.

    Only a head stage is ever decided on someone's behalf: CentralIT and CommandTech stages are
    open to every user of that role already (see app.services.delegations).
    """
    if stage is None or stage.actor != "certifying_head" or actor.officer_id == request.certifying_head_id:
        return None
    head = request.certifying_head
    if head is not None and head.user_id is not None and head.user_id in actor.stands_in_for:
        return head.user_id
    return None


def authorize_stage(session: Session, actor: Actor, request: AccessRequest, stage: ApprovalStage) -> int | None:
    """Raise NotAllowed unless the actor is the one this stage designates.

    Returns the user id of the head a deputy decides for (recorded as `on_behalf_of`), or None
    when the actor decides in their own right. A deputy's decision counts as both people's: the
    deputy may not decide another stage of the request, and neither may the head.
    """
    if _is_requester(actor, request):
        raise NotAllowed(MSG_OWN_REQUEST)
    on_behalf_of = standing_in_for(actor, request, stage)
    if stage.actor != "agency":
        people = [actor.user_id] + ([on_behalf_of] if on_behalf_of else [])
        earlier = session.scalar(
            select(func.count(Decision.id)).where(
                Decision.request_id == request.id,
                or_(Decision.actor_id.in_(people), Decision.on_behalf_of_id.in_(people)),
                Decision.item_id.is_(None),
                Decision.transition.in_(STAGE_DECISIONS),
                Decision.stage_id != stage.id,
            )
        )
        if earlier:
            raise NotAllowed(MSG_TWO_STAGES)
    if stage.actor == "certifying_head":
        if on_behalf_of is None and (actor.officer_id is None or actor.officer_id != request.certifying_head_id) \
                and not escalated_to(session, actor, request, stage):
            raise NotAllowed(MSG_NOT_HEAD)
    elif stage.actor in ("central_it", "agency"):
        # The agency activates in its own systems; CentralIT records what it did.
        if not actor.has_role(CENTRAL_IT) and not escalated_to(session, actor, request, stage):
            raise NotAllowed(MSG_NOT_CENTRAL_IT)
    elif stage.actor == "command_tech":
        command_id = deciding_command_id(session, request)
        if (not actor.has_role(COMMAND_TECH) or actor.command_id != command_id) \
                and not escalated_to(session, actor, request, stage):
            command = session.get(Unit, command_id) if command_id else None
            raise NotAllowed(MSG_NOT_COMMAND_TECH, command=str(command or "-"))
    return on_behalf_of


def escalated_to(session: Session, actor: Actor, request: AccessRequest, stage: ApprovalStage) -> bool:
    """Whether the request's wait at this stage was escalated to this user, by name or by role (a
    command role: of the request's command). The fallback decides beside the stage's own actor."""
    if request.state != machine.SUBMITTED or request.stage_entered_on is None or stage.actor == "agency":
        return False
    row = session.execute(select(StageChase.escalated_to_user_id, StageChase.escalated_to_role).where(
        StageChase.request_id == request.id, StageChase.stage_id == stage.id,
        StageChase.entered_on == request.stage_entered_on, StageChase.escalated_on.is_not(None))).first()
    if row is None:
        return False
    if row.escalated_to_user_id is not None:
        return row.escalated_to_user_id == actor.user_id
    if row.escalated_to_role is None or not actor.has_role(row.escalated_to_role):
        return False
    return row.escalated_to_role != COMMAND_TECH or actor.command_id == deciding_command_id(session, request)


def stage_transitions(session: Session, actor: Actor, request: AccessRequest) -> list[str]:
    """The stage decisions this actor may take on this request now (to show the right buttons)."""
    if request.state != "submitted" or request.current_stage is None:
        return []
    try:
        authorize_stage(session, actor, request, request.current_stage)
    except NotAllowed:
        return []
    return list(STAGE_DECISIONS)


def awaits_agency(request: AccessRequest, item: RequestItem) -> bool:
    """An approved item of a completed request whose source the owner agency must activate."""
    stage = request.current_stage
    return (request.state == machine.COMPLETED and stage is not None and stage.actor == "agency"
            and item.state == "approved" and _needs_activation(item, stage))


def activation_items(session: Session, actor: Actor, request: AccessRequest) -> list[RequestItem]:
    """The items this actor may record the agency's activation for now (none for most users)."""
    waiting = [item for item in request.items if awaits_agency(request, item)]
    if not waiting:
        return []
    try:
        authorize_stage(session, actor, request, request.current_stage)
    except NotAllowed:
        return []
    return waiting


def head_certification(session: Session, request: AccessRequest) -> Decision | None:
    """The head's certification in the app (the attestation confirmed), latest first; else None."""
    return session.scalar(select(Decision).where(
        Decision.request_id == request.id, Decision.attested.is_(True), Decision.item_id.is_(None))
        .order_by(Decision.decided_at.desc(), Decision.id.desc()).limit(1))


def requester_transitions(actor: Actor, request: AccessRequest) -> list[str]:
    if actor.officer_id is None or actor.officer_id != request.requester_id:
        return []
    names = machine.allowed_from(request.state)
    return [n for n in names if machine.TRANSITIONS[n].fired_by == machine.REQUESTER]


# -- drafts ------------------------------------------------------------------------------------
def _validate_contact(data: RequestData) -> None:
    if data.contact_email and (len(data.contact_email) > 254 or not EMAIL.match(data.contact_email)):
        raise invalid("contact_email", MSG_BAD_EMAIL)
    mobile = re.sub(r"[\s-]", "", data.contact_mobile or "")
    if mobile and not MOBILE.match(mobile):
        raise invalid("contact_mobile", MSG_BAD_MOBILE)
    if len(data.duty_performed or "") > TEXT_LIMIT:
        raise invalid("duty_performed", MSG_TOO_LONG, limit=TEXT_LIMIT)


def _validate_head(session: Session, data: RequestData, officer: Officer) -> None:
    if data.certifying_head_id is None:
        return
    if data.certifying_head_id == officer.id:
        raise invalid("certifying_head", MSG_HEAD_SELF)
    if session.get(Officer, data.certifying_head_id) is None:
        raise invalid("certifying_head", MSG_HEAD_UNKNOWN)


def _validate_assignment(session: Session, data: RequestData, officer: Officer, today: date) -> None:
    if data.kind != "temporary_assignment":
        return
    if data.target_unit_id is not None:
        unit = session.get(Unit, data.target_unit_id)
        current = officer.acting_unit_id or officer.home_unit_id
        if unit is None or not unit.is_active or unit.id == current:
            raise invalid("target_unit", MSG_TARGET_UNIT)
    if data.assignment_until is not None and not (
        today < data.assignment_until <= today + relativedelta(years=2)
    ):
        raise invalid("assignment_until", MSG_ASSIGNMENT_UNTIL)


def _chosen_sources(session: Session, data: RequestData, today: date) -> list[tuple[DataSource, RankGroup | None]]:
    if data.sources and data.kind not in SEARCH_KINDS:
        raise invalid("sources", MSG_SOURCES_NOT_FOR_KIND)
    agreed = eligibility.agreed_agency_ids(session, today) if data.sources else set()
    chosen, seen = [], set()
    for choice in data.sources:
        if choice.data_source_id in seen:
            continue
        seen.add(choice.data_source_id)
        source = session.get(DataSource, choice.data_source_id)
        if source is None:
            raise invalid("sources", MSG_UNKNOWN_SOURCE)
        if not source.is_open:
            raise invalid("sources", MSG_SOURCE_CLOSED, source=named(source))
        if source.agency_id not in agreed:
            raise invalid("sources", MSG_NO_AGREEMENT, agency=named(source.agency), source=named(source))
        group = session.get(RankGroup, choice.rank_group_id) if choice.rank_group_id else None
        if source.needs_rank_group and group is None:
            raise invalid("rank_group", MSG_NEEDS_GROUP, source=named(source))
        chosen.append((source, group if source.needs_rank_group else None))
    return chosen


def _chosen_functions(session: Session, data: RequestData) -> list[SystemFunction]:
    if data.function_ids and data.kind not in FUNCTION_KINDS:
        raise invalid("functions", MSG_FUNCTIONS_NOT_FOR_KIND)
    chosen = []
    for function_id in dict.fromkeys(data.function_ids):
        function = session.get(SystemFunction, function_id)
        if function is None or not function.is_active:
            raise invalid("functions", MSG_UNKNOWN_FUNCTION)
        chosen.append(function)
    return chosen


def _sync_items(session: Session, request: AccessRequest, officer: Officer,
                sources: list[tuple[DataSource, RankGroup | None]],
                functions: list[SystemFunction]) -> None:
    own_group = officer.rank.rank_group.number if officer.rank and officer.rank.rank_group else None
    wanted = {("source", s.id): (s, g) for s, g in sources}
    wanted.update({("function", f.id): (f, None) for f in functions})
    for item in list(request.items):
        key = ("source", item.data_source_id) if item.data_source_id else ("function", item.function_id)
        if key in wanted:
            _target, group = wanted.pop(key)
            item.rank_group = group
            item.above_own_rank = bool(group and own_group and group.number < own_group)
            continue
        decided = session.scalar(select(func.count(Decision.id)).where(Decision.item_id == item.id))
        if decided:
            raise invalid("sources", MSG_ITEM_DECIDED)
        request.items.remove(item)
        session.delete(item)
    for (what, _id), (target, group) in wanted.items():
        item = RequestItem(
            data_source=target if what == "source" else None,
            function=target if what == "function" else None,
            rank_group=group,
            above_own_rank=bool(group and own_group and group.number < own_group),
            state="pending",
        )
        request.items.append(item)


# -- Linkage Center rules on the form: fields asked and justification given, per source ----------
def _chosen_justifications(session: Session, data: RequestData, sources, today: date) -> dict:
    """source id -> the fields and answers given for it, every problem refused at its field."""
    if not sources:
        return {}
    allowed = linkage.allowed_field_ids(session, today)
    given = {choice.data_source_id: choice for choice in data.sources}
    problems: list[tuple[str, str, dict]] = []
    chosen = {}
    for source, _group in sources:
        choice = given[source.id]
        chosen[source.id] = linkage.justification_of(
            session, source, choice.field_ids, choice.answers, allowed, data.dates_in_buddhist_era, problems)
    if problems:
        raise FieldsRefused(problems)
    return chosen


def _sync_justifications(request: AccessRequest, chosen: dict) -> None:
    """Each source item asks for its chosen fields and keeps its answers, with the questions'
    words as asked (an Admin may reword or drop a question later)."""
    for item in request.items:
        source = item.data_source  # a new item has its source, not yet its source's id
        given = chosen.get(source.id) if source is not None else None
        if given is None:
            continue
        item.fields = list(given.fields)
        questions = {q.id: q for q in linkage.questions_by_source(
            object_session(request), [source.id]).get(source.id, [])}
        kept = {a.question_id: a for a in item.answers}
        for question_id, answer in list(kept.items()):
            if question_id not in given.answers:
                item.answers.remove(answer)
        for question_id, value in given.answers.items():
            question = questions[question_id]
            answer = kept.get(question_id)
            if answer is None:
                answer = ItemAnswer(question_id=question_id)
                item.answers.append(answer)
            answer.label_th, answer.label_en, answer.value = question.label_th, question.label_en, value


def checked_uploads(uploads, max_bytes: int) -> tuple:
    """(upload, its checked file) for each upload, judged all before any is kept: one refused file
    refuses the save, and the refusal names every refused file."""
    if any(upload.kind not in ATTACHMENT_KINDS for upload in uploads):
        raise invalid("attachments", MSG_BAD_ATTACHMENT_KIND)
    return tuple(zip(uploads, check_uploads(uploads, max_bytes), strict=True))


def _add_uploads(session: Session, actor: Actor, request: AccessRequest, uploads, max_bytes: int) -> None:
    _attach(session, actor, request, checked_uploads(uploads, max_bytes))


def _attach(session: Session, actor: Actor, request: AccessRequest, files) -> None:
    for upload, checked in files:
        session.add(Attachment(
            request=request, kind=upload.kind, filename=checked.filename,
            content_type=checked.content_type, size_bytes=checked.size_bytes,
            sha256=checked.sha256, content=checked.content, uploaded_by_id=actor.user_id,
        ))


@conflicts_are_stale(MSG_STALE)
def save_draft(
    session: Session,
    actor: Actor,
    data: RequestData,
    clock: Clock,
    *,
    request_id: int | None = None,
    expected_version: int | None = None,
    uploads: tuple[Upload, ...] = (),
    remove_attachment_ids: tuple[int, ...] = (),
    max_upload_bytes: int = 5 * 1024 * 1024,
) -> AccessRequest:
    """Create or update the actor's own draft (or returned) request, files included."""
    if actor.officer_id is None:
        raise NotAllowed(MSG_NO_OFFICER)
    officer = session.get(Officer, actor.officer_id)
    if request_id is None:
        if data.kind not in REQUEST_KINDS:
            raise invalid("kind", MSG_BAD_KIND)
        chain = session.scalar(select(ApprovalChain).where(
            ApprovalChain.request_kind == data.kind, ApprovalChain.is_active.is_(True)))
        if chain is None or not chain.stages:
            raise invalid("kind", MSG_NO_CHAIN)
        request = None
        before = None
    else:
        request = load_request(session, actor, request_id)
        if request.requester_id != officer.id:
            raise NotAllowed(MSG_NOT_YOURS)
        if request.state not in (machine.DRAFT, machine.RETURNED):
            raise machine.TransitionRefused(MSG_NOT_EDITABLE)
        _check_version(request, expected_version)
        before = audit.snapshot(request)

    _validate_contact(data)
    _validate_head(session, data, officer)
    _validate_assignment(session, data, officer, clock.today)
    sources = _chosen_sources(session, data, clock.today)
    justifications = _chosen_justifications(session, data, sources, clock.today)
    functions = _chosen_functions(session, data)
    if request is None:
        request = AccessRequest(kind=data.kind, state="draft", requester=officer,
                                unit_id=officer.acting_unit_id or officer.home_unit_id,
                                chain=chain, created_by_id=actor.user_id)
        session.add(request)

    request.contact_email = (data.contact_email or "").strip()
    request.contact_mobile = re.sub(r"[\s-]", "", data.contact_mobile or "")
    request.duty_performed = (data.duty_performed or "").strip()
    request.duty_mismatch = bool(data.duty_mismatch)
    request.pledge_accepted = bool(data.pledge_accepted)
    request.certifying_head_id = data.certifying_head_id
    request.target_unit_id = data.target_unit_id if data.kind == "temporary_assignment" else None
    request.assignment_until = data.assignment_until if data.kind == "temporary_assignment" else None
    _sync_items(session, request, officer, sources, functions)
    _sync_justifications(request, justifications)
    if remove_attachment_ids:
        for attachment in session.scalars(select(Attachment).where(
                Attachment.request_id == request.id, Attachment.id.in_(remove_attachment_ids))):
            session.delete(attachment)
    _flush(session)
    _add_uploads(session, actor, request, uploads, max_upload_bytes)
    _flush(session)
    action = "AccessRequest.create" if before is None else "AccessRequest.update"
    audit.record(session, action, actor_id=actor.user_id, obj=request, before=before,
                 after=audit.snapshot(request))
    return request


# -- one officer's line of a group request (app.services.group_requests) --------------------------
def draft_line(session: Session, actor: Actor, officer: Officer, data: RequestData, clock: Clock, *,
               group, files: tuple = ()) -> AccessRequest:
    """A draft the filer of a group request makes for one officer: the officer is its requester
    (they follow it, are told of it and may cancel it), the filer its creator (who therefore
    decides none of its stages). Fields and choices, the data fields and justification answers
    too, are checked as on one's own draft (FieldsRefused); `files` are the group's documents,
    checked once (checked_uploads), kept with every line."""
    if data.kind not in REQUEST_KINDS:
        raise invalid("kind", MSG_BAD_KIND)
    chain = session.scalar(select(ApprovalChain).where(
        ApprovalChain.request_kind == data.kind, ApprovalChain.is_active.is_(True)))
    if chain is None or not chain.stages:
        raise invalid("kind", MSG_NO_CHAIN)
    _validate_contact(data)
    sources = _chosen_sources(session, data, clock.today)
    # The group's fields and answers, judged by the rule of one's own request.
    justifications = _chosen_justifications(session, data, sources, clock.today)
    functions = _chosen_functions(session, data)
    request = AccessRequest(
        kind=data.kind, state="draft", requester=officer, unit_id=officer.acting_unit_id or officer.home_unit_id,
        chain=chain, created_by_id=actor.user_id, group=group,
        contact_email=(data.contact_email or "").strip(),
        contact_mobile=re.sub(r"[\s-]", "", data.contact_mobile or ""),
        duty_performed=(data.duty_performed or "").strip(), duty_mismatch=bool(data.duty_mismatch),
        pledge_accepted=bool(data.pledge_accepted), certifying_head_id=data.certifying_head_id)
    session.add(request)
    _sync_items(session, request, officer, sources, functions)
    _sync_justifications(request, justifications)
    _flush(session)
    _attach(session, actor, request, files)
    _flush(session)
    audit.record(session, "AccessRequest.create", actor_id=actor.user_id, obj=request,
                 after=audit.snapshot(request))
    return request


def submit_line(session: Session, actor: Actor, request: AccessRequest, clock: Clock, *,
                filer_certifies: bool) -> AccessRequest:
    """Send a group line up its chain, judged as any submission is.

    A unit head who files for the officers they head signs the group memo: with the attestation
    confirmed on the group form, that filing is their certification of these lines, recorded as
    the head's decision at the head's stage, and the lines go on to the next stage.
    """
    machine.check("submit", _context(request))
    _require_complete(request)
    failed = eligibility.failures(eligibility.check_request(session, request, clock.today))
    if failed:
        raise Ineligible(failed)
    request.number = _next_number(session, clock.today)
    stage = request.current_stage = request.chain.stages[0]
    request.submitted_at = clock.now
    request.state = machine.SUBMITTED
    request.due_on = due_date(session, clock.today, stage.due_business_days)
    _flush(session)
    _record(session, actor, request, "submit", machine.DRAFT, stage, "", clock)
    if filer_certifies and stage.actor == "certifying_head" and request.certifying_head is not None \
            and request.certifying_head.user_id == actor.user_id:
        _judge_approval(session, request, stage, "", (), clock.today)
        _advance(session, actor, request, clock)
        _flush(session)
        _record(session, actor, request, "approve", machine.SUBMITTED, stage, "", clock, attested=True)
    if request.state == machine.SUBMITTED:
        _notify_stage(session, request)
    _notify_requester(session, request, "submit")
    _flush(session)
    return request


def next_number(session: Session, today: date) -> str:
    """The next running number of the year, for a paper Sitthi numbers (a group memo too)."""
    return _next_number(session, today)


# -- the transitions -----------------------------------------------------------------------------
def _record(session: Session, actor: Actor, request: AccessRequest, transition: str,
            from_state: str, stage: ApprovalStage | None, comment: str, clock: Clock,
            item: RequestItem | None = None, on_behalf_of: int | None = None,
            attested: bool = False, before: dict | None = None, after: dict | None = None) -> Decision:
    decision = Decision(
        request=request, stage=stage, item=item, transition=transition,
        from_state=from_state, to_state=item.state if item else request.state,
        actor_id=actor.user_id, on_behalf_of_id=on_behalf_of,
        comment=(comment or "").strip() or None, decided_at=clock.now, attested=attested,
    )
    session.add(decision)
    if stage_waits.ends_a_wait(transition, is_item_decision=item is not None):
        stage_waits.record_waits(session, [request.id])
    if item is None:
        audit.record(
            session, f"AccessRequest.{transition}", actor_id=actor.user_id,
            on_behalf_of_id=on_behalf_of, obj=request,
            before={"state": from_state, "stage": stage.name_en if stage else None, **(before or {})},
            after={"state": request.state,
                   "stage": request.current_stage.name_en if request.current_stage else None,
                   "comment": decision.comment, **({"attested": True} if attested else {}), **(after or {})},
        )
    else:
        audit.record(session, f"RequestItem.{transition}", actor_id=actor.user_id,
                     on_behalf_of_id=on_behalf_of, obj=item, object_type="RequestItem",
                     unit_id=request.unit_id, after={"state": item.state, "comment": decision.comment})
    return decision


def _next_number(session: Session, today: date) -> str:
    """The next running number of the Buddhist-Era year, e.g. 2569/000123.

    One counter row per year, bumped by an atomic upsert: simultaneous submissions wait for each
    other on that row and each gets its own number (max()+1 gave two of them the same one).
    """
    year = today.year + 543
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    bump = insert(RequestNumberCounter).values(year_be=year, last_number=1)
    bump = bump.on_conflict_do_update(
        index_elements=[RequestNumberCounter.year_be],
        set_={"last_number": RequestNumberCounter.last_number + 1},
    ).returning(RequestNumberCounter.last_number)
    sequence = session.execute(bump).scalar_one()
    return f"{year}/{sequence:06d}"


def _context(request: AccessRequest, comment: str = "") -> machine.Context:
    return machine.Context(
        state=request.state,
        comment=comment or "",
        pledge_accepted=request.pledge_accepted,
        item_count=len(request.items),
        needs_items=request.kind in SEARCH_KINDS or request.kind == "additional_functions",
        has_certifying_head=request.certifying_head_id is not None,
        at_stage=request.current_stage is not None and request.current_stage.actor != "agency",
    )


def _require_complete(request: AccessRequest) -> None:
    for name in ("contact_email", "contact_mobile", "duty_performed"):
        if not getattr(request, name):
            raise invalid(name, MSG_REQUIRED)
    if request.kind == "temporary_assignment":
        if request.target_unit_id is None:
            raise invalid("target_unit", MSG_TARGET_UNIT)
        if request.assignment_until is None:
            raise invalid("assignment_until", MSG_ASSIGNMENT_UNTIL)


class SubmissionRefused(SitthiError):
    """Every reason a request cannot be submitted yet, each at the field it concerns ("_form" for
    the eligibility checks), so the form can show them all at once."""

    status = 400

    def __init__(self, problems: dict[str, list[tuple[str, dict]]]):
        first_message, first_params = next(iter(problems.values()))[0]
        super().__init__(first_message, **first_params)
        self.problems = problems

    def translated_by_field(self) -> dict[str, str]:
        return {field: " ".join(translate(message, params) for message, params in reasons)
                for field, reasons in self.problems.items()}

    def translated(self) -> str:
        return " ".join(self.translated_by_field().values())


def submission_problems(session: Session, request: AccessRequest, today) -> dict[str, list[tuple[str, dict]]]:
    """What submit() would refuse, all of it: the submit guards, the fields a request must have,
    and the eligibility checks; by field. Empty when the request may be submitted."""
    problems: dict[str, list[tuple[str, dict]]] = {}
    items_field = "sources" if request.kind in SEARCH_KINDS else "functions"
    fields = {machine.MSG_PLEDGE: "pledge_accepted", machine.MSG_NO_ITEMS: items_field,
              machine.MSG_NO_HEAD: "certifying_head"}
    name = "resubmit" if request.state == machine.RETURNED else "submit"
    context = _context(request)
    for guard in machine.TRANSITIONS[name].guards:
        reason = guard(context)
        if reason:
            problems.setdefault(fields.get(reason, "_form"), []).append((reason, {}))
    for field in ("contact_email", "contact_mobile", "duty_performed"):
        if not getattr(request, field):
            problems.setdefault(field, []).append((MSG_REQUIRED, {}))
    if request.kind == "temporary_assignment":
        if request.target_unit_id is None:
            problems.setdefault("target_unit", []).append((MSG_TARGET_UNIT, {}))
        if request.assignment_until is None:
            problems.setdefault("assignment_until", []).append((MSG_ASSIGNMENT_UNTIL, {}))
    for check in eligibility.failures(eligibility.check_request(session, request, today)):
        problems.setdefault(check.field or "_form", []).append((check.message, check.params))
    return problems


@conflicts_are_stale(MSG_STALE)
def submit(session: Session, actor: Actor, request_id: int, clock: Clock,
           expected_version: int | None = None) -> AccessRequest:
    """Send a draft up the chain, or a returned request back to the stage that returned it."""
    request = load_request(session, actor, request_id)
    if request.requester_id != actor.officer_id:
        raise NotAllowed(MSG_NOT_YOURS)
    _check_version(request, expected_version)
    name = "resubmit" if request.state == machine.RETURNED else "submit"
    machine.check(name, _context(request))
    _require_complete(request)
    replaced_head = _replace_inactive_head(session, request, name)
    failed = eligibility.failures(eligibility.check_request(session, request, clock.today))
    if failed:
        raise Ineligible(failed)
    from_state = request.state
    if name == "submit":
        request.number = request.number or _next_number(session, clock.today)
        request.submitted_at = clock.now
    stage = request.chain.stages[0] if name == "submit" else request.current_stage
    request.state = machine.SUBMITTED
    enter_stage(session, request, stage, clock)
    _flush(session)
    _record(session, actor, request, name, from_state, request.current_stage, "", clock)
    if replaced_head is not None:
        _record_reassign(session, request, replaced_head, clock)
    _notify_stage(session, request)
    _notify_requester(session, request, name)
    _flush(session)
    return request


# -- the named head gone: the request goes to the unit's next head ---------------------------------
# The scheduled sweep and the submit that finds the head gone act as nobody: no login decides.
SYSTEM = Actor(user_id=None)


def _replace_inactive_head(session: Session, request: AccessRequest, name: str) -> Officer | None:
    """At submit: a named head out of service (or whose login is disabled) is replaced by the
    unit's next head before the checks, so the request does not wait for someone who cannot act.
    The head replaced, or None when the named head stays (or nobody can take their place)."""
    stage = request.chain.stages[0] if name == "submit" else request.current_stage
    if stage is None or stage.actor != "certifying_head":
        return None
    if not fallback_heads.inactive_at_submit(session, request.certifying_head_id):
        return None
    successor = fallback_heads.HeadFinder(session).next_head(request)
    if successor is None:
        return None  # the eligibility check names the head who cannot certify
    replaced = request.certifying_head
    request.certifying_head = session.get(Officer, successor)
    return replaced


def reassign_head(session: Session, request: AccessRequest, successor_id: int, clock: Clock) -> Decision:
    """Hand a request waiting at the head's stage to another head (the sweep's fallback): the wait
    starts again for the new head; a timeline entry, an audit event, and mail to both."""
    replaced, stage = request.certifying_head, request.current_stage
    successor = session.get(Officer, successor_id)
    with session.no_autoflush:  # one write of the request: one compare-and-set on its version
        request.certifying_head = successor
        enter_stage(session, request, stage, clock)
    _flush(session)
    decision = _record_reassign(session, request, replaced, clock)
    _notify_stage(session, request)
    return decision


def _record_reassign(session: Session, request: AccessRequest, replaced: Officer | None, clock: Clock) -> Decision:
    head = request.certifying_head
    comment = (f"{replaced or '-'} → {head} "
               f"(หัวหน้าหน่วยที่ระบุไว้ไม่อยู่ในตำแหน่งหรือไม่ได้ปฏิบัติหน้าที่แล้ว / "
               f"the named head no longer serves as a unit head)")
    decision = _record(session, SYSTEM, request, "reassign", request.state, request.current_stage, comment, clock,
                       before={"certifying_head_id": replaced.id if replaced else None},
                       after={"certifying_head_id": head.id if head else None})
    _notify_requester(session, request, "reassign", comment)
    return decision


def record_system(session: Session, request: AccessRequest, transition: str, from_state: str,
                  stage: ApprovalStage | None, comment: str, clock: Clock, **audit_after) -> Decision:
    """A timeline entry and an audit event of the chasing sweep (no one's decision)."""
    return _record(session, SYSTEM, request, transition, from_state, stage, comment, clock, after=audit_after)


def notify_requester(session: Session, request: AccessRequest, what: str, comment: str = "") -> None:
    _notify_requester(session, request, what, comment)


def message(request: AccessRequest, what: str) -> tuple[str, str]:
    return _message(request, what)


@conflicts_are_stale(MSG_STALE)
def cancel(session: Session, actor: Actor, request_id: int, clock: Clock,
           expected_version: int | None = None, comment: str = "") -> AccessRequest:
    request = load_request(session, actor, request_id)
    if request.requester_id != actor.officer_id:
        raise NotAllowed(MSG_NOT_YOURS)
    _check_version(request, expected_version)
    machine.check("cancel", _context(request, comment))
    from_state, stage = request.state, request.current_stage
    request.state = machine.CANCELLED
    enter_stage(session, request, None, clock)
    _flush(session)
    _record(session, actor, request, "cancel", from_state, stage, comment, clock)
    _notify_requester(session, request, "cancel")
    _flush(session)
    return request


@conflicts_are_stale(MSG_STALE)
def decide(session: Session, actor: Actor, request_id: int, transition: str, clock: Clock, *,
           expected_version: int | None = None, comment: str = "",
           item_decisions: tuple[ItemDecision, ...] = (), approve_remaining: bool = False,
           attest: bool = False, every_problem: bool = False) -> AccessRequest:
    """Approve, return or reject a request at the stage it waits at.

    At CentralIT an approval decides every pending item: each one explicitly, or all those not
    mentioned with `approve_remaining` (a bulk approval from a list). At the head's stage an
    approval is the head's certification and needs `attest`. Every approval is judged again on
    the day (see `_judge_approval`). What is wrong with the decision's input is refused with the
    first problem (the API's answer), or with `every_problem` all of them at once (FieldsRefused:
    a screen shows each at its field).
    """
    if transition not in STAGE_DECISIONS:
        raise machine.TransitionRefused(machine.MSG_NO_STAGE)
    request = load_request(session, actor, request_id)
    _check_version(request, expected_version)
    # Every problem of the form at once, each at its field; then the checks of the day.
    problems = []
    try:
        machine.check(transition, _context(request, comment))
    except machine.TransitionRefused as refused:
        if refused.message != machine.MSG_COMMENT_REQUIRED:
            raise
        problems.append(("comment", refused.message, refused.params))
    stage = request.current_stage
    on_behalf_of = authorize_stage(session, actor, request, stage)
    if item_decisions and stage.actor != "central_it":
        raise invalid("items", MSG_ITEMS_ONLY_AT_CENTRAL_IT)
    attested = False
    if transition == "approve":
        if stage.actor == "central_it":
            item_decisions, item_problems = _every_item_chosen(request, item_decisions, approve_remaining)
            problems.extend(item_problems)
        if stage.actor == "certifying_head":
            if not attest:
                problems.append(("attest", MSG_ATTEST, {}))
            attested = True
    if problems:
        raise FieldsRefused(problems) if every_problem else _first_problem(problems)
    if transition == "approve":
        _judge_approval(session, request, stage, comment, item_decisions, clock.today)
    from_state = request.state
    if transition == "approve":
        decided_items = _decide_items(request, item_decisions)
        _advance(session, actor, request, clock)
    else:
        decided_items = []
        request.state = machine.RETURNED if transition == "return" else machine.REJECTED
        request.due_on = None
        if transition == "reject":
            for item in request.items:
                if item.state == "pending":
                    item.state = "rejected"
            enter_stage(session, request, None, clock)
    _flush(session)
    _record(session, actor, request, transition, from_state, stage, comment, clock,
            on_behalf_of=on_behalf_of, attested=attested)
    for item, item_comment, item_transition in decided_items:
        _record(session, actor, request, item_transition, "pending", stage, item_comment, clock, item,
                on_behalf_of=on_behalf_of)
    if request.state == machine.SUBMITTED:
        _notify_stage(session, request)
    _notify_requester(session, request, transition, comment)
    _flush(session)
    return request


def _first_problem(problems) -> SitthiError:
    """One problem of a decision, as the API has always answered it."""
    field, message, params = problems[0]
    if message == machine.MSG_COMMENT_REQUIRED:
        return machine.TransitionRefused(message)
    if message == MSG_CHOOSE_ITEM:
        return invalid("items", MSG_CHOOSE_EVERY_ITEM)
    return invalid(field, message, **params)


def _every_item_chosen(request: AccessRequest, item_decisions: tuple[ItemDecision, ...],
                       approve_remaining: bool) -> tuple[tuple[ItemDecision, ...], list]:
    """CentralIT's choice for every pending item, and what is wrong with them: (field, message,
    params) for each item left unchosen or rejected without a reason. Nothing is approved by
    leaving it unticked."""
    by_id = {item.id: item for item in request.items}
    chosen, problems = {}, []
    for decision in item_decisions:
        if decision.item_id not in by_id:
            raise invalid("items", MSG_UNKNOWN_ITEM)
        chosen[decision.item_id] = decision
    for item in request.items:
        if item.state != "pending" or item.id in chosen:
            continue
        if not approve_remaining:
            problems.append((f"item_{item.id}", MSG_CHOOSE_ITEM, {}))
            continue
        chosen[item.id] = ItemDecision(item.id, True)
    for decision in chosen.values():
        if not decision.approve and not (decision.comment or "").strip():
            problems.append((f"item_comment_{decision.item_id}", MSG_ITEM_REASON,
                             {"item": str(by_id[decision.item_id])}))
        if len(decision.comment or "") > TEXT_LIMIT:
            problems.append((f"item_comment_{decision.item_id}", MSG_TOO_LONG, {"limit": TEXT_LIMIT}))
    return tuple(chosen.values()), problems


def _judge_approval(session: Session, request: AccessRequest, stage: ApprovalStage, comment: str,
                    item_decisions: tuple[ItemDecision, ...], today: date) -> None:
    """A decision is re-judged on the day it is taken, not only at submit.

    A failing check of the whole request (officer no longer active, a document missing, duty line)
    blocks the approval; a failing check of an item blocks approving that item (it can be
    rejected). Approving over a warning needs a comment saying why (the item's own, or the
    decision's), recorded on the decision. The head's certification is their attestation
    instead: warnings are weighed by the stage that grants.
    """
    if stage.actor == "central_it":
        approving = {d.item_id for d in item_decisions if d.approve}
        item_comments = {d.item_id: (d.comment or "").strip() for d in item_decisions}
    else:
        approving = {item.id for item in request.items if item.state == "pending"}
        item_comments = {}
    checks = [c for c in eligibility.at_decision(eligibility.check_request(session, request, today))
              if c.item_id is None or c.item_id in approving]
    failed = eligibility.failures(checks)
    if failed:
        raise Ineligible(failed, MSG_CANNOT_APPROVE)
    if stage.actor == "certifying_head" or (comment or "").strip():
        return
    unexplained = [w for w in eligibility.warnings(checks) if not item_comments.get(w.item_id)]
    if unexplained:
        error = Ineligible(unexplained, MSG_WARNINGS_NEED_COMMENT)
        error.field = "comment"
        raise error


def _decide_items(request: AccessRequest, item_decisions: tuple[ItemDecision, ...]):
    """CentralIT's per-item decisions (already complete and checked); other stages decide none."""
    by_id = {item.id: item for item in request.items}
    decided = []
    for choice in item_decisions:
        item = by_id[choice.item_id]
        if item.state != "pending":
            continue
        item.state = "approved" if choice.approve else "rejected"
        if (choice.comment or "").strip():
            item.comment = choice.comment.strip()
        decided.append((item, choice.comment or "", "approve_item" if choice.approve else "reject_item"))
    if request.items and not any(i.state in ("approved", "activated") for i in request.items) \
            and all(i.state != "pending" for i in request.items):
        raise invalid("items", MSG_ALL_ITEMS_REJECTED)
    return decided


def enter_stage(session: Session, request: AccessRequest, stage: ApprovalStage | None, clock: Clock) -> None:
    """The request waits at `stage` from today (None: at no stage): its due date, and the day the
    chasing sweep counts business days from."""
    request.current_stage = stage
    request.due_on = due_date(session, clock.today, stage.due_business_days) if stage else None
    request.stage_entered_on = clock.today if stage else None


def _advance(session: Session, actor: Actor, request: AccessRequest, clock: Clock) -> None:
    """On to the next deciding stage, or complete the request (grants and all)."""
    later = [s for s in request.chain.stages if s.position > request.current_stage.position]
    deciding = [s for s in later if s.actor != "agency"]
    if deciding:
        enter_stage(session, request, deciding[0], clock)
        return
    agency_stage = next((s for s in later if s.actor == "agency"), None)
    _complete(session, actor, request, agency_stage, clock)


def _months_valid(item: RequestItem) -> int:
    target = item.data_source or item.function
    return target.default_validity_months if target else 12


def _needs_activation(item: RequestItem, agency_stage: ApprovalStage | None) -> bool:
    return bool(agency_stage and item.data_source and item.data_source.needs_external_activation)


def _complete(session: Session, actor: Actor, request: AccessRequest,
              agency_stage: ApprovalStage | None, clock: Clock) -> None:
    request.state = machine.COMPLETED
    request.completed_at = clock.now
    awaiting = False
    for item in request.items:
        if item.state == "pending":
            item.state = "approved"
        if item.state != "approved":
            continue
        pending = _needs_activation(item, agency_stage)
        awaiting = awaiting or pending
        _grant_for(session, actor, request, item, pending, clock.today)
    if request.kind in ACCOUNT_KINDS:
        _give_account(session, actor, request, clock.today)
    enter_stage(session, request, agency_stage if awaiting else None, clock)
    _apply_assignment(session, actor, request)


def _give_account(session: Session, actor: Actor, request: AccessRequest, today: date) -> None:
    """A completed account request leaves a CRIMES account grant, even when it listed no items."""
    account = session.scalar(select(SystemFunction).where(SystemFunction.code == ACCOUNT_FUNCTION))
    if account is None or any(i.function_id == account.id and i.state == "approved" for i in request.items):
        return  # no such function set up, or the item itself gave the grant
    _grant_for(session, actor, request, None, False, today, function=account)


def _grant_for(session: Session, actor: Actor, request: AccessRequest, item: RequestItem | None,
               pending: bool, today: date, *, function: SystemFunction | None = None) -> Grant:
    """One grant per approved item (or for `function`); a renewal extends the grant the officer holds."""
    if item is None:
        target, months, rank_group_id = {"function_id": function.id}, function.default_validity_months, None
    else:
        target = {"data_source_id": item.data_source_id} if item.data_source_id else {"function_id": item.function_id}
        months, rank_group_id = _months_valid(item), item.rank_group_id
    existing = session.scalar(select(Grant).where(
        Grant.officer_id == request.requester_id, Grant.state == "active",
        *[getattr(Grant, k) == v for k, v in target.items()]).limit(1))
    valid_until = today + relativedelta(months=months)
    if existing is not None and pending and request.kind == "external_search_renewal":
        # A renewal the agency must confirm: the grant keeps its dates until the agency acts,
        # then record_activation extends this same grant (never a second one).
        existing.request, existing.request_item = request, item
        return existing
    if existing is not None and not pending:
        before = {"valid_until": existing.valid_until.isoformat() if existing.valid_until else None}
        existing.valid_until = max(valid_until, existing.valid_until or valid_until)
        existing.rank_group_id = rank_group_id
        existing.request = request
        existing.request_item = item
        existing.reminded_on = None  # the new period gets its own reminder
        audit.record(session, "Grant.extend", actor_id=actor.user_id, obj=existing,
                     before=before, after={"valid_until": existing.valid_until.isoformat()})
        return existing
    grant = Grant(
        officer_id=request.requester_id, rank_group_id=rank_group_id,
        state="pending_activation" if pending else "active", valid_from=today,
        valid_until=valid_until, request=request, request_item=item,
        granted_by_id=actor.user_id, command_id=command_of(session, request.unit_id), **target,
    )
    session.add(grant)
    session.flush()
    audit.record(session, "Grant.create", actor_id=actor.user_id, obj=grant, after=audit.snapshot(grant))
    return grant


def _end_replaced(session: Session, actor: Actor, grant: Grant, request: AccessRequest, clock: Clock) -> None:
    """A change of rank group: once the agency switches the account, the old group's grant ends."""
    if grant.data_source_id is None:
        return
    others = session.scalars(select(Grant).where(
        Grant.officer_id == grant.officer_id, Grant.data_source_id == grant.data_source_id,
        Grant.id != grant.id, Grant.state.in_(LIVE_GRANT_STATES)))
    group = grant.rank_group
    for other in others:
        before = {"state": other.state}
        other.state = "revoked"
        other.reason = (f"เปลี่ยนเป็น{group.name_th if group else ''} ตามคำขอ {request.number} / "
                        f"changed to {group.name_en if group else '-'} by request {request.number}")
        other.revoked_by_id, other.revoked_at = actor.user_id, clock.now
        audit.record(session, "Grant.replace", actor_id=actor.user_id, obj=other, before=before,
                     after={"state": other.state, "replaced_by": grant.id})


def _apply_assignment(session: Session, actor: Actor, request: AccessRequest) -> None:
    """A completed ช่วยราชการ or return-home request changes where the officer works."""
    if request.kind not in ("temporary_assignment", "return_home_unit"):
        return
    officer = request.requester
    if request.kind == "return_home_unit":
        expiry.end_assignment(session, officer, actor_user_id=actor.user_id)
        return
    before = {"acting_unit_id": officer.acting_unit_id}
    officer.acting_unit_id = request.target_unit_id
    officer.acting_until = request.assignment_until
    audit.record(session, "Officer.assignment", actor_id=actor.user_id, obj=officer,
                 before=before, after={"acting_unit_id": officer.acting_unit_id})


@conflicts_are_stale(MSG_STALE)
def record_activation(session: Session, actor: Actor, item_id: int, clock: Clock, *,
                      activated: bool, reference: str = "", activated_on: date | None = None,
                      comment: str = "", expected_version: int | None = None) -> RequestItem:
    """Record what the data-owner agency did with an approved item: activated, or refused."""
    item = session.get(RequestItem, item_id)
    if item is None:
        raise NotFound(MSG_NOT_FOUND)
    request = load_request(session, actor, item.request_id)
    stage = request.current_stage
    if not awaits_agency(request, item):
        raise machine.TransitionRefused(MSG_NOT_AWAITING_ACTIVATION)
    _check_version(item, expected_version)
    authorize_stage(session, actor, request, stage)
    grant = session.scalar(select(Grant).where(Grant.request_item_id == item.id))
    if activated:
        reference = (reference or "").strip()
        if not reference:
            raise invalid("agency_reference", MSG_REFERENCE_REQUIRED)
        on = activated_on or clock.today
        approved_on = request.completed_at.date() if request.completed_at else on
        if on > clock.today or on < approved_on:
            raise invalid("activated_on", MSG_ACTIVATION_DATE)
        item.state, item.agency_reference, item.activated_on = "activated", reference[:100], on
        if grant is not None:
            grant.agency_reference, grant.activated_on = reference[:100], on
            if grant.state != "revoked":
                grant.valid_from = on
                grant.valid_until = on + relativedelta(months=_months_valid(item))
                grant.reminded_on = None  # a renewed grant is reminded again before its new end
            if grant.state not in ENDED_WHILE_ACTIVATING:
                grant.state = "active"
                _end_replaced(session, actor, grant, request, clock)
            elif grant.state == "revoked" or grant.reason in personnel_rules.CLOSES_AGENCY_ACCOUNT:
                # Ended while the agency was activating it (by a person or by the personnel
                # rules): it stays ended, and the account just opened is to be closed again.
                deactivation.open_notice(session, grant, grant.reason or "-", actor.user_id)
    else:
        if not (comment or "").strip():
            raise invalid("comment", MSG_REASON_REQUIRED)
        item.state = "activation_refused"
        item.comment = comment.strip()
        # A refused renewal leaves the grant being renewed as it was: it runs to its own end.
        if grant is not None and grant.state == "pending_activation":
            grant.state, grant.reason = "revoked", comment.strip()
            grant.revoked_by_id, grant.revoked_at = actor.user_id, clock.now
    still_waiting = any(i.state == "approved" and _needs_activation(i, stage) for i in request.items)
    if not still_waiting:
        enter_stage(session, request, None, clock)
    _flush(session)
    _record(session, actor, request, "activate" if activated else "refuse_activation",
            "approved", stage, comment or reference, clock, item)
    _notify_requester(session, request, "activate" if activated else "refuse_activation",
                      comment or reference)
    _flush(session)
    return item


# -- mail --------------------------------------------------------------------------------------
SUBJECTS = {
    "submit": ("ส่งคำขอแล้ว", "Request submitted"),
    "resubmit": ("ส่งคำขอที่แก้ไขแล้ว", "Request resubmitted"),
    "approve": ("คำขอผ่านการพิจารณา", "Request approved at a stage"),
    "return": ("คำขอถูกส่งกลับให้แก้ไข", "Request returned for correction"),
    "reject": ("คำขอไม่ได้รับอนุมัติ", "Request rejected"),
    "cancel": ("ยกเลิกคำขอแล้ว", "Request cancelled"),
    "activate": ("หน่วยงานเจ้าของข้อมูลเปิดใช้สิทธิ์แล้ว", "Activated by the data-owner agency"),
    "refuse_activation": ("หน่วยงานเจ้าของข้อมูลไม่เปิดใช้สิทธิ์", "Activation refused by the agency"),
    "waiting": ("คำขอรอการพิจารณาของท่าน", "A request waits for your decision"),
    "completed": ("คำขอได้รับอนุมัติครบแล้ว", "Request completed"),
    "remind": ("เตือน: คำขอรอการพิจารณาของท่านเกินกำหนด", "Reminder: a request has waited for your decision"),
    "escalate": ("คำขอเกินกำหนดถูกส่งต่อให้ท่านพิจารณา", "An overdue request is escalated to you"),
    "reassign": ("คำขอถูกส่งให้หัวหน้าหน่วยคนถัดไป", "Request handed to the unit's next head"),
    "return_overdue": ("คำขอถูกส่งกลับเนื่องจากเกินกำหนด", "Request returned: it waited too long"),
}


def _message(request: AccessRequest, what: str) -> tuple[str, str]:
    thai, english = SUBJECTS[what]
    subject = f"[Sitthi] {request.number or '#' + str(request.id)}: {thai} / {english}"
    stage = request.current_stage
    body = (
        f"{thai}\n"
        f"เลขที่คำขอ: {request.number}\n"
        f"ผู้ขอ: {request.requester}\n"
        f"ขั้นตอนปัจจุบัน: {stage.name_th if stage else '-'}\n"
        f"กำหนดเสร็จ: {thai_date(request.due_on, 'long') if request.due_on else '-'}\n\n"
        f"{english}\n"
        f"Request number: {request.number}\n"
        f"Current stage: {stage.name_en if stage else '-'}\n"
        f"Due: {request.due_on.isoformat() if request.due_on else '-'}\n"
        f"{notifications.APP_URL_MARK}/requests/show/{request.id}\n"
    )
    return subject, body


def stage_recipients(session: Session, request: AccessRequest) -> list[tuple[str, int | None]]:
    """(e-mail, user id) of everyone the current stage waits for."""
    stage = request.current_stage
    if stage is None:
        return []
    if stage.actor == "certifying_head":
        head = request.certifying_head
        email = head.email or (head.user.email if head.user else None)
        return [(email, head.user_id)] if email else []
    if stage.actor == "command_tech":
        users = command_staff(session, COMMAND_TECH, [deciding_command_id(session, request)])
    else:  # CentralIT decides, and records the agency's activation
        users = session.scalars(
            select(User).where(User.active.is_(True), User.roles.any(name=CENTRAL_IT))).all()
    return [(u.email, u.id) for u in users if u.email]


def _notify_stage(session: Session, request: AccessRequest) -> None:
    subject, body = _message(request, "waiting")
    for email, user_id in stage_recipients(session, request):
        notifications.queue(session, recipient_email=email, recipient_user_id=user_id,
                            subject=subject, body=body, request_id=request.id)


def _notify_requester(session: Session, request: AccessRequest, what: str, comment: str = "") -> None:
    """Tell the requester what happened, with the decider's comment (what to fix, why refused)."""
    if what == "approve" and request.state == machine.COMPLETED:
        what = "completed"
    subject, body = _message(request, what)
    if (comment or "").strip():
        body = f"ความเห็น / Comment: {comment.strip()}\n\n{body}"
    notifications.queue(session, recipient_email=request.contact_email or request.requester.email,
                        recipient_user_id=request.requester.user_id, subject=subject, body=body,
                        request_id=request.id)
