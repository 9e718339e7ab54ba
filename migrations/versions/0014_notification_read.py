"""Notifications read in the app: when the recipient opened one, and the bell's unread index.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 02:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notification") as batch:
        batch.add_column(sa.Column("read_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_notification_unread", "notification", ["recipient_user_id"],
                    postgresql_where=sa.text("read_at IS NULL"), sqlite_where=sa.text("read_at IS NULL"))


def downgrade():
    op.drop_index("ix_notification_unread", table_name="notification")
    with op.batch_alter_table("notification") as batch:
        batch.drop_column("read_at")
