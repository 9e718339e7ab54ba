"""The mail outbox: queued in the transaction of the decision, delivered by a worker command."""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import check_in, utcnow

NOTIFICATION_STATES = ("queued", "sent", "failed")


class Notification(Model):
    __tablename__ = "notification"
    __table_args__ = (
        check_in("state", NOTIFICATION_STATES, "ck_notification_state"),
        Index("ix_notification_due", "state", "next_attempt_at"),
        # The bell of every page counts one user's unread notifications.
        Index("ix_notification_unread", "recipient_user_id", postgresql_where=text("read_at IS NULL"),
              sqlite_where=text("read_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, nullable=False
    )
    recipient_email: Mapped[str] = mapped_column(String(254), nullable=False)
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))

    @classmethod
    def unread_of(cls, user_id: int):
        """What the bell counts: the user's notifications not yet read in the app."""
        return (cls.recipient_user_id == user_id) & cls.read_at.is_(None)
    subject: Mapped[str] = mapped_column(String(300), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("access_request.id"))
    request: Mapped["AccessRequest | None"] = relationship()  # noqa: F821  (app.models.request)
    state: Mapped[str] = mapped_column(String(20), nullable=False, default="queued")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, nullable=False
    )
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the recipient opened it in the app (the bell); mail delivery is `state`.
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def __str__(self) -> str:
        return self.subject
