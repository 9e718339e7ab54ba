"""Thai dictionary order: the ICU collation "thai" that app.models.collation sorts Thai text with.

SQLite has no ICU: the app registers a collation of the same name on each connection.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 00:40:00

"""
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE COLLATION IF NOT EXISTS thai (provider = icu, locale = 'th-TH')")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP COLLATION IF EXISTS thai")
