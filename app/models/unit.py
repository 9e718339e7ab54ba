"""หน่วยงาน: the organisation tree from ตร. down to stations."""
from flask_appbuilder import Model
from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import check_in

UNIT_KINDS = ("national", "command", "division", "station", "other")


class Unit(Model):
    __tablename__ = "unit"
    __table_args__ = (
        check_in("kind", UNIT_KINDS, "ck_unit_kind"),
        Index("ix_unit_parent_id", "parent_id"),
        Index("ix_unit_name_th", "name_th"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True, nullable=False)
    name_th: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str | None] = mapped_column(String(200))
    abbr_th: Mapped[str | None] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    province_th: Mapped[str | None] = mapped_column(String(100))
    # The บก./ภ.จว. whose technology staff administer everything below it.
    is_admin_scope: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    parent: Mapped["Unit | None"] = relationship(remote_side=[id])

    def __str__(self) -> str:
        return self.abbr_th or self.name_th
