"""The append-only check on audit rows, cheaper: the seal is allowed when the row, its three chain
columns aside, is byte for byte the row it was, compared as a row image instead of two JSON
documents built for every row.

Sealing the 230,000 audit rows of a personnel import spent 2.4 s of its 5.5 s in the check;
now 0.4 s. The rule is the same: only the chain columns may be set, once, and nothing deleted.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 16:30:00

"""
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

MESSAGE = "audit_event is append-only: its rows cannot be changed or deleted"

ROW_IMAGE_CHECK = f"""
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
DECLARE
    sealed audit_event;
BEGIN
    -- The one change allowed: sealing a row into the chain (app/services/audit_chain.py), once.
    IF TG_OP = 'UPDATE' AND OLD.chain_seq IS NULL AND NEW.chain_seq IS NOT NULL THEN
        sealed := OLD;
        sealed.chain_seq := NEW.chain_seq;
        sealed.prev_hash := NEW.prev_hash;
        sealed.row_hash := NEW.row_hash;
        -- *= compares the stored images, so json columns (which have no equality) take part too.
        IF sealed *= NEW THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION '{MESSAGE}';
END;
$$ LANGUAGE plpgsql
"""

JSON_CHECK = f"""
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
    -- The one change allowed: sealing a row into the chain (app/services/audit_chain.py), once.
    IF TG_OP = 'UPDATE' AND OLD.chain_seq IS NULL AND NEW.chain_seq IS NOT NULL
       AND (to_jsonb(OLD) - ARRAY['chain_seq', 'prev_hash', 'row_hash'])
           = (to_jsonb(NEW) - ARRAY['chain_seq', 'prev_hash', 'row_hash']) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '{MESSAGE}';
END;
$$ LANGUAGE plpgsql
"""


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(ROW_IMAGE_CHECK)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(JSON_CHECK)
