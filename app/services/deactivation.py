"""When a right to an agency's data ends, the agency must close the external account too.

Revoking or expiring a grant whose data source the owner agency activated opens a
DeactivationNotice, tracked until CentralIT records the agency's confirmation.
"""
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import N_, NotAllowed, ValidationFailed
from app.models import DeactivationNotice, Grant
from app.security.scope import CENTRAL_IT, Actor
from app.services import audit, notifications

MSG_NOT_CENTRAL_IT = N_("Only the Central IT Center records an agency's deactivation.")
MSG_ALREADY_CONFIRMED = N_("This deactivation was already confirmed.")
MSG_REFERENCE_REQUIRED = N_("Enter the agency's reference for the deactivation.")
MSG_DATE = N_("The deactivation date cannot be in the future.")


def agency_mail(source_th: str, source_en: str, officer_name: str, national_id_full: str,
                agency_reference: str | None, reason: str) -> tuple[str, str]:
    """(subject, body) of the mail asking the agency to close a person's account, in both
    languages: the one text every path that opens a notice sends."""
    reference = agency_reference or "-"
    subject = f"[Sitthi] ขอให้ปิดสิทธิ์ {source_th}: {national_id_full} / Please deactivate"
    body = (f"ขอให้ปิดสิทธิ์การใช้งาน {source_th} ของ {officer_name} "
            f"เลขประจำตัวประชาชน {national_id_full} (อ้างอิงการเปิดใช้ {reference})\n"
            f"เหตุผล: {reason}\n\n"
            f"Please deactivate {source_en} for national ID {national_id_full} "
            f"(activation reference {reference}). Reason: {reason}\n")
    return subject, body


def announce(session: Session, notice: DeactivationNotice, actor_user_id: int | None, *,
             job_run_id: int | None = None) -> None:
    """What a flushed notice brings: its audit event and the mail to the agency."""
    grant, agency = notice.grant, notice.agency
    officer = grant.officer
    audit.record(session, "DeactivationNotice.open", actor_id=actor_user_id, obj=notice,
                 unit_id=officer.home_unit_id, after={"grant_id": grant.id, "reason": notice.reason},
                 job_run_id=job_run_id)
    subject, body = agency_mail(grant.data_source.name_th, grant.data_source.name_en, str(officer),
                                officer.national_id_full, grant.agency_reference, notice.reason)
    notifications.queue(session, recipient_email=agency.contact_email, subject=subject, body=body)


def needs_agency_deactivation(grant: Grant) -> bool:
    source = grant.data_source
    return bool(source and source.needs_external_activation and grant.activated_on)


def open_notice(session: Session, grant: Grant, reason: str, actor_user_id: int | None = None, *,
                job_run_id: int | None = None) -> DeactivationNotice | None:
    """Open (once) the notice for a grant that ended; queue the mail to the agency.

    `job_run_id`: the import or scheduled run that ended the grant, kept on the audit event."""
    if not needs_agency_deactivation(grant):
        return None
    existing = session.scalar(select(DeactivationNotice).where(
        DeactivationNotice.grant_id == grant.id, DeactivationNotice.state == "pending"))
    if existing is not None:
        return existing
    agency = grant.data_source.agency
    notice = DeactivationNotice(grant=grant, agency=agency, state="pending", reason=reason)
    session.add(notice)
    session.flush()
    announce(session, notice, actor_user_id, job_run_id=job_run_id)
    return notice


def confirm(session: Session, actor: Actor, notice_id: int, reference: str, on: date | None,
            today: date, now: datetime) -> DeactivationNotice:
    """CentralIT records the agency's confirmation that the external account is closed."""
    if not actor.has_role(CENTRAL_IT):
        raise NotAllowed(MSG_NOT_CENTRAL_IT)
    notice = session.get(DeactivationNotice, notice_id)
    if notice is None:
        raise NotAllowed(MSG_NOT_CENTRAL_IT)
    if notice.state == "confirmed":
        raise ValidationFailed(MSG_ALREADY_CONFIRMED)
    reference = (reference or "").strip()
    if not reference:
        raise ValidationFailed(MSG_REFERENCE_REQUIRED)
    on = on or today
    if on > today:
        raise ValidationFailed(MSG_DATE)
    notice.state, notice.agency_reference, notice.deactivated_on = "confirmed", reference[:100], on
    notice.confirmed_at, notice.confirmed_by_id = now, actor.user_id
    audit.record(session, "DeactivationNotice.confirm", actor_id=actor.user_id, obj=notice,
                 unit_id=notice.grant.officer.home_unit_id,
                 after={"agency_reference": notice.agency_reference, "deactivated_on": on.isoformat()})
    return notice
