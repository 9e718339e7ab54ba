"""A rights review's items are listed by a job: the review is "preparing" until its run opens it.

Starting a review of the demo command (32,000 live permissions at national scale) was one
INSERT ... SELECT of 1.5 s inside the web request; now the request saves the review and queues a
JobRun of kind `review_start`, whose worker lists the items and opens it (or marks it failed).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

OLD_KINDS = ("kind IN ('import_personnel', 'import_units', 'import_usage', 'personnel_rules', 'close_campaigns', "
             "'export')")
NEW_KINDS = ("kind IN ('import_personnel', 'import_units', 'import_usage', 'personnel_rules', 'close_campaigns', "
             "'export', 'review_start')")
OLD_STATES = "state IN ('open', 'closed')"
NEW_STATES = "state IN ('preparing', 'open', 'closed', 'failed')"


def upgrade():
    with op.batch_alter_table("job_run") as batch:
        batch.drop_constraint("ck_job_kind", type_="check")
        batch.create_check_constraint("ck_job_kind", NEW_KINDS)
    with op.batch_alter_table("review_campaign") as batch:
        batch.add_column(sa.Column("start_run_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_campaign_start_run", "job_run", ["start_run_id"], ["id"])
        batch.drop_constraint("ck_campaign_state", type_="check")
        batch.create_check_constraint("ck_campaign_state", NEW_STATES)


def downgrade():
    # The trail's chain names the runs it was written by: removing them would break it.
    if op.get_bind().execute(sa.text("SELECT count(*) FROM job_run WHERE kind = 'review_start'")).scalar():
        raise RuntimeError("Rights reviews were started by runs of kind review_start, which the audit trail "
                           "names: revision 0026 cannot hold them. Restore a backup taken before 0027 instead.")
    with op.batch_alter_table("review_campaign") as batch:
        batch.drop_constraint("ck_campaign_state", type_="check")
        batch.create_check_constraint("ck_campaign_state", OLD_STATES)
        batch.drop_constraint("fk_campaign_start_run", type_="foreignkey")
        batch.drop_column("start_run_id")
    with op.batch_alter_table("job_run") as batch:
        batch.drop_constraint("ck_job_kind", type_="check")
        batch.create_check_constraint("ck_job_kind", OLD_KINDS)
