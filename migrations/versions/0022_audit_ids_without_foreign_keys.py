"""The audit trail names its login, unit and job run by id, without foreign keys, as it already
names the officers and the object: the trail outlives a row removed later, and each key was a
lookup and a row lock for every audit row written (1.4-2.3 s of a 230,000-row personnel import).

On SQLite the table is rebuilt (Alembic's batch mode), which drops its append-only triggers:
they are read before and made again after, as they were.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 00:30:00

"""
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

# column -> (the table it named, the constraint's name where the database gave it one)
KEYS = {
    "actor_id": ("ab_user", "audit_event_actor_id_fkey"),
    "on_behalf_of_id": ("ab_user", "audit_event_on_behalf_of_id_fkey"),
    "unit_id": ("unit", "audit_event_unit_id_fkey"),
    "job_run_id": ("job_run", "fk_audit_event_job_run"),
}
# SQLite's keys of 0001 have no name: batch mode names them by this convention to drop them.
SQLITE_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def _sqlite_name(column: str) -> str:
    if column == "job_run_id":
        return "fk_audit_event_job_run"  # named when 0005 added it
    return f"fk_audit_event_{column}_{KEYS[column][0]}"


@contextmanager
def _sqlite_triggers_kept(bind):
    """Batch mode rebuilds the table without its triggers: read them, let the rebuild run, make
    them again as they were."""
    triggers = bind.execute(sa.text(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event' ORDER BY name")).all()
    for name, _sql in triggers:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    yield
    for _name, sql in triggers:
        op.execute(sql)


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        with _sqlite_triggers_kept(bind), \
                op.batch_alter_table("audit_event", naming_convention=SQLITE_NAMES) as batch:
            for column in KEYS:
                batch.drop_constraint(_sqlite_name(column), type_="foreignkey")
        return
    found = {key["constrained_columns"][0]: key["name"] for key in sa.inspect(bind).get_foreign_keys("audit_event")}
    for column in KEYS:
        if column in found:
            op.drop_constraint(found[column], "audit_event", type_="foreignkey")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        with _sqlite_triggers_kept(bind), op.batch_alter_table("audit_event") as batch:
            for column, (table, _name) in KEYS.items():
                batch.create_foreign_key(_sqlite_name(column), table, [column], ["id"])
        return
    for column, (table, name) in KEYS.items():
        op.create_foreign_key(name, "audit_event", table, [column], ["id"])
