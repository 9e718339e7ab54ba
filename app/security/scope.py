"""The one place that decides which units a user may see and act on.

A command (บก./ภ.จว.) is the nearest unit at or above a unit that is flagged `is_admin_scope`;
its technology staff administer everything below it. The user a service acts for is an `Actor`
built once per request from the login, so rules never reach into Flask themselves.
"""
from dataclasses import dataclass

from sqlalchemy import and_, false, or_, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import Boolean

from app.domain.unit_tree import UnitTree
from app.models import Officer, Unit
from app.reference_cache import kept

CENTRAL_IT, COMMAND_TECH, PERSONNEL, AUDITOR, ADMIN = (
    "CentralIT", "CommandTech", "Personnel", "Auditor", "Admin",
)


@dataclass(frozen=True)
class Actor:
    """Who is acting: the login, their officer record, their roles and their command."""

    user_id: int
    officer_id: int | None = None
    roles: frozenset[str] = frozenset()
    command_id: int | None = None
    email: str | None = None
    # The users (heads away) this user is the named deputy of today: see app/services/delegations.
    stands_in_for: frozenset[int] = frozenset()

    def has_role(self, role: str) -> bool:
        return role in self.roles


def unit_tree(session: Session) -> UnitTree:
    """Every unit's parent and whether it is a command, kept by the process until a unit changes
    (units change a few times a year; every page asks its user's command, most their units)."""
    return kept(session, "units", None, lambda: UnitTree(
        session.execute(select(Unit.id, Unit.parent_id, Unit.is_admin_scope)).all()))


def command_of(session: Session, unit_id: int | None) -> int | None:
    """The administering command of a unit: itself or its nearest `is_admin_scope` ancestor."""
    if unit_id is None:
        return None
    return unit_tree(session).command_of(unit_id)


def units_under(session: Session, root_id: int) -> list[int]:
    """The ids of a unit and everything below it (any depth), in id order.

    A list, not a subquery: PostgreSQL plans `home_unit_id IN (<ids>) OR acting_unit_id IN (...)`
    as index scans, where an OR of subqueries read every officer (30 ms for one command's count).
    """
    return list(unit_tree(session).units_under(root_id))


def working_unit_id(officer: Officer) -> int:
    """Where an officer works now: the acting unit while a temporary assignment lasts."""
    return officer.acting_unit_id or officer.home_unit_id


_READ_HERE = object()


def actor_for(session: Session, user, stands_in_for: frozenset[int] = frozenset(), officer=_READ_HERE) -> Actor:
    """The Actor for a FAB user (any object with id, email and roles), acting in their own right
    and, when given, for the heads whose deputy they are that day
    (app.services.delegations.actor_on works those out). `officer`: the user's officer record
    (or None) when the caller has read it already."""
    if officer is _READ_HERE:
        officer = session.scalar(select(Officer).where(Officer.user_id == user.id))
    command_id = command_of(session, working_unit_id(officer)) if officer else None
    return Actor(
        user_id=user.id,
        officer_id=officer.id if officer else None,
        roles=frozenset(role.name for role in user.roles),
        command_id=command_id,
        email=getattr(user, "email", None),
        stands_in_for=frozenset(stands_in_for),
    )


# -- which rows a user may see -------------------------------------------------------------------
NATIONWIDE_ROLES = frozenset({ADMIN, AUDITOR, CENTRAL_IT})
COMMAND_ROLES = frozenset({COMMAND_TECH, PERSONNEL})


def is_nationwide(actor: Actor) -> bool:
    return bool(actor.roles & NATIONWIDE_ROLES)


def command_units(session: Session, actor: Actor):
    """The units of the actor's command, if a command role gives them one; else None."""
    if actor.roles & COMMAND_ROLES and actor.command_id is not None:
        return units_under(session, actor.command_id)
    return None


def officers_in_command(within):
    """Officers whose home unit, or acting unit while assigned, lies in the command."""
    return or_(Officer.home_unit_id.in_(within), Officer.acting_unit_id.in_(within))


def _officer_rows(actor: Actor, within):
    own = Officer.id == actor.officer_id if actor.officer_id else false()
    return own if within is None else or_(own, officers_in_command(within))


def _officer_ids(actor: Actor, within):
    return select(Officer.id).where(_officer_rows(actor, within))


def _officer_ids_from_indexes(actor: Actor, within):
    """The ids of _officer_ids, as a union of one index-only read per part, for a condition that
    holds them inside an OR (the request scope): PostgreSQL hashes such a subquery first, and the
    single OR read a command's 5,000 officers from 3,800 table pages at national scale (11 ms a
    page). Not for a plain IN: there PostgreSQL joins the union, misjudges its size, and reads
    every grant of the command before paging (command permissions went from 66 to 286 ms)."""
    parts = [select(Officer.id).where(Officer.id == actor.officer_id)] if actor.officer_id else []
    if within is not None:
        parts += [select(Officer.id).where(Officer.home_unit_id.in_(within)),
                  select(Officer.id).where(Officer.acting_unit_id.in_(within))]
    if not parts:
        return select(Officer.id).where(false())
    return parts[0] if len(parts) == 1 else union_all(*parts)


def officers_of_users(user_ids) -> select:
    """The officer records of these logins (a head is named on a request by officer record)."""
    return select(Officer.id).where(Officer.user_id.in_(sorted(user_ids)))


class _InFewIds(ColumnElement):
    """`column IN (subquery)` for a subquery that yields a few ids.

    Inside an OR, PostgreSQL cannot probe an index for `IN (subquery)`: it reads the whole table and
    tests each row against the hashed subquery. As `= ANY(ARRAY(subquery))` the ids are worked out
    once, first, and the OR becomes a union of index probes (tests/test_dashboard_plans.py)."""

    type = Boolean()
    # Both parts go into SQLAlchemy's cache key: without them every statement holding this was
    # compiled afresh (a scoped list page twice, some 9 ms of its time).
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),
                           ("subquery", InternalTraversal.dp_clauseelement)]
    inherit_cache = True

    def __init__(self, column, subquery) -> None:
        self.column, self.subquery = column, subquery


@compiles(_InFewIds)
def _in_few_ids(element, compiler, **kw) -> str:
    return f"{compiler.process(element.column, **kw)} IN ({compiler.process(element.subquery, **kw)})"


@compiles(_InFewIds, "postgresql")
def _in_few_ids_postgresql(element, compiler, **kw) -> str:
    return f"{compiler.process(element.column, **kw)} = ANY(ARRAY({compiler.process(element.subquery, **kw)}))"


def _own_request_parts(actor: Actor) -> list:
    """The requests one sees as a person, a condition for each index that finds them."""
    from app.models import AccessRequest, StageChase

    parts = []
    if actor.officer_id:
        parts = [AccessRequest.requester_id == actor.officer_id,
                 and_(AccessRequest.certifying_head_id == actor.officer_id, AccessRequest.state != "draft")]
    if actor.stands_in_for:
        # While a deputy stands in for a head they see what that head sees, so they can decide it.
        parts.append(and_(AccessRequest.certifying_head_id.in_(officers_of_users(actor.stands_in_for)),
                          AccessRequest.state != "draft"))
    # A login an overdue stage was escalated to sees that request from then on (roles escalated to
    # see it already: CentralIT the country, CommandTech their command).
    parts.append(_InFewIds(AccessRequest.id, select(StageChase.request_id).where(
        StageChase.escalated_to_user_id == actor.user_id)))
    return parts


def own_request_parts(session: Session, actor: Actor) -> list | None:
    """The requests `actor` may see, as the parts whose OR is their row condition, when they see
    them only as a person (neither nationwide nor a command's staff); None otherwise.

    Each part is read through an index of its own, so counting them as a union of index-only
    reads costs what the index entries do, where the OR visits every row in the table: a unit
    head's 3,346 requests at national scale, 6.8 -> 2.2 ms for the dashboard's counts."""
    if is_nationwide(actor) or command_units(session, actor) is not None:
        return None
    return _own_request_parts(actor)


def _request_rows(actor: Actor, within, counting: bool = False):
    from app.models import AccessRequest

    mine = _own_request_parts(actor)
    if within is not None:
        serving_here = _officer_ids_from_indexes(actor, within)
        # The same rows either way. Counted whole (the dashboard), the officers' ids go in first as
        # an array, so the OR becomes index probes (a command's figures 619 -> 397 ms at 1M
        # requests); a page of 25 newest rows is quicker walking the newest first through IN.
        # count_floor relies on this first arm being here: keep them together.
        mine += [AccessRequest.unit_id.in_(within), AccessRequest.target_unit_id.in_(within),
                 _InFewIds(AccessRequest.requester_id, serving_here) if counting
                 else AccessRequest.requester_id.in_(serving_here)]
    return or_(*mine)


# The catalogues every screen picks from: the same for every command. (A CommandTech's list of
# system functions was empty while the assign form offered five.)
REFERENCE_TABLES = frozenset({"system_function", "data_source", "agency", "rank", "rank_group", "duty_line",
                              "position_level", "holiday"})


def row_condition(session: Session, actor: Actor, model, counting: bool = False):
    """The rows of `model` this actor may see, as a SQL condition; None means every row.

    Nationwide roles (CentralIT, Auditor, Admin) see the whole country. CommandTech and Personnel
    see their command's subtree (officers assigned into it included). Everyone sees their own
    records, a head the requests that name them and the review items of the officers they head,
    and a deputy, while the delegation lasts, the requests that name the head they stand in for.
    `counting`: the condition will count every row it admits, not page through them (the SQL
    shape may differ; the rows never do).
    """
    from app.models import (
        AccessRequest,
        Attachment,
        AuditEvent,
        DataChangeRequest,
        DeactivationNotice,
        Decision,
        Delegation,
        DutyOrder,
        Grant,
        ImportReject,
        JobRun,
        Notification,
        PersonnelChange,
        RequestGroup,
        RequestItem,
        ReviewCampaign,
        ReviewDecision,
        SourceUsage,
    )

    if is_nationwide(actor):
        return None
    # One subtree per statement: the same CTE is referenced wherever the rule needs it.
    within = command_units(session, actor)
    if model is Officer:
        return _officer_rows(actor, within)
    if model is AccessRequest:
        return _request_rows(actor, within, counting)
    if model in (RequestItem, Attachment, Decision):
        return model.request_id.in_(select(AccessRequest.id).where(_request_rows(actor, within)))
    if model is RequestGroup:
        # Its filer, its command's staff, and whoever may see one of its lines (who then reads
        # only those lines): another command's staff see none of it.
        lines = select(AccessRequest.group_id).where(AccessRequest.group_id.isnot(None),
                                                     _request_rows(actor, within))
        seen = [RequestGroup.filed_by_id == actor.user_id, RequestGroup.id.in_(lines)]
        if within is not None:
            seen.append(RequestGroup.command_id.in_(within))
        return or_(*seen)
    if model in (Grant, DataChangeRequest, SourceUsage):
        return model.officer_id.in_(_officer_ids(actor, within))
    if model is ReviewDecision:
        mine = model.officer_id.in_(_officer_ids(actor, within))
        as_head = reviewed_as_head(session, actor)
        return mine if as_head is None else or_(mine, as_head)
    if model is JobRun:
        # One's own runs, and a command's staff the runs that wrote in their command.
        own = JobRun.started_by_id == actor.user_id
        return own if within is None else or_(own, JobRun.command_id.in_(within))
    if model is ImportReject:
        return ImportReject.job_run_id.in_(select(JobRun.id).where(row_condition(session, actor, JobRun)))
    if model in (PersonnelChange, DutyOrder):
        column = PersonnelChange.command_id if model is PersonnelChange else DutyOrder.unit_id
        return false() if within is None else column.in_(within)
    if model is DeactivationNotice:
        return model.grant_id.in_(select(Grant.id).where(Grant.officer_id.in_(_officer_ids(actor, within))))
    if model in (ReviewCampaign, AuditEvent):
        return false() if within is None else model.unit_id.in_(within)
    if model is Delegation:
        # Delegations are private to the two people they concern (and the nationwide roles).
        return or_(Delegation.principal_user_id == actor.user_id, Delegation.deputy_user_id == actor.user_id)
    if model is Notification:
        return Notification.recipient_user_id == actor.user_id  # one's own, read in the app
    if model is Unit or model.__tablename__ in REFERENCE_TABLES:
        return None  # the unit tree and the catalogues are public knowledge inside the force
    return false()


def count_floor(session: Session, actor: Actor, model):
    """A part of the rows this actor may see that one index finds, or None when there is none.

    A list counts its rows only up to LIST_COUNT_CAP: when this part alone passes the cap, so do
    all the rows, and the count need not test every arm of row_condition on every row. A
    command's request list found its 1,001 rows among 46,000 read in 12-18 ms at 1M requests;
    its requests filed in the command's units are read from their index in well under 1 ms. Its
    officer list read 1,001 of its 5,000 officers from 728 table pages through the OR (3.7 ms);
    those of the command's units, from their index alone (0.3 ms).
    """
    from app.models import AccessRequest

    if model not in (AccessRequest, Officer) or is_nationwide(actor):
        return None
    within = command_units(session, actor)
    if within is None:
        return None
    return AccessRequest.unit_id.in_(within) if model is AccessRequest else Officer.home_unit_id.in_(within)


def reviewed_as_head(session: Session, actor: Actor):
    """The review items a unit head reviews: in the campaigns of their command that ask heads to
    review, those of the officers they head (app.security.unit_heads); None for anyone else."""
    from app.models import ReviewCampaign, ReviewDecision
    from app.security.unit_heads import officers_reviewed_by

    officers = officers_reviewed_by(session, actor.officer_id, actor.command_id)
    if officers is None:
        return None
    campaigns = select(ReviewCampaign.id).where(ReviewCampaign.unit_id == actor.command_id,
                                                ReviewCampaign.heads_review.is_(True))
    return and_(ReviewDecision.campaign_id.in_(campaigns),
                ReviewDecision.officer_id.in_(select(Officer.id).where(officers)))


def scoped(session: Session, actor: Actor, query, model):
    """`query` narrowed to what the actor may see."""
    condition = row_condition(session, actor, model)
    return query if condition is None else query.where(condition)


def is_visible(session: Session, actor: Actor, model, pk) -> bool:
    """Whether one row is among those the actor may see (the same rule as every list)."""
    condition = row_condition(session, actor, model)
    query = select(model.id).where(model.id == pk)
    if condition is not None:
        query = query.where(condition)
    return session.scalar(query.limit(1)) is not None


def command_staff(session: Session, role: str, command_ids) -> list:
    """Active users holding `role` who work (acting unit first) inside any of these commands.

    One statement whatever the number of such users: mail to "the CommandTech of a command" is
    sent on every decision at their stage.
    """
    from sqlalchemy import func

    from app.models import User

    wanted = [c for c in dict.fromkeys(command_ids) if c is not None]
    if not wanted:
        return []
    working_unit = func.coalesce(Officer.acting_unit_id, Officer.home_unit_id)
    return session.scalars(
        select(User).join(Officer, Officer.user_id == User.id)
        .where(User.active.is_(True), User.roles.any(name=role),
               or_(*[working_unit.in_(units_under(session, c)) for c in wanted]))
        .order_by(User.id)
    ).all()
