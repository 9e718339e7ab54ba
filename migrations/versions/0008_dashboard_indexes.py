"""An index on the request's target unit, so a command's scope is index-driven.

A CommandTech's or Personnel reader's rows (app.security.scope.row_condition) are an OR of the
request's unit, its target unit (temporary assignments), its requester and its head. PostgreSQL
turns such an OR into a BitmapOr only when every arm has an index; target_unit_id had none, so a
single command's dashboard and request list read the whole access_request table.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-03 07:20:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('access_request', schema=None) as batch_op:
        batch_op.create_index('ix_request_target_unit_id', ['target_unit_id'], unique=False)


def downgrade():
    with op.batch_alter_table('access_request', schema=None) as batch_op:
        batch_op.drop_index('ix_request_target_unit_id')
