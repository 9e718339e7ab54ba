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

The database judges every grant: a command holds tens of thousands of them, and the counts, the
order (flagged officers first) and the page all need every one judged. Each flag is one SQL
condition (`_Conditions`). What the eligibility rules say of the small reference tables (which
rank may hold which group, which level is below a function's minimum, which duty lines may
search) is worked out by those rules in Python and handed to the database as lists of pairs, and
the unit tree as each unit's command and path of ancestors, so no rule is written twice. Only the
page's officers and grants are loaded as rows, to show them and the details of their flags.
"""
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    column,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    tuple_,
    union_all,
    values,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm import join as orm_join

from app.domain.named import named
from app.domain.retirement import latest_birth_date_retired
from app.domain.unit_tree import UnitTree
from app.errors import N_
from app.models import (
    LIVE_GRANT_STATES,
    AccessRequest,
    DutyLine,
    Grant,
    Officer,
    PositionLevel,
    Rank,
    RankGroup,
    SystemFunction,
    Unit,
)
from app.models.collation import thai
from app.models.lifecycle import DutyOrder, SourceUsage
from app.reference_cache import kept
from app.security.scope import unit_tree
from app.services.eligibility import group_above_rank, level_below, may_search
from app.services.officer_search import officers_matching

UNUSED_DAYS = 90

# What the flags and the audit's page read of an officer and a grant, loaded with the rows.
_OFFICER_LOADS = (
    joinedload(Officer.rank).joinedload(Rank.rank_group),
    joinedload(Officer.duty_line),
    joinedload(Officer.position_level),
    joinedload(Officer.home_unit),
    joinedload(Officer.acting_unit),
)
# Loaded by a few small IN statements, not joined to the judging statement: joined, they made it a
# 20-table join that PostgreSQL spent 15 ms planning for 8 ms of work. Without the officer when
# the officers were just read with _OFFICER_LOADS: a grant finds its officer among them.
_GRANT_LOADS_OF_READ_OFFICERS = (
    selectinload(Grant.data_source),
    selectinload(Grant.rank_group),
    selectinload(Grant.function).options(joinedload(SystemFunction.min_position_level),
                                         joinedload(SystemFunction.duty_line)),
    selectinload(Grant.duty_order).joinedload(DutyOrder.unit),
)
_GRANT_LOADS = (selectinload(Grant.officer).options(*_OFFICER_LOADS), *_GRANT_LOADS_OF_READ_OFFICERS)

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
    # The officers the filter lists, over every page.
    listed_count: int


@dataclass
class CommandListing:
    """Whom the audit lists, in its order (flagged first, then by name), and its figures over the
    whole command: all a page needs besides its own officers. Small (ids and counts), so readers
    of the same command may share one for a while instead of judging every grant on each page."""

    command_id: int
    today: date
    officer_ids: list[int]
    counts: dict[str, int]
    officer_count: int
    grant_count: int
    flagged_grant_count: int


# -- the unit tree ------------------------------------------------------------------------------
def _commanded_units(tree: UnitTree, command_id: int) -> set[int]:
    """The units whose command is this one (a command nested below it answers for its own)."""
    return {uid for uid in tree.parent if tree.command_of(uid) == command_id}


def _unit_table(tree: UnitTree, dialect: str, units: set[int] | None = None):
    """Each unit's command (0: none) and its ancestors as a path "/self/parent/.../", as a table
    the audit's statement joins twice (home and acting unit); only `units` when given (a page of
    officers serves in a few dozen of the 1,700). On PostgreSQL three arrays unnested, since
    1,700 rows of VALUES cost SQLAlchemy 200 ms to compile."""
    rows = [row for row in _unit_info(tree) if units is None or row[0] in units] or [(0, 0, "/")]
    if dialect == "postgresql":
        ids, commands, paths = (list(part) for part in zip(*rows, strict=True))
        table = func.unnest(bindparam("unit_ids", ids, type_=ARRAY(Integer)),
                            bindparam("unit_commands", commands, type_=ARRAY(Integer)),
                            bindparam("unit_paths", paths, type_=ARRAY(String))) \
            .table_valued("unit_id", "command_id", "path").render_derived(name="unit_rows")
        return select(table.c.unit_id, table.c.command_id, table.c.path).cte("unit_info")
    return values(column("unit_id", Integer), column("command_id", Integer), column("path", String),
                  name="unit_info").data(rows).cte("unit_info")


@lru_cache(maxsize=2)
def _unit_info(tree: UnitTree) -> tuple:
    """(unit, its command or 0, its path) for every unit: worked out once for each tree the
    process keeps (units change a few times a year; every audit page needs all 1,700)."""
    return tuple((uid, tree.command_of(uid) or 0, "/" + "/".join(map(str, tree.ancestors(uid))) + "/")
                 for uid in sorted(tree.parent))


# -- the flags, as conditions on one grant ----------------------------------------------------------
@dataclass
class _Rules:
    """What the eligibility rules say of every pair of reference rows a flag compares."""

    rank_below: list[tuple[int, int]]       # (officer's rank, grant's rank group): group above the rank's
    searching_lines: list[int]              # duty lines that may search without a certificate
    needs_level: list[int]                  # functions an officer without a position level is below
    level_below: list[tuple[int, int]]      # (function, position level) below its minimum
    needs_line: list[int]                   # functions limited to one duty line
    line_fits: list[tuple[int, int]]        # (function, duty line) that fits it

    @classmethod
    def read(cls, session: Session) -> "_Rules":
        """Kept by the process until one of the small tables changes (app.reference_cache)."""
        return kept(session, "rules", cls.__name__, lambda: cls._read(session))

    @classmethod
    def _read(cls, session: Session) -> "_Rules":
        ranks = list(session.scalars(select(Rank).options(joinedload(Rank.rank_group))))
        groups = list(session.scalars(select(RankGroup)))
        lines = list(session.scalars(select(DutyLine)))
        levels = list(session.scalars(select(PositionLevel)))
        functions = list(session.scalars(select(SystemFunction)
                                         .options(joinedload(SystemFunction.min_position_level))))
        return cls(
            rank_below=[(rank.id, group.id) for rank in ranks for group in groups
                        if group_above_rank(group, rank.rank_group)],
            searching_lines=[line.id for line in lines if may_search(line)],
            needs_level=[f.id for f in functions if level_below(f, None)],
            level_below=[(f.id, level.id) for f in functions for level in levels if level_below(f, level)],
            needs_line=[f.id for f in functions if f.duty_line_id is not None],
            line_fits=[(f.id, f.duty_line_id) for f in functions if f.duty_line_id is not None],
        )


class _Conditions:
    """One SQL condition per flag over a grant joined to its officer, the officer's home and
    acting units (unit_info), its duty order and the officer's use of its source. Each is true,
    false or NULL (read as false: every use goes through CASE)."""

    def __init__(self, session: Session, today: date, unused_days: int, tree: UnitTree,
                 units: set[int] | None = None, rules: _Rules | None = None):
        self.today, self.rules = today, rules or _Rules.read(session)
        self.unit_info = _unit_table(tree, session.get_bind().dialect.name, units)
        self.home = self.unit_info.alias("home_info")
        self.acting = self.unit_info.alias("acting_info")
        self.unused_cutoff = today - timedelta(days=unused_days)
        self._from = None
        self.by_code = self._conditions()

    def joined(self, *columns):
        """SELECT columns FROM the grant and everything a condition reads. The joins are built
        whole (SQLAlchemy's search for each join's left side cost 30 ms a join here)."""
        if self._from is None:
            self._from = (orm_join(Grant, Officer, Officer.id == Grant.officer_id)
                          .outerjoin(self.home, self.home.c.unit_id == Officer.home_unit_id)
                          .outerjoin(self.acting, self.acting.c.unit_id == Officer.acting_unit_id)
                          .outerjoin(DutyOrder, DutyOrder.id == Grant.duty_order_id)
                          .outerjoin(SourceUsage, and_(SourceUsage.officer_id == Grant.officer_id,
                                                       SourceUsage.data_source_id == Grant.data_source_id)))
        return select(*columns).select_from(self._from)

    @property
    def acting_now(self):
        return and_(Officer.acting_unit_id.is_not(None),
                    or_(Officer.acting_until.is_(None), Officer.acting_until >= self.today))

    @property
    def home_command(self):
        return func.nullif(self.home.c.command_id, 0)

    @property
    def acting_command(self):
        return func.nullif(self.acting.c.command_id, 0)

    @property
    def command(self):
        """The command a grant answers to: the one that administers it, else the officer's."""
        return func.coalesce(Grant.command_id, self.home_command)

    def _conditions(self) -> dict:
        rules, today = self.rules, self.today
        command, acting_now = self.command, self.acting_now
        moved = and_(command.is_not(None), command.is_distinct_from(self.home_command),
                     not_(and_(acting_now, self.acting_command.is_not_distinct_from(command))))
        source, function = Grant.data_source_id.is_not(None), Grant.function_id.is_not(None)
        no_line = Officer.duty_line_id.is_(None)
        duty_certified = exists().where(AccessRequest.id == Grant.request_id, AccessRequest.duty_mismatch.is_(True))
        serving = or_(self._on_path(self.home), and_(acting_now, self._on_path(self.acting)))
        used_on = SourceUsage.last_used_on
        conditions = {
            status_flag: Officer.status == status for status, status_flag in STATUS_FLAGS.items()
            if status_flag != "retired"
        }
        conditions["retired"] = or_(
            Officer.status == "retired",
            and_(Officer.status.not_in(tuple(STATUS_FLAGS)),
                 Officer.birth_date <= latest_birth_date_retired(today)))
        conditions.update({
            "moved": moved,
            "acting_elsewhere": and_(not_(moved), acting_now, self.acting_command.is_not(None),
                                     self.acting_command.is_distinct_from(command),
                                     self.home_command.is_not_distinct_from(command)),
            "rank_below": and_(source, tuple_(Officer.rank_id, Grant.rank_group_id).in_(rules.rank_below)),
            "level_below": and_(Grant.function_id.in_(rules.needs_level),
                                or_(Officer.position_level_id.is_(None),
                                    tuple_(Grant.function_id, Officer.position_level_id).in_(rules.level_below))),
            "duty_line": or_(
                and_(source, or_(no_line, Officer.duty_line_id.not_in(rules.searching_lines)), not_(duty_certified)),
                and_(Grant.function_id.in_(rules.needs_line),
                     or_(no_line, not_(tuple_(Grant.function_id, Officer.duty_line_id).in_(rules.line_fits))))),
            "expired_active": and_(Grant.state == "active", Grant.valid_until < today),
            "no_duty_order": and_(function, DutyOrder.id.is_(None)),
            "order_other_unit": and_(function, DutyOrder.id.is_not(None), not_(serving)),
            "unused": and_(source, Grant.state == "active", used_on < self.unused_cutoff),
            "never_used": and_(source, Grant.state == "active", used_on.is_(None),
                               Grant.valid_from <= self.unused_cutoff),
        })
        return {code: conditions[code] for code in FLAGS}

    @staticmethod
    def _on_path(unit_info):
        """The duty order's unit is this unit or one above it."""
        return func.coalesce(unit_info.c.path, "").contains("/" + cast(DutyOrder.unit_id, String) + "/")

    def columns(self) -> list:
        """One 0/1 column per flag, named by its code."""
        return [case((condition, 1), else_=0).label(code) for code, condition in self.by_code.items()]

    def belongs(self, command_id: int):
        """A live grant the command audits: one it administers, or one no command administers
        whose officer serves here (home unit, or acting unit while assigned)."""
        return and_(Grant.state.in_(LIVE_GRANT_STATES), or_(
            Grant.command_id == command_id,
            and_(Grant.command_id.is_(None),
                 or_(self.home_command == command_id, and_(self.acting_now, self.acting_command == command_id)))))


# -- what a flag says of one grant ------------------------------------------------------------------
def _details(code: str, grant: Grant, last_used_on: date | None, unused_days: int) -> Flag:
    """The flag with what its message names (the database decided that it holds)."""
    params = _PARAMS.get(code)
    return Flag(code, params(grant, last_used_on, unused_days) if params else ())


def _own_group(officer):
    return officer.rank.rank_group if officer.rank else None


# flag code -> (grant, last use, unused days) -> what its message names; a page details ~500 flags.
_PARAMS = {
    "acting_elsewhere": lambda grant, _last, _days: (("until", grant.officer.acting_until or "-"),),
    "rank_below": lambda grant, _last, _days: (("own", named(_own_group(grant.officer))),
                                               ("group", named(grant.rank_group))),
    "level_below": lambda grant, _last, _days: (("level", named(grant.function.min_position_level)),),
    "duty_line": lambda grant, _last, _days: (("line", named(grant.officer.duty_line)),),
    "expired_active": lambda grant, _last, _days: (("until", grant.valid_until),),
    "order_other_unit": lambda grant, _last, _days: (("unit", named(grant.duty_order.unit)),),
    "unused": lambda _grant, last, days: (("days", days), ("last", last)),
}


def _flags_of_rows(rows, unused_days: int) -> dict[int, list[Flag]]:
    """grant id -> flags, from rows of (Grant, last_used_on, one 0/1 per flag)."""
    found = {}
    for row in rows:
        grant, last_used_on, marks = row[0], row[1], row[2:]
        found[grant.id] = [_details(code, grant, last_used_on, unused_days)
                           for code, mark in zip(FLAGS, marks, strict=True) if mark] if grant.state in LIVE_GRANT_STATES else []
    return found


def _grant_rows(session: Session, conditions: _Conditions, where, loads=_GRANT_LOADS) -> list:
    query = conditions.joined(Grant, SourceUsage.last_used_on, *conditions.columns()).where(*where) \
        .order_by(Grant.officer_id, Grant.id).options(*loads)
    return session.execute(query).unique().all()


def grant_flags(session: Session, grant_ids, today: date, *, unused_days: int = UNUSED_DAYS) -> dict[int, list[Flag]]:
    """grant id -> its flags today, for any set of grants (a review page, a report)."""
    ids = sorted(set(grant_ids))
    if not ids:
        return {}
    conditions = _Conditions(session, today, unused_days, unit_tree(session))
    found: dict[int, list[Flag]] = {}
    for start in range(0, len(ids), _CHUNK):
        rows = _grant_rows(session, conditions, [Grant.id.in_(ids[start:start + _CHUNK])])
        found.update(_flags_of_rows(rows, unused_days))
    return found


# -- the command's audit --------------------------------------------------------------------------
_CHUNK = 1000  # ids per IN list when a whole command is loaded (an export)


def command_listing(session: Session, command_id: int, today: date, *, flag: str | None = None,
                    officer_term: str | None = None, unused_days: int = UNUSED_DAYS) -> CommandListing:
    """The users of the command the audit lists, flagged officers first, then by name; with
    `flag`, only the officers who carry it; with `officer_term`, only those a search box finds by
    it (app.services.officer_search: whole national ID or name). Counts are over the whole
    command, whatever the filter."""
    tree = unit_tree(session)
    within = sorted(_commanded_units(tree, command_id))
    conditions = _Conditions(session, today, unused_days, tree)
    audited = _audited_grants(conditions, command_id, within)
    every_user = _users(audited, within, None).cte("every_user")
    found = officers_matching(officer_term)
    listed = every_user if flag is None and found is None else _users(audited, within, flag, found).cte("listed")
    # One statement, so the command's grants are judged once: the totals ride on each row. Summed
    # once, MATERIALIZED: PostgreSQL, misjudging the grants at 143 rows for 31,850, summed them
    # again beside each of a filter's 2,454 officers (17.7 s for "duty line not eligible").
    totals = select(func.count().label("grants"), func.coalesce(func.sum(audited.c.flagged), 0).label("flagged"),
                    *(func.coalesce(func.sum(audited.c[code]), 0).label(code) for code in FLAGS)) \
        .cte("totals").prefix_with("MATERIALIZED", dialect="postgresql")
    users = select(func.count()).select_from(every_user).scalar_subquery().label("users")
    ordered = (select(listed.c.officer_id, users, totals)
               .join_from(listed, Officer, Officer.id == listed.c.officer_id).join(totals, true())
               .order_by(listed.c.flagged.desc(), thai(Officer.first_name_th), thai(Officer.last_name_th), Officer.id))
    rows = session.execute(ordered).all()
    # Nobody listed (a flag no one carries) still tells the totals.
    summary = rows[0] if rows else session.execute(select(users, totals)).one()
    return CommandListing(
        command_id=command_id, today=today, officer_ids=[row.officer_id for row in rows],
        counts={code: summary._mapping[code] for code in FLAGS if summary._mapping[code]},
        officer_count=summary.users, grant_count=summary.grants, flagged_grant_count=summary.flagged)


def command_audit(session: Session, command_id: int, today: date, *, flag: str | None = None,
                  officer_term: str | None = None, offset: int = 0, limit: int | None = None,
                  unused_days: int = UNUSED_DAYS, listing: CommandListing | None = None) -> CommandAudit:
    """The audit of the command (see command_listing), `offset`/`limit` cutting one page; the
    page's officers are judged now, with their live grants and flags. `listing` is one worked out
    a moment ago for the same command, day and filter, shared between its readers."""
    if listing is None:
        listing = command_listing(session, command_id, today, flag=flag, officer_term=officer_term,
                                  unused_days=unused_days)
    shown = listing.officer_ids[offset:None if limit is None else offset + limit]
    return CommandAudit(command=session.get(Unit, command_id), today=today,
                        officers=_audited_officers(session, today, unused_days, command_id, shown),
                        counts=listing.counts, officer_count=listing.officer_count,
                        grant_count=listing.grant_count, flagged_grant_count=listing.flagged_grant_count,
                        listed_count=len(listing.officer_ids))


def _audited_grants(conditions: _Conditions, command_id: int, within: list[int]):
    """Every grant the command audits, with its flags, in two arms so each is found by its own
    index: the grants it administers, and the grants of the officers serving in its units."""
    columns = (Grant.id.label("grant_id"), Grant.officer_id.label("officer_id"), *conditions.columns())
    belongs = conditions.belongs(command_id)
    administered = conditions.joined(*columns).where(Grant.command_id == command_id, belongs)
    unadministered = conditions.joined(*columns).where(
        Grant.command_id.is_(None), or_(Officer.home_unit_id.in_(within), Officer.acting_unit_id.in_(within)),
        belongs)
    judged = union_all(administered, unadministered).subquery("judged")
    # Flagged from the flag columns, so no condition is worked out twice for a grant.
    flagged = case((sum((judged.c[code] for code in FLAGS), start=literal(0)) > 0, 1), else_=0)
    return select(judged, flagged.label("flagged")).cte("audited")


def _users(audited, within: list[int], flag: str | None, found=None):
    """The officers listed: holders of an audited grant, and (without a flag filter) logins of
    the command's units without one, as the circular's list is of users, not of grants; `found`
    narrows them to what a search found."""
    holders = select(audited.c.officer_id.label("officer_id"), func.max(audited.c.flagged).label("flagged")) \
        .group_by(audited.c.officer_id)
    if found is not None:
        holders = holders.where(audited.c.officer_id.in_(select(Officer.id).where(found)))
    if flag is not None:
        return holders.having(func.max(audited.c[flag]) == 1)
    logins = select(Officer.id, cast(0, Integer)).where(
        Officer.user_id.is_not(None), or_(Officer.home_unit_id.in_(within), Officer.acting_unit_id.in_(within)),
        Officer.id.not_in(select(audited.c.officer_id)))
    if found is not None:
        logins = logins.where(found)
    return union_all(holders, logins)


def _audited_officers(session: Session, today: date, unused_days: int, command_id: int,
                      officer_ids: list[int]) -> list[AuditedOfficer]:
    """The listed officers as rows, in the order given, with their audited grants and flags.

    Each chunk's grants are judged against the units its officers serve in (home or acting),
    all the judging statement joins: a page sends 25 units' rows instead of the 1,700."""
    tree, rules = unit_tree(session), _Rules.read(session)
    by_id: dict[int, AuditedOfficer] = {}
    for start in range(0, len(officer_ids), _CHUNK):
        chunk = officer_ids[start:start + _CHUNK]
        officers = list(session.scalars(select(Officer).where(Officer.id.in_(chunk)).options(*_OFFICER_LOADS)).unique())
        for officer in officers:
            by_id[officer.id] = AuditedOfficer(officer)
        units = {unit for officer in officers for unit in (officer.home_unit_id, officer.acting_unit_id)
                 if unit is not None}
        conditions = _Conditions(session, today, unused_days, tree, units, rules)
        rows = _grant_rows(session, conditions, [Grant.officer_id.in_(chunk), conditions.belongs(command_id)],
                           _GRANT_LOADS_OF_READ_OFFICERS)
        flags = _flags_of_rows(rows, unused_days)
        for row in rows:
            grant = row[0]
            by_id[grant.officer_id].grants.append(AuditedGrant(grant, flags[grant.id]))
    return [by_id[officer_id] for officer_id in officer_ids if officer_id in by_id]
