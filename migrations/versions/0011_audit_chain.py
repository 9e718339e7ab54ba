"""A tamper-evident audit trail: each row's place in a hash chain, and a database that refuses
to change or delete audit rows.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 18:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

DATA_COLUMNS = ("id", "occurred_at", "action", "actor_id", "on_behalf_of_id", "object_type", "object_id",
                "unit_id", "summary", "before", "after", "remote_addr", "job_run_id")
MESSAGE = "audit_event is append-only: its rows cannot be changed or deleted"

PG_FUNCTION = f"""
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
    with op.batch_alter_table("audit_event") as batch:
        batch.add_column(sa.Column("chain_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))
    op.create_index("ix_audit_chain_seq", "audit_event", ["chain_seq"], unique=True)
    # Rows written before this revision are sealed first, in the order they were written.
    from sqlalchemy.orm import Session

    from app.services.audit_chain import seal

    session = Session(bind=op.get_bind())
    ids = [row[0] for row in op.get_bind().execute(sa.text("SELECT id FROM audit_event ORDER BY id"))]
    if ids:
        seal(session, ids)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute("CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
                   "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()")
        op.execute("CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()")
    else:
        unchanged = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in DATA_COLUMNS)
        op.execute(f"CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
                   f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")
        op.execute(f"CREATE TRIGGER audit_event_no_change BEFORE UPDATE ON audit_event "
                   f"WHEN NOT (OLD.chain_seq IS NULL AND NEW.chain_seq IS NOT NULL AND {unchanged}) "
                   f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_change")
    op.drop_index("ix_audit_chain_seq", table_name="audit_event")
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_column("row_hash")
        batch.drop_column("prev_hash")
        batch.drop_column("chain_seq")
