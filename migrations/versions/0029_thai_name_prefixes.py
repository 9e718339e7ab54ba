"""An officer's Thai name found by its first letters through a range of an index.

The officer list's "first name starts with ศิ" (and the API's) was ILIKE, which no b-tree serves:
over 230,000 officers PostgreSQL read 133,000 entries of the names' index and case-folded each,
36 ms for the count alone (the trigram indexes do little for Thai: its vowel and tone marks are
not letters to pg_trgm, so "ศิ" gives no trigram). Thai has no letter case, so the name is now
matched as typed (LIKE), and the names' indexes compare byte by byte (varchar_pattern_ops), which
lets PostgreSQL read the prefix as a range of them. The database's collation (C.UTF-8 here, th_TH
elsewhere) is not "C", under which plain indexes would have served. SQLite keeps its indexes.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-05 17:30:00

"""
from alembic import op

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None

PATTERN = "varchar_pattern_ops"


def _replace(ops: bool):
    op.drop_index("ix_officer_name_th", table_name="officer")
    op.drop_index("ix_officer_last_name_th", table_name="officer")
    op.create_index("ix_officer_name_th", "officer", ["first_name_th", "last_name_th"], unique=False,
                    postgresql_ops={"first_name_th": PATTERN, "last_name_th": PATTERN} if ops else {})
    op.create_index("ix_officer_last_name_th", "officer", ["last_name_th"], unique=False,
                    postgresql_ops={"last_name_th": PATTERN} if ops else {})
    op.execute("ANALYZE officer")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        _replace(ops=True)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        _replace(ops=False)
