"""The schema comes from Alembic alone, and the models agree with it."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from app.extensions import db
from tests.conftest import build_app


def test_models_and_migrations_agree(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_upgrade_from_empty_downgrade_and_upgrade_again(databases):
    url = databases.new_url("migrations")
    application = build_app(url)
    with application.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"officer", "unit", "access_request", "permission_grant", "audit_event",
                "ab_user", "ab_role", "alembic_version"} <= tables
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "officer" in set(inspect(db.engine).get_table_names())
        db.session.remove()
        db.engine.dispose()


def test_flask_db_check_finds_nothing_to_migrate(app):
    """The command an operator runs, in its own process, against the suite's database."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"])
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "check"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "No new upgrade operations detected" in result.stdout + result.stderr


def test_database_refuses_an_unknown_state(app):
    """CHECK constraints hold even when a bug bypasses the services."""
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        with pytest.raises(IntegrityError):
            db.session.execute(text("UPDATE access_request SET state = 'approved-ish'"))
            db.session.flush()
        db.session.rollback()
