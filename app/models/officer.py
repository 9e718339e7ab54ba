"""ข้าราชการตำรวจ: the personnel record as POLIS keeps it, linked to at most one login."""
from datetime import date

from flask_appbuilder import Model
from sqlalchemy import Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.domain import national_id
from app.models.base import TimestampMixin, VersionedMixin, check_in
from app.models.reference import DutyLine, PositionLevel, Rank
from app.models.unit import Unit

OFFICER_STATUSES = ("active", "retired", "transferred_out", "suspended", "deceased")


class Officer(TimestampMixin, VersionedMixin, Model):
    __tablename__ = "officer"
    __table_args__ = (
        check_in("status", OFFICER_STATUSES, "ck_officer_status"),
        # A command's officers by unit, read from the index alone (migration 0019).
        Index("ix_officer_home_unit", "home_unit_id", "id"),
        Index("ix_officer_acting_unit", "acting_unit_id", "id", sqlite_where=text("acting_unit_id IS NOT NULL"),
              postgresql_where=text("acting_unit_id IS NOT NULL")),
        # A Thai name's prefix (LIKE 'ศิ%') as a range of these on PostgreSQL: compared byte by
        # byte (pattern ops), as the database's collation is not "C" (migration 0029).
        Index("ix_officer_name_th", "first_name_th", "last_name_th",
              postgresql_ops={"first_name_th": "varchar_pattern_ops", "last_name_th": "varchar_pattern_ops"}),
        Index("ix_officer_last_name_th", "last_name_th", postgresql_ops={"last_name_th": "varchar_pattern_ops"}),
        Index("ix_officer_status", "status"),
        Index("ix_officer_rank_id", "rank_id"),
        # The expiry job's ends of temporary assignments (migration 0007).
        Index("ix_officer_acting_until", "acting_until", "id", sqlite_where=text("acting_until IS NOT NULL"),
              postgresql_where=text("acting_until IS NOT NULL")),
        # Name search (pickers, lookups, list filters) matches a prefix of any of four names,
        # case-blind for the English ones: trigram indexes serve LIKE and ILIKE on PostgreSQL,
        # Thai included (on SQLite they are plain indexes).
        *(Index(f"ix_officer_{name}_trgm", name, postgresql_using="gin",
                postgresql_ops={name: "gin_trgm_ops"})
          for name in ("first_name_th", "last_name_th", "first_name_en", "last_name_en")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    national_id: Mapped[str] = mapped_column(String(13), unique=True, nullable=False)
    rank_id: Mapped[int] = mapped_column(ForeignKey("rank.id"), nullable=False)
    rank: Mapped[Rank] = relationship()
    first_name_th: Mapped[str] = mapped_column(String(100), nullable=False)
    last_name_th: Mapped[str] = mapped_column(String(100), nullable=False)
    first_name_en: Mapped[str | None] = mapped_column(String(100))
    last_name_en: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date | None] = mapped_column(Date)
    position_title: Mapped[str | None] = mapped_column(String(200))
    position_number: Mapped[str | None] = mapped_column(String(30))
    position_level_id: Mapped[int | None] = mapped_column(ForeignKey("position_level.id"))
    position_level: Mapped[PositionLevel | None] = relationship()
    duty_line_id: Mapped[int | None] = mapped_column(ForeignKey("duty_line.id"))
    duty_line: Mapped[DutyLine | None] = relationship()
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="active")
    home_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), nullable=False)
    home_unit: Mapped[Unit] = relationship(foreign_keys=[home_unit_id])
    acting_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    acting_unit: Mapped[Unit | None] = relationship(foreign_keys=[acting_unit_id])
    acting_until: Mapped[date | None] = mapped_column(Date)
    email: Mapped[str | None] = mapped_column(String(254))
    mobile: Mapped[str | None] = mapped_column(String(20))
    # The login of this officer; one user, one officer.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"), unique=True)
    user = relationship("User")

    @validates("national_id")
    def _validate_national_id(self, _key: str, value: str) -> str:
        return national_id.validate(value)

    @property
    def full_name_th(self) -> str:
        return f"{self.first_name_th} {self.last_name_th}"

    @property
    def national_id_masked(self) -> str:
        return national_id.format_masked(self.national_id)

    @property
    def national_id_full(self) -> str:
        return national_id.format_full(self.national_id)

    # The relations __str__ reads, loaded with a list that shows this row as text.
    text_reads = ("rank",)

    def __str__(self) -> str:
        rank = self.rank.abbr_th if self.rank else ""
        return f"{rank}{self.first_name_th} {self.last_name_th}"
