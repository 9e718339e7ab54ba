"""Permissions over time: grants expire, holders are reminded, temporary assignments end.

`run_expiry` is the hourly job (`flask sitthi expire-grants`). It is idempotent: every step
selects only rows still waiting for it (active and past their date, not yet reminded, still
assigned after the end date) and changes them so they no longer match, so a second run the same
day changes nothing. Several runs may overlap: each row is claimed with FOR UPDATE SKIP LOCKED on
PostgreSQL, and a row another run holds is left to that run (SQLite serialises writers anyway).

`end_assignment` is the one rule for the end of a temporary assignment (ช่วยราชการ), used both
when the end date passes and when a return-home request completes: the officer is back in the
home unit, and the grants the acting command gave are suspended.

Nothing here commits or knows Flask: the caller commits (the CLI once per batch).
"""
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.thai_dates import thai_date
from app.models import Grant, Officer, Unit
from app.security.scope import COMMAND_TECH, command_of, command_staff
from app.services import audit, deactivation, notifications

# Stored on the suspended grant and on the deactivation notice; people of both languages read it.
REASON_ASSIGNMENT_ENDED = "สิ้นสุดการช่วยราชการ (assignment ended)"
REASON_EXPIRED = "สิทธิ์หมดอายุ (expired)"
# Grants of the acting command that stop with the assignment (a grant still waiting for the
# agency must not come alive after the officer has left).
SUSPENDED_AT_ASSIGNMENT_END = ("active", "pending_activation")
MY_GRANTS_LINK = f"{notifications.APP_URL_MARK}/mygrantview/list/"


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
    ended, suspended = _end_past_assignments(session, today, limit)
    expired, notices = _expire_past_grants(session, today, limit)
    reminded = _remind_expiring_grants(session, today, reminder_days, limit)
    return ExpiryReport(expired=expired, reminded=reminded, assignments_ended=ended,
                        suspended=suspended, deactivation_notices=notices)


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
def _expire_past_grants(session: Session, today: date, limit: int | None) -> tuple[int, int]:
    ids = _claim(session, select(Grant.id).where(Grant.state == "active", Grant.valid_until < today)
                 .order_by(Grant.valid_until, Grant.id), limit)
    notices = 0
    grants = _load(session, Grant, ids, Grant.valid_until)
    for grant in grants:
        grant.state = "expired"
        audit.record(session, "Grant.expire", obj=grant, before={"state": "active"},
                     after={"state": "expired", "valid_until": grant.valid_until.isoformat()})
        _mail_holder(session, grant, *_expired_message(grant))
        if deactivation.open_notice(session, grant, REASON_EXPIRED) is not None:
            notices += 1
    session.flush()
    return len(grants), notices


# -- (b) reminders -------------------------------------------------------------------------------
def _remind_expiring_grants(session: Session, today: date, reminder_days: int, limit: int | None) -> int:
    last_day = today + timedelta(days=max(reminder_days, 0))
    ids = _claim(session, select(Grant.id).where(
        Grant.state == "active", Grant.reminded_on.is_(None),
        Grant.valid_until >= today, Grant.valid_until <= last_day,
    ).order_by(Grant.valid_until, Grant.id), limit)
    grants = _load(session, Grant, ids, Grant.valid_until)
    for grant in grants:
        # Marked even when the holder has no address: the reminder is due once, not every hour.
        grant.reminded_on = today
        _mail_holder(session, grant, *_reminder_message(grant, today))
    session.flush()
    return len(grants)


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


def _holder_email(officer: Officer) -> str | None:
    return officer.email or (officer.user.email if officer.user else None)


def _mail_holder(session: Session, grant: Grant, subject: str, body: str) -> None:
    officer = grant.officer
    notifications.queue(session, recipient_email=_holder_email(officer), recipient_user_id=officer.user_id,
                        subject=subject, body=body)


def _reminder_message(grant: Grant, today: date) -> tuple[str, str]:
    thai, english = _names(grant)
    until = grant.valid_until
    days = (until - today).days
    subject = (f"[Sitthi] สิทธิ์ {thai} จะหมดอายุ {thai_date(until)} / "
               f"{english} expires on {until.isoformat()}")
    body = (
        f"เรียน {grant.officer}\n"
        f"สิทธิ์ {thai} ของท่านจะหมดอายุในวันที่ {thai_date(until, 'long')} (อีก {days} วัน)\n"
        f"หากยังต้องใช้งาน กดปุ่ม \"ต่ออายุ\" ที่รายการสิทธิ์ของท่าน แล้วระบุหัวหน้าหน่วยผู้รับรองและส่งคำขอ:\n"
        f"{MY_GRANTS_LINK}\n\n"
        f"Your permission {english} expires on {until.isoformat()} ({days} days left).\n"
        f"To keep it, press \"Renew\" in your list of permissions, name the certifying head and submit:\n"
        f"{MY_GRANTS_LINK}\n"
    )
    return subject, body


def _expired_message(grant: Grant) -> tuple[str, str]:
    thai, english = _names(grant)
    until = grant.valid_until
    subject = f"[Sitthi] สิทธิ์ {thai} หมดอายุแล้ว / {english} has expired"
    body = (
        f"เรียน {grant.officer}\n"
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
