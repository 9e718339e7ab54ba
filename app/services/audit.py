"""The audit trail: one AuditEvent per change, added to the caller's transaction.

Nothing here commits: the event is saved or lost together with the change it describes.
"""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import insert, inspect
from sqlalchemy.orm import Session

from app.models import AuditEvent, audit_event_officer
from app.services import audit_chain  # noqa: F401  (seals what each transaction wrote)

# Where the request a change came in on was sent from, as the web layer puts it on the session
# (app.read_trail.register): every event of that request carries it without each service asking.
REMOTE_ADDR = "sitthi.remote_addr"

# Never copied into the trail: secrets, file bodies, and bookkeeping columns.
NOT_RECORDED = {"password", "content", "version", "created_at", "updated_at", "changed_on", "created_on",
                "chain_seq", "prev_hash", "row_hash"}


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def snapshot(obj) -> dict:
    """Every recorded column of a row, as JSON-safe values."""
    state = inspect(obj)
    return {
        attr.key: _plain(attr.value)
        for attr in state.attrs
        if attr.key in state.mapper.columns and attr.key not in NOT_RECORDED
    }


def changes(obj) -> tuple[dict, dict]:
    """(before, after) of the columns changed on a loaded row since it was read."""
    state = inspect(obj)
    before, after = {}, {}
    for attr in state.attrs:
        if attr.key not in state.mapper.columns or attr.key in NOT_RECORDED:
            continue
        history = attr.load_history()
        if history.has_changes():
            before[attr.key] = _plain(history.deleted[0]) if history.deleted else None
            after[attr.key] = _plain(history.added[0]) if history.added else None
    return before, after


def unit_of(obj) -> int | None:
    """The unit an event concerns, so each command can read the trail of its own subtree."""
    for name in ("unit_id", "home_unit_id"):
        value = getattr(obj, name, None)
        if value is not None:
            return value
    officer = getattr(obj, "officer", None) or getattr(obj, "requester", None)
    return getattr(officer, "home_unit_id", None)


def record_login(security_manager, *, action: str, user, remote_addr: str | None) -> None:
    """A login, failed login or logout (app.security.manager.login_event), in the manager's session."""
    if user is None:  # a failed login under a username no account has
        record(security_manager.session, action, summary="(unknown username)", remote_addr=remote_addr)
        return
    record(security_manager.session, action, actor_id=user.id, object_type="User", object_id=user.id,
           summary=user.username, remote_addr=remote_addr)


def record(
    session: Session,
    action: str,
    *,
    actor_id: int | None = None,
    on_behalf_of_id: int | None = None,
    obj=None,
    object_type: str | None = None,
    object_id: int | None = None,
    unit_id: int | None = None,
    summary: str | None = None,
    before: dict | None = None,
    after: dict | None = None,
    remote_addr: str | None = None,
    job_run_id: int | None = None,
    purpose: str | None = None,
) -> AuditEvent:
    if obj is not None:
        object_type = object_type or type(obj).__name__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
        unit_id = unit_id if unit_id is not None else unit_of(obj)
        summary = summary or str(obj)
    remote_addr = remote_addr or session.info.get(REMOTE_ADDR)
    event = AuditEvent(
        action=action, actor_id=actor_id, on_behalf_of_id=on_behalf_of_id,
        object_type=object_type, object_id=object_id, unit_id=unit_id,
        summary=(summary or "")[:1000] or None, before=before or None, after=after or None,
        remote_addr=remote_addr, job_run_id=job_run_id, purpose=(purpose or "")[:200] or None,
    )
    session.add(event)
    return event


# What a read is called in the trail: a record shown (screen or API), a document printed, a file
# downloaded, a list written to a file.
READ_ACTIONS = ("read", "print", "download", "export")
# A purpose as stored: language-free, shown in the reader's language by the audit screen.
REQUEST_PURPOSE = "request:"


def handling(request) -> str:
    """The purpose of reading a request's personal data on its pages: to handle that request."""
    return f"{REQUEST_PURPOSE}{request.number or request.id}"


def record_read(
    session: Session,
    action: str,
    *,
    officer_ids,
    actor_id: int | None,
    reader_officer_id: int | None = None,
    **event,
) -> AuditEvent | None:
    """A read of officers' personal data (OIA B.E. 2540, PDPA): who read it, what, when, from
    where, and whose data it was, so the trail can answer "who looked at this officer".

    Reading one's own record on a screen is not recorded: nobody audits an officer for looking at
    themself. Every export is recorded, with whoever's data it holds but the reader's own.
    """
    assert action in READ_ACTIONS, action
    officers = {int(i) for i in officer_ids if i is not None}
    if action != "export" and reader_officer_id is not None and officers == {reader_officer_id}:
        return None
    officers.discard(reader_officer_id)
    read = record(session, action, actor_id=actor_id, **event)
    session.flush()
    if officers:
        session.execute(insert(audit_event_officer),
                        [{"event_id": read.id, "officer_id": officer_id} for officer_id in sorted(officers)])
    return read
