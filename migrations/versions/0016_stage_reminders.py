"""Reminders, escalation and return per approval stage (issue 13): the rules on the stage, the day
a request entered its stage, and what the chasing sweep did to each wait.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 07:30:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy import text

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

WAITING = "state = 'submitted'"
TO_USER = "escalated_to_user_id IS NOT NULL"
TO_ROLE = "escalated_to_role IS NOT NULL"


def upgrade():
    with op.batch_alter_table("approval_stage") as batch:
        batch.add_column(sa.Column("remind_after_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("escalate_after_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("escalate_to", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("escalate_to_user_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("escalate_to_role", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("return_after_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("return_reason", sa.Text(), nullable=True))
        batch.create_foreign_key("fk_stage_escalate_to_user", "ab_user", ["escalate_to_user_id"], ["id"])
        batch.create_check_constraint("ck_stage_remind_days", "remind_after_days >= 0")
        batch.create_check_constraint("ck_stage_escalate_days", "escalate_after_days >= 0")
        batch.create_check_constraint("ck_stage_return_days", "return_after_days >= 0")
        batch.create_check_constraint("ck_stage_escalate_to",
                                      "escalate_to IN ('superior_head', 'user', 'role')")
    with op.batch_alter_table("access_request") as batch:
        batch.add_column(sa.Column("stage_entered_on", sa.Date(), nullable=True))
    # The day each waiting request entered its stage: the office day (Bangkok) of the last
    # decision that put it there, else of its submission.
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        day = "(({t}) AT TIME ZONE 'Asia/Bangkok')::date"
    else:
        day = "date({t}, '+7 hours')"
    entered = ("SELECT max(d.decided_at) FROM decision d WHERE d.request_id = access_request.id "
               "AND d.item_id IS NULL AND d.transition IN ('submit', 'resubmit', 'approve')")
    bind.execute(text(
        f"UPDATE access_request SET stage_entered_on = {day.format(t=f'coalesce(({entered}), submitted_at)')} "
        "WHERE current_stage_id IS NOT NULL AND state IN ('submitted', 'completed')"))
    op.create_index("ix_request_waiting_since", "access_request", ["current_stage_id", "stage_entered_on"],
                    postgresql_where=text(WAITING), sqlite_where=text(WAITING))
    op.create_table(
        "stage_chase",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("entered_on", sa.Date(), nullable=False),
        sa.Column("reminded_on", sa.Date(), nullable=True),
        sa.Column("escalated_on", sa.Date(), nullable=True),
        sa.Column("escalated_to_user_id", sa.Integer(), nullable=True),
        sa.Column("escalated_to_role", sa.String(length=64), nullable=True),
        sa.Column("returned_on", sa.Date(), nullable=True),
        sa.Column("no_head_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["access_request.id"]),
        sa.ForeignKeyConstraint(["stage_id"], ["approval_stage.id"]),
        sa.ForeignKeyConstraint(["escalated_to_user_id"], ["ab_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "stage_id", "entered_on", name="uq_stage_chase_wait"),
    )
    op.create_index("ix_stage_chase_user", "stage_chase", ["escalated_to_user_id"],
                    postgresql_where=text(TO_USER), sqlite_where=text(TO_USER))
    op.create_index("ix_stage_chase_role", "stage_chase", ["escalated_to_role", "request_id"],
                    postgresql_where=text(TO_ROLE), sqlite_where=text(TO_ROLE))


def downgrade():
    op.drop_index("ix_stage_chase_role", table_name="stage_chase")
    op.drop_index("ix_stage_chase_user", table_name="stage_chase")
    op.drop_table("stage_chase")
    op.drop_index("ix_request_waiting_since", table_name="access_request")
    with op.batch_alter_table("access_request") as batch:
        batch.drop_column("stage_entered_on")
    with op.batch_alter_table("approval_stage") as batch:
        batch.drop_constraint("ck_stage_escalate_to", type_="check")
        batch.drop_constraint("ck_stage_return_days", type_="check")
        batch.drop_constraint("ck_stage_escalate_days", type_="check")
        batch.drop_constraint("ck_stage_remind_days", type_="check")
        batch.drop_constraint("fk_stage_escalate_to_user", type_="foreignkey")
        for column in ("return_reason", "return_after_days", "escalate_to_role", "escalate_to_user_id",
                       "escalate_to", "escalate_after_days", "remind_after_days"):
            batch.drop_column(column)
