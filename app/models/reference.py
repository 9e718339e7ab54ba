"""Reference data an Admin edits through the generated screens: ranks, duty lines, holidays."""
from datetime import date

from flask_appbuilder import Model
from sqlalchemy import Boolean, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import check_in

RANK_CLASSES = ("commissioned", "non_commissioned")


class RankGroup(Model):
    """กลุ่มยศ used by civil-registration rights: 1 = พ.ต.อ. and above, 2 = ร.ต.ต.–พ.ต.ท., 3 = ประทวน."""

    __tablename__ = "rank_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True, nullable=False)
    name_th: Mapped[str] = mapped_column(String(100), nullable=False)
    name_en: Mapped[str] = mapped_column(String(100), nullable=False)

    def __str__(self) -> str:
        return self.name_th


class Rank(Model):
    __tablename__ = "rank"
    __table_args__ = (check_in("rank_class", RANK_CLASSES, "ck_rank_class"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order: Mapped[int] = mapped_column(Integer, unique=True, nullable=False)
    name_th: Mapped[str] = mapped_column(String(100), nullable=False)
    abbr_th: Mapped[str] = mapped_column(String(30), unique=True, nullable=False)
    name_en: Mapped[str] = mapped_column(String(100), nullable=False)
    abbr_en: Mapped[str | None] = mapped_column(String(30))
    rank_class: Mapped[str] = mapped_column(String(20), nullable=False)
    rank_group_id: Mapped[int] = mapped_column(ForeignKey("rank_group.id"), nullable=False)
    rank_group: Mapped[RankGroup] = relationship()

    def __str__(self) -> str:
        return self.abbr_th


class DutyLine(Model):
    """สายงาน; external search rights are only for the lines flagged eligible."""

    __tablename__ = "duty_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    name_th: Mapped[str] = mapped_column(String(100), nullable=False)
    name_en: Mapped[str] = mapped_column(String(100), nullable=False)
    external_search_eligible: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    def __str__(self) -> str:
        return self.name_th


class PositionLevel(Model):
    """ระดับตำแหน่ง; `order` compares levels for functions with a minimum level."""

    __tablename__ = "position_level"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    order: Mapped[int] = mapped_column(Integer, unique=True, nullable=False)
    name_th: Mapped[str] = mapped_column(String(150), nullable=False)
    name_en: Mapped[str] = mapped_column(String(150), nullable=False)
    # Holders of a position at this level head a unit (หัวหน้าหน่วย) and may certify requests.
    is_unit_head: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    def __str__(self) -> str:
        return self.name_th


class Holiday(Model):
    """A day that is not a business day; seeded from the `holidays` package, edited by Admin."""

    __tablename__ = "holiday"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True, nullable=False)
    name_th: Mapped[str] = mapped_column(String(300), nullable=False)
    name_en: Mapped[str | None] = mapped_column(String(300))

    def __str__(self) -> str:
        return f"{self.day.isoformat()} {self.name_th}"
