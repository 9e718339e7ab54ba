"""Work that runs in the background (imports, exports, the personnel rules, campaign closing) and
what it left behind: its progress and counts, and every row an import refused."""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from app.models.base import check_in, utcnow
from app.models.unit import Unit

JOB_KINDS = ("import_personnel", "import_units", "import_usage", "personnel_rules", "close_campaigns", "export",
             "review_start")
JOB_STATES = ("queued", "running", "done", "failed")


class JobRun(Model):
    """One run of a job: queued by a user or a schedule, run by a worker (or in-process)."""

    __tablename__ = "job_run"
    __table_args__ = (
        check_in("kind", JOB_KINDS, "ck_job_kind"),
        check_in("state", JOB_STATES, "ck_job_state"),
        Index("ix_job_run_kind_created", "kind", "created_at"),
        Index("ix_job_run_started_by", "started_by_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    state: Mapped[str] = mapped_column(String(20), nullable=False, default="queued")
    # The uploaded file, kept with the run so any worker process can read it.
    filename: Mapped[str | None] = mapped_column(String(255))
    content: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    # The command an import may write in (a Personnel user's); None: nationwide.
    command_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    command: Mapped[Unit | None] = relationship(foreign_keys=[command_id])
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    processed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    unchanged_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rejected_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Whatever else the job counted (grants revoked, logins deactivated, ...).
    summary: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    queue_job_id: Mapped[str | None] = mapped_column(String(100))
    # What an export was asked for (which list, its filters, the format, the reader's language),
    # and the file it wrote, for the user who asked only, until it is purged.
    parameters: Mapped[dict | None] = mapped_column(JSON)
    output: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    output_name: Mapped[str | None] = mapped_column(String(255))
    output_type: Mapped[str | None] = mapped_column(String(100))

    def __str__(self) -> str:
        return f"{self.kind} #{self.id}"


class ImportReject(Model):
    """A row an import refused: where it was, what it said, and why (a translatable message)."""

    __tablename__ = "import_reject"
    __table_args__ = (Index("ix_import_reject_run", "job_run_id", "line"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_run_id: Mapped[int] = mapped_column(ForeignKey("job_run.id"), nullable=False)
    line: Mapped[int] = mapped_column(Integer, nullable=False)
    identifier: Mapped[str | None] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text, nullable=False)
    params: Mapped[dict | None] = mapped_column(JSON)
    # The row as the file gave it, so the error report can be fixed and imported again.
    raw: Mapped[dict | None] = mapped_column(JSON)

    def __str__(self) -> str:
        return f"{self.job_run_id}:{self.line}"
