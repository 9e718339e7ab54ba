"""Joiner-mover-leaver: make every officer's rights agree with their personnel record.

The interface the personnel import calls after it has written its rows; the rules themselves are
being written (issue 9). Until then nothing is changed and the report is empty.
"""
from collections.abc import Collection

from sqlalchemy.orm import Session

from app.models import JobRun
from app.services.clock import Clock


def apply(session: Session, clock: Clock, *, job_run: JobRun | None = None,
          officer_ids: Collection[int] | None = None) -> dict[str, int]:
    """Apply the rules to these officers (all officers when None); return what was done, counted.

    Idempotent: a second run on the same data changes nothing. Writes in the caller's
    transaction; every change is an audit event with `job_run_id` of `job_run`.
    """
    return {}
