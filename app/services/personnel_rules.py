"""Joiner-mover-leaver: make every officer's rights agree with their personnel record.

The rules compare each officer's record as it is now with the rights they hold, so they act the
same whether the record changed through an import, the officer screen, the API, or the passing
of time, and a second run changes nothing (every finder selects only what still disagrees, and
each action makes it agree). What each rule does, and why:

- **Out of service for good** (status retired or deceased, or past the retirement date by age,
  app.domain.retirement): every grant that still lives (active, pending activation, suspended) is
  revoked with the reason, the login is deactivated (FAB ends that user's sessions), the agency
  is asked to close what it activated (a deactivation notice), and the officer and their command's
  technology staff are told. Retirement by age needs no import: POLIS owns the status, so the
  rules never write it; they revoke and record a PersonnelChange("retired_by_date") for the
  command, the safe reading while POLIS catches up (a wrong birth date is corrected at its source).
- **Out of service for now** (status transferred out or suspended from duty): live grants are
  suspended, not revoked, because both can be undone (a transfer cancelled, a suspension lifted)
  and a person must then judge what comes back. The login is deactivated too: someone off duty
  must not act in Sitthi, least of all as technology or personnel staff. An agency-activated
  grant is also reported to the agency (deactivation notice): a suspension in Sitthi does not
  close the account the agency opened, and a person out of the force must not keep it meanwhile.
  Nothing is restored by the rules: Personnel sets the status back, an Admin reactivates the
  login, the command's technology staff reinstate the grants.
- **Moved to another command**: a live grant administered by a command the officer no longer
  belongs to is suspended ("moved to <new command>"), and a PersonnelChange("moved") puts the
  officer in the new command's inbox, whose technology staff are told; reinstating there makes
  that command the grant's administrator (app.services.grants.reinstate). The officer belongs to
  the command of their home unit and, while a temporary assignment (ช่วยราชการ) lasts, to the
  acting command too: an assignment is not a move, and its end is app.services.expiry's rule
  (the acting command's grants are suspended there). A grant that records no command is judged
  by its request's unit; one without a request either, by the home unit the officer had when it
  was given, read from the audit trail of the officer's record (only when the caller names the
  officers, right after the change: the daily run leaves such legacy grants alone).
- **Below what a grant needs** (a CRIMES function's minimum position level; a civil-registration
  grant's rank group above the officer's own group): not revoked, flagged once per change of rank
  or position level as a PersonnelChange("rank" / "position_level") for the command to judge (a
  group above one's rank may have been granted on purpose: the circular allows it).
- **A data-sharing agreement that ended** (no agreement of the agency in force today, one ended
  before): the agency's live grants are suspended with REASON_AGREEMENT_ENDED, with deactivation
  notices where the agency activated them. Once an Admin records a new agreement, the next run
  reinstates the grants suspended for that reason alone, unless the agency was asked to close
  them (those need the agency again: the officer asks anew), the officer is no longer active,
  the grant has run out, or the officer holds that source again meanwhile.

Every change is an audit event carrying the job run (or the user whose edit caused it). Nothing
here commits; on PostgreSQL a scheduled batch first takes the job's advisory lock (two servers'
batches take turns) and claims its rows with FOR UPDATE SKIP LOCKED, so overlapping runs never act
twice. Every finder is one set-based statement per batch, and each rule writes its batch in bulk:
one UPDATE per kind of grant change, one flush for the rest.
"""
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, fields
from datetime import date

from sqlalchemy import Integer, and_, column, exists, func, or_, select, update, values
from sqlalchemy.orm import Session, aliased, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.domain.retirement import latest_birth_date_retired, retire_on
from app.domain.thai_dates import thai_date
from app.models import (
    LIVE_GRANT_STATES,
    AccessRequest,
    AuditEvent,
    DataSharingAgreement,
    DataSource,
    DeactivationNotice,
    Grant,
    JobRun,
    Officer,
    PersonnelChange,
    PositionLevel,
    Rank,
    RankGroup,
    SystemFunction,
    Unit,
    User,
)
from app.models.base import utcnow
from app.services import audit, deactivation, notifications
from app.services.clock import Clock
from app.services.expiry import command_tech_recipients, job_lock

# Stored on the grant (and the deactivation notice); people of both languages read it.
REASON_RETIRED = "พ้นจากราชการ: เกษียณตามข้อมูลกำลังพล (retired, personnel records)"
REASON_DECEASED = "ถึงแก่กรรมตามข้อมูลกำลังพล (deceased, personnel records)"
REASON_TRANSFERRED_OUT = "โอนย้ายออกนอกสังกัดตามข้อมูลกำลังพล (transferred out, personnel records)"
REASON_SUSPENDED = "ถูกพักราชการตามข้อมูลกำลังพล (suspended from duty, personnel records)"
REASON_AGREEMENT_ENDED = "ข้อตกลงการใช้ข้อมูลกับหน่วยงานเจ้าของข้อมูลสิ้นสุดแล้ว (data-sharing agreement ended)"
STATUS_REASONS = {"retired": REASON_RETIRED, "deceased": REASON_DECEASED,
                  "transferred_out": REASON_TRANSFERRED_OUT, "suspended": REASON_SUSPENDED}
# Suspensions after which the agency's account must not stay open (a mover's is for the new
# command to judge, and a suspension by a person is theirs to explain).
CLOSES_AGENCY_ACCOUNT = frozenset({REASON_TRANSFERRED_OUT, REASON_SUSPENDED, REASON_AGREEMENT_ENDED})
OUT_FOR_GOOD = ("retired", "deceased")
OUT_FOR_NOW = ("transferred_out", "suspended")
# Everything an officer out for good still holds in any way ends; a suspension may be lifted.
ENDED_AT_LEAVING = (*LIVE_GRANT_STATES, "suspended")
# Officers named by a caller are taken this many at a time, so no IN list grows without bound.
CHUNK = 500
# What the rules and their mails read of the rows they load, loaded with them.
_OFFICER_LOADS = (joinedload(Officer.rank).joinedload(Rank.rank_group), joinedload(Officer.user),
                  joinedload(Officer.position_level))
_LOADS = {
    Officer: _OFFICER_LOADS,
    Grant: (joinedload(Grant.officer).options(*_OFFICER_LOADS), joinedload(Grant.data_source),
            joinedload(Grant.function).joinedload(SystemFunction.min_position_level),
            joinedload(Grant.rank_group)),
}
INBOX_LINK = f"{notifications.APP_URL_MARK}/personnelchangeview/list/"
MY_GRANTS_LINK = f"{notifications.APP_URL_MARK}/mygrantview/list/"


@dataclass
class RulesReport:
    """What one run changed, counted; all zero when the records and the rights agree."""

    revoked: int = 0
    suspended: int = 0
    reinstated: int = 0
    logins_deactivated: int = 0
    deactivation_notices: int = 0
    leavers: int = 0
    retired_by_date: int = 0
    movers: int = 0
    flags: int = 0
    # Some finder returned a whole batch: call again, there may be more (not a count of changes).
    more: bool = field(default=False, compare=False)

    COUNTS = ("revoked", "suspended", "reinstated", "logins_deactivated", "deactivation_notices",
              "leavers", "retired_by_date", "movers", "flags")

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.COUNTS}

    def __add__(self, other: "RulesReport") -> "RulesReport":
        return RulesReport(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                              for f in fields(self) if f.name != "more"}, more=other.more)

    def __str__(self) -> str:
        return (f"revoked {self.revoked}, suspended {self.suspended}, reinstated {self.reinstated}, "
                f"logins deactivated {self.logins_deactivated}, deactivation notices "
                f"{self.deactivation_notices}, leavers {self.leavers}, retired by age "
                f"{self.retired_by_date}, movers {self.movers}, flags {self.flags}")


def apply(session: Session, clock: Clock, *, job_run: JobRun | None = None,
          officer_ids: Collection[int] | None = None, actor_user_id: int | None = None) -> dict[str, int]:
    """Apply the rules to these officers (all officers when None); return what was done, counted.

    Idempotent: a second run on the same data changes nothing. Writes in the caller's
    transaction; every change is an audit event with `job_run_id` of `job_run` and, when a
    person's edit caused it, `actor_user_id`.
    """
    return run(session, clock, job_run=job_run, officer_ids=officer_ids, actor_user_id=actor_user_id).as_dict()


def run(session: Session, clock: Clock, *, job_run: JobRun | None = None,
        officer_ids: Collection[int] | None = None, limit: int | None = None,
        actor_user_id: int | None = None) -> RulesReport:
    """`apply` with the whole report; `limit` caps the rows each rule takes (scheduled batches).

    Officers named by the caller are waited for when another transaction holds them (their
    change must take effect now); a scheduled run skips rows another run holds instead.
    """
    if officer_ids is None:
        # A scheduled batch: another server's batch of this job finishes first (advisory lock on
        # PostgreSQL), then this one finds only what is still due. Named officers (an import, an
        # edit) are not held up by the nightly run: their rows are waited for one by one.
        job_lock(session, "apply-personnel-rules")
    work = _Run(session, clock, job_run.id if job_run is not None else None, actor_user_id,
                skip_locked=officer_ids is None)
    if officer_ids is None:
        work.apply_to(None, limit)
    else:
        ids = sorted({int(i) for i in officer_ids})
        for start in range(0, len(ids), CHUNK):
            work.apply_to(ids[start:start + CHUNK], None)
    work.tell_commands()
    session.flush()
    return work.report


# -- the scheduled run's bookkeeping ---------------------------------------------------------------
def start_job(session: Session, clock: Clock, *, started_by_id: int | None = None) -> JobRun:
    """The JobRun a scheduled run records its changes under (the import passes its own)."""
    job = JobRun(kind="personnel_rules", state="running", started_by_id=started_by_id, started_at=clock.now)
    session.add(job)
    session.flush()
    return job


def finish_job(job: JobRun, report: RulesReport, clock: Clock) -> None:
    job.state, job.finished_at = "done", clock.now
    job.summary = report.as_dict()
    job.updated_count = report.revoked + report.suspended + report.reinstated  # grants changed


def fail_job(job: JobRun, report: RulesReport, clock: Clock, error: BaseException) -> None:
    """The batches committed before the error stay done; the run says where it stopped."""
    finish_job(job, report, clock)
    job.state, job.error = "failed", f"{type(error).__name__}: {error}"[:1000]


# -- the shared SQL ------------------------------------------------------------------------------
def unit_commands():
    """unit_id -> command_id of every unit inside a command, as one recursive CTE.

    The set-based twin of scope.command_of: a command is the nearest `is_admin_scope` unit at or
    above a unit. UNION (not UNION ALL) so even a cycle in the tree ends the recursion.
    """
    child = aliased(Unit)
    tree = (select(Unit.id.label("unit_id"), Unit.id.label("command_id"))
            .where(Unit.is_admin_scope.is_(True)).cte("unit_command", recursive=True))
    return tree.union(select(child.id, tree.c.command_id)
                      .where(child.parent_id == tree.c.unit_id, child.is_admin_scope.is_(False)))


def _in_service(cutoff: date):
    """An officer the rules treat as serving: status active and not past the retirement date."""
    return and_(Officer.status == "active", or_(Officer.birth_date.is_(None), Officer.birth_date > cutoff))


def _login_active():
    return exists().where(User.id == Officer.user_id, User.active.is_(True))


def _holds(states: Iterable[str]):
    return exists().where(Grant.officer_id == Officer.id, Grant.state.in_(tuple(states)))


def agencies_in_force(today: date):
    return select(DataSharingAgreement.agency_id).where(
        DataSharingAgreement.valid_from <= today,
        or_(DataSharingAgreement.valid_until.is_(None), DataSharingAgreement.valid_until >= today))


def _agencies_ended(today: date):
    """Agencies whose agreement ended and that have none in force today."""
    return (select(DataSharingAgreement.agency_id)
            .where(DataSharingAgreement.valid_until < today,
                   DataSharingAgreement.agency_id.not_in(agencies_in_force(today))))


def _flagged(kind: str, key: str, column):
    """The officer already has a PersonnelChange of this kind for the value they hold now."""
    return exists().where(PersonnelChange.officer_id == Officer.id, PersonnelChange.kind == kind,
                          PersonnelChange.after[key].as_integer().is_not_distinct_from(column))


# -- one run ---------------------------------------------------------------------------------------
@dataclass
class _Told:
    """What the technology staff of one command are told at the end of a run."""

    lines_th: list[str] = field(default_factory=list)
    lines_en: list[str] = field(default_factory=list)


class _Run:
    def __init__(self, session: Session, clock: Clock, job_run_id: int | None, actor_user_id: int | None,
                 skip_locked: bool):
        self.session = session
        self.clock = clock
        self.job_run_id = job_run_id
        self.actor_user_id = actor_user_id
        self.skip_locked = skip_locked
        self.cutoff = latest_birth_date_retired(clock.today)
        self.report = RulesReport()
        self.told: dict[int, _Told] = defaultdict(_Told)
        self._pairs: list[tuple[int, int]] | None = None
        # Grant ids per change still to send (see _set).
        self._updates: dict[tuple, list[int]] = defaultdict(list)
        # Rows added by the current rule whose audit events need their ids (see _flush).
        self._opened: list[PersonnelChange] = []
        self._notices: list[DeactivationNotice] = []
        # Grants with a pending deactivation notice, read once per batch of grants (_pending).
        self._noticed: set[int] = set()

    # -- claiming ------------------------------------------------------------------------------
    def _claim(self, query, limit: int | None, of, *, whole_officers: bool = False) -> list:
        """The rows of `query`, locked for this transaction (PostgreSQL), at most `limit`.

        With `whole_officers` (rows ordered by officer_id), a full batch leaves out the last
        officer's rows, so one officer's grants are judged together in one batch.
        """
        query = query.with_for_update(of=of, skip_locked=self.skip_locked)
        if limit is None:
            return list(self.session.execute(query))
        rows = list(self.session.execute(query.limit(limit)))
        if len(rows) < limit:
            return rows
        self.report.more = True
        if whole_officers and rows[0].officer_id != rows[-1].officer_id:
            last = rows[-1].officer_id
            rows = [row for row in rows if row.officer_id != last]
        return rows

    def _load(self, model, ids: Iterable[int]) -> list:
        ids = sorted(set(ids))
        if not ids:
            return []
        query = select(model).where(model.id.in_(ids)).order_by(model.id).options(*_LOADS.get(model, ()))
        return list(self.session.scalars(query.execution_options(populate_existing=True)).unique())

    def _commands_of(self, unit_ids: Iterable[int | None]) -> dict[int, int]:
        """unit id -> command id for these units (those in no command are left out)."""
        wanted = sorted({u for u in unit_ids if u is not None})
        if not wanted:
            return {}
        tree = unit_commands()
        return dict(self.session.execute(select(tree.c.unit_id, tree.c.command_id)
                                         .where(tree.c.unit_id.in_(wanted))).all())

    def _tree(self):
        """unit_commands() for the big finders: on PostgreSQL the ~1,700 pairs as a VALUES list
        read once per run, since the planner cannot size a recursive CTE joined three times to
        every live grant and chose nested loops over it (18 s at 200,000 grants, nothing to do;
        a VALUES list of known length is hashed once). SQLite has no column list on VALUES."""
        if self.session.get_bind().dialect.name != "postgresql":
            return unit_commands()
        if self._pairs is None:
            tree = unit_commands()
            self._pairs = [tuple(r) for r in self.session.execute(
                select(tree.c.unit_id, tree.c.command_id).order_by(tree.c.unit_id))]
        if not self._pairs:
            return unit_commands()
        return values(column("unit_id", Integer), column("command_id", Integer),
                      name="unit_command").data(self._pairs)

    def _units(self, ids: Iterable[int | None]) -> dict[int, Unit]:
        return {u.id: u for u in self._load(Unit, (i for i in ids if i is not None))}

    @staticmethod
    def _only(query, column, officer_ids):
        return query if officer_ids is None else query.where(column.in_(officer_ids))

    def apply_to(self, officer_ids: list[int] | None, limit: int | None) -> None:
        # Reinstating first: a grant that comes back is then judged by the other rules at once.
        # Each rule writes without autoflush and is flushed once after it: the ORM then sends the
        # batch's grant updates, changes, notices and audit events as a few executemany calls
        # instead of a flush (and a statement per row) at every read; the next rule's finder
        # sees what this one changed.
        def step(rule, *args):
            with self.session.no_autoflush:
                result = rule(*args)
            self._flush()
            return result

        step(self._reinstate_after_new_agreement, officer_ids, limit)
        step(self._out_for_good, officer_ids, limit)
        step(self._out_for_now, officer_ids, limit)
        step(self._agreement_ended, officer_ids, limit)
        moves = self._movers(officer_ids, limit)
        if officer_ids is not None:
            moves.update(self._movers_without_command(officer_ids))
        step(self._move, moves)
        step(self._below_rank_or_level, officer_ids, limit)

    def _set(self, grant: Grant, **values) -> None:
        """Change a grant as one set-based UPDATE per kind of change (sent by _flush).

        The loaded grant shows the new values at once (committed values: the ORM sends nothing
        for it), version bumped as the ORM would. The ORM writes a versioned row one UPDATE at a
        time; 25,000 grants revoked in one night were 25,000 statements."""
        for key, value in values.items():
            set_committed_value(grant, key, value)
        set_committed_value(grant, "version", grant.version + 1)
        self._updates[tuple(sorted(values.items(), key=lambda kv: kv[0]))].append(grant.id)

    def _flush(self) -> None:
        """Send the grant updates, flush the rule's rows, then add the audit events (and agency
        mails) that name the ids the flush gave the new personnel changes and deactivation notices."""
        now = utcnow()
        for change, ids in self._updates.items():
            for start in range(0, len(ids), CHUNK * 10):
                # The rows are locked by this transaction (the finders' FOR UPDATE): no version check.
                self.session.execute(
                    update(Grant).where(Grant.id.in_(ids[start:start + CHUNK * 10]))
                    .values(**dict(change), version=Grant.version + 1, updated_at=now)
                    .execution_options(synchronize_session=False))
        self._updates.clear()
        self.session.flush()
        if not (self._opened or self._notices):
            return
        for change in self._opened:
            audit.record(self.session, "PersonnelChange.open", actor_id=self.actor_user_id, obj=change,
                         after={"kind": change.kind, "command_id": change.command_id,
                                "from_command_id": change.from_command_id},
                         job_run_id=self.job_run_id)
        for notice in self._notices:
            deactivation.announce(self.session, notice, self.actor_user_id, job_run_id=self.job_run_id)
        self._opened, self._notices = [], []
        self.session.flush()

    # -- leavers -----------------------------------------------------------------------------------
    def _out_for_good(self, officer_ids, limit) -> None:
        query = select(Officer.id).where(
            or_(Officer.status.in_(OUT_FOR_GOOD), Officer.birth_date <= self.cutoff),
            or_(_holds(ENDED_AT_LEAVING), _login_active())).order_by(Officer.id)
        rows = self._claim(self._only(query, Officer.id, officer_ids), limit, of=Officer)
        self._leave(self._load(Officer, [r.id for r in rows]), ENDED_AT_LEAVING, for_good=True)

    def _out_for_now(self, officer_ids, limit) -> None:
        query = select(Officer.id).where(
            Officer.status.in_(OUT_FOR_NOW), or_(Officer.birth_date.is_(None), Officer.birth_date > self.cutoff),
            or_(_holds(LIVE_GRANT_STATES), _login_active())).order_by(Officer.id)
        rows = self._claim(self._only(query, Officer.id, officer_ids), limit, of=Officer)
        self._leave(self._load(Officer, [r.id for r in rows]), LIVE_GRANT_STATES, for_good=False)

    def _leave(self, officers: list[Officer], states: tuple[str, ...], *, for_good: bool) -> None:
        if not officers:
            return
        # Wait for a concurrent run holding one of these grants: every one of them must stop.
        ids = self.session.scalars(select(Grant.id).where(
            Grant.officer_id.in_([o.id for o in officers]), Grant.state.in_(states))
            .order_by(Grant.id).with_for_update(of=Grant)).all()
        grants: dict[int, list[Grant]] = defaultdict(list)
        for grant in self._load(Grant, ids):
            if grant.state in states:  # as it is once a concurrent run let go of it
                grants[grant.officer_id].append(grant)
        self._pending(ids)
        commands = self._commands_of(u for o in officers for u in (o.home_unit_id, o.acting_unit_id))
        for officer in officers:
            by_age = officer.status not in OUT_FOR_GOOD and for_good
            reason = self._leaving_reason(officer, by_age)
            ended = [self._end(grant, reason, revoke=for_good) for grant in grants[officer.id]]
            login_closed = self._close_login(officer, reason)
            if not ended and not login_closed:
                continue
            home_command = commands.get(officer.home_unit_id)
            kind = "retired_by_date" if by_age else "left"
            after = {"status": officer.status, "reason": reason, "login_closed": login_closed,
                     "grants": [_grant_entry(g) for g in ended]}
            if by_age:
                after["retire_on"] = retire_on(officer.birth_date).isoformat()
                self.report.retired_by_date += 1
            else:
                self.report.leavers += 1
            self._record_change(officer, kind, home_command, after=after)
            if officer.status != "deceased":
                self._mail_officer(officer, reason, ended, login_closed)
            line = _leaver_line(officer, reason, ended, login_closed)
            for command in {home_command, commands.get(officer.acting_unit_id)} - {None}:
                self._tell(command, *line)

    def _leaving_reason(self, officer: Officer, by_age: bool) -> str:
        if by_age:
            day = retire_on(officer.birth_date)
            return f"เกษียณอายุราชการ {thai_date(day, 'long')} (retired by age on {day.isoformat()})"
        return STATUS_REASONS[officer.status]

    def _end(self, grant: Grant, reason: str, *, revoke: bool) -> Grant:
        """Revoke or suspend one grant, with its audit event and, where due, the agency's notice."""
        before = grant.state
        if revoke:
            self._set(grant, state="revoked", reason=reason, revoked_by_id=self.actor_user_id,
                      revoked_at=self.clock.now)
            self.report.revoked += 1
        else:
            self._set(grant, state="suspended", reason=reason)
            self.report.suspended += 1
        audit.record(self.session, "Grant.revoke" if revoke else "Grant.suspend", actor_id=self.actor_user_id,
                     obj=grant, before={"state": before}, after={"state": grant.state, "reason": reason},
                     job_run_id=self.job_run_id)
        self._notice(grant, reason)
        return grant

    def _notice(self, grant: Grant, reason: str) -> None:
        if not deactivation.needs_agency_deactivation(grant):
            return
        # A grant suspended earlier may have its notice open already: counted once, when opened.
        if grant.id in self._noticed:
            return
        self._noticed.add(grant.id)
        notice = DeactivationNotice(grant=grant, agency=grant.data_source.agency, state="pending", reason=reason)
        self.session.add(notice)
        self._notices.append(notice)  # its audit event and the agency's mail after the flush
        self.report.deactivation_notices += 1

    def _pending(self, grant_ids: Iterable[int]) -> None:
        """Read which of these grants have a pending notice already, in one query."""
        ids = sorted(set(grant_ids))
        for start in range(0, len(ids), CHUNK * 10):
            self._noticed.update(self.session.scalars(select(DeactivationNotice.grant_id).where(
                DeactivationNotice.grant_id.in_(ids[start:start + CHUNK * 10]),
                DeactivationNotice.state == "pending")))

    def _close_login(self, officer: Officer, reason: str) -> bool:
        user = officer.user
        if user is None or not user.active:
            return False
        user.active = False
        self.report.logins_deactivated += 1
        audit.record(self.session, "User.deactivate", actor_id=self.actor_user_id, object_type="User",
                     object_id=user.id, unit_id=officer.home_unit_id, summary=f"{user.username}: {officer}",
                     before={"active": True}, after={"active": False, "reason": reason},
                     job_run_id=self.job_run_id)
        return True

    # -- data-sharing agreements --------------------------------------------------------------------
    def _agreement_ended(self, officer_ids, limit) -> None:
        query = (select(Grant.id).join(DataSource, Grant.data_source_id == DataSource.id)
                 .where(Grant.state.in_(LIVE_GRANT_STATES),
                        DataSource.agency_id.in_(_agencies_ended(self.clock.today)))
                 .order_by(Grant.id))
        rows = self._claim(self._only(query, Grant.officer_id, officer_ids), limit, of=Grant)
        by_officer: dict[int, list[Grant]] = defaultdict(list)
        self._pending(r.id for r in rows)
        for grant in self._load(Grant, [r.id for r in rows]):
            by_officer[grant.officer_id].append(self._end(grant, REASON_AGREEMENT_ENDED, revoke=False))
        for grants in by_officer.values():
            self._mail_officer(grants[0].officer, REASON_AGREEMENT_ENDED, grants, False, suspended=True)

    def _reinstate_after_new_agreement(self, officer_ids, limit) -> None:
        other = aliased(Grant)
        held_again = exists().where(other.officer_id == Grant.officer_id, other.id != Grant.id,
                                    other.data_source_id == Grant.data_source_id,
                                    other.state.in_(LIVE_GRANT_STATES))
        asked_to_close = exists().where(DeactivationNotice.grant_id == Grant.id)
        query = (select(Grant.id).join(DataSource, Grant.data_source_id == DataSource.id)
                 .join(Officer, Officer.id == Grant.officer_id)
                 .where(Grant.state == "suspended", Grant.reason == REASON_AGREEMENT_ENDED,
                        DataSource.agency_id.in_(agencies_in_force(self.clock.today)),
                        _in_service(self.cutoff),
                        or_(Grant.valid_until.is_(None), Grant.valid_until >= self.clock.today),
                        ~asked_to_close, ~held_again)
                 .order_by(Grant.id))
        rows = self._claim(self._only(query, Grant.officer_id, officer_ids), limit, of=Grant)
        for grant in self._load(Grant, [r.id for r in rows]):
            source = grant.data_source
            # Never activated by the agency that must activate it: it goes back to waiting for it.
            waiting = source.needs_external_activation and grant.activated_on is None
            self._set(grant, state="pending_activation" if waiting else "active", reason=None)
            self.report.reinstated += 1
            audit.record(self.session, "Grant.reinstate", actor_id=self.actor_user_id, obj=grant,
                         before={"state": "suspended", "reason": REASON_AGREEMENT_ENDED},
                         after={"state": grant.state}, job_run_id=self.job_run_id)

    # -- movers ------------------------------------------------------------------------------------
    def _movers(self, officer_ids, limit) -> dict[int, tuple[int, int | None]]:
        """grant id -> (the command administering it, the officer's command now), for every live
        grant of a command the officer no longer belongs to."""
        tree = self._tree()
        home, acting, asked = tree.alias("home_command"), tree.alias("acting_command"), tree.alias("asked_command")
        administered_by = func.coalesce(Grant.command_id, asked.c.command_id)
        # Every mover's grant first, in one pass with hash joins (MATERIALIZED), then the batch is
        # cut and locked from it: with the ORDER BY ... LIMIT on the joins themselves PostgreSQL
        # walked the grants in officer order with nested loops over the unit list (9 s at 200,000
        # grants, finding nothing).
        movers = self._only(
            select(Grant.id.label("grant_id"), administered_by.label("from_command"),
                   home.c.command_id.label("to_command"))
            .select_from(Grant)
            .join(Officer, Officer.id == Grant.officer_id)
            .outerjoin(AccessRequest, AccessRequest.id == Grant.request_id)
            .outerjoin(asked, asked.c.unit_id == AccessRequest.unit_id)
            .outerjoin(home, home.c.unit_id == Officer.home_unit_id)
            .outerjoin(acting, acting.c.unit_id == Officer.acting_unit_id)
            .where(Grant.state.in_(LIVE_GRANT_STATES), _in_service(self.cutoff),
                   administered_by.is_not(None),
                   administered_by.is_distinct_from(home.c.command_id),
                   or_(acting.c.command_id.is_(None), administered_by != acting.c.command_id)),
            Grant.officer_id, officer_ids).cte("movers").prefix_with("MATERIALIZED")
        query = (select(Grant.id, Grant.officer_id, movers.c.from_command, movers.c.to_command)
                 .join(movers, movers.c.grant_id == Grant.id)
                 .where(Grant.state.in_(LIVE_GRANT_STATES))  # as it is once a concurrent run let go
                 .order_by(Grant.officer_id, Grant.id))
        rows = self._claim(query, limit, of=Grant, whole_officers=True)
        return {r.id: (r.from_command, r.to_command) for r in rows}

    def _movers_without_command(self, officer_ids: list[int]) -> dict[int, tuple[int, int | None]]:
        """Grants that record no command and whose request says none either (made before grants
        recorded one): administered by the command of the home unit the officer had when the
        grant was given, i.e. before the first change of home unit the audit trail shows since."""
        tree = unit_commands()
        home, acting, asked = tree.alias("home_command"), tree.alias("acting_command"), tree.alias("asked_command")
        query = (
            select(Grant.id, home.c.command_id.label("to_command"), acting.c.command_id.label("acting_command"))
            .select_from(Grant)
            .join(Officer, Officer.id == Grant.officer_id)
            .outerjoin(AccessRequest, AccessRequest.id == Grant.request_id)
            .outerjoin(asked, asked.c.unit_id == AccessRequest.unit_id)
            .outerjoin(home, home.c.unit_id == Officer.home_unit_id)
            .outerjoin(acting, acting.c.unit_id == Officer.acting_unit_id)
            .where(Grant.officer_id.in_(officer_ids), Grant.state.in_(LIVE_GRANT_STATES),
                   Grant.command_id.is_(None), asked.c.command_id.is_(None), _in_service(self.cutoff))
            .order_by(Grant.id))
        rows = self._claim(query, None, of=Grant)
        if not rows:
            return {}
        changes = self.session.execute(
            select(Grant.id, AuditEvent.before)
            .join(AuditEvent, and_(AuditEvent.object_type == "Officer", AuditEvent.object_id == Grant.officer_id,
                                   AuditEvent.occurred_at >= Grant.created_at))
            .where(Grant.id.in_([r.id for r in rows]))
            .order_by(Grant.id, AuditEvent.occurred_at, AuditEvent.id)).all()
        unit_then: dict[int, int] = {}
        for grant_id, before in changes:
            if grant_id not in unit_then and isinstance(before, dict) and before.get("home_unit_id"):
                unit_then[grant_id] = before["home_unit_id"]
        commands = self._commands_of(unit_then.values())
        moved = {}
        for row in rows:
            was = commands.get(unit_then.get(row.id))
            if was is not None and was not in (row.to_command, row.acting_command):
                moved[row.id] = (was, row.to_command)
        return moved

    def _move(self, moves: dict[int, tuple[int, int | None]]) -> None:
        """Suspend each grant (id -> (its command, the officer's command now)); one PersonnelChange
        per officer and command left."""
        if not moves:
            return
        units = self._units(c for pair in moves.values() for c in pair)
        by_officer: dict[int, list[Grant]] = defaultdict(list)
        for grant in self._load(Grant, moves):
            by_officer[grant.officer_id].append(grant)
        for grants in by_officer.values():
            officer = grants[0].officer
            to_command = moves[grants[0].id][1]
            new = units.get(to_command)
            reason = (f"ย้ายไป {new.name_th} (moved to {new.name_en or new.name_th})" if new is not None
                      else "ย้ายออกนอกหน่วยที่มีเจ้าหน้าที่เทคโนโลยีดูแล (moved out of every command)")
            left: dict[int, list[Grant]] = defaultdict(list)
            for grant in grants:
                from_command = moves[grant.id][0]
                before = grant.state
                self._set(grant, state="suspended", reason=reason)
                self.report.suspended += 1
                # Filed under the command that administered it, so its staff read what happened.
                audit.record(self.session, "Grant.suspend", actor_id=self.actor_user_id, obj=grant,
                             unit_id=from_command, before={"state": before},
                             after={"state": "suspended", "reason": reason}, job_run_id=self.job_run_id)
                left[from_command].append(grant)
            for from_command, suspended in left.items():
                old = units.get(from_command)
                self._record_change(
                    officer, "moved", to_command, from_command_id=from_command,
                    before={"command": _unit_name(old), "command_id": from_command},
                    after={"command": _unit_name(new), "command_id": to_command, "reason": reason,
                           "grants": [_grant_entry(g) for g in suspended]})
            self.report.movers += 1
            self._mail_officer(officer, reason, grants, False, suspended=True)
            if to_command is not None:
                self._tell(to_command, *_mover_line(officer, [units.get(c) for c in left], grants))

    # -- flags -------------------------------------------------------------------------------------
    def _below_rank_or_level(self, officer_ids, limit) -> None:
        needed, own = aliased(PositionLevel), aliased(PositionLevel)
        level = (select(Grant.id, Grant.officer_id)
                 .join(SystemFunction, Grant.function_id == SystemFunction.id)
                 .join(needed, SystemFunction.min_position_level_id == needed.id)
                 .join(Officer, Officer.id == Grant.officer_id)
                 .outerjoin(own, Officer.position_level_id == own.id)
                 .where(Grant.state.in_(LIVE_GRANT_STATES), _in_service(self.cutoff),
                        or_(own.id.is_(None), own.order < needed.order),
                        ~_flagged("position_level", "position_level_id", Officer.position_level_id))
                 .order_by(Grant.officer_id, Grant.id))
        rows = self._claim(self._only(level, Grant.officer_id, officer_ids), limit, of=Officer,
                           whole_officers=True)
        self._flag("position_level", rows)

        held, rank, group = aliased(RankGroup), aliased(Rank), aliased(RankGroup)
        ranked = (select(Grant.id, Grant.officer_id)
                  .join(held, Grant.rank_group_id == held.id)
                  .join(Officer, Officer.id == Grant.officer_id)
                  .join(rank, Officer.rank_id == rank.id)
                  .join(group, rank.rank_group_id == group.id)
                  .where(Grant.state.in_(LIVE_GRANT_STATES), _in_service(self.cutoff),
                         held.number < group.number,  # group 1 is the highest
                         ~_flagged("rank", "rank_id", Officer.rank_id))
                  .order_by(Grant.officer_id, Grant.id))
        rows = self._claim(self._only(ranked, Grant.officer_id, officer_ids), limit, of=Officer,
                           whole_officers=True)
        self._flag("rank", rows)

    def _flag(self, kind: str, rows) -> None:
        if not rows:
            return
        grants: dict[int, list[Grant]] = defaultdict(list)
        for grant in self._load(Grant, [r.id for r in rows]):
            grants[grant.officer_id].append(grant)
        officers = [grants[i][0].officer for i in sorted(grants)]
        commands = self._commands_of(o.home_unit_id for o in officers)
        for officer in officers:
            held = grants[officer.id]
            command = commands.get(officer.home_unit_id)
            if kind == "rank":
                own = officer.rank.rank_group
                after = {"rank_id": officer.rank_id, "rank": officer.rank.abbr_th,
                         "rank_group": own.name_th if own else None}
            else:
                level = officer.position_level
                after = {"position_level_id": officer.position_level_id,
                         "position_level": level.name_th if level else None}
            after["grants"] = [_grant_entry(g) for g in held]
            self._record_change(officer, kind, command, after=after)
            self.report.flags += 1
            if command is not None:
                self._tell(command, *_flag_line(officer, kind, held))

    # -- records and mail ----------------------------------------------------------------------
    def _record_change(self, officer: Officer, kind: str, command_id: int | None, *,
                       from_command_id: int | None = None, before: dict | None = None,
                       after: dict | None = None) -> PersonnelChange:
        change = PersonnelChange(officer=officer, kind=kind, command_id=command_id,
                                 from_command_id=from_command_id, before=before, after=after,
                                 job_run_id=self.job_run_id, detected_at=self.clock.now, state="open")
        self.session.add(change)
        self._opened.append(change)  # its audit event once the flush gave it an id
        return change

    def _tell(self, command_id: int, line_th: str, line_en: str) -> None:
        self.told[command_id].lines_th.append(line_th)
        self.told[command_id].lines_en.append(line_en)

    def tell_commands(self) -> None:
        """One message per command for the whole run, however many officers it concerns."""
        with self.session.no_autoflush:  # each command's staff are read: no flush of the mails before
            self._tell_commands()

    def _tell_commands(self) -> None:
        for command_id, told in sorted(self.told.items()):
            body = ("การเปลี่ยนแปลงข้อมูลกำลังพลที่กระทบสิทธิ์ของเจ้าหน้าที่ในหน่วยของท่าน:\n"
                    + "".join(f"  - {line}\n" for line in told.lines_th)
                    + f"ตรวจสอบและบันทึกการดำเนินการได้ที่ \"การเปลี่ยนแปลงกำลังพล\": {INBOX_LINK}\n\n"
                    "Personnel changes that affect the rights of officers of your command:\n"
                    + "".join(f"  - {line}\n" for line in told.lines_en)
                    + f"Review them and mark them handled under \"Personnel changes\": {INBOX_LINK}\n")
            subject = (f"[Sitthi] การเปลี่ยนแปลงกำลังพล {len(told.lines_th)} รายการ / "
                       f"{len(told.lines_en)} personnel change(s)")
            for email, user_id in command_tech_recipients(self.session, [command_id]):
                notifications.queue(self.session, recipient_email=email, recipient_user_id=user_id,
                                    subject=subject, body=body)
        self.told.clear()

    def _mail_officer(self, officer: Officer, reason: str, grants: list[Grant], login_closed: bool,
                      suspended: bool = False) -> None:
        email = officer.email or (officer.user.email if officer.user else None)
        if not email:
            return
        verb_th, verb_en = ("ถูกระงับ", "suspended") if suspended else ("ถูกเพิกถอน", "revoked")
        names = [_target_names(g) for g in grants]
        body = (f"เรียน {officer}\n"
                f"ตามข้อมูลกำลังพล ({reason}) สิทธิ์ของท่านต่อไปนี้{verb_th}:\n"
                + ("".join(f"  - {th}\n" for th, _en in names) or "  - ไม่มี\n")
                + ("บัญชีผู้ใช้ Sitthi ของท่านถูกปิดการใช้งาน\n" if login_closed else "")
                + "หากข้อมูลไม่ถูกต้อง โปรดแจ้งเจ้าหน้าที่กำลังพลของหน่วยเพื่อแก้ไข\n\n"
                f"Dear {officer},\nfollowing the personnel records ({reason}) these permissions of yours "
                f"were {verb_en}:\n"
                + ("".join(f"  - {en}\n" for _th, en in names) or "  - none\n")
                + ("Your Sitthi login has been deactivated.\n" if login_closed else "")
                + "If the record is wrong, ask the personnel staff of your unit to correct it.\n"
                + (f"{MY_GRANTS_LINK}\n" if not login_closed else ""))
        subject = f"[Sitthi] สิทธิ์ของท่าน{verb_th} / Your permissions were {verb_en}"
        notifications.queue(self.session, recipient_email=email, recipient_user_id=officer.user_id,
                            subject=subject, body=body)


# -- texts -----------------------------------------------------------------------------------------
def _target_names(grant: Grant) -> tuple[str, str]:
    target = grant.data_source or grant.function
    if target is None:
        return f"#{grant.id}", f"#{grant.id}"
    th = target.name_th + (f" ({grant.rank_group.name_th})" if grant.rank_group else "")
    en = (target.name_en or target.name_th) + (f" ({grant.rank_group.name_en})" if grant.rank_group else "")
    return th, en


def _grant_entry(grant: Grant) -> dict:
    """What a PersonnelChange keeps of a grant, so its list shows it without another query."""
    th, en = _target_names(grant)
    return {"id": grant.id, "name_th": th, "name_en": en, "state": grant.state}


def _unit_name(unit: Unit | None) -> dict | None:
    if unit is None:
        return None
    return {"th": str(unit), "en": unit.name_en or str(unit)}


def _leaver_line(officer: Officer, reason: str, grants: list[Grant], login_closed: bool) -> tuple[str, str]:
    names = [_target_names(g) for g in grants]
    th = (f"{officer}: {reason}; สิทธิ์ {len(grants)} รายการ ({', '.join(n[0] for n in names) or '-'})"
          + ("; ปิดบัญชีผู้ใช้" if login_closed else ""))
    en = (f"{officer}: {reason}; {len(grants)} permission(s) ({', '.join(n[1] for n in names) or '-'})"
          + ("; login deactivated" if login_closed else ""))
    return th, en


def _mover_line(officer: Officer, old_commands: list[Unit | None], grants: list[Grant]) -> tuple[str, str]:
    olds = ", ".join(str(u) if u is not None else "-" for u in old_commands)
    names = [_target_names(g) for g in grants]
    return (f"{officer}: ย้ายเข้าจาก {olds}; สิทธิ์ที่ถูกระงับรอการทบทวน: {', '.join(n[0] for n in names)}",
            f"{officer}: moved in from {olds}; permissions suspended for your review: "
            f"{', '.join(n[1] for n in names)}")


def _flag_line(officer: Officer, kind: str, grants: list[Grant]) -> tuple[str, str]:
    names = [_target_names(g) for g in grants]
    if kind == "rank":
        return (f"{officer}: กลุ่มยศของสิทธิ์สูงกว่ากลุ่มยศปัจจุบัน ({', '.join(n[0] for n in names)})",
                f"{officer}: rank group of a permission above the officer's own ({', '.join(n[1] for n in names)})")
    return (f"{officer}: ระดับตำแหน่งต่ำกว่าที่สิทธิ์กำหนด ({', '.join(n[0] for n in names)})",
            f"{officer}: position level below what a permission needs ({', '.join(n[1] for n in names)})")
