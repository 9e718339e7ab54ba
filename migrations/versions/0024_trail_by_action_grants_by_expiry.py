"""The audit trail found by its action, the grant list sorted by expiry, through indexes.

At national scale (10,000,000 audit rows, 2,000,000 grants) an auditor filtering the trail by a
rare action read the table from its newest row to its oldest for the page and its count (0.8-1.3
s), and the nationwide grant list sorted by "valid until" sorted every grant (1.3 s). (action,
id) serves the filter in the trail's newest-first order and its count; (valid_until, id) the
sort either way (NULLS LAST ascending, NULLS FIRST descending, as the lists ask). Both 15-40 ms.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 06:00:00

"""
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_audit_action", "audit_event", ["action", "id"])
    op.create_index("ix_grant_valid_until", "permission_grant", ["valid_until", "id"])


def downgrade():
    op.drop_index("ix_grant_valid_until", table_name="permission_grant")
    op.drop_index("ix_audit_action", table_name="audit_event")
