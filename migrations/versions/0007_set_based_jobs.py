"""Set-based jobs: partial indexes for the hourly expiry job's finders.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 07:10:00

"""
from alembic import op
from sqlalchemy import text

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# Grants waiting for their reminder: each batch reads the next ones in date order without
# stepping over the grants of the window reminded already (with (state, valid_until) a batch
# re-read every reminded grant of the 30 days, so a run grew with the square of its batches).
REMIND_DUE = "state = 'active' AND reminded_on IS NULL"
# Officers on a temporary assignment: the few with an end date, not the 230,000.
ACTING = "acting_until IS NOT NULL"


def upgrade():
    op.create_index("ix_grant_remind_due", "permission_grant", ["valid_until", "id"], unique=False,
                    postgresql_where=text(REMIND_DUE), sqlite_where=text(REMIND_DUE))
    op.create_index("ix_officer_acting_until", "officer", ["acting_until", "id"], unique=False,
                    postgresql_where=text(ACTING), sqlite_where=text(ACTING))


def downgrade():
    op.drop_index("ix_officer_acting_until", table_name="officer")
    op.drop_index("ix_grant_remind_due", table_name="permission_grant")
