"""Group requests (แบบกลุ่ม, the circular's group memo): one filing for many officers at once.

A unit head files for the officers they head; the technology or personnel staff of a command for
any officer of their command. The group asks the same sources or functions for every officer
(civil registration at each officer's own rank group unless one is chosen) with one memo, one
contact, one duty and one pledge. Each officer's line is an AccessRequest of its own, made and
sent by app.services.access_requests, so each line is checked, decided, granted and audited
alone, in the inboxes every request goes to. A line's certifying head is the officer's own unit
head (app.security.unit_heads): officers of two stations go to two heads. A head who files for
their own officers certifies them by filing (the group memo is theirs to sign).

Filing is one transaction: every line is built and judged, and unless every line passes nothing
is kept; the filer sees each officer's problems at that officer's line, drops those lines and
files the rest.
"""
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.errors import N_, FieldsRefused, NotAllowed, NotFound, SitthiError, ValidationFailed, translate
from app.models import AccessRequest, Officer, RequestGroup
from app.security.scope import (
    COMMAND_TECH,
    PERSONNEL,
    Actor,
    command_of,
    is_visible,
    officers_in_command,
    scoped,
    units_under,
    working_unit_id,
)
from app.security.unit_heads import command_heads, officers_reviewed_by
from app.services import access_requests as requests
from app.services import audit, eligibility
from app.services.access_requests import EMAIL, MOBILE, TEXT_LIMIT, RequestData, SourceChoice, Upload
from app.services.clock import Clock
from app.workflow import machine

MAX_OFFICERS = 50
# What a group asks for: new search rights or new functions (renewals go one by one from each
# officer's own permissions; accounts and assignments are personal).
GROUP_KINDS = ("external_search", "additional_functions")

MSG_NOT_FILER = N_("Only a unit head, or the technology or personnel staff of a command, may file a group request.")
MSG_NOT_FOUND = N_("No such group request, or not one you may see.")
MSG_NO_OFFICERS = N_("Choose at least one officer.")
MSG_TOO_MANY = N_("A group request lists at most %(limit)s officers: file the others in another group.")
MSG_OUT_OF_REACH = N_("Some of the chosen officers are not of your unit or command: choose only officers you may file for.")
MSG_NOT_SELF = N_("You cannot be a line of your own group request: make your own request instead.")
MSG_BAD_KIND = N_("A group request asks for external search rights or additional functions.")
MSG_ATTEST = N_("Confirm the certification: the officers are fit to hold these rights and you will supervise their use.")
MSG_LINES_FAIL = N_("%(count)s of the officers cannot be filed as they stand: see each one's line, or untick it and file the rest.")


@dataclass(frozen=True)
class GroupData:
    """What the group form hands over: the officers, what they ask for, and the memo's fields.

    A source that needs a rank group without one chosen asks for each officer's own group.
    """

    kind: str
    officer_ids: tuple[int, ...] = ()
    contact_email: str = ""
    contact_mobile: str = ""
    duty_performed: str = ""
    pledge_accepted: bool = False
    attest: bool = False
    sources: tuple[SourceChoice, ...] = ()
    function_ids: tuple[int, ...] = ()
    # How the filer typed the dates of the answers: dd/mm/yyyy in the Buddhist Era (Thai).
    dates_in_buddhist_era: bool = False


@dataclass
class Line:
    """One officer of the group as judged: their certifying head, their request once built, and
    the checks that concern them alone (what is wrong with the group's own fields is not here)."""

    officer: Officer
    head: Officer | None
    request: AccessRequest | None = None
    checks: list[eligibility.Check] = field(default_factory=list)

    @property
    def failures(self) -> list[eligibility.Check]:
        return eligibility.failures(self.checks)

    @property
    def warnings(self) -> list[eligibility.Check]:
        return eligibility.warnings(self.checks)


@dataclass
class Outcome:
    """A group filed (or only judged): the group, each line, and the problems of its fields."""

    group: RequestGroup | None
    lines: list[Line]
    problems: dict[str, list[tuple[str, dict]]]

    @property
    def failing_lines(self) -> list[Line]:
        return [line for line in self.lines if line.failures]

    @property
    def passes(self) -> bool:
        return not self.problems and not self.failing_lines


class GroupRefused(SitthiError):
    """The group cannot be filed as it stands: each problem at its field, each officer's at their
    line (`outcome`). Nothing of it was kept."""

    status = 400

    def __init__(self, outcome: Outcome):
        failing = len(outcome.failing_lines)
        if outcome.problems:
            message, params = next(iter(outcome.problems.values()))[0]
        else:
            message, params = MSG_LINES_FAIL, {"count": failing}
        super().__init__(message, **params)
        self.outcome = outcome

    def translated_by_field(self) -> dict[str, str]:
        found = {name: " ".join(translate(message, params) for message, params in reasons)
                 for name, reasons in self.outcome.problems.items()}
        if self.outcome.failing_lines:
            found["officers"] = " ".join(filter(None, (
                found.get("officers"), translate(MSG_LINES_FAIL, {"count": len(self.outcome.failing_lines)}))))
        return found

    def translated(self) -> str:
        return " ".join(self.translated_by_field().values())


# -- who may file, for whom ------------------------------------------------------------------------
def _is_command_staff(actor: Actor) -> bool:
    return (actor.has_role(COMMAND_TECH) or actor.has_role(PERSONNEL)) and actor.command_id is not None


def reach(session: Session, actor: Actor):
    """SQL condition on Officer: the officers this actor may file a group for (never themself);
    None when they may file for nobody."""
    allowed = []
    if _is_command_staff(actor):
        allowed.append(officers_in_command(units_under(session, actor.command_id)))
    headed = officers_reviewed_by(session, actor.officer_id, actor.command_id)
    if headed is not None:
        allowed.append(headed)
    if not allowed:
        return None
    mine = Officer.id != actor.officer_id if actor.officer_id else Officer.id.isnot(None)
    return or_(*allowed) & mine


def may_file(session: Session, actor: Actor) -> bool:
    return reach(session, actor) is not None


def find_officers(session: Session, actor: Actor, term: str | None, limit: int = 20) -> list[Officer]:
    """Officers the actor may file for, found by name or by all 13 digits (officer_search's rule)."""
    from app.services import officer_search

    condition = reach(session, actor)
    if condition is None or not (term or "").strip():
        return []
    query = officer_search.search_officers(select(Officer).where(condition), term)
    return list(session.scalars(query.order_by(*officer_search.name_order(term)).limit(limit)))


def _chosen_officers(session: Session, actor: Actor, officer_ids) -> list[Officer]:
    """The officers asked for, each within the actor's reach; refused at the field otherwise."""
    wanted = list(dict.fromkeys(officer_ids))
    if not wanted:
        raise _at("officers", MSG_NO_OFFICERS)
    if len(wanted) > MAX_OFFICERS:
        raise _at("officers", MSG_TOO_MANY, limit=MAX_OFFICERS)
    if actor.officer_id in wanted:
        raise _at("officers", MSG_NOT_SELF)
    condition = reach(session, actor)
    found = {o.id: o for o in session.scalars(select(Officer).where(Officer.id.in_(wanted), condition))}
    # One answer for an officer out of reach and for one that does not exist: ids guessed tell nothing.
    if len(found) != len(wanted):
        raise _at("officers", MSG_OUT_OF_REACH)
    return [found[i] for i in wanted]


def _at(name: str, message: str, **params) -> ValidationFailed:
    error = ValidationFailed(message, **params)
    error.field = name
    return error


class _Heads:
    """Each officer's certifying head: a head of the unit they work in (or the nearest unit above
    it with one) inside their command; the filer when they are one of those heads."""

    def __init__(self, session: Session, actor: Actor):
        self.session, self.actor, self.trees = session, actor, {}

    def of(self, officer: Officer) -> Officer | None:
        unit_id = working_unit_id(officer)
        command_id = command_of(self.session, unit_id)
        if command_id is None:
            return None
        if command_id not in self.trees:
            self.trees[command_id] = command_heads(self.session, command_id)
        heads = self.trees[command_id].heads_for(unit_id, officer.id)
        if not heads:
            return None
        # A unit with several heads: the filer if one of them, else the first on record (the same
        # head every time); the line names them and goes to their inbox.
        chosen = self.actor.officer_id if self.actor.officer_id in heads else min(heads)
        return self.session.get(Officer, chosen)


# -- filing ------------------------------------------------------------------------------------------
def _field_problems(data: GroupData, certifies: bool) -> dict[str, list[tuple[str, dict]]]:
    problems: dict[str, list[tuple[str, dict]]] = {}

    def add(name, message, **params):
        problems.setdefault(name, []).append((message, params))

    email = (data.contact_email or "").strip()
    mobile = (data.contact_mobile or "").replace("-", "").replace(" ", "")
    if not email:
        add("contact_email", requests.MSG_REQUIRED)
    elif len(email) > 254 or not EMAIL.match(email):
        add("contact_email", requests.MSG_BAD_EMAIL)
    if not mobile:
        add("contact_mobile", requests.MSG_REQUIRED)
    elif not MOBILE.match(mobile):
        add("contact_mobile", requests.MSG_BAD_MOBILE)
    if not (data.duty_performed or "").strip():
        add("duty_performed", requests.MSG_REQUIRED)
    elif len(data.duty_performed) > TEXT_LIMIT:
        add("duty_performed", requests.MSG_TOO_LONG, limit=TEXT_LIMIT)
    if not data.pledge_accepted:
        add("pledge_accepted", machine.MSG_PLEDGE)
    if certifies and not data.attest:
        add("attest", MSG_ATTEST)
    return problems


def _line_data(data: GroupData, officer: Officer, head: Officer | None, problems) -> RequestData:
    """One officer's request: their own contact from the personnel record (so the mail about
    their line reaches them), else the group's; the group's duty, pledge and choices."""
    own_group = officer.rank.rank_group_id if officer.rank else None
    own_email = (officer.email or "").strip()
    own_mobile = (officer.mobile or "").replace("-", "").replace(" ", "")
    group_email = "" if "contact_email" in problems else data.contact_email.strip()
    group_mobile = "" if "contact_mobile" in problems else data.contact_mobile
    return RequestData(
        kind=data.kind,
        # A record's contact that is not a valid one (a landline, a typo in POLIS) gives way to
        # the group's, rather than refusing the officer's line for what the form cannot fix.
        contact_email=own_email if EMAIL.match(own_email) and len(own_email) <= 254 else group_email,
        contact_mobile=own_mobile if MOBILE.match(own_mobile) else group_mobile,
        duty_performed=(data.duty_performed or "")[:TEXT_LIMIT],
        pledge_accepted=bool(data.pledge_accepted),
        certifying_head_id=head.id if head else None,
        # The data fields and justification answers are the group's (one case, one purpose).
        sources=tuple(SourceChoice(c.data_source_id, c.rank_group_id or own_group, field_ids=c.field_ids,
                                   answers=c.answers) for c in data.sources),
        function_ids=data.function_ids,
        dates_in_buddhist_era=data.dates_in_buddhist_era,
    )


def file_group(session: Session, actor: Actor, data: GroupData, clock: Clock, *,
               uploads: tuple[Upload, ...] = (), max_upload_bytes: int = 5 * 1024 * 1024,
               send: bool = True) -> Outcome:
    """Build the group and every officer's line, judge each, and with `send` file them all.

    With `send`, a group that does not pass is refused whole (GroupRefused, each problem at its
    field or line); without it the judged outcome is returned, for the form to show, unless the
    group's data fields or justification answers are refused (GroupRefused either way): the caller
    rolls the transaction back either way unless a sent group came back.
    """
    if not may_file(session, actor):
        raise NotAllowed(MSG_NOT_FILER)
    if data.kind not in GROUP_KINDS:
        raise _at("kind", MSG_BAD_KIND)
    officers = _chosen_officers(session, actor, data.officer_ids)
    heads = _Heads(session, actor)
    lines = [Line(officer, heads.of(officer)) for officer in officers]
    certifies = any(line.head is not None and line.head.id == actor.officer_id for line in lines)
    problems = _field_problems(data, certifies)
    files = requests.checked_uploads(uploads, max_upload_bytes)
    filer = session.get(Officer, actor.officer_id) if actor.officer_id else None
    if filer is None:
        raise NotAllowed(requests.MSG_NO_OFFICER)
    filer_unit = working_unit_id(filer)
    group = RequestGroup(
        number=requests.next_number(session, clock.today), kind=data.kind, filed_by_id=actor.user_id,
        filer=filer, unit_id=filer_unit, command_id=command_of(session, filer_unit),
        contact_email=(data.contact_email or "").strip()[:254],
        contact_mobile=(data.contact_mobile or "").replace("-", "").replace(" ", "")[:20],
        duty_performed=(data.duty_performed or "").strip()[:TEXT_LIMIT],
        pledge_accepted=bool(data.pledge_accepted), submitted_at=clock.now)
    session.add(group)
    session.flush()
    for line in lines:
        try:
            line.request = requests.draft_line(session, actor, line.officer,
                                               _line_data(data, line.officer, line.head, problems),
                                               clock, group=group, files=files)
        except FieldsRefused as refused:
            # The fields and answers are the group's, so every line is refused alike: said once
            # at their fields, even when only judging (no line could be built to show or print).
            for name, message, params in refused.problems:
                problems.setdefault(name, []).append((message, params))
            raise GroupRefused(Outcome(group, [Line(o.officer, o.head) for o in lines], problems)) from refused
    judged = eligibility.check_requests(session, [line.request for line in lines], clock.today)
    for line in lines:
        for check in judged[line.request.id]:
            if check.field and check.status == eligibility.FAIL:
                # A missing document is the group's to attach, said once at its upload field.
                reasons = problems.setdefault(check.field, [])
                if (check.message, check.params) not in reasons:
                    reasons.append((check.message, check.params))
            else:
                line.checks.append(check)
    outcome = Outcome(group, lines, problems)
    if not send:
        return outcome
    if not outcome.passes:
        raise GroupRefused(outcome)
    for line in lines:
        requests.submit_line(session, actor, line.request, clock,
                             filer_certifies=line.head is not None and line.head.id == actor.officer_id)
    audit.record(session, "RequestGroup.create", actor_id=actor.user_id, obj=group,
                 after={"number": group.number, "kind": group.kind, "lines": [line.request.id for line in lines]})
    session.flush()
    return outcome


# -- reading -----------------------------------------------------------------------------------------
def load_group(session: Session, actor: Actor, group_id: int) -> RequestGroup:
    """The group if the actor may see it (app.security.scope); NotFound otherwise, the same answer
    for a group that does not exist."""
    group = session.get(RequestGroup, group_id)
    if group is None or not is_visible(session, actor, RequestGroup, group_id):
        raise NotFound(MSG_NOT_FOUND)
    return group


def visible_lines(session: Session, actor: Actor, group: RequestGroup, options=()) -> list[AccessRequest]:
    """The group's lines this actor may see: all of them for its filer and its command's staff,
    an officer their own, a head those they certify. `options` load what the caller's page reads."""
    query = (select(AccessRequest).where(AccessRequest.group_id == group.id).order_by(AccessRequest.id)
             .options(*options))
    return list(session.scalars(scoped(session, actor, query, AccessRequest)))


def groups_of(session: Session, actor: Actor, limit: int = 100) -> list[tuple[RequestGroup, int]]:
    """The groups the actor may see, newest first, each with its number of lines."""
    lines = (select(AccessRequest.group_id, func.count(AccessRequest.id).label("lines"))
             .where(AccessRequest.group_id.isnot(None)).group_by(AccessRequest.group_id).subquery())
    query = (select(RequestGroup, lines.c.lines).join(lines, lines.c.group_id == RequestGroup.id)
             .order_by(RequestGroup.submitted_at.desc(), RequestGroup.id.desc()).limit(limit))
    query = scoped(session, actor, query, RequestGroup)
    return [(group, count) for group, count in session.execute(query)]


def tally(lines: list[AccessRequest]) -> dict[str, int]:
    """How many lines stand in each state: the group's mixed result at a glance."""
    counts: dict[str, int] = {}
    for line in lines:
        counts[line.state] = counts.get(line.state, 0) + 1
    return counts
