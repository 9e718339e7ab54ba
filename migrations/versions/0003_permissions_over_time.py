"""Permissions over time: deputies, agency deactivation notices, functions each command may give,
the administering command of a grant and its expiry reminder.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 01:26:22.088515

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('delegation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('principal_user_id', sa.Integer(), nullable=False),
    sa.Column('deputy_user_id', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('deputy_user_id <> principal_user_id', name='ck_delegation_not_self'),
    sa.CheckConstraint('ends_on >= starts_on', name='ck_delegation_dates'),
    sa.ForeignKeyConstraint(['created_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['deputy_user_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['principal_user_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('delegation', schema=None) as batch_op:
        batch_op.create_index('ix_delegation_deputy', ['deputy_user_id', 'starts_on', 'ends_on'], unique=False)
        batch_op.create_index('ix_delegation_principal', ['principal_user_id'], unique=False)

    op.create_table('command_function',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('function_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['function_id'], ['system_function.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('unit_id', 'function_id', name='uq_command_function')
    )
    op.create_table('deactivation_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('agency_reference', sa.String(length=100), nullable=True),
    sa.Column('deactivated_on', sa.Date(), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'confirmed')", name='ck_deactivation_state'),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], ),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['grant_id'], ['permission_grant.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('deactivation_notice', schema=None) as batch_op:
        batch_op.create_index('ix_deactivation_grant_id', ['grant_id'], unique=False)
        batch_op.create_index('ix_deactivation_state', ['state'], unique=False)

    with op.batch_alter_table('permission_grant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('command_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reminded_on', sa.Date(), nullable=True))
        batch_op.create_foreign_key('fk_grant_command_id', 'unit', ['command_id'], ['id'])



def downgrade():
    with op.batch_alter_table('permission_grant', schema=None) as batch_op:
        # WARNING: constraint name is None; this directive will fail as
        # rendered.  Add a name, or use a naming convention; see
        # https://alembic.sqlalchemy.org/en/latest/naming.html
        batch_op.drop_constraint('fk_grant_command_id', type_='foreignkey')
        batch_op.drop_column('reminded_on')
        batch_op.drop_column('command_id')

    with op.batch_alter_table('deactivation_notice', schema=None) as batch_op:
        batch_op.drop_index('ix_deactivation_state')
        batch_op.drop_index('ix_deactivation_grant_id')

    op.drop_table('deactivation_notice')
    op.drop_table('command_function')
    with op.batch_alter_table('delegation', schema=None) as batch_op:
        batch_op.drop_index('ix_delegation_principal')
        batch_op.drop_index('ix_delegation_deputy')

    op.drop_table('delegation')
