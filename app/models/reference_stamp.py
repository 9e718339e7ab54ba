"""A stamp per group of reference tables, changed by the database on every write to them."""
from flask_appbuilder import Model
from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

# The tables behind each stamp. Triggers (migration 0021) give the stamp a new random value in
# the transaction of any INSERT, UPDATE or DELETE on one of them: a process that kept what it read
# under the old stamp reads again on its next request, whichever server or tool wrote.
REFERENCE_TABLES = {
    "permissions": ("ab_permission", "ab_view_menu", "ab_permission_view", "ab_permission_view_role", "ab_role"),
    "units": ("unit",),
    "rules": ("rank", "rank_group", "duty_line", "position_level", "system_function"),
    "workflow": ("approval_chain", "approval_stage", "required_document"),
    "agreements": ("data_sharing_agreement", "agreement_field"),
}


class ReferenceStamp(Model):
    __tablename__ = "reference_stamp"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    # Random, not counted: a stamp written by a transaction that rolled back, or by a database
    # made again under the same address, is never met again, so nothing kept under it is reused.
    stamp: Mapped[int] = mapped_column(BigInteger, nullable=False)
