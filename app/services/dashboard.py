"""The approval dashboard: where requests are, which are late, and how long each actor takes.

Every figure is computed within the requests the reader may open: the row scope of
app.security.scope (`row_condition`), the same rule as every list and the request page. So the
nationwide roles (CentralIT, Auditor, Admin) see the country; CommandTech and Personnel their
command; everyone else their own requests (drafts included), a head also those that name them
once sent (whatever became of them since), and a deputy, while the delegation lasts, those of the
head they stand in for.

Built for national scale (about 1,700 units, 100,000 requests): every figure is one aggregate
query with the scope as a WHERE condition, units are resolved to commands through the process's
unit tree, and the number of SQL statements does not grow with the number of requests. No Flask
here; the view renders the result.
"""
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Boolean, and_, case, false, func, not_, or_, select, union_all
from sqlalchemy.orm import Session

from app.models import REQUEST_STATES, STAGE_ACTORS, AccessRequest, ApprovalStage, Decision, Unit
from app.reference_cache import kept
from app.security.scope import (
    COMMAND_ROLES,
    NATIONWIDE_ROLES,
    Actor,
    is_nationwide,
    own_request_parts,
    row_condition,
    unit_tree,
)
from app.services.inboxes import stage_ids
from app.services.stage_waits import AGENCY, waited_actor

OPEN_STATES = ("submitted", "returned")
OVERDUE_LIST_SIZE = 20
TIMING_WINDOW_DAYS = 90


@dataclass(frozen=True)
class CommandCount:
    """Open requests of the units one command administers; command_id None: no command above."""

    command_id: int | None
    name: str
    count: int


@dataclass(frozen=True)
class OverdueRequest:
    id: int
    number: str | None
    kind: str
    state: str
    unit_name: str
    stage_name_th: str | None
    stage_name_en: str | None
    stage_actor: str | None
    due_on: date
    days_overdue: int


@dataclass(frozen=True)
class StageTiming:
    """Median time a request spends at one kind of stage, from `samples` stage decisions.

    Days are calendar days (hours / 24), the unit people read a wait in; None without samples.
    """

    actor: str
    samples: int
    median_hours: float | None
    median_days: float | None


@dataclass
class Dashboard:
    today: date
    # When the figures were worked out (they may be shared for a while: see shared_reader).
    as_of: datetime | None
    # Every state of REQUEST_STATES, in that order, zeros included.
    by_state: dict[str, int]
    # Open (submitted or returned) requests per administering command, most first.
    open_by_command: list[CommandCount]
    overdue_count: int
    # The most overdue first, at most OVERDUE_LIST_SIZE.
    overdue: list[OverdueRequest]
    # Requests waiting now at a stage of each actor (every STAGE_ACTORS key, zeros included).
    waiting_by_actor: dict[str, int]
    # Every STAGE_ACTORS key, in that order.
    stage_timings: list[StageTiming] = field(default_factory=list)

    @property
    def open_total(self) -> int:
        return sum(row.count for row in self.open_by_command)


def approval_dashboard(session: Session, actor: Actor, today: date, now: datetime | None = None,
                       timings: list[StageTiming] | None = None) -> Dashboard:
    """Everything `actor` may see on the dashboard, as of `today`, in a fixed number of statements.
    `timings`: the stage timings already worked out for the actor (stage_timings), else worked out."""
    # None for the nationwide roles: their queries stay exactly the national ones.
    visible = row_condition(session, actor, AccessRequest, counting=True)
    counts = _counts(session, visible, today, own_request_parts(session, actor))
    overdue_count, overdue = _overdue(session, today, visible, counts.overdue)
    return Dashboard(
        today=today,
        as_of=now,
        by_state=counts.by_state,
        open_by_command=_open_by_command(session, counts.open_by_unit),
        overdue_count=overdue_count,
        overdue=overdue,
        waiting_by_actor=counts.waiting_by_actor,
        stage_timings=timings if timings is not None else _stage_timings(session, today, visible),
    )


def stage_timings(session: Session, actor: Actor, today: date) -> list[StageTiming]:
    """The median waits at each kind of stage over the requests `actor` sees (the dashboard's)."""
    return _stage_timings(session, today, row_condition(session, actor, AccessRequest, counting=True))


def shared_reader(actor: Actor) -> tuple[str, Actor] | None:
    """Readers who see the same figures share one working-out of them: (a key naming the
    figures, the reader they are worked out for), or None for figures of one's own.

    The nationwide roles all see the country. A command's technology and personnel staff see
    their command's requests, worked out for the command alone: a figure never depends on who of
    them looked first (their own requests and those naming them as head are their command's
    anyway, as they serve in it). Everyone else sees their own requests, worked out for them.
    """
    if is_nationwide(actor):
        return "nation", Actor(user_id=0, roles=frozenset(actor.roles & NATIONWIDE_ROLES))
    if actor.roles & COMMAND_ROLES and actor.command_id is not None:
        return f"command:{actor.command_id}", Actor(user_id=0, roles=frozenset(actor.roles & COMMAND_ROLES),
                                                    command_id=actor.command_id)
    return None


# -- counts ------------------------------------------------------------------------------

@dataclass
class _Counts:
    by_state: dict[str, int]
    open_by_unit: dict[int, int]
    waiting_by_actor: dict[str, int]
    # Overdue requests, when counted with the rest (a reader's share), else None.
    overdue: int | None = None


def _counts(session: Session, visible, today: date, own_parts: list | None) -> _Counts:
    """The requests by state, the open ones by unit, and those waiting by stage actor.

    The country's come from three statements, each served by an index of its own (one grouping
    of a million rows into some 10,000 groups took 345 ms against their 266). A reader's share is
    read once and grouped by all three at once, the overdue ones too: a head's 13 -> 6 ms, a large
    command's 110 -> 45 ms at national scale. A reader who sees requests only as a person
    (`own_parts`) has them read part by part from the parts' indexes: the head's 6.8 -> 2.2 ms.
    """
    stages = stage_ids(session)
    overdue = None
    if visible is None:
        waiting = _waiting(stages, AccessRequest)
        by_state = session.execute(select(AccessRequest.state, func.count()).group_by(AccessRequest.state)).all()
        open_by_unit = session.execute(
            select(AccessRequest.unit_id, func.count())
            .where(AccessRequest.state.in_(OPEN_STATES)).group_by(AccessRequest.unit_id)).all()
        by_stage = session.execute(
            select(AccessRequest.current_stage_id, func.count())
            .where(waiting).group_by(AccessRequest.current_stage_id)).all()
    else:
        seen = AccessRequest if own_parts is None else _one_row_per_request(own_parts)
        request = AccessRequest if own_parts is None else seen.c
        waiting = _waiting(stages, request)
        is_late = case((_late(stages, request, today), True), else_=False).label("late")
        # A unit only where the request is open, a stage only where it waits: the figures need no
        # more, and a head's 3,345 requests (1M set) fall into 895 groups instead of 1,607.
        open_unit = case((request.state.in_(OPEN_STATES), request.unit_id)).label("open_unit")
        waiting_at = case((waiting, request.current_stage_id)).label("waiting_at")
        grouped = (request.state, open_unit, waiting_at, is_late)
        query = select(*grouped, func.count())
        query = query.where(visible) if own_parts is None else query.select_from(seen)
        rows = session.execute(query.group_by(*grouped)).all()
        by_state = _summed((state, count) for state, _unit, _stage, _late, count in rows)
        open_by_unit = _summed((unit, count) for _state, unit, _stage, _late, count in rows if unit is not None)
        by_stage = _summed((stage, count) for _state, _unit, stage, _late, count in rows if stage is not None)
        overdue = sum(count for *_grouped, late, count in rows if late)
    counts = _Counts(by_state=dict.fromkeys(REQUEST_STATES, 0), open_by_unit=dict(open_by_unit),
                     waiting_by_actor=dict.fromkeys(STAGE_ACTORS, 0), overdue=overdue)
    counts.by_state.update(dict(by_state))
    actor_of = {stage_id: actor for actor, ids in stages.items() for stage_id in ids}
    for stage_id, count in by_stage:
        counts.waiting_by_actor[actor_of[stage_id]] = counts.waiting_by_actor.get(actor_of[stage_id], 0) + count
    return counts


def _one_row_per_request(parts: list):
    """The requests of `parts` as a union of one read per part, each leaving out the rows of the
    parts before it: no request is counted twice, and no row is visited to find out (the parts'
    indexes hold the columns read)."""
    columns = (AccessRequest.state, AccessRequest.unit_id, AccessRequest.current_stage_id, AccessRequest.due_on)
    reads = [select(*columns).where(part, *(not_(func.coalesce(earlier, false(), type_=Boolean))
                                            for earlier in parts[:number]))
             for number, part in enumerate(parts)]
    return union_all(*reads).subquery("seen")


def _waiting(stages: dict[str, list[int]], request):
    """Submitted requests at a stage, plus completed ones waiting for an agency to activate.

    Stages are named by id (a handful of rows), so each arm of the condition is a range of the
    (state, stage) index instead of a join that reads every completed request. `request`: the
    request's columns (AccessRequest, or a subquery's).
    """
    return and_(
        request.current_stage_id.is_not(None),
        or_(request.state == "submitted",
            and_(request.state == "completed", request.current_stage_id.in_(stages[AGENCY]))),
    )


def _late(stages: dict[str, list[int]], request, today: date):
    """overdue_condition with the agency's stages named by id: the same rows, without the join."""
    return and_(request.due_on < today,
                or_(request.state == "submitted",
                    and_(request.state == "completed", request.current_stage_id.in_(stages[AGENCY]))))


def _summed(pairs) -> list[tuple]:
    totals: Counter = Counter()
    for key, count in pairs:
        totals[key] += count
    return list(totals.items())


# -- open requests per command -------------------------------------------------------------

def _open_by_command(session: Session, open_by_unit: dict[int, int]) -> list[CommandCount]:
    # The process's unit tree and command names (kept until a unit changes) name the commands.
    tree = unit_tree(session)
    totals: Counter[int | None] = Counter()
    for unit_id, count in open_by_unit.items():
        totals[tree.command_of(unit_id)] += count
    names = _command_names(session)
    rows = [
        CommandCount(command_id=command_id, name=names.get(command_id, "") if command_id else "",
                     count=count)
        for command_id, count in totals.items()
    ]
    # Most first; the requests of units under no command last.
    rows.sort(key=lambda row: (row.command_id is None, -row.count, row.name))
    return rows


def _command_names(session: Session) -> dict[int, str]:
    """Every command's short name, kept by the process until a unit changes: a head's requests
    open in 118 commands, whose names were a statement of each view."""
    return kept(session, "units", "command names", lambda: {
        row.id: row.abbr_th or row.name_th
        for row in session.execute(select(Unit.id, Unit.abbr_th, Unit.name_th).where(Unit.is_admin_scope))})


# -- overdue ------------------------------------------------------------------------------

def overdue_condition(today: date):
    """Late at an approval stage, or completed but still waiting for an agency to activate."""
    return and_(
        AccessRequest.due_on < today,
        or_(
            AccessRequest.state == "submitted",
            and_(AccessRequest.state == "completed", ApprovalStage.actor == AGENCY),
        ),
    )


def _overdue(session: Session, today: date, visible, counted: int | None) -> tuple[int, list[OverdueRequest]]:
    """The overdue requests' count (`counted` when the counts have it already) and the most overdue."""
    condition = overdue_condition(today) if visible is None else and_(overdue_condition(today), visible)
    count = counted if counted is not None else session.scalar(
        select(func.count())
        .select_from(AccessRequest)
        .outerjoin(ApprovalStage, AccessRequest.current_stage_id == ApprovalStage.id)
        .where(condition)
    )
    rows = session.execute(
        select(
            AccessRequest.id, AccessRequest.number, AccessRequest.kind, AccessRequest.state,
            AccessRequest.due_on, Unit.abbr_th, Unit.name_th,
            ApprovalStage.name_th.label("stage_name_th"),
            ApprovalStage.name_en.label("stage_name_en"),
            ApprovalStage.actor,
        )
        .select_from(AccessRequest)
        .join(Unit, AccessRequest.unit_id == Unit.id)
        .outerjoin(ApprovalStage, AccessRequest.current_stage_id == ApprovalStage.id)
        .where(condition)
        .order_by(AccessRequest.due_on, AccessRequest.id)
        .limit(OVERDUE_LIST_SIZE)
    ).all()
    return count or 0, [
        OverdueRequest(
            id=row.id, number=row.number, kind=row.kind, state=row.state,
            unit_name=row.abbr_th or row.name_th,
            stage_name_th=row.stage_name_th, stage_name_en=row.stage_name_en,
            stage_actor=row.actor, due_on=row.due_on,
            days_overdue=(today - row.due_on).days,
        )
        for row in rows
    ]


# -- time at each stage -----------------------------------------------------------------------

def _stage_timings(session: Session, today: date, visible) -> list[StageTiming]:
    """Median time a request waited at each kind of stage, over waits that ended in the last 90
    days, within the `visible` requests.

    The waits were worked out when the decision ending each was recorded (app/services/
    stage_waits: from entering a stage to the stage actor's approve, return or reject; at the
    agency, from completion to each activation or refusal); here the database only takes their
    medians, in one statement.
    """
    since = datetime.combine(today - timedelta(days=TIMING_WINDOW_DAYS), time.min, tzinfo=UTC)
    waits = (
        select(waited_actor().label("actor"), Decision.waited_hours.label("hours"))
        .select_from(Decision)
        .outerjoin(ApprovalStage, Decision.stage_id == ApprovalStage.id)
        .where(Decision.waited_hours.is_not(None), Decision.decided_at >= since)
    )
    if visible is not None:
        waits = waits.where(Decision.request_id.in_(select(AccessRequest.id).where(visible)))
    waits = waits.subquery()
    found = {row.actor: row for row in session.execute(_medians(session, waits.c.actor, waits.c.hours))}
    timings = []
    for actor in STAGE_ACTORS:
        row = found.get(actor)
        middle = float(row.median) if row is not None and row.median is not None else None
        timings.append(StageTiming(
            actor=actor,
            samples=row.samples if row is not None else 0,
            median_hours=middle,
            median_days=middle / 24 if middle is not None else None,
        ))
    return timings


def _medians(session: Session, actor, hours):
    """actor, samples, median of `hours`: percentile_cont on PostgreSQL; on SQLite (demo sizes)
    the middle row, or the mean of the two middle rows, by row number."""
    if session.get_bind().dialect.name == "postgresql":
        return (select(actor.label("actor"), func.count().label("samples"),
                       func.percentile_cont(0.5).within_group(hours).label("median"))
                .group_by(actor))
    ranked = select(
        actor.label("actor"), hours.label("hours"),
        func.row_number().over(partition_by=actor, order_by=hours).label("position"),
        func.count().over(partition_by=actor).label("samples"),
    ).subquery()
    middle = or_(ranked.c.position == (ranked.c.samples + 1) // 2, ranked.c.position == (ranked.c.samples + 2) // 2)
    return (select(ranked.c.actor, func.max(ranked.c.samples).label("samples"),
                   func.avg(ranked.c.hours).label("median"))
            .where(middle).group_by(ranked.c.actor))


def _as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored as UTC); PostgreSQL aware ones."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
