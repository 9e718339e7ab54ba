"""Stage waits kept on the decision that ends them, so the dashboard reads them instead of pairing
every decision of 90 days on each view.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 17:10:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy import text

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

WITH_WAIT = "waited_hours IS NOT NULL"


def upgrade():
    with op.batch_alter_table("decision") as batch:
        batch.add_column(sa.Column("waited_hours", sa.Float(), nullable=True))
    # The waits of every decision already taken, by the same rule the services apply from now on.
    from sqlalchemy.orm import Session

    from app.services.stage_waits import record_waits

    record_waits(Session(bind=op.get_bind()))
    op.create_index("ix_decision_waits", "decision", ["decided_at"], unique=False,
                    postgresql_include=["request_id", "stage_id", "transition", "waited_hours"],
                    postgresql_where=text(WITH_WAIT), sqlite_where=text(WITH_WAIT))


def downgrade():
    op.drop_index("ix_decision_waits", table_name="decision")
    with op.batch_alter_table("decision") as batch:
        batch.drop_column("waited_hours")
