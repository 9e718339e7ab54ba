"""A request found by part of its number through a trigram index.

Every request list and inbox searches the number by "starts with" or "contains" (ILIKE), which
no b-tree serves: at 1,000,000 requests the list and its count read the whole table, 415-466 ms.
A trigram index (pg_trgm, as the officers' names since 0006) serves both: 13-47 ms. 2.7 s to
build at that scale. A plain index on SQLite, as the names'.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 06:30:00

"""
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_request_number_trgm", "access_request", ["number"], unique=False,
                    postgresql_using="gin", postgresql_ops={"number": "gin_trgm_ops"})


def downgrade():
    op.drop_index("ix_request_number_trgm", table_name="access_request")
