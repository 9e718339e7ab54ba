"""Indexes for the approvers' inboxes (state, stage, due date) and the dashboard (decided_at).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 01:07:57.664787

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('access_request', schema=None) as batch_op:
        batch_op.create_index('ix_request_state_stage_due', ['state', 'current_stage_id', 'due_on'], unique=False)

    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.create_index('ix_decision_decided_at', ['decided_at'], unique=False)



def downgrade():
    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.drop_index('ix_decision_decided_at')

    with op.batch_alter_table('access_request', schema=None) as batch_op:
        batch_op.drop_index('ix_request_state_stage_due')

