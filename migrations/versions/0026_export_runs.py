"""Exports and printed reports run as jobs: a run keeps what was asked and the file it wrote.

A 50,000-row export or a rights audit's XLSX took 3-8 s and 300-370 MB inside a web request; now
the screen queues a JobRun of kind `export` with its parameters, a worker writes the file into
the run, and only the user who asked downloads it, until it is purged.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 11:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('import_personnel', 'import_units', 'import_usage', 'personnel_rules', 'close_campaigns')"
NEW_KINDS = ("kind IN ('import_personnel', 'import_units', 'import_usage', 'personnel_rules', 'close_campaigns', "
             "'export')")


def upgrade():
    with op.batch_alter_table("job_run") as batch:
        batch.add_column(sa.Column("parameters", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("output", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("output_name", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("output_type", sa.String(length=100), nullable=True))
        batch.drop_constraint("ck_job_kind", type_="check")
        batch.create_check_constraint("ck_job_kind", NEW_KINDS)


def downgrade():
    op.execute("DELETE FROM job_run WHERE kind = 'export'")
    with op.batch_alter_table("job_run") as batch:
        batch.drop_constraint("ck_job_kind", type_="check")
        batch.create_check_constraint("ck_job_kind", OLD_KINDS)
        batch.drop_column("output_type")
        batch.drop_column("output_name")
        batch.drop_column("output")
        batch.drop_column("parameters")
