"""Chasing requests that wait: reminders, escalation, overdue returns, and fallback heads.

`chase` is the scheduled job (`flask sitthi chase-requests`). For every request waiting at a
stage it counts the business days since the request entered that stage (weekends and the Holiday
table do not count) and applies the stage's rules, each at most once per wait:
- after `remind_after_days`, one reminder to whoever the stage waits for;
- after `escalate_after_days`, the wait is escalated to the stage's fallback (the head of the unit
  above the named head's, a named login, or a role), who from then on sees the request in their
  inbox and may decide it at that stage beside the stage's own actor;
- after `return_after_days`, the request goes back to the requester with the stage's reason.
And first, a request waiting at a head's stage whose named head can no longer certify (retired,
out of a head's position, login disabled) goes to the unit's next head (app/services/
fallback_heads.py); the wait starts again for them and the officer is told.

Each of these is a Decision on the timeline, an AuditEvent and mail. What was done to a wait is
kept in `stage_chase` (one row per request, stage and day it entered the stage), so each run
selects only what is due and not yet done: running twice the same day does nothing new.

Batches, as app/services/expiry.py: at most `batch_size` requests per call, selected by stage
from an index on (current_stage_id, stage_entered_on) of waiting requests, their rows, chase rows
and recipients read in a few statements per batch. Two servers at once: each batch takes the
job's advisory lock (PostgreSQL) and claims its requests FOR UPDATE SKIP LOCKED; a change to a
request is a compare-and-set on its version (the ORM's version column), and the unique chase row
refuses a second record of the same wait. Nothing here commits: the caller commits per batch.
"""
from dataclasses import dataclass, fields
from datetime import date

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from app.errors import N_
from app.models import (
    ESCALATION_ROLES,
    AccessRequest,
    ApprovalStage,
    Officer,
    PositionLevel,
    StageChase,
    User,
)
from app.security.scope import CENTRAL_IT, COMMAND_TECH, command_of, command_staff
from app.services import access_requests, expiry, fallback_heads, notifications
from app.services.business_days import started_by
from app.services.clock import Clock
from app.workflow import machine

JOB = "chase-requests"
# The most business days a rule may wait (a year and a half of them): more is a typing slip.
MAX_DAYS = 365
REASON_LIMIT = 2000

MSG_DAYS_RANGE = N_("Enter a whole number of business days from 0 to %(most)s, or leave it empty.")
MSG_REMIND_BEFORE_ESCALATE = N_("The reminder must come before the escalation: enter fewer days than for the escalation.")
MSG_RETURN_LAST = N_("The return must come after the reminder and the escalation: enter more days than for them.")
MSG_TARGET_NEEDED = N_("Choose whom the request is escalated to.")
MSG_DAYS_NEEDED = N_("Enter after how many business days the request is escalated.")
MSG_SUPERIOR_ONLY_FOR_HEADS = N_("Only a unit head's stage can be escalated to the head of the unit above.")
MSG_USER_NEEDED = N_("Choose the user the request is escalated to.")
MSG_USER_INACTIVE = N_("This login is disabled: choose an active user.")
MSG_ROLE_NEEDED = N_("Choose the role the request is escalated to.")
MSG_NOT_FOR_THIS_TARGET = N_("Leave this empty: it is used only when escalating to a named user or to a role.")
MSG_REASON_NEEDED = N_("Give the reason the requester reads when the request is returned.")
MSG_RETURN_DAYS_NEEDED = N_("Enter after how many business days the request is returned, or leave the reason empty.")
MSG_REASON_TOO_LONG = N_("Keep the reason under %(limit)s characters.")
MSG_AGENCY_NOT_CHASED = N_("The agency's stage waits for another organisation: it has no reminders, escalation or return.")


@dataclass(frozen=True)
class StageRules:
    """What an Admin enters for one stage's chasing rules (empty = off)."""

    actor: str | None
    remind_after_days: int | None = None
    escalate_after_days: int | None = None
    escalate_to: str | None = None
    escalate_to_user_active: bool | None = None  # None: no user chosen
    escalate_to_role: str | None = None
    return_after_days: int | None = None
    return_reason: str | None = None


def stage_rule_problems(rules: StageRules) -> dict[str, tuple[str, dict]]:
    """Every problem of a stage's chasing rules, by field (the stage form shows each at its field)."""
    problems: dict[str, tuple[str, dict]] = {}

    def refuse(field: str, message: str, **params) -> None:
        problems.setdefault(field, (message, params))

    days = {name: getattr(rules, name) for name in ("remind_after_days", "escalate_after_days", "return_after_days")}
    for name, value in days.items():
        if value is not None and not 0 <= value <= MAX_DAYS:
            refuse(name, MSG_DAYS_RANGE, most=MAX_DAYS)
    remind, escalate, back = days.values()
    reason = (rules.return_reason or "").strip()
    if rules.actor == "agency" and (any(v is not None for v in days.values()) or rules.escalate_to or reason):
        refuse("remind_after_days", MSG_AGENCY_NOT_CHASED)
        return problems
    if remind is not None and escalate is not None and remind >= escalate:
        refuse("remind_after_days", MSG_REMIND_BEFORE_ESCALATE)
    if back is not None and any(v is not None and back <= v for v in (remind, escalate)):
        refuse("return_after_days", MSG_RETURN_LAST)
    if escalate is not None and not rules.escalate_to:
        refuse("escalate_to", MSG_TARGET_NEEDED)
    if rules.escalate_to and escalate is None:
        refuse("escalate_after_days", MSG_DAYS_NEEDED)
    if rules.escalate_to == "superior_head" and rules.actor != "certifying_head":
        refuse("escalate_to", MSG_SUPERIOR_ONLY_FOR_HEADS)
    if rules.escalate_to == "user":
        if rules.escalate_to_user_active is None:
            refuse("escalate_to_user", MSG_USER_NEEDED)
        elif not rules.escalate_to_user_active:
            refuse("escalate_to_user", MSG_USER_INACTIVE)
    elif rules.escalate_to_user_active is not None:
        refuse("escalate_to_user", MSG_NOT_FOR_THIS_TARGET)
    if rules.escalate_to == "role":
        if rules.escalate_to_role not in ESCALATION_ROLES:
            refuse("escalate_to_role", MSG_ROLE_NEEDED)
    elif rules.escalate_to_role:
        refuse("escalate_to_role", MSG_NOT_FOR_THIS_TARGET)
    if back is not None and not reason:
        refuse("return_reason", MSG_REASON_NEEDED)
    if reason and back is None:
        refuse("return_after_days", MSG_RETURN_DAYS_NEEDED)
    if len(reason) > REASON_LIMIT:
        refuse("return_reason", MSG_REASON_TOO_LONG, limit=REASON_LIMIT)
    return problems
# Stored on the timeline (people of both languages read it), like expiry's reasons.
ROLE_NAMES = {
    CENTRAL_IT: "ศทก. (Central IT Center)",
    COMMAND_TECH: "ฝ่ายเทคโนโลยีของ บก./ภ.จว. (command technology staff)",
}
NO_FALLBACK = "ไม่พบผู้รับเรื่องต่อ (no one to escalate to)"


@dataclass(frozen=True)
class ChaseReport:
    """What one call did; `more` when a kind filled its batch (call again after committing)."""

    reassigned: int = 0
    reminded: int = 0
    escalated: int = 0
    returned: int = 0
    no_head: int = 0
    more: bool = False

    def __add__(self, other: "ChaseReport") -> "ChaseReport":
        summed = {f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self) if f.name != "more"}
        return ChaseReport(**summed, more=other.more)

    @property
    def total(self) -> int:
        return self.reassigned + self.reminded + self.escalated + self.returned

    def __str__(self) -> str:
        return (f"handed to the next head {self.reassigned}, reminded {self.reminded}, "
                f"escalated {self.escalated}, returned as overdue {self.returned}, "
                f"no head found {self.no_head}")


def chase(session: Session, clock: Clock, batch_size: int) -> ChaseReport:
    """One batch of the job: fallback heads first (their wait starts again), then the stages' rules."""
    expiry.job_lock(session, JOB)
    people = _People(session)
    reassigned, no_head, more_heads = _hand_to_next_heads(session, clock, batch_size)
    reminded, escalated, returned, more_rules = _apply_stage_rules(session, clock, batch_size, people)
    session.flush()
    return ChaseReport(reassigned=reassigned, reminded=reminded, escalated=escalated, returned=returned,
                       no_head=no_head, more=more_heads or more_rules)


# -- what waits -----------------------------------------------------------------------------------
def _waiting_at(stage_ids):
    return and_(AccessRequest.state == machine.SUBMITTED, AccessRequest.current_stage_id.in_(stage_ids))


def _this_wait():
    """The chase row of a request's current wait (correlated to AccessRequest)."""
    return and_(StageChase.request_id == AccessRequest.id, StageChase.stage_id == AccessRequest.current_stage_id,
                StageChase.entered_on == AccessRequest.stage_entered_on)


def _claim(session: Session, query, limit: int) -> list[int]:
    """Ids of the requests to work on, locked for this transaction; another server's are skipped."""
    return list(session.scalars(query.limit(limit).with_for_update(of=AccessRequest, skip_locked=True)))


def _load(session: Session, ids: list[int]) -> list[AccessRequest]:
    """The claimed requests, fresh from the database, with what their messages read."""
    if not ids:
        return []
    query = (select(AccessRequest).where(AccessRequest.id.in_(ids)).order_by(AccessRequest.id)
             .options(selectinload(AccessRequest.requester).selectinload(Officer.rank),
                      selectinload(AccessRequest.requester).selectinload(Officer.user),
                      selectinload(AccessRequest.certifying_head).selectinload(Officer.rank),
                      selectinload(AccessRequest.certifying_head).selectinload(Officer.user),
                      selectinload(AccessRequest.current_stage))
             .execution_options(populate_existing=True))
    return list(session.scalars(query))


def _chase_rows(session: Session, requests: list[AccessRequest]) -> dict[tuple, StageChase]:
    """The chase rows of these requests' current waits, by (request, stage, day entered)."""
    if not requests:
        return {}
    rows = session.scalars(select(StageChase).where(
        StageChase.request_id.in_([r.id for r in requests])))
    return {(row.request_id, row.stage_id, row.entered_on): row for row in rows}


def _wait_row(session: Session, rows: dict, request: AccessRequest) -> StageChase:
    key = (request.id, request.current_stage_id, request.stage_entered_on)
    if key not in rows:
        rows[key] = StageChase(request_id=request.id, stage_id=request.current_stage_id,
                               entered_on=request.stage_entered_on)
        session.add(rows[key])
    return rows[key]


# -- (a) the named head gone ----------------------------------------------------------------------
def _hand_to_next_heads(session: Session, clock: Clock, limit: int) -> tuple[int, int, bool]:
    head_stages = list(session.scalars(select(ApprovalStage.id).where(ApprovalStage.actor == "certifying_head")))
    if not head_stages:
        return 0, 0, False
    tried_today = exists().where(_this_wait(), StageChase.no_head_on == clock.today)
    head, level, login = aliased(Officer), aliased(PositionLevel), aliased(User)
    query = (select(AccessRequest.id)
             .outerjoin(head, head.id == AccessRequest.certifying_head_id)
             .outerjoin(level, level.id == head.position_level_id)
             .outerjoin(login, login.id == head.user_id)
             .where(_waiting_at(head_stages), AccessRequest.stage_entered_on.is_not(None),
                    fallback_heads.named_head_gone(head, level, login), ~tried_today)
             .order_by(AccessRequest.id))
    ids = _claim(session, query, limit)
    requests = _load(session, ids)
    rows = _chase_rows(session, requests)
    finder = fallback_heads.HeadFinder(session)
    reassigned = no_head = 0
    for request in requests:
        successor = finder.next_head(request)
        if successor is None:
            # Nobody above either: tried again tomorrow, and the wait goes on to its other rules.
            _wait_row(session, rows, request).no_head_on = clock.today
            no_head += 1
            continue
        access_requests.reassign_head(session, request, successor, clock)
        reassigned += 1
    return reassigned, no_head, len(ids) == limit


# -- (b) the stage's rules ------------------------------------------------------------------------
def _apply_stage_rules(session: Session, clock: Clock, limit: int, people: "_People") -> tuple[int, int, int, bool]:
    stages = list(session.scalars(select(ApprovalStage).where(
        ApprovalStage.actor != "agency",
        or_(ApprovalStage.remind_after_days.is_not(None), ApprovalStage.escalate_after_days.is_not(None),
            ApprovalStage.return_after_days.is_not(None))).order_by(ApprovalStage.id)))
    reminded = escalated = returned = 0
    left = limit
    for stage in stages:
        if left <= 0:
            return reminded, escalated, returned, True
        cutoffs = {rule: started_by(session, clock.today, days) for rule, days in (
            ("remind", stage.remind_after_days), ("escalate", stage.escalate_after_days),
            ("return", stage.return_after_days)) if days is not None}
        ids = _claim(session, _due_at(stage, cutoffs), left)
        left -= len(ids)
        requests = _load(session, ids)
        rows = _chase_rows(session, requests)
        for request in requests:
            entered = request.stage_entered_on
            wait = _wait_row(session, rows, request)
            if "return" in cutoffs and entered <= cutoffs["return"]:
                _return_overdue(session, request, stage, wait, clock)
                returned += 1
                continue
            if "escalate" in cutoffs and entered <= cutoffs["escalate"] and wait.escalated_on is None:
                _escalate(session, request, stage, wait, clock, people)
                escalated += 1
            if "remind" in cutoffs and entered <= cutoffs["remind"] and wait.reminded_on is None:
                _remind(session, request, stage, wait, clock, people)
                reminded += 1
        if left <= 0 and ids:
            return reminded, escalated, returned, True
    return reminded, escalated, returned, False


def _due_at(stage: ApprovalStage, cutoffs: dict[str, date]):
    """SQL: the requests waiting at this stage with a rule due and not yet applied to the wait."""
    entered = AccessRequest.stage_entered_on
    due = []
    if "return" in cutoffs:
        due.append(entered <= cutoffs["return"])
    if "escalate" in cutoffs:
        due.append(and_(entered <= cutoffs["escalate"],
                        ~exists().where(_this_wait(), StageChase.escalated_on.is_not(None))))
    if "remind" in cutoffs:
        due.append(and_(entered <= cutoffs["remind"],
                        ~exists().where(_this_wait(), StageChase.reminded_on.is_not(None))))
    latest = max(cutoffs.values())
    return (select(AccessRequest.id)
            .where(_waiting_at([stage.id]), entered <= latest, or_(*due))
            .order_by(entered, AccessRequest.id))


def _days(stage_days: int) -> str:
    return f"รอมาแล้ว {stage_days} วันทำการ (waited {stage_days} business days)"


def _remind(session: Session, request: AccessRequest, stage: ApprovalStage, wait: StageChase, clock: Clock,
            people: "_People") -> None:
    wait.reminded_on = clock.today
    comment = _days(stage.remind_after_days)
    access_requests.record_system(session, request, "remind", request.state, stage, comment, clock,
                                  business_days=stage.remind_after_days)
    subject, body = access_requests.message(request, "remind")
    people.tell(people.of_stage(request), subject, f"{comment}\n\n{body}", request.id)


def _escalate(session: Session, request: AccessRequest, stage: ApprovalStage, wait: StageChase, clock: Clock,
              people: "_People") -> None:
    wait.escalated_on = clock.today
    target, recipients = None, []
    if stage.escalate_to == "superior_head":
        head_id = people.finder.superior_head(request)
        officer = session.get(Officer, head_id) if head_id else None
        if officer is not None and officer.user_id is not None:
            wait.escalated_to_user_id = officer.user_id
            target = str(officer)
            recipients = people.of_user(officer.user_id, officer.email)
    elif stage.escalate_to == "user":
        user = session.get(User, stage.escalate_to_user_id) if stage.escalate_to_user_id else None
        if user is not None and user.active:
            wait.escalated_to_user_id = user.id
            officer = session.scalar(select(Officer).where(Officer.user_id == user.id))
            target = str(officer) if officer else user.username
            recipients = people.of_user(user.id, officer.email if officer else None)
    elif stage.escalate_to == "role" and stage.escalate_to_role:
        wait.escalated_to_role = stage.escalate_to_role
        target = ROLE_NAMES.get(stage.escalate_to_role, stage.escalate_to_role)
        recipients = people.of_role(stage.escalate_to_role, request)
    comment = f"{_days(stage.escalate_after_days)}: {target or NO_FALLBACK}"
    access_requests.record_system(session, request, "escalate", request.state, stage, comment, clock,
                                  business_days=stage.escalate_after_days,
                                  escalated_to_user_id=wait.escalated_to_user_id,
                                  escalated_to_role=wait.escalated_to_role)
    subject, body = access_requests.message(request, "escalate")
    people.tell(recipients, subject, f"{comment}\n\n{body}", request.id)


def _return_overdue(session: Session, request: AccessRequest, stage: ApprovalStage, wait: StageChase,
                    clock: Clock) -> None:
    reason = (stage.return_reason or "").strip() or _days(stage.return_after_days)
    machine.check("return_overdue", machine.Context(state=request.state, comment=reason,
                                                    at_stage=stage.actor != "agency"))
    wait.returned_on = clock.today
    from_state = request.state
    request.state = machine.RETURNED
    request.due_on = None
    session.flush()  # compare-and-set on the request's version: a decision meanwhile wins
    access_requests.record_system(session, request, "return_overdue", from_state, stage, reason, clock,
                                  business_days=stage.return_after_days)
    access_requests.notify_requester(session, request, "return_overdue", reason)


# -- who is told ----------------------------------------------------------------------------------
class _People:
    """Recipients of a batch's mail, each group read once per batch (no statement per request)."""

    def __init__(self, session: Session):
        self.session = session
        self.finder = fallback_heads.HeadFinder(session)
        self._commands: dict[int, int | None] = {}
        self._staff: dict[tuple[str, int | None], list[tuple[str, int]]] = {}
        self._central_it: list[tuple[str, int]] | None = None
        self._users: dict[int, str | None] = {}

    def command_of_request(self, request: AccessRequest) -> int | None:
        unit_id = request.target_unit_id if request.kind == "temporary_assignment" else request.unit_id
        unit_id = unit_id or request.unit_id
        if unit_id not in self._commands:
            self._commands[unit_id] = command_of(self.session, unit_id)
        return self._commands[unit_id]

    def central_it(self) -> list[tuple[str, int]]:
        if self._central_it is None:
            users = self.session.scalars(select(User).where(User.active.is_(True), User.roles.any(name=CENTRAL_IT)))
            self._central_it = [(u.email, u.id) for u in users if u.email]
        return self._central_it

    def command_role(self, role: str, command_id: int | None) -> list[tuple[str, int]]:
        key = (role, command_id)
        if key not in self._staff:
            self._staff[key] = [(u.email, u.id) for u in command_staff(self.session, role, [command_id]) if u.email]
        return self._staff[key]

    def of_user(self, user_id: int, email: str | None = None) -> list[tuple[str, int]]:
        if user_id not in self._users:
            self._users[user_id] = self.session.scalar(select(User.email).where(User.id == user_id))
        address = email or self._users[user_id]
        return [(address, user_id)] if address else []

    def of_role(self, role: str, request: AccessRequest) -> list[tuple[str, int]]:
        if role == CENTRAL_IT:
            return self.central_it()
        return self.command_role(role, self.command_of_request(request))

    def of_stage(self, request: AccessRequest) -> list[tuple[str, int | None]]:
        actor = request.current_stage.actor if request.current_stage else None
        if actor == "certifying_head":
            head = request.certifying_head
            if head is None:
                return []
            email = head.email or (head.user.email if head.user else None)
            return [(email, head.user_id)] if email else []
        if actor == "command_tech":
            return self.command_role(COMMAND_TECH, self.command_of_request(request))
        return self.central_it()

    def tell(self, recipients, subject: str, body: str, request_id: int) -> None:
        seen = set()
        for email, user_id in recipients:
            if not email or email in seen:
                continue
            seen.add(email)
            notifications.queue(self.session, recipient_email=email, recipient_user_id=user_id,
                                subject=subject, body=body, request_id=request_id)
