"""What waits for whom: the one definition of every approver's inbox.

Each inbox is a SQL condition on AccessRequest for one actor. The screens, the REST API and the
home page all use these, so a request never shows in one place and not in another. A user's own
request never waits in their inbox: they may not decide it.
"""
from datetime import date, timedelta

from sqlalchemy import and_, event, func, or_, select, tuple_
from sqlalchemy.orm import Session

from app.models import (
    STAGE_ACTORS,
    AccessRequest,
    ApprovalStage,
    DataChangeRequest,
    Grant,
    PersonnelChange,
    ReviewDecision,
    StageChase,
)
from app.reference_cache import kept
from app.security.scope import CENTRAL_IT, COMMAND_TECH, Actor, officers_of_users, units_under
from app.services import data_changes, reviews

TO_CERTIFY, TO_VERIFY, AWAITING_ACTIVATION, ACCOUNT_REQUESTS = (
    "to_certify", "to_verify", "awaiting_activation", "account_requests",
)
PERSONNEL_CHANGES = "personnel_changes"
# Inboxes of other records than requests: review items to decide and sign off, data corrections.
TO_REVIEW, DATA_CHANGES = "to_review", "data_changes"
# One's own work: drafts to finish, requests returned for correction, rights about to end.
MY_DRAFTS, MY_RETURNED, MY_EXPIRING = "my_drafts", "my_returned", "my_expiring"


def _at_stage(session: Session, actor_kind: str):
    """At any stage of this kind, named by id: PostgreSQL plans a list of a few stage ids with its
    statistics on (state, stage) and reads an inbox's first page from an index in due order, where
    a subquery of stages made it read and sort every request waiting at those stages."""
    return AccessRequest.current_stage_id.in_(stage_ids(session)[actor_kind])


def stage_ids(session: Session) -> dict[str, list[int]]:
    """actor kind -> the ids of the stages that actor decides; kept by the process until a stage
    changes (app.reference_cache)."""
    def read() -> dict[str, list[int]]:
        known: dict[str, list[int]] = {kind: [] for kind in STAGE_ACTORS}
        for stage_id, kind in session.execute(select(ApprovalStage.id, ApprovalStage.actor).order_by(ApprovalStage.id)):
            known.setdefault(kind, []).append(stage_id)
        return known

    return kept(session, "workflow", "stage_ids", read)


# What was escalated to whom, read once per transaction.
_ESCALATED = "sitthi.escalated_ids"


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_escalations(session, *_args) -> None:
    session.info.pop(_ESCALATED, None)


@event.listens_for(Session, "before_flush")
def _forget_escalations_when_they_change(session, *_args) -> None:
    if any(isinstance(row, StageChase) for row in (*session.new, *session.dirty, *session.deleted)):
        session.info.pop(_ESCALATED, None)


def _not_own(actor: Actor, condition):
    if actor.officer_id is None:
        return condition
    return and_(condition, AccessRequest.requester_id != actor.officer_id)


def escalated_waits(session: Session, *, user_id: int | None = None, role: str | None = None) -> list[tuple]:
    """(request id, stage id, day it entered the stage) of each wait now escalated to this login
    or this role: few, only overdue ones. Read once per transaction (again after a chase row
    changes); an inbox matches them against the request's current wait, so a request decided
    meanwhile drops out at once."""
    known = session.info.setdefault(_ESCALATED, {})
    key = (user_id, role)
    if key not in known:
        target = (StageChase.escalated_to_user_id == user_id) if user_id is not None \
            else (StageChase.escalated_to_role == role)
        known[key] = [tuple(row) for row in session.execute(
            select(StageChase.request_id, StageChase.stage_id, StageChase.entered_on)
            .join(AccessRequest, and_(
                StageChase.request_id == AccessRequest.id, StageChase.stage_id == AccessRequest.current_stage_id,
                StageChase.entered_on == AccessRequest.stage_entered_on))
            .where(target, StageChase.escalated_on.is_not(None), AccessRequest.state == "submitted"))]
    return known[key]


def _with_escalated(condition, waits: list[tuple]):
    """The inbox's own condition, or one of these waits (by id first: the key's index serves it)."""
    if not waits:
        return condition
    current = tuple_(AccessRequest.id, AccessRequest.current_stage_id, AccessRequest.stage_entered_on)
    escalated = and_(AccessRequest.id.in_(sorted({w[0] for w in waits})), AccessRequest.state == "submitted",
                     current.in_(waits))
    return or_(condition, escalated)


def to_certify(session: Session, actor: Actor):
    """Submitted requests waiting at the head's stage that name this officer as head, or name a
    head this officer stands in for today as deputy (never the deputy's own request); and any
    request whose overdue stage was escalated to this user by name."""
    escalated = escalated_waits(session, user_id=actor.user_id) if actor.user_id is not None else []
    if actor.officer_id is None and not actor.stands_in_for and not escalated:
        return None
    heads = []
    if actor.officer_id is not None:
        heads.append(AccessRequest.certifying_head_id == actor.officer_id)
    if actor.stands_in_for:
        heads.append(AccessRequest.certifying_head_id.in_(officers_of_users(actor.stands_in_for)))
    named = and_(AccessRequest.state == "submitted", _at_stage(session, "certifying_head"),
                 or_(*heads)) if heads else AccessRequest.id.is_(None)
    return _not_own(actor, _with_escalated(named, escalated))


def to_verify(session: Session, actor: Actor):
    """Nationwide: what waits for the Central IT Center."""
    if not actor.has_role(CENTRAL_IT):
        return None
    return _not_own(actor, _with_escalated(
        and_(AccessRequest.state == "submitted", _at_stage(session, "central_it")),
        escalated_waits(session, role=CENTRAL_IT)))


def awaiting_activation(session: Session, actor: Actor):
    """Completed requests whose items wait for the data-owner agency; CentralIT records it."""
    if not actor.has_role(CENTRAL_IT):
        return None
    return _not_own(actor, and_(AccessRequest.state == "completed", _at_stage(session, "agency")))


def account_requests(session: Session, actor: Actor):
    """What waits for the technology staff of this user's command (ช่วยราชการ: the target's)."""
    if not actor.has_role(COMMAND_TECH) or actor.command_id is None:
        return None
    within = units_under(session, actor.command_id)
    in_command = or_(
        and_(AccessRequest.kind != "temporary_assignment", AccessRequest.unit_id.in_(within)),
        and_(AccessRequest.kind == "temporary_assignment", AccessRequest.target_unit_id.in_(within)),
    )
    escalated = escalated_waits(session, role=COMMAND_TECH)
    waiting = _with_escalated(and_(AccessRequest.state == "submitted", _at_stage(session, "command_tech")), escalated)
    return _not_own(actor, and_(waiting, in_command))


def inbox_conditions(session: Session, actor: Actor) -> dict[str, object]:
    """The inboxes this user has (None: an inbox their roles do not give them)."""
    conditions = {
        TO_CERTIFY: to_certify(session, actor),
        TO_VERIFY: to_verify(session, actor),
        AWAITING_ACTIVATION: awaiting_activation(session, actor),
        ACCOUNT_REQUESTS: account_requests(session, actor),
    }
    return {name: condition for name, condition in conditions.items() if condition is not None}


def waiting_for(session: Session, actor: Actor):
    """Everything that waits for this user, whichever inbox it is in; None if nothing can."""
    conditions = list(inbox_conditions(session, actor).values())
    return or_(*conditions) if conditions else None


def personnel_changes(session: Session, actor: Actor):
    """Open personnel changes (movers, leavers, flags) that wait for this CommandTech's command.

    Not a request inbox: a condition on PersonnelChange. Others who may read the list (Personnel,
    Auditor, CentralIT) have nothing waiting there for them to do.
    """
    if not actor.has_role(COMMAND_TECH) or actor.command_id is None:
        return None
    return and_(PersonnelChange.state == "open",
                PersonnelChange.command_id.in_(units_under(session, actor.command_id)))


def record_inboxes(session: Session, actor: Actor) -> dict[str, tuple[type, object]]:
    """The user's inboxes of review items and data-change requests: name -> (model, condition)."""
    found = {TO_REVIEW: (ReviewDecision, reviews.waiting_for_review(session, actor)),
             DATA_CHANGES: (DataChangeRequest, data_changes.to_handle(actor))}
    return {name: pair for name, pair in found.items() if pair[1] is not None}


def inbox_counts(session: Session, actor: Actor) -> dict[str, int]:
    """How many requests (or other records: review items, data corrections, personnel changes)
    wait in each of the user's inboxes (one statement each)."""
    counts = {
        name: session.scalar(select(func.count(AccessRequest.id)).where(condition)) or 0
        for name, condition in inbox_conditions(session, actor).items()
    }
    changes = personnel_changes(session, actor)
    if changes is not None:
        counts[PERSONNEL_CHANGES] = session.scalar(select(func.count(PersonnelChange.id)).where(changes)) or 0
    for name, (model, condition) in record_inboxes(session, actor).items():
        counts[name] = session.scalar(select(func.count(model.id)).where(condition)) or 0
    return counts


def own_work(session: Session, actor: Actor, today: date, window_days: int) -> dict[str, int]:
    """What waits for the user as a requester, in one statement: their drafts, their requests
    returned for correction, and their active rights that end within `window_days` (the
    reminder window, when renewing is offered). Only what is there: a zero needs no one."""
    if actor.officer_id is None:
        return {}
    mine = AccessRequest.requester_id == actor.officer_id

    def requests_in(state):
        return select(func.count(AccessRequest.id)).where(mine, AccessRequest.state == state).scalar_subquery()

    expiring = select(func.count(Grant.id)).where(
        Grant.officer_id == actor.officer_id, Grant.state == "active",
        Grant.valid_until <= today + timedelta(days=window_days)).scalar_subquery()
    row = session.execute(select(requests_in("draft"), requests_in("returned"), expiring)).one()
    counts = dict(zip((MY_DRAFTS, MY_RETURNED, MY_EXPIRING), row, strict=True))
    return {name: count for name, count in counts.items() if count}
