"""มอบหมายผู้ปฏิบัติแทน: a head or CentralIT user names a deputy for the days they are away."""
from datetime import date, datetime

from flask_appbuilder import Model
from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import utcnow


class Delegation(Model):
    """From starts_on to ends_on (inclusive) the deputy decides what waits for the principal."""

    __tablename__ = "delegation"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="ck_delegation_dates"),
        CheckConstraint("deputy_user_id <> principal_user_id", name="ck_delegation_not_self"),
        Index("ix_delegation_deputy", "deputy_user_id", "starts_on", "ends_on"),
        Index("ix_delegation_principal", "principal_user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    principal_user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id"), nullable=False)
    principal = relationship("User", foreign_keys=[principal_user_id])
    deputy_user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id"), nullable=False)
    deputy = relationship("User", foreign_keys=[deputy_user_id])
    starts_on: Mapped[date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[date] = mapped_column(Date, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)

    @classmethod
    def in_force(cls, today: date):
        """The delegations that hold on `today` (both ends inclusive)."""
        return (cls.starts_on <= today) & (cls.ends_on >= today)

    @classmethod
    def of_deputy_on(cls, deputy_user_id, today: date):
        """The delegations that make this user a deputy on `today`."""
        return (cls.deputy_user_id == deputy_user_id) & cls.in_force(today)

    # The relations __str__ reads, loaded with a list that shows this row as text.
    text_reads = ("deputy", "principal")

    def __str__(self) -> str:
        return f"{self.deputy} ← {self.principal} ({self.starts_on:%Y-%m-%d} – {self.ends_on:%Y-%m-%d})"
