"""A request that only read ends with COMMIT (app.read_commit); anything that may have written
still ends with ROLLBACK, so a request that did not commit its writes leaves nothing behind."""
import pytest
from flask_appbuilder.security.sqla.models import Role
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.engine import Engine

from tests.conftest import POSTGRES_ADMIN_URL, TEST_NOW, build_app, prepare_database

THE_READ = "SELECT count(*) FROM ab_role WHERE name <> 'read commit'"


def _routes(application) -> None:
    from app.extensions import db
    from app.services import audit_chain

    def only_reads():
        return str(db.session.execute(text(THE_READ)).scalar())

    def flushes_a_row():
        db.session.add(Role(name="t-flushed"))
        db.session.flush()
        return "flushed"

    def changes_a_row_in_memory():
        db.session.scalars(select(Role).where(Role.name == "Admin")).one().name = "t-renamed"
        return "changed"

    def inserts_with_core():
        db.session.execute(insert(Role.__table__).values(name="t-core"))
        return "inserted"

    def inserts_with_text():
        db.session.execute(text("INSERT INTO ab_role (id, name) VALUES (9000, 't-text')"))
        return "inserted"

    def inserts_after_a_read():
        db.session.execute(text(THE_READ))
        db.session.execute(text("INSERT INTO ab_role (id, name) VALUES (9001, 't-after')"))
        db.session.execute(text(THE_READ))
        return "inserted"

    def holds_audit_rows():
        # After a read (the transaction is open), as many as a job writes at commit on PostgreSQL:
        # held in the session until then, no statement sent for them.
        db.session.execute(text(THE_READ))
        audit_chain.add_rows(db.session, [{"occurred_at": TEST_NOW, "action": "Test.held", "object_id": number}
                                          for number in range(audit_chain.WRITTEN_AT_COMMIT)])
        return "held"

    def reads_then_fails():
        db.session.add(Role(name="t-failed"))
        db.session.flush()
        raise RuntimeError("midway")

    def prepared():
        return str(db.session.execute(text("SELECT count(*) FROM pg_prepared_statements "
                                           "WHERE statement LIKE :read"), {"read": f"%{THE_READ}%"}).scalar())

    for view in (only_reads, flushes_a_row, changes_a_row_in_memory, inserts_with_core, inserts_with_text,
                 inserts_after_a_read, holds_audit_rows, reads_then_fails, prepared):
        application.add_url_rule(f"/test-read-commit/{view.__name__}", view.__name__, view)


@pytest.fixture(scope="module")
def commit_app(databases):
    # One pooled connection, so every request and the check share the statements it prepared.
    application = build_app(databases.new_url("readcommit"),
                            SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0})
    _routes(application)
    prepare_database(application, seed=False)
    yield application
    with application.app_context():
        from app.extensions import db

        db.session.remove()
        db.engine.dispose()


def _ends(application, path: str) -> tuple[list[str], int]:
    """How the request's transactions ended (commit / rollback), and the roles and held audit
    rows left afterwards."""
    ended: list[str] = []
    commit, rollback = (lambda _conn: ended.append("commit")), (lambda _conn: ended.append("rollback"))
    event.listen(Engine, "commit", commit)
    event.listen(Engine, "rollback", rollback)
    try:
        application.test_client().get(f"/test-read-commit/{path}")
    finally:
        event.remove(Engine, "commit", commit)
        event.remove(Engine, "rollback", rollback)
    from app.extensions import db
    from app.models import AuditEvent

    with application.app_context():
        left = db.session.scalar(select(func.count()).select_from(Role).where(Role.name.like("t-%")))
        left += db.session.scalar(select(func.count()).select_from(AuditEvent)
                                  .where(AuditEvent.action == "Test.held"))
    return ended, left


def test_a_request_that_only_read_ends_with_commit(commit_app):
    assert _ends(commit_app, "only_reads") == (["commit"], 0)


@pytest.mark.parametrize("path", ["flushes_a_row", "changes_a_row_in_memory", "inserts_with_core",
                                  "inserts_with_text", "inserts_after_a_read", "holds_audit_rows"])
def test_a_request_that_may_have_written_still_ends_with_rollback(commit_app, path):
    assert _ends(commit_app, path) == (["rollback"], 0)


def test_a_request_that_failed_ends_with_rollback(commit_app):
    with pytest.raises(RuntimeError):
        _ends(commit_app, "reads_then_fails")
    from app.extensions import db

    with commit_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Role).where(Role.name == "t-failed")) == 0


@pytest.mark.skipif(not POSTGRES_ADMIN_URL, reason="statements prepared by psycopg on PostgreSQL")
def test_the_statements_a_connection_keeps_answering_stay_prepared(commit_app):
    """psycopg prepares a statement seen five times, and forgets all of them at a ROLLBACK."""
    client = commit_app.test_client()
    for _ in range(6):
        assert client.get("/test-read-commit/only_reads").status_code == 200
    assert client.get("/test-read-commit/prepared").get_data(as_text=True) == "1"
    # A request that wrote ends with a rollback: psycopg deallocates them, as before.
    client.get("/test-read-commit/flushes_a_row")
    assert client.get("/test-read-commit/prepared").get_data(as_text=True) == "0"
