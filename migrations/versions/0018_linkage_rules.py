"""Linkage Center rules: the data fields of each source and those each agreement allows, the
agreement's permission letter as a PDF, agencies' super users, and the justification questions
asked per source with their answers kept on the request item (and so with the grant).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 08:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "data_field",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("data_source_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("name_th", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["data_source_id"], ["data_source.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("data_source_id", "code", name="uq_data_field_source_code"),
    )
    op.create_table(
        "linkage_letter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=50), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("content_type IN ('application/pdf')", name="ck_linkage_letter_type"),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["ab_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "agency_super_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=30), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("letter_number", sa.String(length=100), nullable=False),
        sa.Column("letter_date", sa.Date(), nullable=True),
        sa.Column("letter_id", sa.Integer(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("valid_until IS NULL OR valid_until >= valid_from", name="ck_super_user_validity"),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.ForeignKeyConstraint(["letter_id"], ["linkage_letter.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_agency_super_user_agency", "agency_super_user", ["agency_id"])
    op.create_table(
        "justification_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("data_source_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label_th", sa.String(length=300), nullable=False),
        sa.Column("label_en", sa.String(length=300), nullable=False),
        sa.Column("answer_kind", sa.String(length=10), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("max_length", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.CheckConstraint("answer_kind IN ('text', 'number', 'date')", name="ck_question_answer_kind"),
        sa.CheckConstraint("max_length BETWEEN 1 AND 2000", name="ck_question_max_length"),
        sa.ForeignKeyConstraint(["data_source_id"], ["data_source.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_question_source", "justification_question", ["data_source_id", "position"])
    op.create_table(
        "item_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_item_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=True),
        sa.Column("label_th", sa.String(length=300), nullable=False),
        sa.Column("label_en", sa.String(length=300), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["request_item_id"], ["request_item.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["question_id"], ["justification_question.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_item_id", "question_id", name="uq_item_answer_question"),
    )
    op.create_table(
        "agreement_field",
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("data_field_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["agreement_id"], ["data_sharing_agreement.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["data_field_id"], ["data_field.id"]),
        sa.PrimaryKeyConstraint("agreement_id", "data_field_id"),
    )
    op.create_index("ix_agreement_field_field", "agreement_field", ["data_field_id"])
    op.create_table(
        "request_item_field",
        sa.Column("request_item_id", sa.Integer(), nullable=False),
        sa.Column("data_field_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["request_item_id"], ["request_item.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["data_field_id"], ["data_field.id"]),
        sa.PrimaryKeyConstraint("request_item_id", "data_field_id"),
    )
    op.create_index("ix_request_item_field_field", "request_item_field", ["data_field_id"])
    with op.batch_alter_table("data_sharing_agreement") as batch:
        batch.add_column(sa.Column("letter_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_agreement_letter", "linkage_letter", ["letter_id"], ["id"])


def downgrade():
    with op.batch_alter_table("data_sharing_agreement") as batch:
        batch.drop_constraint("fk_agreement_letter", type_="foreignkey")
        batch.drop_column("letter_id")
    op.drop_index("ix_request_item_field_field", table_name="request_item_field")
    op.drop_table("request_item_field")
    op.drop_index("ix_agreement_field_field", table_name="agreement_field")
    op.drop_table("agreement_field")
    op.drop_table("item_answer")
    op.drop_index("ix_question_source", table_name="justification_question")
    op.drop_table("justification_question")
    op.drop_index("ix_agency_super_user_agency", table_name="agency_super_user")
    op.drop_table("agency_super_user")
    op.drop_table("linkage_letter")
    op.drop_table("data_field")
