"""`flask sitthi ...`: deploy-time and operator commands."""
import signal
import smtplib
import threading
import time
from collections.abc import Mapping

import click
import flask_mail
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.formatting import office_clock
from app.services.notifications import with_app_url

# Rows per transaction of the nightly jobs. Every batch of the personnel rules runs all its
# finders over every grant again (about 8 s at 2,000,000 grants), so the batch is large enough for
# a normal night to fit in one or two; the writes of 5,000 grants commit in about a second.
JOB_BATCH = 5000

sitthi = AppGroup("sitthi", help="Sitthi operations: init, seed-demo, send-notifications, expire-grants, chase-requests, "
                                   "apply-personnel-rules, close-campaigns, import-personnel, import-units, "
                                   "import-usage, worker, create-admin, verify-audit.")


@sitthi.command("init")
def init_command() -> None:
    """Create permissions, sync roles and load reference data. Safe to run on every deploy."""
    from app.services.reference_data import load_reference_data

    appbuilder = current_app.appbuilder
    # FAB hands every new permission to Admin while creating it: the role must exist first.
    appbuilder.sm.ensure_builtin_roles()
    permissions_added, permissions_removed = appbuilder.sm.update_permissions(appbuilder.baseviews, appbuilder.menu)
    held = appbuilder.sm.sync_roles()
    added = load_reference_data(db.session, office_clock().today)
    db.session.commit()
    click.echo(f"permissions: {permissions_added} new, {permissions_removed} no screen declares any more removed")
    for role, count in held.items():
        click.echo(f"role {role}: {count} permissions")
    click.echo("reference data added: " + (", ".join(f"{k}={v}" for k, v in added.items() if v) or "none"))


@sitthi.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Only when the database holds no officer yet.")
def seed_demo_command(if_empty: bool) -> None:
    """Load demo units, ~300 officers, requests and one login per role (password Sitthi@demo1)."""
    from app.models import Officer
    from app.services.demo_data import DEMO_LOGINS, DEMO_PASSWORD, DemoLoader

    if if_empty and db.session.scalar(select(func.count(Officer.id))):
        click.echo("database already holds officers: demo data not loaded")
        return
    added = DemoLoader(db.session, office_clock().today,
                       current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt")).load_all()
    db.session.commit()
    click.echo("demo data added: " + (", ".join(f"{k}={v}" for k, v in added.items()) or "nothing, all present"))
    click.echo(f"demo logins (password {DEMO_PASSWORD}): " + ", ".join(login.username for login in DEMO_LOGINS))


@sitthi.command("send-notifications")
@click.option("--loop", is_flag=True, help="Keep running: deliver, wait --interval seconds, repeat (a worker).")
@click.option("--interval", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Seconds between two passes with --loop.")
@click.option("--retry-failed", is_flag=True,
              help="First put failed messages back in the queue (attempts reset); once, also with --loop.")
def send_notifications_command(loop: bool, interval: float, retry_failed: bool) -> None:
    """Deliver all the queued mail that is due, 100 at a time. An SMTP error is recorded and the
    message retried later (never raised), so every batch moves the queue on and a run ends."""
    from app.services.notifications import deliver_due, requeue_failed

    if retry_failed:
        requeued = requeue_failed(db.session, office_clock().now)
        db.session.commit()
        click.echo(f"requeued {requeued} failed")
    config = current_app.config
    batch_size = 100
    stop = _StopOnSignal() if loop else None
    while True:
        try:
            with SmtpSender(config) as sender:
                report = deliver_due(db.session, sender, office_clock().now, batch_size=batch_size)
        except SQLAlchemyError as error:
            db.session.rollback()
            if not loop:
                raise
            # A worker outlives a database restart: report and try again after the interval.
            click.echo(f"database error, retrying in {interval:g}s: {error}", err=True)
            report = None
        if report is not None and (report.total or not loop):
            click.echo(str(report))
        full_batch = report is not None and report.total >= batch_size  # more is due now
        if stop is not None and stop.requested:
            break
        if not loop:
            if full_batch:
                continue  # a run from cron delivers everything that is due, batch after batch
            break
        if not full_batch:
            stop.sleep(interval)
            if stop.requested:
                break
    if stop is not None:
        stop.restore()


@sitthi.command("renew-shared-figures")
@click.option("--loop", is_flag=True, help="Keep running: renew, wait --interval seconds, repeat (a worker).")
@click.option("--interval", type=click.FloatRange(min=1), default=60.0, show_default=True,
              help="Seconds between two passes with --loop (keep it under half SHARED_FIGURES_STALE_SECONDS).")
def renew_shared_figures_command(loop: bool, interval: float) -> None:
    """Work out again the shared figures (dashboards, rights audit listings) read within
    SHARED_FIGURES_KEEP_WARM_HOURS half way to stale, and each day's at its start, so no reader
    waits for them. Needs the app servers' Redis (CACHE_URL)."""
    from app.shared_figures import keep_warm

    config = current_app.config
    if config.get("CACHE_TYPE") != "RedisCache":
        click.echo("shared figures are kept by each app server process (no CACHE_URL): nothing to renew from here")
        return
    stop = _StopOnSignal() if loop else None
    failed = False
    while True:
        try:
            report = keep_warm(config.get("SHARED_FIGURES_KEEP_WARM_HOURS", 24))
        except Exception as error:  # Redis or the database away: a worker tries again next pass
            if not loop:
                raise
            click.echo(f"renewing failed, retrying in {interval:g}s: {error}", err=True)
            report = None
        finally:
            db.session.remove()
        if report is not None:
            failed = failed or report.failed > 0
            if report.renewed or report.failed or not loop:
                click.echo(str(report))
        if stop is None:
            break
        stop.sleep(interval)
        if stop.requested:
            break
    if stop is not None:
        stop.restore()
    if failed and not loop:
        raise SystemExit(1)


@sitthi.command("verify-audit")
@click.option("--batch-size", type=click.IntRange(min=100), default=5000, show_default=True,
              help="Rows read at a time (the chain is walked in order, never loaded whole).")
def verify_audit_command(batch_size: int) -> None:
    """Recompute the audit trail's hash chain and name the first row that breaks it (exit 1)."""
    from app.services.audit_chain import verify

    verdict = verify(db.session, batch=batch_size)
    db.session.rollback()
    if verdict.broken_id is not None:
        click.echo(f"BROKEN at audit event {verdict.broken_id}: {verdict.reason} "
                   f"({verdict.checked:,} rows before it are intact)")
        raise SystemExit(1)
    if verdict.outside:
        click.echo(f"BROKEN: {verdict.outside:,} audit rows have no place in the chain (written around "
                   f"the app); {verdict.checked:,} chained rows are intact")
        raise SystemExit(1)
    click.echo(f"chain intact: {verdict.checked:,} rows verified")


@sitthi.command("expire-grants")
@click.option("--batch-size", type=click.IntRange(min=1), default=JOB_BATCH, show_default=True,
              help="Rows of each kind changed per transaction.")
@click.option("--today", "on_day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Run as if it were this day (YYYY-MM-DD); default: today in the office's time zone.")
def expire_grants_command(batch_size: int, on_day) -> None:
    """End past assignments, expire past grants, remind holders before expiry (run it hourly).

    Idempotent, and safe to run on several servers at once: on PostgreSQL each batch takes the
    job's advisory lock and claims its rows with FOR UPDATE SKIP LOCKED. Commits after every
    batch; after many changes, ANALYZEs the tables it wrote (PostgreSQL).
    """
    from app.services.expiry import ExpiryReport, run_expiry
    from app.services.imports import analyze

    today = on_day.date() if on_day else office_clock().today
    reminder_days = current_app.config["EXPIRY_REMINDER_DAYS"]
    total = ExpiryReport()
    while True:
        report = run_expiry(db.session, today, reminder_days, limit=batch_size)
        db.session.commit()
        total += report
        if max(report.expired, report.reminded, report.assignments_ended) < batch_size:
            break  # no kind filled its batch: nothing is left (rows another run holds are its own)
    if analyze(db.session, total.total, "permission_grant", "notification", "audit_event", "deactivation_notice"):
        db.session.commit()
    click.echo(f"{today.isoformat()}: {total}")


@sitthi.command("chase-requests")
@click.option("--batch-size", type=click.IntRange(min=1), default=JOB_BATCH, show_default=True,
              help="Requests worked on per transaction.")
@click.option("--today", "on_day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Run as if it were this day (YYYY-MM-DD); default: today in the office's time zone.")
def chase_requests_command(batch_size: int, on_day) -> None:
    """Remind, escalate and return requests that wait too long at a stage, and hand a request
    whose named head can no longer certify to the unit's next head (run it daily, or hourly).

    Idempotent (each rule once per wait), and safe to run on several servers at once: on
    PostgreSQL each batch takes the job's advisory lock and claims its requests with FOR UPDATE
    SKIP LOCKED. Commits after every batch.
    """
    from app.services.chasing import ChaseReport, chase
    from app.services.clock import Clock
    from app.services.imports import analyze

    clock = Clock.on(on_day.date()) if on_day else office_clock()
    total = ChaseReport()
    while True:
        report = chase(db.session, clock, batch_size)
        db.session.commit()
        total += report
        if not report.more:
            break
    if analyze(db.session, total.total, "stage_chase", "decision", "notification", "audit_event"):
        db.session.commit()
    click.echo(f"{clock.today.isoformat()}: {total}")


@sitthi.command("apply-personnel-rules")
@click.option("--batch-size", type=click.IntRange(min=1), default=JOB_BATCH, show_default=True,
              help="Rows each rule changes per transaction.")
@click.option("--today", "on_day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Run as if it were this day (YYYY-MM-DD); default: today in the office's time zone.")
def apply_personnel_rules_command(batch_size: int, on_day) -> None:
    """Bring every officer's rights in line with their record: leavers, movers, flags (run it daily).

    Idempotent, and safe to run on several servers at once: on PostgreSQL each batch takes the
    job's advisory lock and claims its rows with FOR UPDATE SKIP LOCKED. Commits after every
    batch; the run is a JobRun; after many changes, ANALYZEs the tables it wrote (PostgreSQL).
    """
    from app.services import personnel_rules
    from app.services.clock import Clock
    from app.services.imports import analyze

    clock = Clock.on(on_day.date()) if on_day else office_clock()
    job = personnel_rules.start_job(db.session, clock)
    db.session.commit()
    total = personnel_rules.RulesReport()
    try:
        while True:
            report = personnel_rules.run(db.session, clock, job_run=job, limit=batch_size)
            db.session.commit()
            total += report
            if not report.more:
                break  # no rule filled its batch: nothing is left (rows another run holds are its own)
    except Exception as error:
        db.session.rollback()
        personnel_rules.fail_job(db.session.get(type(job), job.id), total, clock, error)
        db.session.commit()
        raise
    personnel_rules.finish_job(job, total, clock)
    db.session.commit()
    if analyze(db.session, sum(total.as_dict().values()), "permission_grant", "personnel_change", "audit_event",
               "notification", "deactivation_notice"):
        db.session.commit()
    click.echo(f"{clock.today.isoformat()}: {total} (job run #{job.id})")


@sitthi.command("close-campaigns")
@click.option("--batch-size", type=click.IntRange(min=1), default=500, show_default=True,
              help="Review items settled per transaction.")
@click.option("--today", "on_day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Run as if it were this day (YYYY-MM-DD); default: today in the office's time zone.")
def close_campaigns_command(batch_size: int, on_day) -> None:
    """Close the rights reviews past their due date (run it daily).

    Items nobody signed off follow each review's rule (keep, or suspend the permission), the
    review closes, and a repeating review starts its next one. Idempotent, and safe to run on
    several servers at once (FOR UPDATE SKIP LOCKED on PostgreSQL). Commits after every batch.
    """
    from app.services.clock import Clock
    from app.services.reviews import CloseReport, close_due_campaigns, finish_run

    clock = Clock.on(on_day.date()) if on_day else office_clock()
    total = CloseReport()
    try:
        while True:
            report = close_due_campaigns(db.session, clock, limit=batch_size, job_run=total.job_run)
            db.session.commit()
            total += report
            if not report.worked:
                break
    except Exception as error:
        db.session.rollback()
        if total.job_run is not None:
            finish_run(db.session, db.session.merge(total.job_run), total, clock, error=str(error)[:2000])
            db.session.commit()
        raise
    if total.job_run is not None:
        finish_run(db.session, total.job_run, total, clock)
        db.session.commit()
    click.echo(f"{clock.today.isoformat()}: {total}")


def _import(kind: str, path: str, command_code: str | None, rejects_path: str | None) -> None:
    """Run one import in this process with a progress bar, then print its summary."""
    from pathlib import Path

    from app.models import ImportReject, Unit
    from app.services import exports, jobs

    command_id = None
    if command_code:
        command_id = db.session.scalar(select(Unit.id).where(Unit.code == command_code))
        if command_id is None:
            raise click.BadParameter(f"no unit has the code {command_code}", param_hint="--command")
    content = Path(path).read_bytes()
    clock = office_clock()
    run = jobs.create(db.session, clock, kind, filename=Path(path).name, content=content, command_id=command_id)
    db.session.commit()
    run_id = run.id
    with click.progressbar(length=1, label=f"{kind} #{run_id}", show_pos=True) as bar:
        def moved(processed: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(processed - bar.pos)

        run = jobs.execute(db.session, clock, run_id, on_progress=moved)
        bar.length = max(run.total, 1)
        bar.update(max(run.total - bar.pos, 0))
    if run.state == "failed":
        raise click.ClickException(f"run #{run_id} failed: {jobs.error_text(run)}")
    click.echo(f"run #{run_id}: {run.total} rows: created {run.created_count}, updated {run.updated_count}, "
               f"unchanged {run.unchanged_count}, rejected {run.rejected_count}")
    if (run.summary or {}).get("rules"):
        click.echo("personnel rules: " + ", ".join(f"{k} {v}" for k, v in run.summary["rules"].items() if v))
    if run.rejected_count:
        from app.services.imports.report import rejects_table

        rejects = db.session.scalars(select(ImportReject).where(ImportReject.job_run_id == run_id)
                                     .order_by(ImportReject.line)).all()
        target = Path(rejects_path or f"{path}.rejects.csv")
        target.write_bytes(exports.csv_bytes(rejects_table(run, rejects)))
        click.echo(f"rejected rows (line, reason, the row as given): {target}")


_REJECTS_OPTION = click.option("--rejects", "rejects_path", type=click.Path(dir_okay=False), default=None,
                               help="Where to write the rejected rows as CSV; default: FILE.rejects.csv.")


@sitthi.command("import-personnel")
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@click.option("--command", "command_code", default=None,
              help="Unit code of a command: rows whose unit lies outside it are rejected (as for Personnel).")
@_REJECTS_OPTION
def import_personnel_command(path: str, command_code: str | None, rejects_path: str | None) -> None:
    """Import a POLIS personnel export (CSV in UTF-8, UTF-8 with BOM or TIS-620/cp874, or XLSX).

    Upserts officers by national ID, applies the personnel rules to those whose record changed,
    and prints created / updated / unchanged / rejected. Importing the same file again writes nothing.
    """
    _import("import_personnel", path, command_code, rejects_path)


@sitthi.command("import-units")
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@_REJECTS_OPTION
def import_units_command(path: str, rejects_path: str | None) -> None:
    """Import units (code, Thai name, English name, kind, parent code, administering flag) by code."""
    _import("import_units", path, None, rejects_path)


@sitthi.command("import-usage")
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@_REJECTS_OPTION
def import_usage_command(path: str, rejects_path: str | None) -> None:
    """Import query counts per officer national ID and source code, with the last-used date."""
    _import("import_usage", path, None, rejects_path)


@sitthi.command("worker")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
def worker_command(burst: bool) -> None:
    """Carry out queued imports and exports from the RQ queue at JOB_QUEUE_URL (Redis). Runs lost
    with an earlier worker are failed first, so their pages stop waiting for them."""
    from app.job_queue import work
    from app.services import jobs

    url = current_app.config.get("JOB_QUEUE_URL")
    if not url:
        raise click.ClickException("JOB_QUEUE_URL is not set: without it imports and exports run in a thread of the web process")
    lost = jobs.fail_lost_runs(db.session, office_clock())
    db.session.commit()
    if lost:
        click.echo(f"runs lost with an earlier worker, failed: {lost}")
    work(url, burst=burst)


@sitthi.command("create-admin")
@click.option("--username", prompt=True)
@click.option("--email", prompt=True)
@click.option("--first-name", prompt=True, default="Admin")
@click.option("--last-name", prompt=True, default="Sitthi")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_admin_command(username: str, email: str, first_name: str, last_name: str, password: str) -> None:
    """Create the first Admin login; the password must follow the password policy.

    Unlike `flask fab create-admin`, which takes any password.
    """
    from flask_appbuilder.exceptions import PasswordComplexityValidationError

    from app.security.passwords import password_complexity

    try:
        password_complexity(password)
    except PasswordComplexityValidationError as error:
        raise click.ClickException(str(error)) from None
    sm = current_app.appbuilder.sm
    if sm.find_user(username=username) or sm.find_user(email=email):
        raise click.ClickException(f"a user named {username} or with the e-mail {email} exists already")
    role = sm.find_role(current_app.config.get("AUTH_ROLE_ADMIN", "Admin"))
    if role is None:
        raise click.ClickException("no Admin role yet: run `flask sitthi init` first")
    user = sm.add_user(username, first_name, last_name, email, role, password=password)
    if not user:
        raise click.ClickException("the user could not be created")
    from app.services import audit

    audit.record(db.session, "User.create_admin", object_type="User", object_id=user.id, summary=username)
    db.session.commit()
    click.echo(f"admin {username} created")


class _StopOnSignal:
    """SIGTERM/SIGINT end a --loop worker between two messages, never in the middle of one."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, object] = {}
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGTERM, signal.SIGINT):
                self._previous[number] = signal.signal(number, self._request)

    def _request(self, number, frame) -> None:
        self.requested = True

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.requested and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.5))

    def restore(self) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)


class _SmtpConnection(flask_mail.Connection):
    """Flask-Mail's connection with a timeout: a mail server that hangs must not hang the worker."""

    def __init__(self, mail, timeout: float) -> None:
        super().__init__(mail)
        self.timeout = timeout

    def configure_host(self) -> smtplib.SMTP:
        settings = self.mail
        smtp_class = smtplib.SMTP_SSL if settings.use_ssl else smtplib.SMTP
        host = smtp_class(settings.server, settings.port, timeout=self.timeout)
        host.set_debuglevel(int(settings.debug))
        if settings.use_tls:
            host.starttls()
        if settings.username and settings.password:
            host.login(settings.username, settings.password)
        host.ehlo_or_helo_if_needed()  # learn the extensions (8BITMIME) before the first message
        return host


class SmtpSender:
    """The transport for deliver_due(): send(notification) through Flask-Mail, raising on failure.

    Settings are the MAIL_* keys of `config`, read when the sender is made. One SMTP connection
    serves a whole batch and is dropped after any error, so the next message reconnects. Use it as
    a context manager (needs an app context: Flask-Mail signals each message it sends).
    MAIL_SUPPRESS_SEND is ignored: the outbox would otherwise mark unsent mail as sent.
    """

    def __init__(self, config: Mapping, timeout: float = 30.0) -> None:
        self.settings = flask_mail.Mail().init_mail({**config, "MAIL_SUPPRESS_SEND": False})
        self.timeout = timeout
        self.public_url = config.get("PUBLIC_URL", "")
        self._connection: _SmtpConnection | None = None

    def __enter__(self) -> "SmtpSender":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __call__(self, notification) -> None:
        message = self.build_message(notification)
        if self._connection is None:
            self._connection = _SmtpConnection(self.settings, self.timeout).__enter__()
        try:
            if self._connection.host.has_extn("8bitmime"):
                message.mail_options = ["BODY=8BITMIME"]  # the UTF-8 body goes out as 8-bit text
            self._connection.send(message)
        except BaseException:
            self.close()
            raise

    def build_message(self, notification) -> flask_mail.Message:
        sender = self.settings.default_sender
        message = flask_mail.Message(
            # A line break in a header would be refused (BadHeaderError) on every attempt.
            subject=" ".join(notification.subject.split()),
            recipients=[notification.recipient_email],
            body=with_app_url(notification.body, self.public_url),
            sender=sender,
            charset="utf-8",
            extra_headers={"Auto-Submitted": "auto-generated"},  # RFC 3834: no vacation replies
        )
        # The same Message-ID on every attempt: a copy sent twice after a crash folds into one.
        address = sender[1] if isinstance(sender, tuple) else str(sender or "")
        domain = address.rpartition("@")[2].strip(" >") or "sitthi.localhost"
        stamp = int(notification.created_at.timestamp()) if notification.created_at else 0
        message.msgId = f"<sitthi.notification.{notification.id}.{stamp}@{domain}>"
        return message

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None or connection.host is None:
            return
        try:
            connection.host.quit()
        except (smtplib.SMTPException, OSError):
            connection.host.close()


def register(app: Flask) -> None:
    app.cli.add_command(sitthi)
