"""External data sources, their owner agencies and agreements, and CRIMES functions."""
from datetime import date

from flask_appbuilder import Model
from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.reference import DutyLine, PositionLevel


class Agency(Model):
    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    name_th: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))

    def __str__(self) -> str:
        return self.name_th


class DataSharingAgreement(Model):
    """The owner agency's permission letter (Linkage Center rule): no valid agreement, no grant."""

    __tablename__ = "data_sharing_agreement"
    __table_args__ = (Index("ix_agreement_agency_id", "agency_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), nullable=False)
    agency: Mapped[Agency] = relationship()
    reference: Mapped[str] = mapped_column(String(100), nullable=False)
    signed_on: Mapped[date | None] = mapped_column(Date)
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    valid_until: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    # The owner agency's permission letter as a PDF (the number is `reference`, the date
    # `signed_on`), and the data fields it allows (app.models.linkage).
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("linkage_letter.id"))
    letter = relationship("LinkageLetter")
    allowed_fields = relationship("DataField", secondary="agreement_field", order_by="DataField.id")

    def __str__(self) -> str:
        return self.reference


class DataSource(Model):
    __tablename__ = "data_source"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True, nullable=False)
    name_th: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str] = mapped_column(String(200), nullable=False)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), nullable=False)
    agency: Mapped[Agency] = relationship()
    is_open: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    needs_rank_group: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    needs_external_activation: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False
    )
    activation_days: Mapped[int | None] = mapped_column(Integer)
    default_validity_months: Mapped[int] = mapped_column(Integer, nullable=False, default=12)
    description: Mapped[str | None] = mapped_column(Text)

    def __str__(self) -> str:
        return self.name_th


class SystemFunction(Model):
    """A CRIMES function or role, optionally limited to a minimum level or one duty line."""

    __tablename__ = "system_function"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True, nullable=False)
    name_th: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    min_position_level_id: Mapped[int | None] = mapped_column(ForeignKey("position_level.id"))
    min_position_level: Mapped[PositionLevel | None] = relationship()
    duty_line_id: Mapped[int | None] = mapped_column(ForeignKey("duty_line.id"))
    duty_line: Mapped[DutyLine | None] = relationship()
    default_validity_months: Mapped[int] = mapped_column(Integer, nullable=False, default=12)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    def __str__(self) -> str:
        return self.name_th
