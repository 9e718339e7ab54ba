"""What happens to officers over time: the changes personnel data shows (joiners, movers,
leavers), the corrections officers ask for, the duty orders behind functions, and how much each
right is used."""
from datetime import date, datetime

from flask_appbuilder import Model
from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import VersionedMixin, check_in, utcnow
from app.models.officer import Officer
from app.models.source import DataSource
from app.models.unit import Unit

CHANGE_KINDS = ("joined", "moved", "left", "rank", "position_level", "duty_line", "retired_by_date")
CHANGE_STATES = ("open", "done")
DATA_CHANGE_FIELDS = ("rank", "name", "position", "position_level", "duty_line", "home_unit", "status", "other")
DATA_CHANGE_STATES = ("open", "done", "refused")


class PersonnelChange(Model):
    """A change in an officer's record that a command must act on (a mover in its review queue,
    a leaver whose rights ended), found by an import or a run of the personnel rules."""

    __tablename__ = "personnel_change"
    __table_args__ = (
        check_in("kind", CHANGE_KINDS, "ck_personnel_change_kind"),
        check_in("state", CHANGE_STATES, "ck_personnel_change_state"),
        Index("ix_personnel_change_command_state", "command_id", "state"),
        Index("ix_personnel_change_officer", "officer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officer.id"), nullable=False)
    officer: Mapped[Officer] = relationship()
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    # The command whose technology staff must act on it (the new command, for a mover).
    command_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    command: Mapped[Unit | None] = relationship(foreign_keys=[command_id])
    from_command_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    job_run_id: Mapped[int | None] = mapped_column(ForeignKey("job_run.id"))
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    state: Mapped[str] = mapped_column(String(20), nullable=False, default="open")
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)

    # The relations __str__ reads, loaded with a list that shows this row as text.
    text_reads = ("officer",)

    def __str__(self) -> str:
        return f"{self.kind}: {self.officer}"


class DataChangeRequest(VersionedMixin, Model):
    """An officer asks Personnel of their command to correct their personnel record."""

    __tablename__ = "data_change_request"
    __table_args__ = (
        check_in("field", DATA_CHANGE_FIELDS, "ck_data_change_field"),
        check_in("state", DATA_CHANGE_STATES, "ck_data_change_state"),
        Index("ix_data_change_command_state", "command_id", "state"),
        Index("ix_data_change_officer", "officer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officer.id"), nullable=False)
    officer: Mapped[Officer] = relationship()
    field: Mapped[str] = mapped_column(String(30), nullable=False)
    requested_value: Mapped[str] = mapped_column(Text, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    # The officer's command when they asked: its Personnel staff handle it.
    command_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    command: Mapped[Unit | None] = relationship(foreign_keys=[command_id])
    state: Mapped[str] = mapped_column(String(20), nullable=False, default="open")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution: Mapped[str | None] = mapped_column(Text)

    # The relations __str__ reads, loaded with a list that shows this row as text.
    text_reads = ("officer",)

    def __str__(self) -> str:
        return f"{self.officer}: {self.field}"


class DutyOrder(Model):
    """คำสั่ง: the order that gives an officer a duty, and so a CRIMES function (i-SERVICE circular)."""

    __tablename__ = "duty_order"
    __table_args__ = (UniqueConstraint("unit_id", "number", name="uq_duty_order_unit_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(100), nullable=False)
    issued_on: Mapped[date] = mapped_column(Date, nullable=False)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), nullable=False)
    unit: Mapped[Unit] = relationship()
    subject: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)

    # The relations __str__ reads, loaded with a list that shows this row as text.
    text_reads = ("unit",)

    def __str__(self) -> str:
        return f"{self.number} ({self.unit})"


class SourceUsage(Model):
    """How much an officer searched one source, from the agencies' query-count exports."""

    __tablename__ = "source_usage"
    __table_args__ = (UniqueConstraint("officer_id", "data_source_id", name="uq_source_usage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officer.id"), nullable=False)
    data_source_id: Mapped[int] = mapped_column(ForeignKey("data_source.id"), nullable=False)
    data_source: Mapped[DataSource] = relationship()
    last_used_on: Mapped[date | None] = mapped_column(Date)
    query_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    job_run_id: Mapped[int | None] = mapped_column(ForeignKey("job_run.id"))

    def __str__(self) -> str:
        return f"{self.officer_id}/{self.data_source_id}: {self.query_count}"
