"""คำขอ: access requests, their items and files, the approval chains they go up and the
decisions taken at each stage."""
from datetime import date, datetime

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from app.models.base import TimestampMixin, VersionedMixin, check_in, utcnow
from app.models.officer import Officer
from app.models.reference import RankGroup
from app.models.source import DataSource, SystemFunction
from app.models.unit import Unit

REQUEST_KINDS = (
    "new_account",
    "account_renewal",
    "external_search",
    "external_search_renewal",
    "additional_functions",
    "temporary_assignment",
    "return_home_unit",
)
REQUEST_STATES = ("draft", "submitted", "returned", "rejected", "completed", "cancelled")
ITEM_STATES = ("pending", "approved", "rejected", "activated", "activation_refused")
STAGE_ACTORS = ("certifying_head", "central_it", "command_tech", "agency")
ATTACHMENT_KINDS = ("memo", "id_card_copy", "duty_certificate", "other")
# Whom an overdue stage is escalated to: the head of the unit above the named head's, one named
# login, or the holders of a role (of the request's command, for a command role).
ESCALATION_TARGETS = ("superior_head", "user", "role")
# The roles a stage may be escalated to: those that decide stages.
ESCALATION_ROLES = ("CentralIT", "CommandTech")
# When a kind of document is required: on every request of the kind, or only when the officer's
# duty differs from the position's line (the duty certificate of the circular).
REQUIREMENT_CONDITIONS = ("always", "duty_differs")


class ApprovalChain(Model):
    """The ordered stages one kind of request goes through; data an Admin may change."""

    __tablename__ = "approval_chain"
    __table_args__ = (check_in("request_kind", REQUEST_KINDS, "ck_chain_request_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_kind: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    name_th: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str] = mapped_column(String(200), nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    stages: Mapped[list["ApprovalStage"]] = relationship(
        back_populates="chain", order_by="ApprovalStage.position"
    )

    def __str__(self) -> str:
        return self.name_th


class ApprovalStage(Model):
    __tablename__ = "approval_stage"
    __table_args__ = (
        UniqueConstraint("chain_id", "position", name="uq_stage_chain_position"),
        check_in("actor", STAGE_ACTORS, "ck_stage_actor"),
        CheckConstraint("position >= 1", name="ck_stage_position_positive"),
        CheckConstraint("due_business_days >= 0", name="ck_stage_due_days"),
        CheckConstraint("remind_after_days >= 0", name="ck_stage_remind_days"),
        CheckConstraint("escalate_after_days >= 0", name="ck_stage_escalate_days"),
        CheckConstraint("return_after_days >= 0", name="ck_stage_return_days"),
        check_in("escalate_to", ESCALATION_TARGETS, "ck_stage_escalate_to"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chain_id: Mapped[int] = mapped_column(ForeignKey("approval_chain.id"), nullable=False)
    chain: Mapped[ApprovalChain] = relationship(back_populates="stages")
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    name_th: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str] = mapped_column(String(200), nullable=False)
    actor: Mapped[str] = mapped_column(String(30), nullable=False)
    due_business_days: Mapped[int] = mapped_column(Integer, nullable=False, default=3)
    # Chasing a request that waits here, in business days since it entered the stage; each rule
    # is off while empty (app/services/chasing.py runs them).
    remind_after_days: Mapped[int | None] = mapped_column(Integer)
    escalate_after_days: Mapped[int | None] = mapped_column(Integer)
    escalate_to: Mapped[str | None] = mapped_column(String(20))
    escalate_to_user_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    escalate_to_user = relationship("User", foreign_keys=[escalate_to_user_id])
    escalate_to_role: Mapped[str | None] = mapped_column(String(64))
    return_after_days: Mapped[int | None] = mapped_column(Integer)
    return_reason: Mapped[str | None] = mapped_column(Text)

    def __str__(self) -> str:
        return f"{self.position}. {self.name_th}"

    @property
    def chases(self) -> bool:
        return any(days is not None for days in (self.remind_after_days, self.escalate_after_days,
                                                 self.return_after_days))


class RequiredDocument(Model):
    """A document a kind of request must carry before it is submitted; data an Admin edits."""

    __tablename__ = "required_document"
    __table_args__ = (
        UniqueConstraint("request_kind", "attachment_kind", name="uq_required_document"),
        check_in("request_kind", REQUEST_KINDS, "ck_required_document_request_kind"),
        check_in("attachment_kind", ATTACHMENT_KINDS, "ck_required_document_attachment_kind"),
        check_in("condition", REQUIREMENT_CONDITIONS, "ck_required_document_condition"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_kind: Mapped[str] = mapped_column(String(40), nullable=False)
    attachment_kind: Mapped[str] = mapped_column(String(30), nullable=False)
    condition: Mapped[str] = mapped_column(String(20), nullable=False, default="always")

    def __str__(self) -> str:
        return f"{self.request_kind}: {self.attachment_kind}"


class RequestNumberCounter(Model):
    """The last running number given in one Buddhist-Era year: one row per year, bumped in place.

    A counter row (not max()+1) so simultaneous submissions each get their own number.
    """

    __tablename__ = "request_number_counter"

    year_be: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, nullable=False)


class AccessRequest(TimestampMixin, VersionedMixin, Model):
    __tablename__ = "access_request"
    __table_args__ = (
        check_in("kind", REQUEST_KINDS, "ck_request_kind"),
        check_in("state", REQUEST_STATES, "ck_request_state"),
        Index("ix_request_state", "state"),
        # A list of one state, newest first, walks this backwards and tests the reader's scope on
        # the index alone (a command's "submitted" requests: 13 -> 1.5 ms at 1M; migration 0031).
        Index("ix_request_state_id", "state", "id",
              postgresql_include=["unit_id", "requester_id", "target_unit_id", "certifying_head_id"]),
        # What the dashboard counts of a reader's own requests, held in the index (app.services.dashboard);
        # the state a key too, so a command's list counted for one state probes its officers' requests
        # in that state alone (migration 0030).
        Index("ix_request_requester_id", "requester_id", "state",
              postgresql_include=["unit_id", "current_stage_id", "due_on"]),
        Index("ix_request_head_state", "certifying_head_id", "state",
              postgresql_include=["unit_id", "current_stage_id", "requester_id", "due_on"]),
        Index("ix_request_unit_state", "unit_id", "state"),
        Index("ix_request_kind", "kind"),
        Index("ix_request_submitted_at", "submitted_at"),
        Index("ix_request_due_on", "due_on"),
        # The few requests certified for a duty line that may not search: the rights audit probes
        # it for every grant of a command (migration 0015).
        Index("ix_request_duty_mismatch", "id", sqlite_where=text("duty_mismatch IS TRUE"),
              postgresql_where=text("duty_mismatch IS TRUE")),
        # The approvers' inboxes: what waits at a stage, soonest due first.
        # On PostgreSQL it carries the requester and the key, so an inbox's count (never one's own
        # request) reads the index alone (migration 0008).
        Index("ix_request_state_stage_due", "state", "current_stage_id", "due_on",
              postgresql_include=["requester_id", "id"]),
        # What waits now, soonest due first (migration 0008): an inbox reads its first page in
        # due order without sorting the thousands waiting at its stages.
        Index("ix_request_waiting_due", "due_on", "id",
              sqlite_where=text("state = 'submitted'"), postgresql_where=text("state = 'submitted'")),
        # Temporary assignments name the unit they go to; every other request leaves it empty.
        Index("ix_request_target_unit", "target_unit_id",
              sqlite_where=text("target_unit_id IS NOT NULL"),
              postgresql_where=text("target_unit_id IS NOT NULL")),
        # The chasing sweep (migration 0016): what waits at one stage since a day or earlier.
        Index("ix_request_waiting_since", "current_stage_id", "stage_entered_on",
              sqlite_where=text("state = 'submitted'"), postgresql_where=text("state = 'submitted'")),
        # A request found by part of its number ("000123" of 2569/000123), in every list and
        # inbox: a trigram index serves ILIKE's prefix and infix (migration 0025; plain on SQLite).
        Index("ix_request_number_trgm", "number", postgresql_using="gin",
              postgresql_ops={"number": "gin_trgm_ops"}),
        # The lines of a group request; most requests belong to none (migration 0017).
        Index("ix_request_group", "group_id",
              sqlite_where=text("group_id IS NOT NULL"), postgresql_where=text("group_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Running number printed on the memo, e.g. 2569/000123; set at first submission.
    number: Mapped[str | None] = mapped_column(String(30), unique=True)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    state: Mapped[str] = mapped_column(String(20), nullable=False, default="draft")
    requester_id: Mapped[int] = mapped_column(ForeignKey("officer.id"), nullable=False)
    requester: Mapped[Officer] = relationship(foreign_keys=[requester_id])
    # The requester's unit when the request was made, so the right command handles it.
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), nullable=False)
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])
    chain_id: Mapped[int | None] = mapped_column(ForeignKey("approval_chain.id"))
    chain: Mapped[ApprovalChain | None] = relationship()
    current_stage_id: Mapped[int | None] = mapped_column(ForeignKey("approval_stage.id"))
    current_stage: Mapped[ApprovalStage | None] = relationship()
    contact_email: Mapped[str] = mapped_column(String(254), nullable=False)
    contact_mobile: Mapped[str] = mapped_column(String(20), nullable=False)
    duty_performed: Mapped[str] = mapped_column(Text, nullable=False)
    duty_mismatch: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    pledge_accepted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    certifying_head_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id"))
    certifying_head: Mapped[Officer | None] = relationship(
        foreign_keys=[certifying_head_id]
    )
    # Temporary assignment (ช่วยราชการ): where to and until when.
    target_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    target_unit: Mapped[Unit | None] = relationship(foreign_keys=[target_unit_id])
    assignment_until: Mapped[date | None] = mapped_column(Date)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_on: Mapped[date | None] = mapped_column(Date)
    # The office day the request entered its current stage: business days waited count from it.
    stage_entered_on: Mapped[date | None] = mapped_column(Date)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    # The group request (แบบกลุ่ม) this request is one officer's line of; None for most.
    group_id: Mapped[int | None] = mapped_column(ForeignKey("request_group.id"))
    group: Mapped["RequestGroup | None"] = relationship(back_populates="lines")

    items: Mapped[list["RequestItem"]] = relationship(
        back_populates="request", order_by="RequestItem.id"
    )

    def __str__(self) -> str:
        return self.number or f"#{self.id}"


class RequestGroup(Model):
    """A group request (แบบกลุ่ม, the circular's group memo): one filing, by a unit head or a
    command's technology or personnel staff, for many officers of their unit or command.

    Each officer's line is an AccessRequest of its own (group_id), so every rule, inbox, decision,
    grant and audit works per line and each line is decided alone; the group holds what the
    officers share: who filed it, the memo's number and contact, the duty and the pledge.
    """

    __tablename__ = "request_group"
    __table_args__ = (
        check_in("kind", REQUEST_KINDS, "ck_group_kind"),
        Index("ix_group_filed_by", "filed_by_id"),
        Index("ix_group_command", "command_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The group memo's running number, from the same yearly counter as the requests' own.
    number: Mapped[str] = mapped_column(String(30), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    filed_by_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id"), nullable=False)
    filer_id: Mapped[int] = mapped_column(ForeignKey("officer.id"), nullable=False)
    filer: Mapped[Officer] = relationship(foreign_keys=[filer_id])
    # The filer's unit (the memo's ส่วนราชการ) and its command, whose staff follow the group.
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), nullable=False)
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])
    command_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    contact_email: Mapped[str] = mapped_column(String(254), nullable=False)
    contact_mobile: Mapped[str] = mapped_column(String(20), nullable=False)
    duty_performed: Mapped[str] = mapped_column(Text, nullable=False)
    pledge_accepted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    lines: Mapped[list[AccessRequest]] = relationship(back_populates="group", order_by="AccessRequest.id")

    def __str__(self) -> str:
        return self.number


class RequestItem(VersionedMixin, Model):
    """One data source or one function asked for; CentralIT may decide each on its own."""

    __tablename__ = "request_item"
    __table_args__ = (
        check_in("state", ITEM_STATES, "ck_item_state"),
        CheckConstraint(
            "(data_source_id IS NULL) <> (function_id IS NULL)", name="ck_item_one_target"
        ),
        Index("ix_item_request_id", "request_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("access_request.id"), nullable=False)
    request: Mapped[AccessRequest] = relationship(back_populates="items")
    data_source_id: Mapped[int | None] = mapped_column(ForeignKey("data_source.id"))
    data_source: Mapped[DataSource | None] = relationship()
    function_id: Mapped[int | None] = mapped_column(ForeignKey("system_function.id"))
    function: Mapped[SystemFunction | None] = relationship()
    rank_group_id: Mapped[int | None] = mapped_column(ForeignKey("rank_group.id"))
    rank_group: Mapped[RankGroup | None] = relationship()
    above_own_rank: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    state: Mapped[str] = mapped_column(String(20), nullable=False, default="pending")
    comment: Mapped[str | None] = mapped_column(Text)
    agency_reference: Mapped[str | None] = mapped_column(String(100))
    activated_on: Mapped[date | None] = mapped_column(Date)
    # What a search item asks of its source, and why (app.models.linkage).
    fields = relationship("DataField", secondary="request_item_field", order_by="DataField.id")
    answers = relationship("ItemAnswer", order_by="ItemAnswer.id", cascade="all, delete-orphan",
                           passive_deletes=True)

    # The relations __str__ reads, loaded with a list that shows this row as text.
    text_reads = ("data_source", "function")

    def __str__(self) -> str:
        target = self.data_source or self.function
        return str(target) if target else f"#{self.id}"


class Attachment(Model):
    """A PDF or JPEG kept in the database, so a request and its files commit or roll back together."""

    __tablename__ = "attachment"
    __table_args__ = (
        check_in("kind", ATTACHMENT_KINDS, "ck_attachment_kind"),
        check_in("content_type", ("application/pdf", "image/jpeg"), "ck_attachment_type"),
        Index("ix_attachment_request_id", "request_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("access_request.id"), nullable=False)
    request: Mapped[AccessRequest] = relationship()
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(String(50), nullable=False)
    size_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    uploaded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, nullable=False
    )
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))

    def __str__(self) -> str:
        return self.filename


class Decision(Model):
    """What one actor did at one stage (or to one item): the request's timeline."""

    __tablename__ = "decision"
    __table_args__ = (
        # A request's timeline; and the waits of a few requests (a head's or a command's stage
        # timings) from the index alone on PostgreSQL.
        Index("ix_decision_request_id", "request_id", "decided_at",
              postgresql_include=["stage_id", "transition", "waited_hours"]),
        # The dashboard reads the last 90 days of decisions.
        Index("ix_decision_decided_at", "decided_at"),
        # ... and of the waits they ended, from the index alone on PostgreSQL.
        Index("ix_decision_waits", "decided_at",
              postgresql_include=["request_id", "stage_id", "transition", "waited_hours"],
              postgresql_where=text("waited_hours IS NOT NULL"), sqlite_where=text("waited_hours IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("access_request.id"), nullable=False)
    request: Mapped[AccessRequest] = relationship()
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("approval_stage.id"))
    stage: Mapped[ApprovalStage | None] = relationship()
    item_id: Mapped[int | None] = mapped_column(ForeignKey("request_item.id"))
    item: Mapped[RequestItem | None] = relationship()
    transition: Mapped[str] = mapped_column(String(40), nullable=False)
    from_state: Mapped[str] = mapped_column(String(20), nullable=False)
    to_state: Mapped[str] = mapped_column(String(20), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    actor = relationship("User", foreign_keys=[actor_id])
    # Set when a deputy decided for someone away.
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    # The head's certification in the app, which stands for the signature on the memo: the officer
    # is fit to hold the rights asked for, and the head will supervise their use.
    attested: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    comment: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, nullable=False
    )
    # Set on a decision that ends a wait at a stage or at the agency (app/services/stage_waits).
    waited_hours: Mapped[float | None] = mapped_column(Float)

    def __str__(self) -> str:
        return f"{self.transition} {self.decided_at:%Y-%m-%d}"


class StageChase(Model):
    """What the chasing sweep did to one wait of a request at one stage: the reminder, the
    escalation (and to whom) and the return, each at most once. A wait is the request, the stage
    and the day it entered it; a request sent back to the same stage waits anew."""

    __tablename__ = "stage_chase"
    __table_args__ = (
        UniqueConstraint("request_id", "stage_id", "entered_on", name="uq_stage_chase_wait"),
        # The fallback's inbox and row scope: what was escalated to one login, or to a role.
        Index("ix_stage_chase_user", "escalated_to_user_id",
              sqlite_where=text("escalated_to_user_id IS NOT NULL"),
              postgresql_where=text("escalated_to_user_id IS NOT NULL")),
        Index("ix_stage_chase_role", "escalated_to_role", "request_id",
              sqlite_where=text("escalated_to_role IS NOT NULL"),
              postgresql_where=text("escalated_to_role IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("access_request.id"), nullable=False)
    stage_id: Mapped[int] = mapped_column(ForeignKey("approval_stage.id"), nullable=False)
    entered_on: Mapped[date] = mapped_column(Date, nullable=False)
    reminded_on: Mapped[date | None] = mapped_column(Date)
    escalated_on: Mapped[date | None] = mapped_column(Date)
    escalated_to_user_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    escalated_to_role: Mapped[str | None] = mapped_column(String(64))
    returned_on: Mapped[date | None] = mapped_column(Date)
    # The last day the sweep found no head at all to hand the request to (tried again next day).
    no_head_on: Mapped[date | None] = mapped_column(Date)

    def __str__(self) -> str:
        return f"#{self.request_id}/{self.stage_id} {self.entered_on}"
