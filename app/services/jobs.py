"""Background jobs: a JobRun per run, and the functions any runner calls to carry one out.

Exports (`start_export`, `execute_export`): the web layer says what to write and builds the file;
here the run is claimed, its progress kept, and the file stored in the run for the user who asked
it, until EXPORT_KEEP passes and `purge_exports` empties it.

A run is queued with its input (the uploaded file travels in the row, so any worker process can
read it), then `execute` takes it: state running, the import checks its rows (progress committed
now and then, while nothing is written yet), then writes everything, its rejects and its counts in
one transaction. A failure rolls that transaction back, so no half import is left, and marks the
run failed with the error. Where the run is executed (an RQ worker, a thread, inline in tests) is
app.job_queue's business; nothing here imports Flask.
"""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from app.errors import N_, NotAllowed, NotFound, SitthiError, TooBusy, ValidationFailed, translate
from app.models import JobRun, ReviewCampaign
from app.security.scope import ADMIN, CENTRAL_IT, PERSONNEL, Actor
from app.services import audit, personnel_rules
from app.services.clock import Clock
from app.services.imports import ImportResult, save_rejects

IMPORT_KINDS = ("import_personnel", "import_units", "import_usage")
EXPORT = "export"
REVIEW_START = "review_start"
# A written file is personal data at rest: it is kept long enough to download, then emptied.
EXPORT_KEEP_HOURS = 24
EXPORT_KEEP = timedelta(hours=EXPORT_KEEP_HOURS)
# Files one user may have waiting or being written at once: a worker is shared by the force.
EXPORTS_AT_ONCE = 3
# A run still running this long after it started was lost with its worker (RQ ends a job after
# app.job_queue.JOB_TIMEOUT, an hour; a worker may be killed); one still queued this long after it
# was asked was lost with the queue (a Redis that keeps nothing on disk, restarted). Either is
# failed, so its page and the exports limit stop waiting for it.
RUN_LOST_AFTER = timedelta(hours=2)
QUEUED_LOST_AFTER = timedelta(days=1)
MSG_RUN_LOST = N_("The run stopped before it finished (its worker ended): start it again.")
MSG_QUEUE_DOWN = N_("The job queue could not be reached, so the run did not start: try again in a few minutes.")
MSG_EXPORTS_BUSY = N_("%(count)s of your exports are still being written: wait for one of them to finish, "
                      "then export again.")
MSG_NO_EXPORT = N_("No such export, or not one you asked for.")
MSG_EXPORT_GONE = N_("The file was removed %(hours)s hours after it was asked for: export again.")
MSG_NO_IMPORTS = N_("Your role imports nothing: Personnel import their own command's officers, the Central IT "
                    "Center imports officers, units and usage.")
MSG_KIND = N_("Choose what the file holds.")


MSG_FILE_TOO_LARGE = N_("The file is larger than %(size)s MB; import it with the command "
                        "`flask sitthi import-personnel` or split it.")
MSG_FILE_EMPTY = N_("The file is empty.")
MSG_FILE_KIND = N_("The file is neither a CSV nor an XLSX file.")


def check_import_file(content: bytes, limit: int) -> None:
    """A file an import can read: within the upload limit, not empty, a CSV or an XLSX file."""
    from app.services.imports import ImportFailed, reading

    problem, params = None, {}
    if len(content) > limit:
        problem, params = MSG_FILE_TOO_LARGE, {"size": limit // (1024 * 1024)}
    elif not content.strip():
        problem = MSG_FILE_EMPTY
    else:
        try:
            reading.file_kind(content)
        except ImportFailed:
            problem = MSG_FILE_KIND
    if problem is not None:
        error = ValidationFailed(problem, **params)
        error.field = "file"
        raise error


def import_kinds_for(actor: Actor) -> list[str]:
    """What a user may import: Personnel their command's officers; CentralIT and Admin everything."""
    if actor.roles & {CENTRAL_IT, ADMIN}:
        return list(IMPORT_KINDS)
    if PERSONNEL in actor.roles and actor.command_id is not None:
        return ["import_personnel"]
    return []


def start_import(session: Session, actor: Actor, kind: str, filename: str | None, content: bytes,
                 clock: Clock) -> JobRun:
    """Queue an import of what the actor may import (the screen's upload and the API's): Personnel
    write in their own command only (the run carries it; rows outside it are refused by the import),
    the nationwide roles anywhere. The caller commits, then hands the run's id to a runner."""
    kinds = import_kinds_for(actor)
    if not kinds:
        raise NotAllowed(MSG_NO_IMPORTS)
    if kind not in kinds:
        error = ValidationFailed(MSG_KIND)
        error.field = "kind"
        raise error
    command_id = None if actor.roles & {CENTRAL_IT, ADMIN} else actor.command_id
    return create(session, clock, kind, filename=filename, content=content, command_id=command_id,
                  started_by_id=actor.user_id)


def create(session: Session, clock: Clock, kind: str, *, filename: str | None = None, content: bytes | None = None,
           command_id: int | None = None, started_by_id: int | None = None) -> JobRun:
    """A queued run; the caller commits, then hands its id to a runner."""
    if kind not in IMPORT_KINDS:
        raise ValueError(kind)
    run = JobRun(kind=kind, state="queued", filename=(filename or "")[:255] or None, content=content,
                 command_id=command_id, started_by_id=started_by_id, created_at=clock.now)
    session.add(run)
    session.flush()
    audit.record(session, "JobRun.queue", actor_id=started_by_id, object_type="JobRun", object_id=run.id,
                 unit_id=command_id, summary=f"{kind}: {run.filename or ''}", job_run_id=run.id)
    return run


def _content_of(session: Session, run_id: int) -> bytes:
    """The file a run was queued with. PostgreSQL sends it in binary: as text a 44 MB personnel
    file comes as 88 MB of hex, 0.36 s to fetch against 0.14 s."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return session.scalar(select(JobRun.content).where(JobRun.id == run_id)) or b""
    with connection.connection.driver_connection.cursor(binary=True) as cursor:
        cursor.execute(f"SELECT content FROM {JobRun.__tablename__} WHERE id = %s", (run_id,))
        found = cursor.fetchone()
    return bytes(found[0] or b"") if found else b""


def _importer(kind: str) -> Callable[..., ImportResult]:
    from app.services.imports import personnel, units, usage

    return {"import_personnel": personnel.import_personnel, "import_units": units.import_units,
            "import_usage": usage.import_usage}[kind]


def fail_lost_runs(session: Session, clock: Clock) -> int:
    """Fail the runs lost with their worker or their queue, and the reviews they were listing (so
    the command may start another); the caller commits."""
    lost = session.execute(update(JobRun).where(or_(
        and_(JobRun.state == "running", JobRun.started_at < clock.now - RUN_LOST_AFTER),
        and_(JobRun.state == "queued", JobRun.created_at < clock.now - QUEUED_LOST_AFTER)))
        .values(state="failed", finished_at=clock.now, error=MSG_RUN_LOST,
                summary={"error_message": MSG_RUN_LOST, "error_params": {}})
        .execution_options(synchronize_session=False)).rowcount
    if lost:
        session.execute(update(ReviewCampaign).where(
            ReviewCampaign.state == "preparing",
            ReviewCampaign.start_run_id.in_(select(JobRun.id).where(JobRun.state == "failed")))
            .values(state="failed").execution_options(synchronize_session=False))
    return lost


def not_queued(session: Session, clock: Clock, run_id: int) -> None:
    """A run the queue could not take: failed at once with the reason, with the review it was to
    list, instead of waiting a day to be found lost (and holding its command meanwhile); commits."""
    session.rollback()
    session.execute(update(ReviewCampaign).where(ReviewCampaign.start_run_id == run_id,
                                                 ReviewCampaign.state == "preparing").values(state="failed"))
    fail(session, clock, run_id, SitthiError(MSG_QUEUE_DOWN))


def claim(session: Session, clock: Clock, run_id: int) -> tuple[JobRun, bool]:
    """(the run, whether this worker took it): a run another worker took is left alone. Runs lost
    with their worker are failed first, whenever a run is taken."""
    fail_lost_runs(session, clock)
    claimed = session.execute(update(JobRun).where(JobRun.id == run_id, JobRun.state == "queued")
                              .values(state="running", started_at=clock.now)).rowcount
    session.commit()
    run = session.get(JobRun, run_id)
    if run is None:
        raise LookupError(run_id)
    return run, bool(claimed)


def execute(session: Session, clock: Clock, run_id: int,
            on_progress: Callable[[int, int], None] | None = None) -> JobRun:
    """Carry out a queued run; commits. A run already taken by another worker is left alone.

    `on_progress(processed, total)` is told as rows are checked (the CLI's progress bar)."""
    run, claimed = claim(session, clock, run_id)
    if not claimed:
        return run
    content, kind, command_id, actor = _content_of(session, run_id), run.kind, run.command_id, run.started_by_id

    def progress(processed: int, total: int) -> None:
        # Only while rows are being checked: nothing of the import is written yet, so a commit
        # here publishes the progress and nothing else.
        session.execute(update(JobRun).where(JobRun.id == run_id).values(processed=processed, total=total))
        session.commit()
        if on_progress is not None:
            on_progress(processed, total)

    try:
        result = _importer(kind)(session, clock, content, job_run_id=run_id, command_id=command_id,
                                 actor_user_id=actor, progress=progress)
        save_rejects(session, run_id, result.rejects)
        summary = dict(result.summary)
        if kind == "import_personnel" and result.changed_ids:
            summary["rules"] = personnel_rules.apply(session, clock, job_run=session.get(JobRun, run_id),
                                                     officer_ids=result.changed_ids, actor_user_id=actor)
        session.execute(update(JobRun).where(JobRun.id == run_id).values(
            state="done", finished_at=clock.now, total=result.total, processed=result.total,
            created_count=result.created, updated_count=result.updated, unchanged_count=result.unchanged,
            rejected_count=result.rejected, summary=summary or None))
        audit.record(session, f"JobRun.{kind}", actor_id=actor, object_type="JobRun", object_id=run_id,
                     unit_id=command_id, job_run_id=run_id,
                     summary=f"created {result.created}, updated {result.updated}, unchanged {result.unchanged}, "
                             f"rejected {result.rejected}")
        session.commit()
    except Exception as error:  # the run reports any failure; the import's writes are undone
        failed(session, clock, run_id, error)
    session.expire_all()
    return session.get(JobRun, run_id)


def failed(session: Session, clock: Clock, run_id: int, error: BaseException,
           after_rollback: Callable[[], None] | None = None) -> None:
    """Undo the run's writes and mark it failed; an error not of ours goes on to the runner's log.
    `after_rollback` records, in the same commit, what the failure leaves behind (a review that
    will not open)."""
    session.rollback()
    if after_rollback is not None:
        after_rollback()
    fail(session, clock, run_id, error)
    if not isinstance(error, SitthiError):
        raise error


def fail(session: Session, clock: Clock, run_id: int, error: BaseException) -> None:
    """Mark a run failed, keeping a reason a reader can translate when it is one of ours."""
    if isinstance(error, SitthiError):
        text, summary = translate(error.message, error.params), {"error_message": error.message,
                                                                 "error_params": _json_params(error.params)}
    else:
        text, summary = f"{type(error).__name__}: {error}", None
    session.execute(update(JobRun).where(JobRun.id == run_id).values(
        state="failed", finished_at=clock.now, error=text[:2000], summary=summary))
    session.commit()


def _json_params(params: dict) -> dict:
    return {k: v if isinstance(v, (int, float, str)) or v is None else str(v) for k, v in params.items()}


def error_text(run: JobRun) -> str | None:
    """A failed run's reason in the reader's language."""
    summary = run.summary or {}
    if "error_message" in summary:
        return translate(summary["error_message"], summary.get("error_params"))
    return run.error


# -- exports ------------------------------------------------------------------------------------
@dataclass
class ExportFile:
    """A file an export wrote: its bytes, its name and type, and how many rows it holds."""

    content: bytes
    name: str
    mimetype: str
    rows: int


def start_export(session: Session, actor: Actor, title: str, parameters: dict, clock: Clock) -> JobRun:
    """Queue an export the actor asked for. The web layer has checked that they may read what it
    holds and checks it again when the run is carried out; the caller commits, then submits.
    Refused while the actor has EXPORTS_AT_ONCE runs waiting or being written."""
    fail_lost_runs(session, clock)
    waiting = session.scalar(select(func.count()).select_from(JobRun).where(
        JobRun.started_by_id == actor.user_id, JobRun.kind == EXPORT, JobRun.state.in_(("queued", "running"))))
    if waiting >= EXPORTS_AT_ONCE:
        raise TooBusy(MSG_EXPORTS_BUSY, count=waiting)
    run = JobRun(kind=EXPORT, state="queued", filename=title[:255] or None, parameters=parameters,
                 started_by_id=actor.user_id, created_at=clock.now)
    session.add(run)
    session.flush()
    audit.record(session, "JobRun.queue", actor_id=actor.user_id, object_type="JobRun", object_id=run.id,
                 unit_id=actor.command_id, summary=f"{EXPORT}: {run.filename or ''}", job_run_id=run.id)
    return run


def execute_export(session: Session, clock: Clock, run_id: int,
                   build: Callable[[JobRun, Callable[[int, int], None]], ExportFile]) -> JobRun:
    """Carry out a queued export; commits. `build(run, progress)` writes the file; it may commit
    through `progress(processed, total)`. A failure stores no file and keeps its reason."""
    run, claimed = claim(session, clock, run_id)
    if not claimed:
        return run
    purge_exports(session, clock)
    session.commit()

    def progress(processed: int, total: int) -> None:
        session.execute(update(JobRun).where(JobRun.id == run_id).values(processed=processed, total=total))
        session.commit()

    try:
        written = build(run, progress)
        session.execute(update(JobRun).where(JobRun.id == run_id).values(
            state="done", finished_at=clock.now, output=written.content, output_name=written.name[:255],
            output_type=written.mimetype[:100], total=written.rows, processed=written.rows,
            summary={"rows": written.rows, "bytes": len(written.content)}))
        session.commit()
    except Exception as error:  # the run reports any failure; nothing of the file is kept
        failed(session, clock, run_id, error)
    session.expire_all()
    return session.get(JobRun, run_id)


def exports_of(actor: Actor):
    """The export runs `actor` may read: their own only. A file was read under its asker's role
    and row scope, so nobody else (an admin, the same command's staff) reads it."""
    return select(JobRun).where(JobRun.kind == EXPORT, JobRun.started_by_id == actor.user_id)


def export_run(session: Session, actor: Actor, run_id: int) -> JobRun:
    """One of `actor`'s export runs; anyone else's is not found."""
    run = session.scalar(exports_of(actor).where(JobRun.id == run_id))
    if run is None:
        raise NotFound(MSG_NO_EXPORT)
    return run


def export_output(session: Session, actor: Actor, run_id: int, clock: Clock) -> tuple[JobRun, bytes]:
    """A finished export's run and its file, for the user who asked for it only: anyone else is
    told there is no such run. Refused once its file was emptied."""
    run = export_run(session, actor, run_id)
    if run.state != "done":
        raise NotFound(MSG_NO_EXPORT)
    content = session.scalar(select(JobRun.output).where(JobRun.id == run.id)) if kept(run, clock) else None
    if content is None:
        raise NotFound(MSG_EXPORT_GONE, hours=EXPORT_KEEP_HOURS)
    return run, content


def kept(run: JobRun, clock: Clock) -> bool:
    """Whether a finished export's file is still there to download."""
    return run.finished_at is not None and _aware(run.created_at) > clock.now - EXPORT_KEEP


def purge_exports(session: Session, clock: Clock) -> int:
    """Empty the files written more than EXPORT_KEEP ago; the runs stay, as the trail's record."""
    return session.execute(update(JobRun).where(
        JobRun.kind == EXPORT, JobRun.created_at < clock.now - EXPORT_KEEP, JobRun.output.isnot(None))
        .values(output=None).execution_options(synchronize_session=False)).rowcount


def _aware(moment):
    """SQLite gives back naive UTC times; PostgreSQL aware ones."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
