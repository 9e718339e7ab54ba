"""The outbox worker: `flask sitthi send-notifications` against a real SMTP server (aiosmtpd).

The database is shared by the whole run, so every row made here carries a unique subject, the
assertions look only at those rows, and the rows are deleted afterwards. Service-level cases run
at a `now` in the year 2000 so that only their own (back-dated) rows are due.
"""
import email
import re
import signal
import socket
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import delete

from app import cli
from app.models import Notification
from app.services.notifications import (
    ERROR_TEXT_LIMIT,
    backoff_delay,
    deliver_due,
    queue,
    requeue_failed,
)
from tests.conftest import POSTGRES_ADMIN_URL, TEST_NOW

THAI_SUBJECT = "แจ้งผลคำขอสิทธิ์เข้าถึงข้อมูล: อนุมัติแล้ว"
THAI_BODY = "เรียน ร.ต.อ. สมชาย ใจดี\n\nคำขอสิทธิ์ของท่านได้รับการอนุมัติแล้ว ใช้ได้ถึง ๓๑ มีนาคม ๒๕๖๙\n"
REPORT = re.compile(r"^sent \d+, retry later \d+, failed \d+$", re.MULTILINE)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


class Sink:
    """aiosmtpd handler: keeps every message it accepts; refuses recipients named reject*@."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def with_subject(self, subject: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["Subject"] == subject]

    def envelopes_with_subject(self, subject: str) -> list:
        return [e for e, m in zip(self.envelopes, self.messages, strict=True) if m["Subject"] == subject]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture()
def point_mail(app, monkeypatch):
    """point_mail(port): the app's MAIL_* settings aim at 127.0.0.1:port until the test ends."""

    def _point(port: int) -> None:
        for key, value in {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_USE_TLS": False,
                           "MAIL_USE_SSL": False, "MAIL_USERNAME": None, "MAIL_PASSWORD": None,
                           "MAIL_DEFAULT_SENDER": "Sitthi <sitthi@sitthi.example>"}.items():
            monkeypatch.setitem(app.config, key, value)

    return _point


@pytest.fixture()
def sink(point_mail):
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    point_mail(controller.port)
    handler.port = controller.port
    yield handler
    controller.stop()


@pytest.fixture()
def mail_down(point_mail):
    """Nothing listens on the port the app now sends to: every connection is refused."""
    point_mail(free_port())


@pytest.fixture()
def outbox(db_session):
    """outbox.add(**fields) -> a committed Notification with a unique subject, deleted afterwards."""

    class Outbox:
        ids: list[int] = []

        def add(self, subject: str = THAI_SUBJECT, **fields) -> Notification:
            values = dict(recipient_email="officer@sitthi.example", body=THAI_BODY, state="queued",
                          attempts=0, subject=f"{subject} [{uuid.uuid4().hex[:8]}]")
            values.update(fields)
            message = Notification(**values)
            db_session.add(message)
            db_session.commit()
            self.ids.append(message.id)
            return message

        def track(self, message: Notification) -> Notification:
            self.ids.append(message.id)
            return message

    box = Outbox()
    box.ids = []
    yield box
    db_session.rollback()
    db_session.execute(delete(Notification).where(Notification.id.in_(box.ids)))
    db_session.commit()


def reload(session, message: Notification) -> Notification:
    session.expire_all()
    return session.get(Notification, message.id)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive UTC; PostgreSQL an aware datetime."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


_STOPS = iter(range(1, 10_000))


@pytest.fixture()
def stopped_clock(frozen_clock):
    """The suite's clock stopped for one test at a known instant, so a delivery's times are compared
    exactly; each stop lies later than the last (an hour past the run's start, a minute apart), so
    time never runs backwards for the tests after."""
    instant = TEST_NOW + timedelta(hours=1, minutes=next(_STOPS))
    frozen_clock.move_to(instant, tick=False)
    yield instant.astimezone(UTC)
    frozen_clock.move_to(instant, tick=True)


def send_notifications(app, *options: str):
    result = app.test_cli_runner().invoke(args=["sitthi", "send-notifications", *options])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


# --- through the CLI, against the SMTP sink -------------------------------------------------

def test_a_queued_thai_message_is_delivered(app, db_session, sink, outbox):
    subject = f"{THAI_SUBJECT} [{uuid.uuid4().hex[:8]}]"
    message = outbox.track(queue(db_session, recipient_email=" officer@sitthi.example ",
                                 subject=subject, body=THAI_BODY))
    db_session.commit()

    result = send_notifications(app)

    assert result.exit_code == 0, result.output
    assert REPORT.search(result.output), result.output
    [received] = sink.with_subject(subject)  # the encoded-word header decodes back to the Thai text
    assert received.get_content().replace("\r\n", "\n") == THAI_BODY  # CRLF on the wire
    assert received["To"] == "officer@sitthi.example"
    assert received["From"] == "Sitthi <sitthi@sitthi.example>"
    assert received["Auto-Submitted"] == "auto-generated"
    assert received["Message-ID"].startswith(f"<sitthi.notification.{message.id}.")
    assert received.get_content_charset() == "utf-8"
    [envelope] = sink.envelopes_with_subject(subject)
    assert "BODY=8BITMIME" in envelope.mail_options  # the 8-bit UTF-8 body is declared as such
    assert envelope.rcpt_tos == ["officer@sitthi.example"]
    row = reload(db_session, message)
    assert (row.state, row.attempts, row.last_error) == ("sent", 1, None)
    assert row.sent_at is not None


def test_smtp_down_keeps_the_message_queued_with_backoff(app, db_session, mail_down, outbox, stopped_clock):
    message = outbox.add(next_attempt_at=stopped_clock)

    result = send_notifications(app)

    assert result.exit_code == 0, result.output
    assert REPORT.search(result.output), result.output
    row = reload(db_session, message)
    assert (row.state, row.attempts, row.sent_at) == ("queued", 1, None)
    assert row.last_error and "Connection" in row.last_error
    # First retry after the base delay of 60 seconds.
    assert as_utc(row.next_attempt_at) == stopped_clock + timedelta(seconds=60)


def test_after_max_attempts_it_fails_until_retry_failed_requeues_it(app, db_session, point_mail, outbox):
    message = outbox.add(attempts=7)  # the eighth attempt is the last one
    point_mail(free_port())

    result = send_notifications(app)

    assert result.exit_code == 0, result.output
    row = reload(db_session, message)
    assert (row.state, row.attempts) == ("failed", 8)
    assert row.last_error

    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        point_mail(controller.port)
        send_notifications(app)  # a failed message is kept but not sent on its own
        assert reload(db_session, message).state == "failed"
        assert handler.with_subject(message.subject) == []

        result = send_notifications(app, "--retry-failed")

        assert result.exit_code == 0, result.output
        assert re.search(r"^requeued [1-9]\d* failed$", result.output, re.MULTILINE), result.output
        assert len(handler.with_subject(row.subject)) == 1
        row = reload(db_session, message)
        assert (row.state, row.attempts) == ("sent", 1)
    finally:
        controller.stop()


def test_a_message_not_yet_due_is_not_sent(app, db_session, sink, outbox, stopped_clock):
    later = outbox.add(next_attempt_at=stopped_clock + timedelta(seconds=1))

    result = send_notifications(app)

    assert result.exit_code == 0, result.output
    assert sink.with_subject(later.subject) == []
    row = reload(db_session, later)
    assert (row.state, row.attempts) == ("queued", 0)


def test_nothing_is_sent_twice_across_runs(app, db_session, sink, outbox):
    first, second = outbox.add(), outbox.add(subject="แจ้งเตือนสิทธิ์ใกล้หมดอายุ")

    send_notifications(app)
    send_notifications(app)

    assert len(sink.with_subject(first.subject)) == 1
    assert len(sink.with_subject(second.subject)) == 1
    assert [reload(db_session, m).state for m in (first, second)] == ["sent", "sent"]


def test_a_refused_recipient_is_retried_and_the_batch_goes_on(app, db_session, sink, outbox, stopped_clock):
    now = stopped_clock
    refused = outbox.add(recipient_email="reject@sitthi.example", next_attempt_at=now - timedelta(minutes=2))
    fine = outbox.add(next_attempt_at=now - timedelta(minutes=1))

    result = send_notifications(app)

    assert result.exit_code == 0, result.output
    row = reload(db_session, refused)
    assert (row.state, row.attempts) == ("queued", 1)
    assert "550" in row.last_error
    assert len(sink.with_subject(fine.subject)) == 1  # sent on a fresh connection after the refusal
    assert reload(db_session, fine).state == "sent"


def test_loop_keeps_running_until_sigterm(app, db_session, sink, outbox, monkeypatch):
    message = outbox.add()
    naps: list[float] = []
    original_sleep = cli._StopOnSignal.sleep

    def sleep_then_terminate(self, seconds):
        naps.append(seconds)
        if len(naps) > 3:
            raise RuntimeError("the worker ignored SIGTERM")
        signal.raise_signal(signal.SIGTERM)  # what systemd sends on stop
        original_sleep(self, seconds)

    def ignore(number, frame):  # a safety net, should the worker not install its own handler
        pass

    monkeypatch.setattr(cli._StopOnSignal, "sleep", sleep_then_terminate)
    previous = signal.signal(signal.SIGTERM, ignore)
    try:
        result = send_notifications(app, "--loop", "--interval", "7")
        assert signal.getsignal(signal.SIGTERM) is ignore  # the worker put the old handler back
    finally:
        signal.signal(signal.SIGTERM, previous)

    assert result.exit_code == 0, result.output
    assert naps == [7.0]
    assert len(sink.with_subject(message.subject)) == 1


# --- the service alone, with a fake transport -------------------------------------------------

class FakeTransport:
    def __init__(self, fail_with: Exception | None = None) -> None:
        self.fail_with = fail_with
        self.sent: list[str] = []

    def __call__(self, message: Notification) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(message.subject)


def test_backoff_doubles_from_the_base_delay_up_to_six_hours():
    assert [backoff_delay(n, 60).total_seconds() for n in range(1, 6)] == [60, 120, 240, 480, 960]
    assert backoff_delay(9, 60) == timedelta(seconds=60 * 2**8)
    assert backoff_delay(10, 60) == timedelta(hours=6)  # 60 x 2**9 would be 8.5 hours
    assert backoff_delay(10_000, 60) == timedelta(hours=6)


def test_failures_back_off_then_fail_and_are_kept(db_session, outbox):
    message = outbox.add(next_attempt_at=LONG_AGO - timedelta(days=1))
    transport = FakeTransport(OSError("x" * 5000))
    now = LONG_AGO
    waits = []
    for _ in range(3):
        report = deliver_due(db_session, transport, now, max_attempts=4, base_delay_seconds=10)
        assert (report.sent, report.retrying, report.failed) == (0, 1, 0)
        row = reload(db_session, message)
        waits.append((as_utc(row.next_attempt_at) - now).total_seconds())
        assert len(row.last_error) == ERROR_TEXT_LIMIT
        now = as_utc(row.next_attempt_at)
    assert waits == [10, 20, 40]

    assert deliver_due(db_session, transport, now - timedelta(seconds=1), max_attempts=4).total == 0  # not due
    report = deliver_due(db_session, transport, now, max_attempts=4, base_delay_seconds=10)

    assert str(report) == "sent 0, retry later 0, failed 1"
    row = reload(db_session, message)
    assert (row.state, row.attempts) == ("failed", 4)
    assert deliver_due(db_session, transport, now + timedelta(days=1)).total == 0  # kept, not retried

    assert requeue_failed(db_session, LONG_AGO) >= 1
    db_session.commit()
    row = reload(db_session, message)
    assert (row.state, row.attempts) == ("queued", 0)
    report = deliver_due(db_session, FakeTransport(), LONG_AGO)
    assert report.sent == 1
    assert reload(db_session, message).state == "sent"


def test_oldest_due_first_and_one_batch_at_a_time(db_session, outbox):
    rows = [outbox.add(next_attempt_at=LONG_AGO - timedelta(minutes=m)) for m in (1, 3, 2)]
    transport = FakeTransport()

    first = deliver_due(db_session, transport, LONG_AGO, batch_size=2)
    second = deliver_due(db_session, transport, LONG_AGO, batch_size=2)

    assert (first.sent, second.sent) == (2, 1)
    assert transport.sent == [rows[1].subject, rows[2].subject, rows[0].subject]
    assert deliver_due(db_session, transport, LONG_AGO).total == 0


def test_a_zero_delay_retry_is_not_repeated_within_one_call(db_session, outbox):
    message = outbox.add(next_attempt_at=LONG_AGO - timedelta(days=1))

    report = deliver_due(db_session, FakeTransport(RuntimeError("boom")), LONG_AGO, base_delay_seconds=0)

    assert (report.retrying, reload(db_session, message).attempts) == (1, 1)


@pytest.mark.skipif(not POSTGRES_ADMIN_URL, reason="SKIP LOCKED needs PostgreSQL (SITTHI_TEST_POSTGRES)")
def test_two_workers_never_send_the_same_message(app, db_session, outbox):
    from sqlalchemy.orm import Session

    from app.extensions import db

    rows = [outbox.add(next_attempt_at=LONG_AGO - timedelta(minutes=1)) for _ in range(12)]
    sent: list[str] = []
    lock = threading.Lock()

    def slow_send(message: Notification) -> None:
        time.sleep(0.05)  # hold the row lock while "talking to the mail server"
        with lock:
            sent.append(message.subject)

    engine = db.engine  # threads have no app context of their own

    def worker() -> None:
        with Session(engine) as session:
            deliver_due(session, slow_send, LONG_AGO)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(sent) == sorted(row.subject for row in rows)
    assert {reload(db_session, row).state for row in rows} == {"sent"}


def test_links_in_mail_point_to_the_public_address(app):
    from app.cli import SmtpSender
    from app.models import Notification

    message = Notification(recipient_email="x@police.example", subject="s",
                           body="เปิดคำขอ: {app_url}/requests/show/7")
    with app.app_context():
        built = SmtpSender({**app.config, "PUBLIC_URL": "https://sitthi.police.go.th/"}).build_message(message)
    assert built.body.endswith("https://sitthi.police.go.th/requests/show/7")
