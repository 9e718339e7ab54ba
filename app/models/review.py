"""การตรวจสอบสิทธิ์: a periodic rights audit of one command and the decision on each grant."""
from datetime import date, datetime

from flask_appbuilder import Model
from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import VersionedMixin, check_in, utcnow
from app.models.grant import Grant
from app.models.officer import Officer
from app.models.unit import Unit

# preparing: its items are being listed by a job; failed: that job did not finish (nothing listed).
CAMPAIGN_STATES = ("preparing", "open", "closed", "failed")
REVIEW_OUTCOMES = ("pending", "keep", "revoke", "fix_data")
# What happens at the due date to a grant nobody decided.
UNDECIDED_RULES = ("keep", "suspend")
RECURRENCES = ("none", "quarterly", "yearly")


class ReviewCampaign(Model):
    __tablename__ = "review_campaign"
    __table_args__ = (
        check_in("state", CAMPAIGN_STATES, "ck_campaign_state"),
        check_in("undecided_rule", UNDECIDED_RULES, "ck_campaign_undecided_rule"),
        check_in("recurrence", RECURRENCES, "ck_campaign_recurrence"),
        Index("ix_campaign_unit_id", "unit_id"),
        Index("ix_campaign_state_due", "state", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), nullable=False)
    unit: Mapped[Unit] = relationship()
    starts_on: Mapped[date] = mapped_column(Date, nullable=False)
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    state: Mapped[str] = mapped_column(String(20), nullable=False, default="open")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, nullable=False
    )
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    undecided_rule: Mapped[str] = mapped_column(String(20), nullable=False, default="keep")
    recurrence: Mapped[str] = mapped_column(String(20), nullable=False, default="none")
    # The unit heads of each officer review too, beside the command's technology staff.
    heads_review: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # The campaign this one recurs from.
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("review_campaign.id"))
    # The run that closed it.
    job_run_id: Mapped[int | None] = mapped_column(ForeignKey("job_run.id"))
    # The run that listed its items (None for a review its predecessor's closing run started).
    start_run_id: Mapped[int | None] = mapped_column(ForeignKey("job_run.id"))

    def __str__(self) -> str:
        return self.name


class ReviewDecision(VersionedMixin, Model):
    __tablename__ = "review_decision"
    __table_args__ = (
        check_in("outcome", REVIEW_OUTCOMES, "ck_review_outcome"),
        UniqueConstraint("campaign_id", "grant_id", name="uq_review_campaign_grant"),
        Index("ix_review_officer_id", "officer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("review_campaign.id"), nullable=False)
    campaign: Mapped[ReviewCampaign] = relationship()
    grant_id: Mapped[int] = mapped_column(ForeignKey("permission_grant.id"), nullable=False)
    grant: Mapped[Grant] = relationship()
    officer_id: Mapped[int] = mapped_column(ForeignKey("officer.id"), nullable=False)
    officer: Mapped[Officer] = relationship()
    outcome: Mapped[str] = mapped_column(String(20), nullable=False, default="pending")
    comment: Mapped[str | None] = mapped_column(Text)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A decision takes effect when its reviewer signs off; applied_at is when it did.
    signed_off_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # The relations __str__ reads, loaded with a list that shows this row as text.
    text_reads = ("campaign", "grant")

    def __str__(self) -> str:
        return f"{self.campaign} – {self.grant}"
