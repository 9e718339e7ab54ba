"""The audit trail: append-only, written in the same transaction as what it records."""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import utcnow

# The officers whose personal data an event concerns: the one whose record was opened, the
# requester of a memo printed, every officer of an export. "Who looked at this officer" is one
# filter on this table (ix_audit_officer_officer). Append-only like the trail itself (0012).
# officer_id has no foreign key, like object_id: the trail outlives a record deleted later.
audit_event_officer = Table(
    "audit_event_officer",
    Model.metadata,
    Column("event_id", BigInteger().with_variant(Integer, "sqlite"), ForeignKey("audit_event.id"),
           primary_key=True),
    Column("officer_id", Integer, primary_key=True),
    Index("ix_audit_officer_officer", "officer_id", "event_id"),
)


class AuditEvent(Model):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_occurred_at", "occurred_at", "id"),
        Index("ix_audit_object", "object_type", "object_id"),
        # The trail filtered by one action, newest first (migration 0024).
        Index("ix_audit_action", "action", "id"),
        Index("ix_audit_actor", "actor_id", "occurred_at"),
        Index("ix_audit_unit", "unit_id", "occurred_at"),
        Index("ix_audit_job_run", "job_run_id"),
        Index("ix_audit_chain_seq", "chain_seq", unique=True),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True
    )
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, nullable=False
    )
    action: Mapped[str] = mapped_column(String(60), nullable=False)
    # The ids below name rows without a foreign key, as object_id and the officers do: the trail
    # outlives a login, unit or job run removed later, and a key checked for every row cost a
    # 230,000-row import 1.4-2.3 s (migration 0022).
    actor_id: Mapped[int | None] = mapped_column(Integer)
    # The related side first in each join: FAB's filters on a relation take the other side of the
    # join for the key when the first has no ForeignKey.
    actor = relationship("User", primaryjoin="User.id == foreign(AuditEvent.actor_id)")
    on_behalf_of_id: Mapped[int | None] = mapped_column(Integer)
    on_behalf_of = relationship("User", primaryjoin="User.id == foreign(AuditEvent.on_behalf_of_id)",
                                viewonly=True)
    object_type: Mapped[str | None] = mapped_column(String(60))
    object_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    # The unit the event concerns, so a command can audit its own subtree.
    unit_id: Mapped[int | None] = mapped_column(Integer)
    # Read-only, so the API shows the unit itself rather than a bare id.
    unit = relationship("Unit", primaryjoin="Unit.id == foreign(AuditEvent.unit_id)", viewonly=True)
    summary: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    remote_addr: Mapped[str | None] = mapped_column(String(45))
    # Why personal data was read, where the screen knows or asks (e.g. "request 12/2569").
    purpose: Mapped[str | None] = mapped_column(String(200))
    officers = relationship(
        "Officer", secondary=audit_event_officer, viewonly=True,
        primaryjoin="AuditEvent.id == audit_event_officer.c.event_id",
        secondaryjoin="foreign(audit_event_officer.c.officer_id) == Officer.id")
    # The import or scheduled run that made this change, when one did.
    job_run_id: Mapped[int | None] = mapped_column(Integer)
    # The row's place in the tamper-evident chain, set when its transaction commits
    # (app/services/audit_chain): the hash of the row before it, and its own.
    chain_seq: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))

    def __str__(self) -> str:
        return f"{self.action} {self.object_type or ''}#{self.object_id or ''}"


class AuditTrailIsAppendOnly(RuntimeError):
    pass


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_changes(_mapper, _connection, target: AuditEvent) -> None:
    raise AuditTrailIsAppendOnly(f"audit event {target.id} cannot be changed or deleted")
