"""Data-change requests: an officer asks the personnel staff of their command to correct their record.

`ask` opens a DataChangeRequest for the Personnel of the officer's command (the command of the home
unit: its personnel staff keep the record) and mails them. A rights review's fix-data decision
opens one the same way (`open_for_review`). `resolve` is Personnel's answer: done, after they
corrected the record on the officer screen (Sitthi does not apply the value itself: the record
follows POLIS and the officer screen's own checks), or refused with a reason. The officer is
mailed and sees the state on their personnel record page. Everything is audited; nothing here
commits.
"""
from sqlalchemy import and_
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.domain import inputs
from app.domain.inputs import TEXT_LIMIT
from app.errors import N_, NotAllowed, NotFound, StaleRecord, ValidationFailed
from app.models import DATA_CHANGE_FIELDS, DataChangeRequest, Officer
from app.security.scope import PERSONNEL, Actor, command_of, command_staff, is_visible
from app.services import audit, notifications
from app.services.clock import Clock
from app.services.conflicts import conflicts_are_stale

MSG_NO_RECORD = N_("This login is not linked to an officer record: there is no personnel record to correct.")
MSG_NO_COMMAND = N_("Your unit belongs to no command, so no personnel staff can receive this request. "
                    "Ask your administrator.")
MSG_FIELD = N_("Choose what is wrong in the record.")
MSG_VALUE_REQUIRED = N_("Enter the correct value.")
MSG_REASON_REQUIRED = N_("Say why the record is wrong (for example the order that changed it).")
MSG_TOO_LONG = N_("Keep this under %(limit)s characters.")
MSG_NOT_FOUND = N_("No such data-change request, or not one you may see.")
MSG_NOT_PERSONNEL = N_("Only the personnel staff of the officer's command handle this request.")
MSG_OWN = N_("Another member of the personnel staff must handle a request about your own record.")
MSG_HANDLED = N_("This request was already handled.")
MSG_OUTCOME = N_("Choose whether the record was corrected or the request is refused.")
MSG_REFUSAL_REASON = N_("Give the reason for refusing.")
MSG_STALE = N_("Someone changed this request after you opened it. Nothing was saved: reload the page and try again.")

OUTCOMES = ("done", "refused")
MY_RECORD_LINK = f"{notifications.APP_URL_MARK}/myrecord/"
# The names of app.labels.DATA_CHANGE_FIELD, for mail read in both languages.
FIELD_NAMES = {
    "rank": ("ยศ", "rank"), "name": ("ชื่อ-สกุล", "name"), "position": ("ตำแหน่ง", "position"),
    "position_level": ("ระดับตำแหน่ง", "position level"), "duty_line": ("สายงาน", "duty line"),
    "home_unit": ("หน่วยต้นสังกัด", "home unit"), "status": ("สถานภาพ", "status"), "other": ("อื่น ๆ", "other"),
}


def _text(value: str | None, required_message: str | None) -> str | None:
    text = (value or "").strip()
    if required_message and not text:
        raise ValidationFailed(required_message)
    if len(text) > TEXT_LIMIT:
        raise ValidationFailed(MSG_TOO_LONG, limit=TEXT_LIMIT)
    return text or None


def ask(session: Session, actor: Actor, field: str, requested_value: str, reason: str,
        clock: Clock) -> DataChangeRequest:
    """The officer behind `actor` asks Personnel of their command to correct `field`."""
    if actor.officer_id is None:
        raise NotAllowed(MSG_NO_RECORD)
    if field not in DATA_CHANGE_FIELDS:
        raise ValidationFailed(MSG_FIELD)
    value = _text(requested_value, MSG_VALUE_REQUIRED)
    why = _text(reason, MSG_REASON_REQUIRED)
    officer = session.get(Officer, actor.officer_id)
    return _open(session, officer, field, value, why, created_by_id=actor.user_id)


def open_for_review(session: Session, officer: Officer, what: str, *, campaign_name: str,
                    reviewer_user_id: int | None) -> DataChangeRequest:
    """A reviewer signed off "fix personnel data" on a grant of `officer`: Personnel get it too."""
    reason = f"การตรวจสอบสิทธิ์ / rights review: {campaign_name}"
    return _open(session, officer, "other", what, reason, created_by_id=reviewer_user_id)


def _open(session: Session, officer: Officer, field: str, value: str, reason: str | None, *,
          created_by_id: int | None) -> DataChangeRequest:
    command_id = command_of(session, officer.home_unit_id)
    if command_id is None:
        raise ValidationFailed(MSG_NO_COMMAND)
    change = DataChangeRequest(officer=officer, field=field, requested_value=value, reason=reason,
                               command_id=command_id, state="open", created_by_id=created_by_id)
    session.add(change)
    session.flush()
    audit.record(session, "DataChangeRequest.create", actor_id=created_by_id, obj=change,
                 after=audit.snapshot(change))
    _mail_personnel(session, change)
    return change


@conflicts_are_stale(MSG_STALE)
def resolve(session: Session, actor: Actor, request_id, outcome: str, note: str | None, clock: Clock,
            expected_version=None) -> DataChangeRequest:
    """Personnel of the request's command answer it: "done" (the record is corrected) or "refused"."""
    change = load_for_personnel(session, actor, request_id)
    expected = inputs.expected_version(expected_version)
    if expected is not None and change.version != expected:
        raise StaleRecord(MSG_STALE)
    if change.state != "open":
        raise ValidationFailed(MSG_HANDLED)
    if outcome not in OUTCOMES:
        raise ValidationFailed(MSG_OUTCOME)
    text = _text(note, MSG_REFUSAL_REASON if outcome == "refused" else None)
    change.state, change.resolution = outcome, text
    change.handled_by_id, change.handled_at = actor.user_id, clock.now
    before, after = audit.changes(change)
    try:
        session.flush()
    except StaleDataError as error:
        raise StaleRecord(MSG_STALE) from error
    audit.record(session, f"DataChangeRequest.{outcome}", actor_id=actor.user_id, obj=change,
                 before=before, after=after)
    _mail_officer(session, change)
    return change


def may_handle(actor: Actor, change: DataChangeRequest) -> bool:
    return (actor.has_role(PERSONNEL) and actor.command_id is not None
            and change.command_id == actor.command_id and change.officer_id != actor.officer_id)


def load_for_personnel(session: Session, actor: Actor, request_id) -> DataChangeRequest:
    """A request the actor may answer: seen through the row scope, of their command, not their own."""
    pk = inputs.as_id(request_id)
    if pk is None or not is_visible(session, actor, DataChangeRequest, pk):
        raise NotFound(MSG_NOT_FOUND)
    change = session.get(DataChangeRequest, pk)
    if not actor.has_role(PERSONNEL) or actor.command_id is None or change.command_id != actor.command_id:
        raise NotAllowed(MSG_NOT_PERSONNEL)
    if change.officer_id == actor.officer_id:
        raise NotAllowed(MSG_OWN)
    return change


def to_handle(actor: Actor):
    """What waits for the personnel staff of the actor's command (None: nothing can)."""
    if not actor.has_role(PERSONNEL) or actor.command_id is None:
        return None
    condition = and_(DataChangeRequest.state == "open", DataChangeRequest.command_id == actor.command_id)
    if actor.officer_id is not None:
        condition = and_(condition, DataChangeRequest.officer_id != actor.officer_id)
    return condition


# -- mail -----------------------------------------------------------------------------------------
def _mail_personnel(session: Session, change: DataChangeRequest) -> None:
    thai, english = FIELD_NAMES[change.field]
    officer = change.officer
    link = f"{notifications.APP_URL_MARK}/datachangerequestview/show/{change.id}"
    subject = f"[Sitthi] ขอแก้ไขข้อมูลกำลังพล: {officer} / Personnel data correction asked"
    body = (f"{officer} ขอแก้ไข{thai}ในข้อมูลกำลังพลเป็น: {change.requested_value}\n"
            f"เหตุผล: {change.reason or '-'}\n{link}\n\n"
            f"{officer} asks to correct the {english} in their personnel record to: {change.requested_value}\n"
            f"Reason: {change.reason or '-'}\n{link}\n")
    for user in command_staff(session, PERSONNEL, [change.command_id]):
        if user.id != officer.user_id:
            notifications.queue(session, recipient_email=user.email, recipient_user_id=user.id,
                                subject=subject, body=body)


def _mail_officer(session: Session, change: DataChangeRequest) -> None:
    officer = change.officer
    thai, english = FIELD_NAMES[change.field]
    done = change.state == "done"
    subject = ("[Sitthi] แก้ไขข้อมูลกำลังพลแล้ว / Your personnel record was corrected" if done else
               "[Sitthi] คำขอแก้ไขข้อมูลกำลังพลไม่ได้รับการแก้ไข / Your data-change request was refused")
    body = (f"คำขอแก้ไข{thai}: {change.requested_value}\n"
            f"{'แก้ไขแล้ว' if done else 'ไม่แก้ไข'}: {change.resolution or '-'}\n{MY_RECORD_LINK}\n\n"
            f"Your request to correct the {english} ({change.requested_value}) was "
            f"{'done' if done else 'refused'}: {change.resolution or '-'}\n{MY_RECORD_LINK}\n")
    notifications.queue(session, recipient_email=officer.email or (officer.user.email if officer.user else None),
                        recipient_user_id=officer.user_id, subject=subject, body=body)
