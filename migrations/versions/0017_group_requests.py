"""Group requests (แบบกลุ่ม): one filing for many officers, each officer's line a request of its own.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 08:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

KINDS = ("new_account", "account_renewal", "external_search", "external_search_renewal",
         "additional_functions", "temporary_assignment", "return_home_unit")


def upgrade():
    op.create_table(
        "request_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("filed_by_id", sa.Integer(), nullable=False),
        sa.Column("filer_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("command_id", sa.Integer(), nullable=True),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("contact_mobile", sa.String(length=20), nullable=False),
        sa.Column("duty_performed", sa.Text(), nullable=False),
        sa.Column("pledge_accepted", sa.Boolean(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ({})".format(", ".join(f"'{k}'" for k in KINDS)), name="ck_group_kind"),
        sa.ForeignKeyConstraint(["filed_by_id"], ["ab_user.id"]),
        sa.ForeignKeyConstraint(["filer_id"], ["officer.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"]),
        sa.ForeignKeyConstraint(["command_id"], ["unit.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    op.create_index("ix_group_filed_by", "request_group", ["filed_by_id"])
    op.create_index("ix_group_command", "request_group", ["command_id"])
    with op.batch_alter_table("access_request") as batch:
        batch.add_column(sa.Column("group_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_access_request_group_id_request_group", "request_group", ["group_id"], ["id"])
    op.create_index("ix_request_group", "access_request", ["group_id"],
                    postgresql_where=sa.text("group_id IS NOT NULL"), sqlite_where=sa.text("group_id IS NOT NULL"))


def downgrade():
    op.drop_index("ix_request_group", table_name="access_request")
    with op.batch_alter_table("access_request") as batch:
        batch.drop_constraint("fk_access_request_group_id_request_group", type_="foreignkey")
        batch.drop_column("group_id")
    op.drop_index("ix_group_command", table_name="request_group")
    op.drop_index("ix_group_filed_by", table_name="request_group")
    op.drop_table("request_group")
