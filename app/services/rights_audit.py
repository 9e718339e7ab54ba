"""The rights audit of one command: who holds what, and what is wrong with it.

The i-SERVICE circular asks every command to list its users against their duty orders, to remove
retired and transferred users, and to check every holder of a function limited to a position
level. This module answers that list: every officer of the command who holds a live right or has
a login, each live grant with the flags that say why it should not stand, and each flag counted.

A flag is a finding, never an action: ending a right is the technology staff's decision (the
revoke screen, or a rights review). The rules a flag restates are the ones the rest of Sitthi
enforces (app.services.eligibility for rank groups, position levels and duty lines,
app.domain.retirement for retirement by age), so the audit cannot disagree with the desk.

"Users of the command" are officers whose home unit, or acting unit while assigned, lies in the
command (the same reading as app.security.scope), and anyone holding a right that this command
administers: a mover whose grants stayed behind is exactly who the audit must show.

Everything is read in a fixed number of statements, whatever the size of the command: the unit
tree once, the officers and their grants once, duty orders and usage once.
"""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from app.domain.named import named
from app.domain.retirement import is_retired
from app.errors import N_
from app.models import LIVE_GRANT_STATES, AccessRequest, Grant, Officer, Rank, SystemFunction, Unit
from app.models.lifecycle import DutyOrder, SourceUsage
from app.services.eligibility import group_above_rank, level_below, may_search

UNUSED_DAYS = 90

# What the flags and the audit's page read of an officer and a grant, loaded with the rows.
_OFFICER_LOADS = (
    joinedload(Officer.rank).joinedload(Rank.rank_group),
    joinedload(Officer.duty_line),
    joinedload(Officer.position_level),
    joinedload(Officer.home_unit),
    joinedload(Officer.acting_unit),
)
_GRANT_LOADS = (
    joinedload(Grant.officer).options(*_OFFICER_LOADS),
    joinedload(Grant.data_source),
    joinedload(Grant.rank_group),
    joinedload(Grant.function).joinedload(SystemFunction.min_position_level),
    joinedload(Grant.function).joinedload(SystemFunction.duty_line),
    joinedload(Grant.request).load_only(AccessRequest.duty_mismatch),
    joinedload(Grant.duty_order),
)

FLAG_MESSAGES = {
    "retired": N_("Retired"),
    "deceased": N_("Deceased"),
    "transferred": N_("Transferred out of the force"),
    "suspended": N_("Suspended from duty"),
    "moved": N_("Moved to another command"),
    "acting_elsewhere": N_("Acting in another command until %(until)s"),
    "rank_below": N_("Rank group below the grant (%(own)s, holds %(group)s)"),
    "level_below": N_("Position level below the function (needs %(level)s)"),
    "duty_line": N_("Duty line not eligible (%(line)s)"),
    "expired_active": N_("Expired on %(until)s but still active"),
    "no_duty_order": N_("No duty order"),
    "order_other_unit": N_("Duty order of another unit (%(unit)s)"),
    "unused": N_("Not used for %(days)s days (last %(last)s)"),
    "never_used": N_("No use recorded"),
}
FLAGS = tuple(FLAG_MESSAGES)
# The names a filter and a report heading use, without the details of one grant.
FLAG_NAMES = {
    "retired": N_("Retired"),
    "deceased": N_("Deceased"),
    "transferred": N_("Transferred out of the force"),
    "suspended": N_("Suspended from duty"),
    "moved": N_("Moved to another command"),
    "acting_elsewhere": N_("Acting in another command"),
    "rank_below": N_("Rank group below the grant"),
    "level_below": N_("Position level below the function"),
    "duty_line": N_("Duty line not eligible"),
    "expired_active": N_("Expired but still active"),
    "no_duty_order": N_("No duty order"),
    "order_other_unit": N_("Duty order of another unit"),
    "unused": N_("Not used recently"),
    "never_used": N_("No use recorded"),
}
STATUS_FLAGS = {"retired": "retired", "deceased": "deceased", "transferred_out": "transferred",
                "suspended": "suspended"}


@dataclass(frozen=True)
class Flag:
    code: str
    params: tuple = ()

    @property
    def message(self) -> str:
        return FLAG_MESSAGES[self.code]

    @property
    def values(self) -> dict:
        return dict(self.params)


@dataclass
class AuditedGrant:
    grant: Grant
    flags: list[Flag]


@dataclass
class AuditedOfficer:
    officer: Officer
    grants: list[AuditedGrant] = field(default_factory=list)

    @property
    def flags(self) -> list[Flag]:
        return [flag for audited in self.grants for flag in audited.flags]


@dataclass
class CommandAudit:
    command: Unit
    today: date
    officers: list[AuditedOfficer]
    # flag code -> grants carrying it, over the whole command (not only the page shown).
    counts: dict[str, int]
    officer_count: int
    grant_count: int
    flagged_grant_count: int


# -- the unit tree ------------------------------------------------------------------------------
class UnitTree:
    """Every unit's parent and command, read once: a command is the nearest is_admin_scope unit
    at or above a unit (the same rule as app.security.scope.command_of)."""

    def __init__(self, session: Session):
        rows = session.execute(select(Unit.id, Unit.parent_id, Unit.is_admin_scope)).all()
        self.parent = {uid: parent for uid, parent, _ in rows}
        self.is_command = {uid: bool(admin) for uid, _, admin in rows}

    def ancestors(self, unit_id: int | None) -> list[int]:
        """The unit and every unit above it, nearest first."""
        chain, seen = [], set()
        while unit_id is not None and unit_id not in seen:
            seen.add(unit_id)
            chain.append(unit_id)
            unit_id = self.parent.get(unit_id)
        return chain

    def command_of(self, unit_id: int | None) -> int | None:
        return next((uid for uid in self.ancestors(unit_id) if self.is_command.get(uid)), None)

    def units_under(self, command_id: int) -> set[int]:
        return {uid for uid in self.parent if self.command_of(uid) == command_id}


# -- the flags ----------------------------------------------------------------------------------
@dataclass
class _Facts:
    today: date
    tree: UnitTree
    orders: dict[int, DutyOrder]
    usage: dict[tuple[int, int], SourceUsage]
    unused_days: int


def _acting_now(officer: Officer, today: date) -> bool:
    return officer.acting_unit_id is not None and (officer.acting_until is None or officer.acting_until >= today)


def _officer_commands(officer: Officer, facts: _Facts) -> set[int]:
    commands = {facts.tree.command_of(officer.home_unit_id)}
    if _acting_now(officer, facts.today):
        commands.add(facts.tree.command_of(officer.acting_unit_id))
    return commands - {None}


def _grant_command(grant: Grant, facts: _Facts) -> int | None:
    if grant.command_id is not None:
        return grant.command_id
    return facts.tree.command_of(grant.officer.home_unit_id)


def _flags_of(grant: Grant, facts: _Facts) -> list[Flag]:
    officer, today = grant.officer, facts.today
    flags: list[Flag] = []
    status_flag = STATUS_FLAGS.get(officer.status)
    if status_flag:
        flags.append(Flag(status_flag))
    elif is_retired(officer.birth_date, today):
        flags.append(Flag("retired"))
    command = _grant_command(grant, facts)
    home_command = facts.tree.command_of(officer.home_unit_id)
    if command is not None and command not in _officer_commands(officer, facts):
        flags.append(Flag("moved"))
    elif _acting_now(officer, today) and facts.tree.command_of(officer.acting_unit_id) not in (command, None) \
            and home_command == command:
        flags.append(Flag("acting_elsewhere", (("until", officer.acting_until or "-"),)))
    own_group = officer.rank.rank_group if officer.rank else None
    if grant.data_source_id is not None:
        if group_above_rank(grant.rank_group, own_group):
            flags.append(Flag("rank_below", (("own", named(own_group)), ("group", named(grant.rank_group)))))
        if not may_search(officer.duty_line) and not (grant.request and grant.request.duty_mismatch):
            flags.append(Flag("duty_line", (("line", named(officer.duty_line)),)))
    function = grant.function
    if function is not None:
        if level_below(function, officer.position_level):
            flags.append(Flag("level_below", (("level", named(function.min_position_level)),)))
        if function.duty_line_id is not None and officer.duty_line_id != function.duty_line_id:
            flags.append(Flag("duty_line", (("line", named(officer.duty_line)),)))
    if grant.state == "active" and grant.valid_until is not None and grant.valid_until < today:
        flags.append(Flag("expired_active", (("until", grant.valid_until),)))
    if function is not None:
        flags.extend(_duty_order_flags(grant, facts))
    if grant.data_source_id is not None and grant.state == "active":
        flags.extend(_usage_flags(grant, facts))
    return flags


def _duty_order_flags(grant: Grant, facts: _Facts) -> list[Flag]:
    """A function comes with the order that gives its duty, issued by the officer's unit or one
    above it: an order of a unit the officer does not serve in gives them no duty."""
    order = facts.orders.get(grant.duty_order_id) if grant.duty_order_id else None
    if order is None:
        return [Flag("no_duty_order")]
    officer = grant.officer
    serving = set(facts.tree.ancestors(officer.home_unit_id))
    if _acting_now(officer, facts.today):
        serving.update(facts.tree.ancestors(officer.acting_unit_id))
    if order.unit_id not in serving:
        return [Flag("order_other_unit", (("unit", named(order.unit)),))]
    return []


def _usage_flags(grant: Grant, facts: _Facts) -> list[Flag]:
    """Unused for N days, from the agencies' query counts; a right younger than N days is not
    judged yet."""
    cutoff = facts.today - timedelta(days=facts.unused_days)
    used = facts.usage.get((grant.officer_id, grant.data_source_id))
    if used is None or used.last_used_on is None:
        return [Flag("never_used")] if grant.valid_from <= cutoff else []
    if used.last_used_on < cutoff:
        return [Flag("unused", (("days", facts.unused_days), ("last", used.last_used_on)))]
    return []


def _facts(session: Session, grants: list[Grant], today: date, unused_days: int,
           tree: UnitTree | None = None) -> _Facts:
    order_ids = sorted({g.duty_order_id for g in grants if g.duty_order_id})
    orders = {o.id: o for o in session.scalars(select(DutyOrder).where(DutyOrder.id.in_(order_ids))
                                               .options(joinedload(DutyOrder.unit)))} \
        if order_ids else {}
    usage: dict[tuple[int, int], SourceUsage] = {}
    officer_ids = sorted({g.officer_id for g in grants if g.data_source_id})
    if officer_ids:
        for row in session.scalars(select(SourceUsage).where(SourceUsage.officer_id.in_(officer_ids))):
            usage[(row.officer_id, row.data_source_id)] = row
    return _Facts(today=today, tree=tree or UnitTree(session), orders=orders, usage=usage,
                  unused_days=unused_days)


def grant_flags(session: Session, grant_ids, today: date, *, unused_days: int = UNUSED_DAYS) -> dict[int, list[Flag]]:
    """grant id -> its flags today, for any set of grants (a review page, a report)."""
    ids = sorted(set(grant_ids))
    if not ids:
        return {}
    grants = list(session.scalars(select(Grant).where(Grant.id.in_(ids)).options(*_GRANT_LOADS)).unique())
    facts = _facts(session, grants, today, unused_days)
    return {grant.id: (_flags_of(grant, facts) if grant.state in LIVE_GRANT_STATES else [])
            for grant in grants}


# -- the command's audit --------------------------------------------------------------------------
def command_audit(session: Session, command_id: int, today: date, *, flag: str | None = None,
                  unused_days: int = UNUSED_DAYS) -> CommandAudit:
    """Every user of the command with their live grants and flags; with `flag`, only the officers
    who carry it. Counts are over the whole command, whatever the filter."""
    tree = UnitTree(session)
    command = session.get(Unit, command_id)
    within = sorted(tree.units_under(command_id))
    grants = list(session.scalars(
        select(Grant).join(Officer, Grant.officer_id == Officer.id)
        .where(Grant.state.in_(LIVE_GRANT_STATES),
               or_(Grant.command_id == command_id,
                   Officer.home_unit_id.in_(within), Officer.acting_unit_id.in_(within)))
        .order_by(Grant.officer_id, Grant.id).options(*_GRANT_LOADS)).unique())
    facts = _facts(session, grants, today, unused_days, tree)
    by_officer: dict[int, AuditedOfficer] = {}
    counts: dict[str, int] = defaultdict(int)
    flagged = 0
    for grant in grants:
        if not _belongs(grant, command_id, facts):
            continue
        flags = _flags_of(grant, facts)
        flagged += bool(flags)
        for code in {f.code for f in flags}:
            counts[code] += 1
        by_officer.setdefault(grant.officer_id, AuditedOfficer(grant.officer)).grants.append(AuditedGrant(grant, flags))
    # Logins without a live right are users too: the circular's list is of users, not of grants.
    held = set(by_officer)
    for officer in session.scalars(
            select(Officer).where(Officer.user_id.is_not(None),
                                  or_(Officer.home_unit_id.in_(within), Officer.acting_unit_id.in_(within)))
            .order_by(Officer.id).options(*_OFFICER_LOADS)).unique():
        if officer.id not in held:
            by_officer[officer.id] = AuditedOfficer(officer)
    officers = sorted(by_officer.values(), key=_officer_order)
    total_grants = sum(len(o.grants) for o in officers)
    if flag:
        officers = [o for o in officers if any(f.code == flag for f in o.flags)]
    return CommandAudit(command=command, today=today, officers=officers, counts=dict(counts),
                        officer_count=len(by_officer), grant_count=total_grants, flagged_grant_count=flagged)


def _belongs(grant: Grant, command_id: int, facts: _Facts) -> bool:
    """A grant is this command's to audit when the command administers it, or when it has no
    administering command and the officer serves here."""
    if grant.command_id is not None:
        return grant.command_id == command_id
    return command_id in _officer_commands(grant.officer, facts)


def _officer_order(audited: AuditedOfficer):
    officer = audited.officer
    return (not audited.flags, officer.first_name_th, officer.last_name_th, officer.id)
