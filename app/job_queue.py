"""Where a queued JobRun is carried out, so a web import, export or review start never holds a
server worker.

- JOB_QUEUE_URL set (the deployment's Redis): the run is enqueued on RQ, queue "sitthi", and a
  `flask sitthi worker` process carries it out.
- Otherwise (`make run`, one machine): a background thread of the web process carries it out.
- JOBS_INLINE (tests): carried out before `submit` returns, so results are deterministic.

Every way ends in app.services (jobs.execute, jobs.execute_export through app.export_runs, or
reviews.prepare), which owns the run's states and its transaction.
"""
import logging
import threading

from flask import Flask, current_app, has_app_context

from app.extensions import db
from app.formatting import office_clock

log = logging.getLogger(__name__)

QUEUE_NAME = "sitthi"
JOB_TIMEOUT = 3600  # seconds: the largest import ends long before


def submit(run_id: int) -> str:
    """Hand a committed queued run to its runner; the mode used ('rq', 'thread' or 'inline'), or
    'not queued' when the queue could not be reached (the run is failed with the reason)."""
    app = current_app._get_current_object()
    if app.config.get("JOBS_INLINE"):
        perform(run_id)
        return "inline"
    url = app.config.get("JOB_QUEUE_URL")
    if url:
        from redis.exceptions import RedisError

        try:
            job = queue(url).enqueue("app.job_queue.perform", run_id, job_timeout=JOB_TIMEOUT,
                                     job_id=f"sitthi-run-{run_id}")
        except (RedisError, OSError):
            # The asker is led to the run's page, which gives the reason, instead of an error page.
            log.exception("run %s could not be queued", run_id)
            from app.services import jobs

            jobs.not_queued(db.session, office_clock(), run_id)
            return "not queued"
        from app.models import JobRun

        db.session.get(JobRun, run_id).queue_job_id = job.id
        db.session.commit()
        return "rq"
    threading.Thread(target=_in_thread, args=(app, run_id), name=f"sitthi-run-{run_id}", daemon=True).start()
    return "thread"


def queue(url: str):
    from redis import Redis
    from rq import Queue

    # A queue host that does not answer is told within seconds, not after TCP's minutes.
    return Queue(QUEUE_NAME, connection=Redis.from_url(url, socket_connect_timeout=5))


def _in_thread(app: Flask, run_id: int) -> None:
    with app.app_context():
        try:
            perform(run_id)
        finally:
            db.session.remove()


def perform(run_id: int) -> None:
    """Carry out one run (the RQ job function); needs an app context, made here when missing."""
    if not has_app_context():
        from app import create_app

        with create_app().app_context():
            return perform(run_id)
    from app.models import JobRun
    from app.services import jobs

    kind = db.session.get(JobRun, run_id).kind
    if kind == jobs.EXPORT:
        from app.export_runs import perform_export

        perform_export(run_id)
    elif kind == jobs.REVIEW_START:
        from app.services import reviews

        reviews.prepare(db.session, office_clock(), run_id)
    else:
        jobs.execute(db.session, office_clock(), run_id)
    return None


def work(url: str, burst: bool = False) -> None:
    """Run an RQ worker on the queue (`flask sitthi worker`).

    A SimpleWorker carries out jobs in this process, inside the app context the command runs in:
    a forked work-horse would share the parent's database connections.
    """
    from redis import Redis
    from rq import Queue, SimpleWorker

    connection = Redis.from_url(url)
    SimpleWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection).work(burst=burst)
