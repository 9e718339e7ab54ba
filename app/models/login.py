"""What the server keeps about logins, so that every worker and server agrees on it."""
from datetime import datetime

from flask_appbuilder import Model
from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column


class LoginGeneration(Model):
    """A user's sessions and tokens carry the generation they were issued in. Logging out, or a
    password changed or reset, moves the generation on, and everything issued before it ends."""

    __tablename__ = "login_generation"

    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class LoginThrottle(Model):
    """Failed logins per username (hashed: a password typed into the username box must not be
    kept), counted for names that exist and names that do not alike, so neither answer tells."""

    __tablename__ = "login_throttle"

    username_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    first_failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
