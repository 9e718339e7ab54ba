"""Is this officer eligible for what this request asks? Checked at submit, shown to CentralIT.

Each check answers pass, warning or fail with a translatable reason. A failure stops the
submission; a warning is for the approver to weigh (e.g. a rank group above the officer's own).
"""
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import N_
from app.models import AccessRequest, Attachment, DataSharingAgreement

PASS, WARN, FAIL = "pass", "warn", "fail"
STATUS_NAMES = {
    "retired": N_("retired"), "transferred_out": N_("transferred out"),
    "suspended": N_("suspended"), "deceased": N_("deceased"), "active": N_("active"),
}
SEARCH_KINDS = frozenset({"external_search", "external_search_renewal"})
FUNCTION_KINDS = frozenset({"additional_functions", "new_account", "account_renewal"})


@dataclass(frozen=True)
class Check:
    code: str
    status: str
    message: str
    params: dict = field(default_factory=dict)


def _attachment_kinds(session: Session, request: AccessRequest) -> set[str]:
    if request.id is None:
        return set()
    return set(session.scalars(
        select(Attachment.kind).where(Attachment.request_id == request.id)
    ))


def _agreement_valid(session: Session, agency_id: int, today: date) -> bool:
    return session.scalar(
        select(DataSharingAgreement.id).where(
            DataSharingAgreement.agency_id == agency_id,
            DataSharingAgreement.valid_from <= today,
            (DataSharingAgreement.valid_until.is_(None)) | (DataSharingAgreement.valid_until >= today),
        ).limit(1)
    ) is not None


def check_officer(request: AccessRequest) -> Check:
    officer = request.requester
    if officer.status != "active":
        return Check("officer_active", FAIL,
                     N_("The officer's personnel status is %(status)s, not active."),
                     {"status": STATUS_NAMES.get(officer.status, officer.status)})
    return Check("officer_active", PASS, N_("The officer is active in the personnel records."))


def check_duty_line(request: AccessRequest, attachment_kinds: set[str]) -> Check | None:
    if request.kind not in SEARCH_KINDS:
        return None
    duty_line = request.requester.duty_line
    if duty_line is not None and duty_line.external_search_eligible and not request.duty_mismatch:
        return Check("duty_line", PASS, N_("Duty line %(line)s may search external data."),
                     {"line": duty_line.name_th})
    if "duty_certificate" in attachment_kinds:
        return Check("duty_line", WARN,
                     N_("The duty line does not match the duty performed; a duty certificate is attached."))
    return Check("duty_line", FAIL,
                 N_("The officer's duty line is not eligible for external search: tick the duty-mismatch box and attach a duty certificate signed by the unit head."))


def check_items(session: Session, request: AccessRequest, today: date) -> list[Check]:
    checks = []
    own_group = request.requester.rank.rank_group if request.requester.rank else None
    for item in request.items:
        source = item.data_source
        if source is not None:
            if not source.is_open:
                checks.append(Check("source_open", FAIL,
                                    N_("%(source)s is not open for requests."),
                                    {"source": source.name_th}))
            if not _agreement_valid(session, source.agency_id, today):
                checks.append(Check("agreement", FAIL,
                                    N_("No valid data-sharing agreement with %(agency)s."),
                                    {"agency": source.agency.name_th}))
            else:
                checks.append(Check("agreement", PASS,
                                    N_("The data-sharing agreement with %(agency)s is valid."),
                                    {"agency": source.agency.name_th}))
            if source.needs_rank_group:
                checks.append(_rank_group_check(item, own_group))
        function = item.function
        if function is not None:
            checks.extend(_function_checks(request, function))
    return checks


def _rank_group_check(item, own_group) -> Check:
    source = item.data_source.name_th
    if item.rank_group is None:
        return Check("rank_group", FAIL, N_("Choose a rank group for %(source)s."), {"source": source})
    if own_group is not None and item.rank_group.number < own_group.number:
        return Check("rank_group", WARN,
                     N_("%(group)s is above the officer's own rank group (%(own)s)."),
                     {"group": item.rank_group.name_th, "own": own_group.name_th})
    return Check("rank_group", PASS, N_("%(group)s matches the officer's rank."),
                 {"group": item.rank_group.name_th})


def _function_checks(request: AccessRequest, function) -> list[Check]:
    officer = request.requester
    checks = []
    if not function.is_active:
        checks.append(Check("function_active", FAIL, N_("%(function)s is no longer offered."),
                            {"function": function.name_th}))
    minimum = function.min_position_level
    if minimum is not None:
        level = officer.position_level
        if level is None or level.order < minimum.order:
            checks.append(Check("position_level", FAIL,
                                N_("%(function)s needs position level %(level)s or higher."),
                                {"function": function.name_th, "level": minimum.name_th}))
        else:
            checks.append(Check("position_level", PASS,
                                N_("Position level is high enough for %(function)s."),
                                {"function": function.name_th}))
    if function.duty_line_id is not None and officer.duty_line_id != function.duty_line_id:
        checks.append(Check("function_duty_line", WARN,
                            N_("%(function)s is meant for the %(line)s duty line."),
                            {"function": function.name_th, "line": function.duty_line.name_th}))
    return checks


def check_attachments(request: AccessRequest, attachment_kinds: set[str]) -> Check | None:
    if request.duty_mismatch and "duty_certificate" not in attachment_kinds:
        return Check("attachments", FAIL,
                     N_("The duty-mismatch box is ticked: attach the duty certificate."))
    if attachment_kinds:
        return Check("attachments", PASS, N_("The required documents are attached."))
    return None


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
    return Check("head", PASS, N_("Certifying head found in the personnel records: %(head)s."),
                 {"head": str(head)})


def check_request(session: Session, request: AccessRequest, today: date) -> list[Check]:
    """Every eligibility check of the request, in the order CentralIT reads them."""
    kinds = _attachment_kinds(session, request)
    checks = [check_officer(request), check_head(request)]
    for optional in (check_duty_line(request, kinds), check_attachments(request, kinds)):
        if optional is not None:
            checks.append(optional)
    checks.extend(check_items(session, request, today))
    return checks


def failures(checks: list[Check]) -> list[Check]:
    return [check for check in checks if check.status == FAIL]
