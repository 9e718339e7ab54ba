"""Inboxes at national scale: what waits, soonest due first, and the planner's view of stages.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 09:30:00

"""
from alembic import op
from sqlalchemy import text

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

WAITING = "state = 'submitted'"
ASSIGNED = "target_unit_id IS NOT NULL"


def upgrade():
    # CentralIT's inbox at 1M requests: its first page in due order read 30,000 waiting rows and
    # sorted them (100 ms); this index hands the first 25 over in order (under 1 ms).
    op.create_index("ix_request_waiting_due", "access_request", ["due_on", "id"], unique=False,
                    postgresql_where=text(WAITING), sqlite_where=text(WAITING))
    # A command's requests include the temporary assignments into it; without an index the OR of
    # the command's conditions could only be read by scanning every request.
    op.create_index("ix_request_target_unit", "access_request", ["target_unit_id"], unique=False,
                    postgresql_where=text(ASSIGNED), sqlite_where=text(ASSIGNED))
    if op.get_bind().dialect.name == "postgresql":
        # The home page counts each inbox whole: with the requester and the key in the index,
        # CentralIT's 15,000 waiting requests are counted from it alone (30 ms -> 3 ms).
        op.drop_index("ix_request_state_stage_due", table_name="access_request")
        op.create_index("ix_request_state_stage_due", "access_request", ["state", "current_stage_id", "due_on"],
                        unique=False, postgresql_include=["requester_id", "id"])
        # State and stage go together (a completed request rests at its last stage): without
        # statistics on the pair, PostgreSQL took "submitted at CentralIT's stages" for 450 rows
        # instead of 15,000 and chose a sort over the index above.
        op.execute("CREATE STATISTICS IF NOT EXISTS st_request_state_stage (mcv, dependencies) "
                   "ON state, current_stage_id FROM access_request")
        op.execute("ANALYZE access_request")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS st_request_state_stage")
        op.drop_index("ix_request_state_stage_due", table_name="access_request")
        op.create_index("ix_request_state_stage_due", "access_request", ["state", "current_stage_id", "due_on"],
                        unique=False)
    op.drop_index("ix_request_target_unit", table_name="access_request")
    op.drop_index("ix_request_waiting_due", table_name="access_request")
