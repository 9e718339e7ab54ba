"""Linkage Center rules (the data-sharing circulars): what each agreement allows, who manages an
agency's users, and what an officer must say to justify asking for a source.

- A `DataField` is one item of a data source an agreement may allow (name, address, face photo).
- A `LinkageLetter` is a letter kept as a PDF: the owner agency's permission letter of an
  agreement, or the letter appointing an agency's super user.
- An `AgencySuperUser` manages the agency's users at the Linkage Center; an agency with an
  agreement in force needs one in office (the audit flags it otherwise).
- A `JustificationQuestion` is asked on the request form for each chosen source; its `ItemAnswer`
  stays with the request item, and so with the grant made from it.
"""
from datetime import date, datetime

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from app.models.base import TimestampMixin, check_in, utcnow
from app.models.source import Agency, DataSource

ANSWER_KINDS = ("text", "number", "date")

# The fields an agreement allows, and the fields a request item asks for.
agreement_field = Table(
    "agreement_field", Model.metadata,
    Column("agreement_id", ForeignKey("data_sharing_agreement.id", ondelete="CASCADE"), primary_key=True),
    Column("data_field_id", ForeignKey("data_field.id"), primary_key=True),
    Index("ix_agreement_field_field", "data_field_id"),
)
request_item_field = Table(
    "request_item_field", Model.metadata,
    Column("request_item_id", ForeignKey("request_item.id", ondelete="CASCADE"), primary_key=True),
    Column("data_field_id", ForeignKey("data_field.id"), primary_key=True),
    Index("ix_request_item_field_field", "data_field_id"),
)


class DataField(Model):
    """One item of a data source an agreement may allow: ชื่อ-สกุล, ที่อยู่, ภาพใบหน้า ..."""

    __tablename__ = "data_field"
    __table_args__ = (UniqueConstraint("data_source_id", "code", name="uq_data_field_source_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    data_source_id: Mapped[int] = mapped_column(ForeignKey("data_source.id"), nullable=False)
    data_source: Mapped[DataSource] = relationship()
    code: Mapped[str] = mapped_column(String(50), nullable=False)
    name_th: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str] = mapped_column(String(200), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    text_reads = ("data_source",)

    def __str__(self) -> str:
        return f"{self.data_source.name_th}: {self.name_th}" if self.data_source else self.name_th


class LinkageLetter(Model):
    """A letter kept as a PDF in the database, like a request's attachments."""

    __tablename__ = "linkage_letter"
    __table_args__ = (check_in("content_type", ("application/pdf",), "ck_linkage_letter_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(String(50), nullable=False)
    size_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))

    def __str__(self) -> str:
        return self.filename


class AgencySuperUser(TimestampMixin, Model):
    """The agency's registered super user at the Linkage Center, appointed by a letter."""

    __tablename__ = "agency_super_user"
    __table_args__ = (
        Index("ix_agency_super_user_agency", "agency_id"),
        CheckConstraint("valid_until IS NULL OR valid_until >= valid_from", name="ck_super_user_validity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), nullable=False)
    agency: Mapped[Agency] = relationship()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    position: Mapped[str] = mapped_column(String(200), nullable=False)
    phone: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(254))
    letter_number: Mapped[str] = mapped_column(String(100), nullable=False)
    letter_date: Mapped[date | None] = mapped_column(Date)
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("linkage_letter.id"))
    letter: Mapped[LinkageLetter | None] = relationship()
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    valid_until: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)

    def __str__(self) -> str:
        return self.name


class JustificationQuestion(Model):
    """A question asked on the request form of everyone who asks for the source."""

    __tablename__ = "justification_question"
    __table_args__ = (
        check_in("answer_kind", ANSWER_KINDS, "ck_question_answer_kind"),
        CheckConstraint("max_length BETWEEN 1 AND 2000", name="ck_question_max_length"),
        Index("ix_question_source", "data_source_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    data_source_id: Mapped[int] = mapped_column(ForeignKey("data_source.id"), nullable=False)
    data_source: Mapped[DataSource] = relationship()
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    label_th: Mapped[str] = mapped_column(String(300), nullable=False)
    label_en: Mapped[str] = mapped_column(String(300), nullable=False)
    answer_kind: Mapped[str] = mapped_column(String(10), nullable=False, default="text")
    required: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    max_length: Mapped[int] = mapped_column(Integer, nullable=False, default=200)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    text_reads = ("data_source",)

    def __str__(self) -> str:
        return self.label_th


class ItemAnswer(Model):
    """An officer's answer to a question, with the question's words as they were asked."""

    __tablename__ = "item_answer"
    __table_args__ = (UniqueConstraint("request_item_id", "question_id", name="uq_item_answer_question"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_item_id: Mapped[int] = mapped_column(ForeignKey("request_item.id", ondelete="CASCADE"), nullable=False)
    question_id: Mapped[int | None] = mapped_column(ForeignKey("justification_question.id", ondelete="SET NULL"))
    question: Mapped[JustificationQuestion | None] = relationship()
    label_th: Mapped[str] = mapped_column(String(300), nullable=False)
    label_en: Mapped[str] = mapped_column(String(300), nullable=False)
    value: Mapped[str] = mapped_column(Text, nullable=False)

    def __str__(self) -> str:
        return f"{self.label_th}: {self.value}"
