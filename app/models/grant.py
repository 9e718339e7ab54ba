"""สิทธิ์ที่ได้รับ: a right an officer holds, to one data source or one function, with an expiry."""
from datetime import date, datetime

from flask_appbuilder import Model
from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import TimestampMixin, VersionedMixin, check_in, utcnow
from app.models.officer import Officer
from app.models.reference import RankGroup
from app.models.request import AccessRequest, RequestItem
from app.models.source import Agency, DataSource, SystemFunction
from app.models.unit import Unit

GRANT_STATES = ("pending_activation", "active", "expired", "revoked", "suspended")
# A right the officer holds or is about to hold.
LIVE_GRANT_STATES = ("pending_activation", "active")
_LIVE = "state IN ('pending_activation', 'active')"
LIVE_SOURCE_GROUP = f"{_LIVE} AND data_source_id IS NOT NULL AND rank_group_id IS NOT NULL"
LIVE_SOURCE = f"{_LIVE} AND data_source_id IS NOT NULL AND rank_group_id IS NULL"
LIVE_FUNCTION = f"{_LIVE} AND function_id IS NOT NULL"


class Grant(TimestampMixin, VersionedMixin, Model):
    __tablename__ = "permission_grant"
    __table_args__ = (
        check_in("state", GRANT_STATES, "ck_grant_state"),
        CheckConstraint(
            "(data_source_id IS NULL) <> (function_id IS NULL)", name="ck_grant_one_target"
        ),
        CheckConstraint(
            "valid_until IS NULL OR valid_until >= valid_from", name="ck_grant_validity"
        ),
        Index("ix_grant_officer_state", "officer_id", "state"),
        Index("ix_grant_state_valid_until", "state", "valid_until"),
        # Every grant sorted by expiry, the nationwide list's sort (migration 0024).
        Index("ix_grant_valid_until", "valid_until", "id"),
        Index("ix_grant_request_id", "request_id"),
        # The grants a command administers: the rights audit (migration 0015).
        Index("ix_grant_command_state", "command_id", "state"),
        # The expiry job's reminders, in date order (migration 0007).
        Index("ix_grant_remind_due", "valid_until", "id",
              sqlite_where=text("state = 'active' AND reminded_on IS NULL"),
              postgresql_where=text("state = 'active' AND reminded_on IS NULL")),
        # One live right per officer and source (and rank group), or per function: anything more
        # is a renewal or a change. The database holds the line when two approvals race.
        Index("uq_grant_live_source_group", "officer_id", "data_source_id", "rank_group_id", unique=True,
              sqlite_where=text(LIVE_SOURCE_GROUP), postgresql_where=text(LIVE_SOURCE_GROUP)),
        Index("uq_grant_live_source", "officer_id", "data_source_id", unique=True,
              sqlite_where=text(LIVE_SOURCE), postgresql_where=text(LIVE_SOURCE)),
        Index("uq_grant_live_function", "officer_id", "function_id", unique=True,
              sqlite_where=text(LIVE_FUNCTION), postgresql_where=text(LIVE_FUNCTION)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officer.id"), nullable=False)
    officer: Mapped[Officer] = relationship()
    data_source_id: Mapped[int | None] = mapped_column(ForeignKey("data_source.id"))
    data_source: Mapped[DataSource | None] = relationship()
    function_id: Mapped[int | None] = mapped_column(ForeignKey("system_function.id"))
    function: Mapped[SystemFunction | None] = relationship()
    rank_group_id: Mapped[int | None] = mapped_column(ForeignKey("rank_group.id"))
    rank_group: Mapped[RankGroup | None] = relationship()
    state: Mapped[str] = mapped_column(String(20), nullable=False, default="active")
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    valid_until: Mapped[date | None] = mapped_column(Date)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("access_request.id"))
    request: Mapped[AccessRequest | None] = relationship()
    request_item_id: Mapped[int | None] = mapped_column(ForeignKey("request_item.id"))
    request_item: Mapped[RequestItem | None] = relationship()
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    granted_by = relationship("User", foreign_keys=[granted_by_id])
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)
    agency_reference: Mapped[str | None] = mapped_column(String(100))
    activated_on: Mapped[date | None] = mapped_column(Date)
    # The command whose technology staff administer this grant (the acting command's grants are
    # suspended when a temporary assignment ends).
    command_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    command: Mapped[Unit | None] = relationship(foreign_keys=[command_id])
    # The day the expiry reminder was queued, so the hourly job never sends it twice.
    reminded_on: Mapped[date | None] = mapped_column(Date)
    # The duty order (คำสั่ง) behind a CRIMES function; the rights audit flags one missing.
    duty_order_id: Mapped[int | None] = mapped_column(ForeignKey("duty_order.id"))
    duty_order = relationship("DutyOrder")

    # The relations __str__ reads, loaded with a list that shows this row as text.
    text_reads = ("officer", "data_source", "function")

    def __str__(self) -> str:
        target = self.data_source or self.function
        return f"{self.officer} – {target}"


DEACTIVATION_STATES = ("pending", "confirmed")


class DeactivationNotice(Model):
    """Tells the owner agency to close the external account of a revoked or expired grant.

    Tracked until the agency confirms (its reference and date), so the account is really closed.
    """

    __tablename__ = "deactivation_notice"
    __table_args__ = (
        check_in("state", DEACTIVATION_STATES, "ck_deactivation_state"),
        Index("ix_deactivation_state", "state"),
        Index("ix_deactivation_grant_id", "grant_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("permission_grant.id"), nullable=False)
    grant: Mapped[Grant] = relationship()
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), nullable=False)
    agency: Mapped[Agency] = relationship()
    state: Mapped[str] = mapped_column(String(20), nullable=False, default="pending")
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    agency_reference: Mapped[str | None] = mapped_column(String(100))
    deactivated_on: Mapped[date | None] = mapped_column(Date)

    # The relations __str__ reads, loaded with a list that shows this row as text.
    text_reads = ("agency", "grant")

    def __str__(self) -> str:
        return f"{self.agency} – {self.grant}"


class CommandFunction(Model):
    """A CRIMES function a command's technology staff may assign to its own officers."""

    __tablename__ = "command_function"
    __table_args__ = (UniqueConstraint("unit_id", "function_id", name="uq_command_function"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), nullable=False)
    unit: Mapped[Unit] = relationship()
    function_id: Mapped[int] = mapped_column(ForeignKey("system_function.id"), nullable=False)
    function: Mapped[SystemFunction] = relationship()

    # The relations __str__ reads, loaded with a list that shows this row as text.
    text_reads = ("unit", "function")

    def __str__(self) -> str:
        return f"{self.unit} – {self.function}"
