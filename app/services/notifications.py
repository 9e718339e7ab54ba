"""The mail outbox: a message is queued in the same transaction as the change it tells about.

Nothing here talks to a mail server: `flask sitthi send-notifications` delivers what is queued
through `deliver_due` with an SMTP transport, so a slow or broken mail server never holds up a
decision and a message is never lost with a rollback.
"""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.models import Notification

# Links in a message are completed when it is delivered, with the address the app is served at
# then (PUBLIC_URL), so a message queued before a move still points to the right place.
APP_URL_MARK = "{app_url}"


def with_app_url(body: str, public_url: str) -> str:
    return body.replace(APP_URL_MARK, (public_url or "").rstrip("/"))


def queue(
    session: Session,
    *,
    recipient_email: str | None,
    subject: str,
    body: str,
    recipient_user_id: int | None = None,
    request_id: int | None = None,
) -> Notification | None:
    """Add one message to the outbox; a recipient without an address gets nothing."""
    if not recipient_email:
        return None
    message = Notification(
        recipient_email=recipient_email.strip(),
        recipient_user_id=recipient_user_id,
        subject=subject[:300],
        body=body,
        request_id=request_id,
        state="queued",
        attempts=0,
    )
    session.add(message)
    return message


# --- In the app --------------------------------------------------------------------------------
# The same messages, read in the app: the bell counts a user's unread ones, opening one reads it.
# Every function takes the user: nobody reads or marks another's notifications.

def unread_count(session: Session, user_id: int) -> int:
    return session.scalar(select(func.count(Notification.id)).where(Notification.unread_of(user_id))) or 0


def mark_read(session: Session, user_id: int, at: datetime, ids: tuple[int, ...] | None = None) -> int:
    """Mark the user's unread notifications read (only `ids` when given); how many were."""
    statement = update(Notification).where(Notification.recipient_user_id == user_id,
                                           Notification.read_at.is_(None))
    if ids is not None:
        statement = statement.where(Notification.id.in_(ids))
    return session.execute(statement.values(read_at=at).execution_options(synchronize_session=False)).rowcount


# --- Delivery -------------------------------------------------------------------------------
# The worker side of the outbox. It knows nothing of SMTP or Flask: `send` is any callable that
# delivers one message and raises when it could not. Each message is claimed, sent and recorded in
# its own transaction, so a crash loses at most the message in hand, which stays queued and goes
# out again on the next run (at-least-once: a crash between the server's "250 OK" and the commit
# sends that one message twice; the stable Message-ID lets mail clients fold the copies).

ERROR_TEXT_LIMIT = 1000
MAX_BACKOFF_SECONDS = 6 * 60 * 60


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    retrying: int = 0  # failed this time, queued again for later
    failed: int = 0  # failed for the last allowed time: state "failed"

    @property
    def total(self) -> int:
        return self.sent + self.retrying + self.failed

    def __str__(self) -> str:
        return f"sent {self.sent}, retry later {self.retrying}, failed {self.failed}"


def backoff_delay(attempts: int, base_delay_seconds: float, cap_seconds: float = MAX_BACKOFF_SECONDS) -> timedelta:
    """Wait after the `attempts`-th failure: base, 2 x base, 4 x base ... never more than the cap."""
    exponent = max(attempts - 1, 0)
    # Compare before multiplying so a huge attempt count cannot overflow timedelta.
    if exponent >= 64 or base_delay_seconds * 2**exponent > cap_seconds:
        return timedelta(seconds=cap_seconds)
    return timedelta(seconds=base_delay_seconds * 2**exponent)


def deliver_due(
    session: Session,
    send: Callable[[Notification], None],
    now: datetime,
    *,
    batch_size: int = 100,
    max_attempts: int = 8,
    base_delay_seconds: float = 60,
    max_delay_seconds: float = MAX_BACKOFF_SECONDS,
) -> DeliveryReport:
    """Send up to `batch_size` queued messages that are due at `now`, longest-waiting first.

    Commits after every message. A failure is recorded (attempts, error text, next attempt after an
    exponential backoff) and never raised; after `max_attempts` the message becomes "failed" and is
    kept for `requeue_failed`. On PostgreSQL each row is claimed with FOR UPDATE SKIP LOCKED, so
    several workers can run at once without sending a message twice (SQLite ignores the clause and
    serialises writers anyway).
    """
    now = _as_utc(now)
    sent = retrying = failed = 0
    tried: list[int] = []  # never pick the same row twice in one call, whatever the delay
    while len(tried) < batch_size:
        query = (
            select(Notification)
            .where(Notification.state == "queued", Notification.next_attempt_at <= now)
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        if tried:
            query = query.where(Notification.id.not_in(tried))
        message = session.scalars(query).first()
        if message is None:
            session.commit()  # end the read transaction: no worker sits idle inside one
            break
        tried.append(message.id)
        message.attempts = (message.attempts or 0) + 1
        try:
            send(message)
        except Exception as error:  # any transport error is recorded, never raised
            message.last_error = _error_text(error)
            if message.attempts >= max_attempts:
                message.state = "failed"
                failed += 1
            else:
                message.next_attempt_at = now + backoff_delay(
                    message.attempts, base_delay_seconds, max_delay_seconds
                )
                retrying += 1
        else:
            message.state = "sent"
            message.sent_at = now
            sent += 1
        session.commit()
    return DeliveryReport(sent=sent, retrying=retrying, failed=failed)


def requeue_failed(session: Session, now: datetime) -> int:
    """Put every failed message back in the queue, due at once with its attempts reset.

    The last error text is kept. Flushes; the caller commits.
    """
    result = session.execute(
        update(Notification)
        .where(Notification.state == "failed")
        .values(state="queued", attempts=0, next_attempt_at=_as_utc(now))
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount or 0


def _as_utc(moment: datetime) -> datetime:
    """Times are stored in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _error_text(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}".strip()
    if len(text) > ERROR_TEXT_LIMIT:
        text = text[: ERROR_TEXT_LIMIT - 1] + "…"
    return text
