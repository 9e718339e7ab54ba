"""How long a request waited at a stage, written on the decision that ended the wait.

The dashboard's "time at each stage" is a median over 90 days of waits. Pairing every decision
with the one before it (a window over every request-level decision of those requests) cost
seconds at a million requests, on every view. So the wait is worked out once, when the decision
that ends it is recorded, and kept in `decision.waited_hours`; the dashboard only reads it.

A wait is
- at an approval stage: from the request-level decision that put the request into the stage
  (submit, resubmit, or the previous stage's approve) to the stage actor's approve, return or
  reject. Time after any other decision (a cancel, say) is no wait at a stage;
- at the data-owner agency: from the approval that completed the request to each activation (or
  refusal) CentralIT records for one of its items.

One statement per kind of wait, for some requests or all of them: the services run it after each
decision that ends a wait, the migration and the bench dataset over every decision. No Flask here.
"""
from sqlalchemy import case, func, literal, select, update
from sqlalchemy.orm import Session

from app.models import AccessRequest, ApprovalStage, Decision

ENTERS_STAGE = frozenset({"submit", "resubmit", "approve"})
LEAVES_STAGE = frozenset({"approve", "return", "reject"})
# Every request-level transition that moves a request; any of them ends the time at a stage.
REQUEST_TRANSITIONS = ENTERS_STAGE | LEAVES_STAGE | {"cancel"}
AGENCY_ANSWERS = frozenset({"activate", "refuse_activation"})
AGENCY = "agency"


def ends_a_wait(transition: str, is_item_decision: bool) -> bool:
    return transition in AGENCY_ANSWERS if is_item_decision else transition in LEAVES_STAGE


def record_waits(session: Session, request_ids: list[int] | None = None) -> None:
    """Fill `waited_hours` on the decisions of these requests (None: all) that end a wait."""
    session.flush()
    _record_stage_waits(session, request_ids)
    _record_agency_waits(session, request_ids)


def waited_actor():
    """Whose wait a decision with `waited_hours` ended: its stage's actor, or the agency."""
    return case((Decision.transition.in_(sorted(AGENCY_ANSWERS)), literal(AGENCY)), else_=ApprovalStage.actor)


def _record_stage_waits(session: Session, request_ids) -> None:
    order = (Decision.decided_at, Decision.id)
    timeline = (
        select(
            Decision.id, Decision.transition, Decision.decided_at, Decision.stage_id,
            func.lag(Decision.transition).over(partition_by=Decision.request_id, order_by=order).label("before"),
            func.lag(Decision.decided_at).over(partition_by=Decision.request_id, order_by=order).label("entered_at"),
        )
        .where(Decision.item_id.is_(None), Decision.transition.in_(sorted(REQUEST_TRANSITIONS)),
               *_of(request_ids))
        .subquery()
    )
    waits = (
        select(timeline.c.id, _hours(session, timeline.c.entered_at, timeline.c.decided_at).label("hours"))
        .where(timeline.c.transition.in_(sorted(LEAVES_STAGE)), timeline.c.stage_id.is_not(None),
               timeline.c.before.in_(sorted(ENTERS_STAGE)))
        .subquery()
    )
    session.execute(
        update(Decision.__table__)
        .where(Decision.__table__.c.id == waits.c.id, Decision.__table__.c.waited_hours.is_(None))
        .values(waited_hours=waits.c.hours)
    )


def _record_agency_waits(session: Session, request_ids) -> None:
    table = Decision.__table__
    completed_at = (select(AccessRequest.completed_at)
                    .where(AccessRequest.id == table.c.request_id).scalar_subquery())
    session.execute(
        update(table)
        .where(table.c.transition.in_(sorted(AGENCY_ANSWERS)), table.c.waited_hours.is_(None),
               completed_at.is_not(None),
               *([table.c.request_id.in_(request_ids)] if request_ids is not None else []))
        .values(waited_hours=_hours(session, completed_at, table.c.decided_at))
    )


def _of(request_ids):
    return [] if request_ids is None else [Decision.request_id.in_(request_ids)]


def _hours(session: Session, start, end):
    """Hours from start to end, never below zero (clocks of two servers may disagree slightly)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.greatest(func.extract("epoch", end - start) / 3600.0, 0)
    return func.max((func.julianday(end) - func.julianday(start)) * 24.0, 0)

