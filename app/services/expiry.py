"""Permissions over time: grants expire, holders are reminded, temporary assignments end.

`run_expiry` is the hourly job (`flask sitthi expire-grants`). It is idempotent: every step
selects only rows still waiting for it (active and past their date, not yet reminded, still
assigned after the end date) and changes them so they no longer match, so a second run the same
day changes nothing. Several servers may run it at once: each batch first takes the job's advisory
lock (`job_lock`, PostgreSQL), so their batches take turns, and each row is also claimed with
FOR UPDATE SKIP LOCKED (SQLite serialises writers anyway). Expiry and reminders are set-based:
one UPDATE ... RETURNING per batch, the audit events and mails one multi-row INSERT each.

`end_assignment` is the one rule for the end of a temporary assignment (ช่วยราชการ), used both
when the end date passes and when a return-home request completes: the officer is back in the
home unit, and the grants the acting command gave are suspended.

Nothing here commits or knows Flask: the caller commits (the CLI once per batch).
"""
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session, aliased

from app.domain.national_id import format_full
from app.domain.thai_dates import thai_date
from app.models import (
    Agency,
    DataSource,
    DeactivationNotice,
    Grant,
    Notification,
    Officer,
    Rank,
    SystemFunction,
    Unit,
    User,
)
from app.models.base import utcnow
from app.security.scope import COMMAND_TECH, command_of, command_staff
from app.services import audit, audit_chain, deactivation, notifications

# Stored on the suspended grant and on the deactivation notice; people of both languages read it.
REASON_ASSIGNMENT_ENDED = "สิ้นสุดการช่วยราชการ (assignment ended)"
REASON_EXPIRED = "สิทธิ์หมดอายุ (expired)"
# Grants of the acting command that stop with the assignment (a grant still waiting for the
# agency must not come alive after the officer has left).
SUSPENDED_AT_ASSIGNMENT_END = ("active", "pending_activation")
MY_GRANTS_LINK = f"{notifications.APP_URL_MARK}/mygrantview/list/"
# Ids named in one IN list at most (a batch may be larger).
_IN_CHUNK = 5000
# One advisory lock per scheduled job (PostgreSQL): two servers starting the same job take turns
# batch by batch instead of both claiming rows. Fixed numbers, so every server agrees on them.
JOB_LOCKS = {"expire-grants": 0x51771001, "apply-personnel-rules": 0x51771002, "chase-requests": 0x51771003}


@dataclass(frozen=True)
class ExpiryReport:
    """What one run changed; all zero when there was nothing (left) to do."""

    expired: int = 0
    reminded: int = 0
    assignments_ended: int = 0
    suspended: int = 0
    deactivation_notices: int = 0

    def __add__(self, other: "ExpiryReport") -> "ExpiryReport":
        return ExpiryReport(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    @property
    def total(self) -> int:
        return self.expired + self.reminded + self.assignments_ended

    def __str__(self) -> str:
        return (f"expired {self.expired}, reminded {self.reminded}, "
                f"assignments ended {self.assignments_ended}, grants suspended {self.suspended}, "
                f"deactivation notices {self.deactivation_notices}")


def run_expiry(session: Session, today: date, reminder_days: int, *, limit: int | None = None) -> ExpiryReport:
    """End past assignments, expire past grants, remind holders of grants about to expire.

    At most `limit` rows of each kind per call (None: all), so a caller can commit in batches
    and call again until a call returns a report with nothing left at the limit. Assignments come
    first: their grants are suspended, not expired or reminded.
    """
    job_lock(session, "expire-grants")
    ended, suspended = _end_past_assignments(session, today, limit)
    expired, notices = _expire_past_grants(session, today, limit)
    reminded = _remind_expiring_grants(session, today, reminder_days, limit)
    return ExpiryReport(expired=expired, reminded=reminded, assignments_ended=ended,
                        suspended=suspended, deactivation_notices=notices)


def job_lock(session: Session, job: str) -> None:
    """Wait until no other transaction runs a batch of `job`; held until this one ends.

    A transaction-level lock (pg_advisory_xact_lock), not a session-level one: the pool may hand
    the next batch another connection, and a lock held by a connection back in the pool would
    stop every other server. Each batch then selects only rows still due, after the other
    server's batch committed, so nothing is done twice. SQLite has a single writer: nothing to do.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": JOB_LOCKS[job]})


# -- claiming rows -----------------------------------------------------------------------------
def _claim(session: Session, ids_query, limit: int | None, *, skip_locked: bool = True) -> list[int]:
    """The ids of the rows to change, locked for this transaction (PostgreSQL).

    Only ids are selected with the lock: FOR UPDATE on the outer joins of eager loading is refused.
    """
    query = ids_query.with_for_update(skip_locked=skip_locked)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def _load(session: Session, model, ids: list[int], *order) -> list:
    if not ids:
        return []
    query = select(model).where(model.id.in_(ids)).order_by(*order, model.id)
    # Fresh from the database: the identity map may hold what this session read before the lock.
    return list(session.scalars(query.execution_options(populate_existing=True)).unique())


# -- (a) expiry ----------------------------------------------------------------------------------
# Both steps are set-based, one statement each per batch, whatever the batch size: the UPDATE
# claims and changes the rows (the sub-select takes FOR UPDATE SKIP LOCKED on PostgreSQL) and
# returns their ids; one SELECT reads what the audit events and mails say of them; the events,
# notices and mails go in with one multi-row INSERT each. No ORM object per grant: the ORM cost
# 2.3 ms a grant (94.7 s for 35,710 expiries), this costs a few microseconds of Python per row.
def _expire_past_grants(session: Session, today: date, limit: int | None) -> tuple[int, int]:
    due = select(Grant.id).where(Grant.state == "active", Grant.valid_until < today)
    ids = _update_claimed(session, due, limit, state="expired")
    rows = _facts(session, ids)
    now = utcnow()
    events, mails = [], []
    for row in rows:
        events.append(_grant_event(row, "Grant.expire", now, before={"state": "active"},
                                   after={"state": "expired", "valid_until": row.valid_until.isoformat()}))
        mails.append(_holder_mail(row, *_expired_message(row), now))
    audit_chain.add_rows(session, events)
    _insert_mails(session, mails)
    notices = _open_notices(session, [r for r in rows if r.needs_external_activation and r.activated_on],
                            REASON_EXPIRED, now)
    return len(rows), notices


# -- (b) reminders -------------------------------------------------------------------------------
def _remind_expiring_grants(session: Session, today: date, reminder_days: int, limit: int | None) -> int:
    last_day = today + timedelta(days=max(reminder_days, 0))
    due = select(Grant.id).where(Grant.state == "active", Grant.reminded_on.is_(None),
                                 Grant.valid_until >= today, Grant.valid_until <= last_day)
    # Marked even when the holder has no address: the reminder is due once, not every hour.
    ids = _update_claimed(session, due, limit, reminded_on=today)
    now = utcnow()
    _insert_mails(session, [_holder_mail(row, *_reminder_message(row, today), now)
                            for row in _facts(session, ids)])
    return len(ids)


# -- the set-based steps -----------------------------------------------------------------------
def _update_claimed(session: Session, due, limit: int | None, **values) -> list[int]:
    """Change the due grants (at most `limit`, soonest first) in one UPDATE; their ids.

    The version is bumped and updated_at set as the ORM would, so a form opened on one of these
    grants before the run fails as stale instead of writing over it.
    """
    claimed = due.order_by(Grant.valid_until, Grant.id).with_for_update(skip_locked=True)
    if limit is not None:
        claimed = claimed.limit(limit)
    statement = (update(Grant).where(Grant.id.in_(claimed.scalar_subquery()))
                 .values(version=Grant.version + 1, updated_at=utcnow(), **values)
                 .returning(Grant.id))
    ids = list(session.scalars(statement, execution_options={"synchronize_session": False}))
    # Grants this session already holds are read again on next use, not left stale.
    changed = set(ids)
    for held in list(session.identity_map.values()):
        if isinstance(held, Grant) and held.id in changed:
            session.expire(held)
    return ids


def _facts(session: Session, ids: list[int]) -> list:
    """What the events and mails say of these grants, in one SELECT (soonest first)."""
    if not ids:
        return []
    holder = aliased(User)
    rows = []
    for start in range(0, len(ids), _IN_CHUNK):
        rows += session.execute(
            select(Grant.id, Grant.officer_id, Grant.valid_until, Grant.activated_on, Grant.agency_reference,
                   Officer.home_unit_id, Officer.user_id, Officer.national_id,
                   Officer.first_name_th, Officer.last_name_th, Rank.abbr_th.label("rank_abbr"),
                   func.coalesce(func.nullif(Officer.email, ""), holder.email).label("email"),
                   DataSource.name_th.label("source_th"), DataSource.name_en.label("source_en"),
                   DataSource.needs_external_activation, DataSource.agency_id,
                   SystemFunction.name_th.label("function_th"), SystemFunction.name_en.label("function_en"),
                   Agency.name_th.label("agency_th"), Agency.contact_email.label("agency_email"))
            .select_from(Grant)
            .join(Officer, Officer.id == Grant.officer_id)
            .outerjoin(Rank, Rank.id == Officer.rank_id)
            .outerjoin(holder, holder.id == Officer.user_id)
            .outerjoin(DataSource, DataSource.id == Grant.data_source_id)
            .outerjoin(Agency, Agency.id == DataSource.agency_id)
            .outerjoin(SystemFunction, SystemFunction.id == Grant.function_id)
            .where(Grant.id.in_(ids[start:start + _IN_CHUNK]))).all()
    rows.sort(key=lambda r: (r.valid_until, r.id))
    return rows


def _insert(session: Session, model, rows: list[dict]) -> None:
    """One executemany of the whole batch (psycopg sends it pipelined).

    On the table, not the ORM class: the ORM's bulk insert groups rows by which values are None
    and sends each group apart (1,200 statements for 10,000 grants)."""
    if rows:
        session.execute(insert(model.__table__), rows)


def _officer_name(row) -> str:
    """str(Officer), from a row of `_facts`."""
    return f"{row.rank_abbr or ''}{row.first_name_th} {row.last_name_th}"


def _grant_event(row, action: str, now: datetime, *, before: dict, after: dict) -> dict:
    """The row audit.record(obj=grant) writes: filed under the holder's home unit, named as str(grant)."""
    target = row.source_th or row.function_th
    return dict(action=action, occurred_at=now, actor_id=None, on_behalf_of_id=None,
                object_type="Grant", object_id=row.id, unit_id=row.home_unit_id,
                summary=f"{_officer_name(row)} – {target}"[:1000], before=before, after=after,
                remote_addr=None, job_run_id=None)


def _holder_mail(row, subject: str, body: str, now: datetime) -> dict | None:
    return _mail(row.email, row.user_id, subject, body, now)


def _mail(email: str | None, user_id: int | None, subject: str, body: str, now: datetime) -> dict | None:
    """The row notifications.queue writes (None: no address, nothing queued)."""
    if not email or not email.strip():
        return None
    return dict(created_at=now, recipient_email=email.strip(), recipient_user_id=user_id, subject=subject[:300],
                body=body, request_id=None, state="queued", attempts=0, next_attempt_at=now)


def _insert_mails(session: Session, mails: list[dict | None]) -> None:
    _insert(session, Notification, [m for m in mails if m is not None])


def _open_notices(session: Session, rows: list, reason: str, now: datetime) -> int:
    """deactivation.open_notice for each of these grants, set-based: the notice (once per grant),
    its audit event and the mail to the agency."""
    if not rows:
        return 0
    pending = set(session.scalars(select(DeactivationNotice.grant_id).where(
        DeactivationNotice.grant_id.in_([r.id for r in rows]), DeactivationNotice.state == "pending")))
    rows = [r for r in rows if r.id not in pending]
    if not rows:
        return 0
    created = session.execute(
        insert(DeactivationNotice).returning(DeactivationNotice.id, DeactivationNotice.grant_id,
                                             sort_by_parameter_order=True),
        [dict(grant_id=r.id, agency_id=r.agency_id, state="pending", reason=reason, created_at=now)
         for r in rows]).all()
    events, mails = [], []
    for (notice_id, _grant_id), row in zip(created, rows, strict=True):
        grant_text = f"{_officer_name(row)} – {row.source_th}"
        events.append(dict(action="DeactivationNotice.open", occurred_at=now, actor_id=None, on_behalf_of_id=None,
                           object_type="DeactivationNotice", object_id=notice_id, unit_id=row.home_unit_id,
                           summary=f"{row.agency_th} – {grant_text}"[:1000],
                           after={"grant_id": row.id, "reason": reason}, before=None, remote_addr=None,
                           job_run_id=None))
        subject, body = deactivation.agency_mail(row.source_th, row.source_en, _officer_name(row),
                                                 format_full(row.national_id), row.agency_reference, reason)
        mails.append(_mail(row.agency_email, None, subject, body, now))
    audit_chain.add_rows(session, events)
    _insert_mails(session, mails)
    return len(created)


# -- (c) and (d) the end of a temporary assignment ----------------------------------------------
def _end_past_assignments(session: Session, today: date, limit: int | None) -> tuple[int, int]:
    ids = _claim(session, select(Officer.id).where(Officer.acting_until < today)
                 .order_by(Officer.acting_until, Officer.id), limit)
    officers = _load(session, Officer, ids, Officer.acting_until)
    suspended = 0
    for officer in officers:
        suspended += len(end_assignment(session, officer).suspended)
    return len(officers), suspended


@dataclass(frozen=True)
class AssignmentEnd:
    officer_id: int
    acting_unit_id: int | None
    acting_command_id: int | None
    home_command_id: int | None
    suspended: tuple[Grant, ...]


def end_assignment(session: Session, officer: Officer, *, actor_user_id: int | None = None) -> AssignmentEnd:
    """The officer works in the home unit again; the acting command's grants are suspended.

    A grant is the acting command's when its `command_id` is that command and it is not the home
    command (an assignment inside one's own command takes nothing away). The officer and the
    technology staff of both commands are told. The caller commits.
    """
    acting_unit_id = officer.acting_unit_id
    acting_command_id = command_of(session, acting_unit_id) if acting_unit_id else None
    home_command_id = command_of(session, officer.home_unit_id)
    before = {"acting_unit_id": acting_unit_id,
              "acting_until": officer.acting_until.isoformat() if officer.acting_until else None}
    officer.acting_unit_id = None
    officer.acting_until = None
    audit.record(session, "Officer.assignment_end", actor_id=actor_user_id, obj=officer,
                 before=before, after={"acting_unit_id": None, "acting_until": None})
    suspended: list[Grant] = []
    if acting_command_id is not None and acting_command_id != home_command_id:
        ids = _claim(session, select(Grant.id).where(
            Grant.officer_id == officer.id, Grant.command_id == acting_command_id,
            Grant.state.in_(SUSPENDED_AT_ASSIGNMENT_END),
        ), None, skip_locked=False)  # wait for a concurrent expiry run: every such grant must stop
        for grant in _load(session, Grant, ids):
            previous = grant.state
            grant.state, grant.reason = "suspended", REASON_ASSIGNMENT_ENDED
            # Filed under the acting unit: that command administered the grant.
            audit.record(session, "Grant.suspend", actor_id=actor_user_id, obj=grant,
                         unit_id=acting_unit_id, before={"state": previous},
                         after={"state": "suspended", "reason": REASON_ASSIGNMENT_ENDED})
            suspended.append(grant)
    session.flush()
    result = AssignmentEnd(officer.id, acting_unit_id, acting_command_id, home_command_id, tuple(suspended))
    _notify_assignment_end(session, officer, result)
    return result


# -- mail ----------------------------------------------------------------------------------------
def _names(grant: Grant) -> tuple[str, str]:
    target = grant.data_source or grant.function
    if target is None:
        return f"#{grant.id}", f"#{grant.id}"
    return target.name_th, target.name_en or target.name_th


def _row_names(row) -> tuple[str, str]:
    """_names, from a row of `_facts`."""
    if row.source_th is not None:
        return row.source_th, row.source_en or row.source_th
    if row.function_th is not None:
        return row.function_th, row.function_en or row.function_th
    return f"#{row.id}", f"#{row.id}"


def _holder_email(officer: Officer) -> str | None:
    return officer.email or (officer.user.email if officer.user else None)


def _reminder_message(row, today: date) -> tuple[str, str]:
    thai, english = _row_names(row)
    until = row.valid_until
    days = (until - today).days
    subject = (f"[Sitthi] สิทธิ์ {thai} จะหมดอายุ {thai_date(until)} / "
               f"{english} expires on {until.isoformat()}")
    body = (
        f"เรียน {_officer_name(row)}\n"
        f"สิทธิ์ {thai} ของท่านจะหมดอายุในวันที่ {thai_date(until, 'long')} (อีก {days} วัน)\n"
        f"หากยังต้องใช้งาน กดปุ่ม \"ต่ออายุ\" ที่รายการสิทธิ์ของท่าน แล้วระบุหัวหน้าหน่วยผู้รับรองและส่งคำขอ:\n"
        f"{MY_GRANTS_LINK}\n\n"
        f"Your permission {english} expires on {until.isoformat()} ({days} days left).\n"
        f"To keep it, press \"Renew\" in your list of permissions, name the certifying head and submit:\n"
        f"{MY_GRANTS_LINK}\n"
    )
    return subject, body


def _expired_message(row) -> tuple[str, str]:
    thai, english = _row_names(row)
    until = row.valid_until
    subject = f"[Sitthi] สิทธิ์ {thai} หมดอายุแล้ว / {english} has expired"
    body = (
        f"เรียน {_officer_name(row)}\n"
        f"สิทธิ์ {thai} ของท่านหมดอายุเมื่อวันที่ {thai_date(until, 'long')} และใช้งานไม่ได้แล้ว\n"
        f"หากยังต้องใช้งาน ยื่นคำขอต่ออายุได้ด้วยปุ่ม \"ต่ออายุ\" ที่รายการสิทธิ์ของท่าน:\n"
        f"{MY_GRANTS_LINK}\n\n"
        f"Your permission {english} expired after {until.isoformat()} and no longer works.\n"
        f"To ask for it again, press \"Renew\" in your list of permissions:\n"
        f"{MY_GRANTS_LINK}\n"
    )
    return subject, body


def command_tech_recipients(session: Session, command_ids: Iterable[int | None]) -> list[tuple[str, int]]:
    """(e-mail, user id) of the active CommandTech users working in any of these commands."""
    return [(u.email, u.id) for u in command_staff(session, COMMAND_TECH, command_ids) if u.email]


def _notify_assignment_end(session: Session, officer: Officer, result: AssignmentEnd) -> None:
    acting = session.get(Unit, result.acting_unit_id) if result.acting_unit_id else None
    acting_th = acting.name_th if acting else "-"
    acting_en = (acting.name_en or acting.name_th) if acting else "-"
    lines_th = "".join(f"  - {_names(g)[0]}\n" for g in result.suspended) or "  - ไม่มี\n"
    lines_en = "".join(f"  - {_names(g)[1]}\n" for g in result.suspended) or "  - none\n"
    subject = f"[Sitthi] สิ้นสุดการช่วยราชการ: {officer} / Temporary assignment ended"
    body = (
        f"{officer} สิ้นสุดการช่วยราชการที่ {acting_th} และกลับปฏิบัติงานที่ {officer.home_unit.name_th}\n"
        f"สิทธิ์ที่หน่วยที่ไปช่วยราชการให้ไว้ถูกระงับ:\n{lines_th}\n"
        f"The temporary assignment of {officer} to {acting_en} has ended; the officer works in "
        f"the home unit again.\nPermissions given by the acting command, now suspended:\n{lines_en}"
    )
    recipients = [(_holder_email(officer), officer.user_id)]
    recipients += command_tech_recipients(session, (result.acting_command_id, result.home_command_id))
    seen = set()
    for email, user_id in recipients:
        if not email or email in seen:
            continue
        seen.add(email)
        notifications.queue(session, recipient_email=email, recipient_user_id=user_id,
                            subject=subject, body=body)
