"""The rights audit at national scale: the grants a command administers found by their command,
and the few requests certified for a duty line that may not search found without reading the rest.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 06:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_grant_command_state", "permission_grant", ["command_id", "state"])
    op.create_index("ix_request_duty_mismatch", "access_request", ["id"],
                    postgresql_where=sa.text("duty_mismatch IS TRUE"), sqlite_where=sa.text("duty_mismatch IS TRUE"))


def downgrade():
    op.drop_index("ix_request_duty_mismatch", table_name="access_request")
    op.drop_index("ix_grant_command_state", table_name="permission_grant")
