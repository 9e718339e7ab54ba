"""Who read what: the officers an audit event concerns, and the purpose of a read.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 23:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

DATA_COLUMNS = ("id", "occurred_at", "action", "actor_id", "on_behalf_of_id", "object_type", "object_id",
                "unit_id", "summary", "before", "after", "remote_addr", "job_run_id", "purpose")
MESSAGE = "audit_event is append-only: its rows cannot be changed or deleted"
LINK_MESSAGE = "audit_event_officer is append-only: its rows cannot be changed or deleted"

PG_LINK_FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_event_officer_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{LINK_MESSAGE}';
END;
$$ LANGUAGE plpgsql
"""


def _sqlite_change_trigger(columns) -> str:
    unchanged = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in columns)
    return (f"CREATE TRIGGER audit_event_no_change BEFORE UPDATE ON audit_event "
            f"WHEN NOT (OLD.chain_seq IS NULL AND NEW.chain_seq IS NOT NULL AND {unchanged}) "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")


def upgrade():
    with op.batch_alter_table("audit_event") as batch:
        batch.add_column(sa.Column("purpose", sa.String(length=200), nullable=True))
    op.create_table(
        "audit_event_officer",
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["audit_event.id"]),
        sa.PrimaryKeyConstraint("event_id", "officer_id"),
    )
    op.create_index("ix_audit_officer_officer", "audit_event_officer", ["officer_id", "event_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # audit_event's own trigger (0011) compares whole rows, so it covers `purpose` as it is.
        op.execute(PG_LINK_FUNCTION)
        op.execute("CREATE TRIGGER audit_event_officer_no_change BEFORE UPDATE OR DELETE ON audit_event_officer "
                   "FOR EACH ROW EXECUTE FUNCTION audit_event_officer_append_only()")
        op.execute("CREATE TRIGGER audit_event_officer_no_truncate BEFORE TRUNCATE ON audit_event_officer "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_officer_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_change")
        op.execute(_sqlite_change_trigger(DATA_COLUMNS))
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_event_officer_no_{verb.lower()} BEFORE {verb} ON audit_event_officer "
                       f"BEGIN SELECT RAISE(ABORT, '{LINK_MESSAGE}'); END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_officer_no_truncate ON audit_event_officer")
        op.execute("DROP TRIGGER IF EXISTS audit_event_officer_no_change ON audit_event_officer")
        op.execute("DROP FUNCTION IF EXISTS audit_event_officer_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_officer_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_officer_no_delete")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_change")
        op.execute(_sqlite_change_trigger(DATA_COLUMNS[:-1]))
    op.drop_index("ix_audit_officer_officer", table_name="audit_event_officer")
    op.drop_table("audit_event_officer")
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_column("purpose")
