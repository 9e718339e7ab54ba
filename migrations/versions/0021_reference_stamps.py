"""A stamp per group of reference tables (roles' permissions, the unit tree, the rules' small
tables, approval chains and required documents, data-sharing agreements), given a new random value by the database on every write to them, so each app process may
keep what it read of them between requests and read again only when a stamp has changed.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 19:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

# As app/models/reference_stamp.py had it when this revision was written.
REFERENCE_TABLES = {
    "permissions": ("ab_permission", "ab_view_menu", "ab_permission_view", "ab_permission_view_role", "ab_role"),
    "units": ("unit",),
    "rules": ("rank", "rank_group", "duty_line", "position_level", "system_function"),
    "workflow": ("approval_chain", "approval_stage", "required_document"),
    "agreements": ("data_sharing_agreement", "agreement_field"),
}

POSTGRES_NEW_STAMP = "floor(random() * 9.0e18)::bigint"
SQLITE_NEW_STAMP = "random()"

POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION reference_stamp_renew() RETURNS trigger AS $$
BEGIN
    UPDATE reference_stamp SET stamp = {POSTGRES_NEW_STAMP} WHERE name = TG_ARGV[0];
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""


def _trigger_name(table: str, event: str = "") -> str:
    return f"{table}_renews_reference_stamp{'_' + event if event else ''}"


def upgrade():
    op.create_table(
        "reference_stamp",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("stamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    stamp = POSTGRES_NEW_STAMP if postgres else SQLITE_NEW_STAMP
    for name in REFERENCE_TABLES:
        op.execute(f"INSERT INTO reference_stamp (name, stamp) VALUES ('{name}', {stamp})")
    if postgres:
        op.execute(POSTGRES_FUNCTION)
    for name, tables in REFERENCE_TABLES.items():
        for table in tables:
            if postgres:
                # Once per statement: a unit import of 1,700 rows renews the stamp once.
                op.execute(f"CREATE TRIGGER {_trigger_name(table)} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                           f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION reference_stamp_renew('{name}')")
                continue
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {_trigger_name(table, event.lower())} AFTER {event} ON {table} "
                           f"BEGIN UPDATE reference_stamp SET stamp = {stamp} WHERE name = '{name}'; END")


def downgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    for tables in REFERENCE_TABLES.values():
        for table in tables:
            if postgres:
                op.execute(f"DROP TRIGGER IF EXISTS {_trigger_name(table)} ON {table}")
                continue
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {_trigger_name(table, event)}")
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS reference_stamp_renew()")
    op.drop_table("reference_stamp")
