"""Is this officer eligible for what this request asks? Judged at submit and again at every decision.

Each check answers pass, warning or fail with a translatable reason, for the whole request or for
one of its items. A failure stops a submission and blocks the approval of what it concerns; a
warning is for the approver to weigh, and approving over one needs a comment (see
app.services.access_requests). A decision is re-judged on the day it is taken: an agreement that
ended after submit, an officer who retired, a source that closed, a right that was granted
meanwhile all show up here.

`check_requests` judges a page of requests in a fixed number of statements, so an inbox can flag
the requests that would not pass without asking once per row.
"""
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Row, or_, select
from sqlalchemy.orm import Session, aliased, joinedload

from app.domain.named import named
from app.errors import N_
from app.models import (
    LIVE_GRANT_STATES,
    AccessRequest,
    Attachment,
    DataSharingAgreement,
    DataSource,
    Grant,
    Officer,
    Rank,
    RankGroup,
    RequestItem,
    RequiredDocument,
    SystemFunction,
    agreement_field,
)
from app.models.loading import load
from app.reference_cache import kept
from app.services import linkage

PASS, WARN, FAIL = "pass", "warn", "fail"

# What the checks read of a request: a list that judges its rows loads these for its page.
CHECK_LOADS = (
    load(AccessRequest.requester).options(
        load(Officer.rank).options(load(Rank.rank_group)),
        load(Officer.duty_line),
        load(Officer.position_level),
    ),
    load(AccessRequest.certifying_head).options(load(Officer.rank), load(Officer.position_level)),
    load(AccessRequest.items).options(
        load(RequestItem.data_source).options(load(DataSource.agency)),
        load(RequestItem.function).options(load(SystemFunction.min_position_level), load(SystemFunction.duty_line)),
        load(RequestItem.rank_group),
        # The few fields an item asks for ride along with the items' own statement.
        joinedload(RequestItem.fields),
    ),
)
# What "the same right" and its messages read of a held grant or an item asked elsewhere.
_RIGHT_LOADS = ("data_source", "function", "rank_group")
STATUS_NAMES = {
    "retired": N_("retired"), "transferred_out": N_("transferred out"),
    "suspended": N_("suspended"), "deceased": N_("deceased"), "active": N_("active"),
}
# The same words as app.labels.ATTACHMENT_KIND, so one translation serves both.
DOCUMENT_NAMES = {
    "memo": N_("Memo signed by the unit head"),
    "id_card_copy": N_("Certified copy of government ID card"),
    "duty_certificate": N_("Duty certificate"),
    "other": N_("Other document"),
}
SEARCH_KINDS = frozenset({"external_search", "external_search_renewal"})
FUNCTION_KINDS = frozenset({"additional_functions", "new_account", "account_renewal"})
RENEWAL_KINDS = frozenset({"external_search_renewal", "account_renewal"})
# Requests that may still become rights: a second one asking the same is a duplicate.
OPEN_STATES = ("submitted", "returned")
# Requests being written or corrected: what is asked of the form still binds them.
UNSENT_STATES = ("draft", "returned")
# Judged again at every decision; the head check is about who may certify, settled at submit.
# So are the answers to the justification questions: a question added later binds new requests only.
DECISION_TIME_EXEMPT = frozenset({"head", "justification"})


@dataclass(frozen=True)
class Check:
    code: str
    status: str
    message: str
    params: dict = field(default_factory=dict)
    # The item the check is about; None: the whole request.
    item_id: int | None = None
    # The form field that can put it right (a missing document: its upload), if one can.
    field: str | None = None


@dataclass
class _Facts:
    """What the checks of a page of requests read, each fetched once for the whole page."""

    today: date
    attachment_kinds: dict[int, set[str]]
    required: dict[str, list[tuple[str, str]]]
    agreed_agency_ids: set[int]
    live_grants: dict[int, list[Row]]
    open_items: dict[int, list[Row]]
    # Linkage Center rules: the fields the agreements in force allow, the questions per source.
    allowed_field_ids: set[int] = field(default_factory=set)
    questions: dict = field(default_factory=dict)


def agreed_agency_ids(session: Session, today: date) -> set[int]:
    """The agencies with a data-sharing agreement in force on `today`."""
    return set(session.scalars(select(DataSharingAgreement.agency_id).where(
        DataSharingAgreement.valid_from <= today,
        or_(DataSharingAgreement.valid_until.is_(None), DataSharingAgreement.valid_until >= today),
    )))


def agreed_agencies_and_fields(session: Session, today: date) -> tuple[frozenset[int], frozenset[int]]:
    """The agencies with an agreement in force on `today`, and the data fields those agreements
    allow: one statement, kept by the process until an agreement changes (app.reference_cache)."""
    def read() -> tuple[frozenset[int], frozenset[int]]:
        agencies, fields = set(), set()
        for agency_id, field_id in session.execute(
                select(DataSharingAgreement.agency_id, agreement_field.c.data_field_id)
                .outerjoin(agreement_field, agreement_field.c.agreement_id == DataSharingAgreement.id)
                .where(DataSharingAgreement.valid_from <= today,
                       or_(DataSharingAgreement.valid_until.is_(None), DataSharingAgreement.valid_until >= today))):
            agencies.add(agency_id)
            if field_id is not None:
                fields.add(field_id)
        return frozenset(agencies), frozenset(fields)

    return kept(session, "agreements", today, read)


def required_documents(session: Session) -> dict[str, tuple[tuple[str, str], ...]]:
    """request kind -> ((attachment kind, condition), ...), as the Admin set them; kept by the
    process until they change."""
    def read() -> dict[str, tuple[tuple[str, str], ...]]:
        required: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for row in session.execute(select(RequiredDocument.request_kind, RequiredDocument.attachment_kind,
                                          RequiredDocument.condition).order_by(RequiredDocument.id)):
            required[row.request_kind].append((row.attachment_kind, row.condition))
        return {kind: tuple(documents) for kind, documents in required.items()}

    return kept(session, "workflow", "required_documents", read)


def live_grants_of(session: Session, officer_ids) -> dict[int, list[Grant]]:
    """officer id -> the rights they hold or are about to hold (active, pending activation)."""
    held: dict[int, list[Grant]] = defaultdict(list)
    ids = sorted(set(officer_ids))
    if ids:
        for grant in session.scalars(select(Grant).where(
                Grant.officer_id.in_(ids), Grant.state.in_(LIVE_GRANT_STATES)).order_by(Grant.id)
                .options(*(joinedload(getattr(Grant, name)) for name in _RIGHT_LOADS))):
            held[grant.officer_id].append(grant)
    return held


def _held_rights_of(session: Session, officer_ids) -> dict[int, list[Row]]:
    """officer id -> what the checks read of each right they hold or are about to hold: which
    right (same_right), until when, and the rank group's name. Plain rows, not grants: an inbox
    judges a few hundred of them on every view."""
    held: dict[int, list[Row]] = defaultdict(list)
    ids = sorted(set(officer_ids))
    if ids:
        rank_group = aliased(RankGroup, name="rank_group")
        for row in session.execute(
                select(Grant.officer_id, Grant.data_source_id, Grant.function_id, Grant.rank_group_id,
                       Grant.valid_until, rank_group)
                .outerjoin(rank_group, Grant.rank_group_id == rank_group.id)
                .where(Grant.officer_id.in_(ids), Grant.state.in_(LIVE_GRANT_STATES)).order_by(Grant.id)):
            held[row.officer_id].append(row)
    return held


def _open_items_of(session: Session, officer_ids) -> dict[int, list[Row]]:
    """officer id -> which right each item of their requests on the way up the chain asks for
    (same_right), with its request's id and number."""
    found: dict[int, list[Row]] = defaultdict(list)
    ids = sorted(set(officer_ids))
    if ids:
        for row in session.execute(
                select(RequestItem.request_id, RequestItem.data_source_id, RequestItem.function_id,
                       RequestItem.rank_group_id, AccessRequest.requester_id, AccessRequest.number)
                .join(AccessRequest, RequestItem.request_id == AccessRequest.id)
                .where(AccessRequest.requester_id.in_(ids), AccessRequest.state.in_(OPEN_STATES),
                       RequestItem.state == "pending")):
            found[row.requester_id].append(row)
    return found


def _facts(session: Session, requests: list[AccessRequest], today: date) -> _Facts:
    ids = [r.id for r in requests if r.id is not None]
    kinds: dict[int, set[str]] = defaultdict(set)
    if ids:
        for request_id, kind in session.execute(
                select(Attachment.request_id, Attachment.kind).where(Attachment.request_id.in_(ids))):
            kinds[request_id].add(kind)
    officers = [r.requester_id for r in requests]
    agreed, allowed_fields = agreed_agencies_and_fields(session, today)
    # The questions bind a request only until it is sent (see DECISION_TIME_EXEMPT).
    unsent = {item.data_source_id for r in requests if r.state in UNSENT_STATES
              for item in r.items if item.data_source_id}
    return _Facts(today=today, attachment_kinds=kinds, required=required_documents(session),
                  agreed_agency_ids=agreed,
                  live_grants=_held_rights_of(session, officers),
                  open_items=_open_items_of(session, officers),
                  allowed_field_ids=allowed_fields,
                  questions=linkage.questions_by_source(session, unsent))


# -- the checks ---------------------------------------------------------------------------------
def duty_differs(request: AccessRequest) -> bool:
    """The officer's actual duty is not what their position's line says (or the line may not search)."""
    if request.duty_mismatch:
        return True
    return request.kind in SEARCH_KINDS and not may_search(request.requester.duty_line)


def may_search(duty_line) -> bool:
    """A duty line whose officers may search other agencies' data without a duty certificate."""
    return duty_line is not None and duty_line.external_search_eligible


def group_above_rank(group, own_group) -> bool:
    """A rank group above the officer's own (a lower number is a higher group)."""
    return group is not None and own_group is not None and group.number < own_group.number


def level_below(function, level) -> bool:
    """The officer's position level is below the minimum the function needs."""
    minimum = function.min_position_level
    return minimum is not None and (level is None or level.order < minimum.order)


def check_officer(request: AccessRequest) -> Check:
    officer = request.requester
    if officer.status != "active":
        return Check("officer_active", FAIL,
                     N_("The officer's personnel status is %(status)s, not active."),
                     {"status": STATUS_NAMES.get(officer.status, officer.status)})
    return Check("officer_active", PASS, N_("The officer is active in the personnel records."))


def check_duty_line(request: AccessRequest, attached: set[str]) -> Check | None:
    if request.kind not in SEARCH_KINDS:
        return None
    if not duty_differs(request):
        return Check("duty_line", PASS, N_("Duty line %(line)s may search external data."),
                     {"line": named(request.requester.duty_line)})
    if "duty_certificate" in attached:
        return Check("duty_line", WARN,
                     N_("The duty line does not match the duty performed; a duty certificate is attached."))
    return Check("duty_line", FAIL,
                 N_("The officer's duty line is not eligible for external search: tick the duty-mismatch box and attach a duty certificate signed by the unit head."))


def check_documents(request: AccessRequest, attached: set[str],
                    required: Sequence[tuple[str, str]], duty_line_failed: bool) -> list[Check]:
    """The documents the Admin requires of this kind of request, each present or missing."""
    checks = []
    for kind, condition in required:
        if condition == "duty_differs" and not duty_differs(request):
            continue
        if kind in attached:
            checks.append(Check("documents", PASS, N_("Attached: %(document)s."),
                                {"document": DOCUMENT_NAMES.get(kind, kind)}))
        elif not (kind == "duty_certificate" and duty_line_failed):  # said once, by the duty check
            checks.append(Check("documents", FAIL, N_("Missing document: %(document)s."),
                                {"document": DOCUMENT_NAMES.get(kind, kind)}, field=f"upload_{kind}"))
    if request.duty_mismatch and "duty_certificate" not in attached and not duty_line_failed \
            and not any(kind == "duty_certificate" for kind, _ in required):
        checks.append(Check("documents", FAIL,
                            N_("The duty-mismatch box is ticked: attach the duty certificate."),
                            field="upload_duty_certificate"))
    return checks


def check_head(request: AccessRequest) -> Check:
    head = request.certifying_head
    if head is None:
        return Check("head", FAIL, N_("No certifying head is named."))
    if head.id == request.requester_id:
        return Check("head", FAIL, N_("An officer cannot certify their own request."))
    if head.status != "active":
        return Check("head", FAIL, N_("The certifying head %(head)s is not active in the personnel records."),
                     {"head": str(head)})
    if head.user_id is None:
        return Check("head", FAIL, N_("The certifying head %(head)s has no Sitthi login to certify with."),
                     {"head": str(head)})
    if head.position_level is None or not head.position_level.is_unit_head:
        return Check("head", FAIL,
                     N_("%(head)s does not hold a unit-head position, so cannot certify requests."),
                     {"head": str(head)})
    return Check("head", PASS, N_("Certifying head found in the personnel records: %(head)s."),
                 {"head": str(head)})


def same_right(one, other) -> bool:
    """The one rule of "the same right" (grants, items, a Right): the same source and rank group,
    or the same function. An officer holds at most one live grant of each."""
    if other.function_id is not None or one.function_id is not None:
        return one.function_id == other.function_id
    return one.data_source_id == other.data_source_id and one.rank_group_id == other.rank_group_id


def holding_conflicts(item: RequestItem, held: list[Row], renewal: bool) -> list[Check]:
    """What the officer already holds of the right this item asks for.

    Asking again for a right held (or pending) is refused, pointing to renewal; the same source
    with another rank group is a change, for the approver to see. A renewal asks for what is held.
    """
    checks = []
    name = named(item.data_source or item.function)
    for grant in held:
        if same_right(grant, item):
            if not renewal:
                checks.append(Check("duplicate", FAIL,
                                    N_("You already hold %(right)s (until %(until)s): renew it from My permissions instead."),
                                    {"right": name, "until": grant.valid_until or "-"},
                                    item.id))
        elif item.data_source_id is not None and grant.data_source_id == item.data_source_id:
            checks.append(Check("group_change", WARN,
                                N_("A change: the officer holds %(source)s with %(held)s; this asks for %(asked)s, which replaces it."),
                                {"source": name, "held": named(grant.rank_group),
                                 "asked": named(item.rank_group)}, item.id))
    return checks


def _asked_elsewhere(request: AccessRequest, item: RequestItem, open_items) -> Check | None:
    for other in open_items:
        if other.request_id != request.id and same_right(other, item):
            return Check("duplicate", FAIL,
                         N_("%(right)s is already asked for in request %(number)s, still under way."),
                         {"right": named(item.data_source or item.function), "number": other.number or "-"},
                         item.id)
    return None


def check_items(request: AccessRequest, facts: _Facts) -> list[Check]:
    checks = []
    own_group = request.requester.rank.rank_group if request.requester.rank else None
    held = facts.live_grants.get(request.requester_id, [])
    renewal = request.kind in RENEWAL_KINDS
    for item in request.items:
        if item.state not in ("pending", "approved"):
            continue  # decided against, or already acted on by the agency
        source = item.data_source
        if source is not None:
            checks.extend(_source_checks(item, facts))
            checks.extend(_answer_checks(request, item, facts))
            if source.needs_rank_group:
                checks.append(_rank_group_check(item, own_group))
        if item.function is not None:
            checks.extend(_function_checks(request, item))
        if item.state == "pending":
            checks.extend(holding_conflicts(item, held, renewal))
            elsewhere = _asked_elsewhere(request, item, facts.open_items.get(request.requester_id, []))
            if elsewhere is not None:
                checks.append(elsewhere)
    return checks


def source_requestable(source, agreed: set[int]) -> Check | None:
    """Why a data source cannot be asked for today, or None when it can."""
    if not source.is_open:
        return Check("source_open", FAIL, N_("%(source)s is not open for requests."), {"source": named(source)})
    if source.agency_id not in agreed:
        return Check("agreement", FAIL,
                     N_("No valid data-sharing agreement with %(agency)s: %(source)s cannot be requested."),
                     {"agency": named(source.agency), "source": named(source)})
    return None


def _source_checks(item: RequestItem, facts: _Facts) -> list[Check]:
    source = item.data_source
    refused = source_requestable(source, facts.agreed_agency_ids)
    if refused is not None:
        return [Check(refused.code, refused.status, refused.message, refused.params, item.id)]
    return [Check("agreement", PASS, N_("The data-sharing agreement with %(agency)s is valid."),
                  {"agency": named(source.agency)}, item.id),
            *_linkage_checks(item, facts)]


def _linkage_checks(item: RequestItem, facts: _Facts) -> list[Check]:
    """The Linkage Center rule of one search item: only fields the agreement in force allows (an
    item without fields, made before fields were recorded, asks what the agreement allows)."""
    source = item.data_source
    checks = []
    if item.fields:
        outside = [f for f in item.fields if f.id not in facts.allowed_field_ids]
        if outside:
            checks.append(Check("fields", FAIL, linkage.MSG_FIELDS_NOT_ALLOWED,
                                {"agency": named(source.agency), "source": named(source),
                                 "fields": linkage.field_names(outside)},
                                item.id, linkage.fields_field(source.id)))
        else:
            checks.append(Check("fields", PASS, linkage.MSG_FIELDS_ALLOWED, {"source": named(source)}, item.id))
    return checks


def _answer_checks(request: AccessRequest, item: RequestItem, facts: _Facts) -> list[Check]:
    """An answer to every required justification question of the item's source, until it is sent."""
    questions = facts.questions.get(item.data_source_id) if request.state in UNSENT_STATES else None
    if not questions or item.state != "pending":
        return []
    source = item.data_source
    return [Check("justification", FAIL, linkage.MSG_ANSWER_REQUIRED,
                  {"question": linkage.question_label(question), "source": named(source)},
                  item.id, linkage.answer_field(source.id, question.id))
            for question in linkage.missing_answers(item, questions)]


def _rank_group_check(item, own_group) -> Check:
    source = named(item.data_source)
    if item.rank_group is None:
        return Check("rank_group", FAIL, N_("Choose a rank group for %(source)s."), {"source": source}, item.id)
    if group_above_rank(item.rank_group, own_group):
        return Check("rank_group", WARN,
                     N_("%(group)s is above the officer's own rank group (%(own)s)."),
                     {"group": named(item.rank_group), "own": named(own_group)}, item.id)
    return Check("rank_group", PASS, N_("%(group)s matches the officer's rank."),
                 {"group": named(item.rank_group)}, item.id)


def _function_checks(request: AccessRequest, item: RequestItem) -> list[Check]:
    officer, function = request.requester, item.function
    checks = []
    if not function.is_active:
        checks.append(Check("function_active", FAIL, N_("%(function)s is no longer offered."),
                            {"function": named(function)}, item.id))
    minimum = function.min_position_level
    if minimum is not None:
        if level_below(function, officer.position_level):
            checks.append(Check("position_level", FAIL,
                                N_("%(function)s needs position level %(level)s or higher."),
                                {"function": named(function), "level": named(minimum)}, item.id))
        else:
            checks.append(Check("position_level", PASS,
                                N_("Position level is high enough for %(function)s."),
                                {"function": named(function)}, item.id))
    if function.duty_line_id is not None and officer.duty_line_id != function.duty_line_id:
        checks.append(Check("function_duty_line", WARN,
                            N_("%(function)s is meant for the %(line)s duty line."),
                            {"function": named(function), "line": named(function.duty_line)}, item.id))
    return checks


def _judge(request: AccessRequest, facts: _Facts) -> list[Check]:
    attached = facts.attachment_kinds.get(request.id, set())
    checks = [check_officer(request), check_head(request)]
    duty = check_duty_line(request, attached)
    if duty is not None:
        checks.append(duty)
    checks.extend(check_documents(request, attached, facts.required.get(request.kind, []),
                                  duty is not None and duty.status == FAIL))
    checks.extend(check_items(request, facts))
    return checks


def check_requests(session: Session, requests: list[AccessRequest], today: date) -> dict[int, list[Check]]:
    """Every check of each request, in the order CentralIT reads them; a fixed number of queries."""
    facts = _facts(session, requests, today)
    return {request.id: _judge(request, facts) for request in requests}


def check_request(session: Session, request: AccessRequest, today: date) -> list[Check]:
    facts = _facts(session, [request], today)
    return _judge(request, facts)


def failures(checks: list[Check]) -> list[Check]:
    return [check for check in checks if check.status == FAIL]


def warnings(checks: list[Check]) -> list[Check]:
    return [check for check in checks if check.status == WARN]


def at_decision(checks: list[Check]) -> list[Check]:
    """The checks that bind a decision (who the head is was settled at submit)."""
    return [check for check in checks if check.code not in DECISION_TIME_EXEMPT]


@dataclass(frozen=True)
class Right:
    """One right as the rule compares them: a source with its rank group, or a function."""

    data_source_id: int | None = None
    rank_group_id: int | None = None
    function_id: int | None = None


def held_right(session: Session, officer_id: int, right: Right) -> Grant | None:
    """The officer's live grant of exactly this right, if any: what the assign path checks."""
    held = live_grants_of(session, [officer_id]).get(officer_id, [])
    return next((grant for grant in held if same_right(grant, right)), None)
