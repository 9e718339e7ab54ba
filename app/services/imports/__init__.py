"""Imports of POLIS exports (personnel, units) and of the agencies' usage counts.

Each import reads a CSV or XLSX file (app.services.imports.reading), checks every row in Python,
keeps the refused rows as ImportReject (line, a translatable reason and the raw row), and writes
the good rows set-based: a staging table filled in one go (COPY on PostgreSQL, executemany on
SQLite), then one INSERT and one UPDATE ... WHERE IS DISTINCT FROM, so a file imported again
writes nothing. Nothing here commits or imports Flask: app.services.jobs runs an import as a job.
"""
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import insert
from sqlalchemy.orm import Session

from app.errors import N_, ValidationFailed

# progress(processed, total): called now and then while rows are read and checked.
Progress = Callable[[int, int], None]

# Rows written by one import or job from which the tables it wrote are ANALYZEd (PostgreSQL): below
# it autovacuum's own ANALYZE keeps up; above it the plans of the next pages and jobs (the inboxes,
# the nightly finders) would be made on statistics that no longer describe the table.
ANALYZE_AFTER_ROWS = 1000

MSG_BAD_TEXT = N_("The row holds control characters (such as NUL bytes).")
MSG_REQUIRED = N_("The column %(column)s is empty.")
MSG_TOO_LONG = N_("The value of %(column)s is longer than %(limit)s characters.")


class ImportFailed(ValidationFailed):
    """The file as a whole cannot be imported (unknown format, a required column missing)."""


@dataclass
class Reject:
    line: int
    identifier: str | None
    message: str
    params: dict
    raw: dict


@dataclass
class ImportResult:
    """What an import did, counted; `rejects` are saved by `save_rejects`."""

    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejects: list[Reject] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    # Officers whose record changed: the personnel rules judge them.
    changed_ids: list[int] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.rejects)


def analyze(session: Session, changed: int, *tables: str) -> bool:
    """ANALYZE these tables when `changed` rows reach ANALYZE_AFTER_ROWS, on PostgreSQL only.

    Inside the caller's transaction: PostgreSQL counts the rows this transaction wrote, so the
    statistics are right the moment it commits. SQLite plans without them (nothing to do)."""
    if changed < ANALYZE_AFTER_ROWS or session.get_bind().dialect.name != "postgresql":
        return False
    connection = session.connection()
    for table in tables:
        connection.exec_driver_sql(f"ANALYZE {table}")
    return True


def save_rejects(session: Session, job_run_id: int, rejects: list[Reject]) -> None:
    """Every refused row, in one statement."""
    from app.models import ImportReject

    if not rejects:
        return
    session.execute(insert(ImportReject), [
        {"job_run_id": job_run_id, "line": r.line, "identifier": (r.identifier or "")[:100] or None,
         "message": r.message, "params": r.params or None, "raw": r.raw} for r in rejects])
