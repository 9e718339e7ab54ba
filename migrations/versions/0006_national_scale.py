"""National scale: trigram indexes for name search (PostgreSQL's pg_trgm; plain indexes on SQLite).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 06:30:00

"""
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

NAMES = ("first_name_th", "last_name_th", "first_name_en", "last_name_en")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # Trusted since PostgreSQL 13: the database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name in NAMES:
        op.create_index(f"ix_officer_{name}_trgm", "officer", [name], unique=False,
                        postgresql_using="gin", postgresql_ops={name: "gin_trgm_ops"})


def downgrade():
    for name in NAMES:
        op.drop_index(f"ix_officer_{name}_trgm", table_name="officer")
