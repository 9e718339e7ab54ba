"""The audit trail is a hash chain that the database will not let anyone rewrite, and
`flask sitthi verify-audit` finds the first row that was tampered with anyway.

A database of its own: these tests break rows on purpose.
"""
import threading

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from app.models import AuditEvent
from tests.conftest import POSTGRES_ADMIN_URL, Browser, build_app, prepare_database


@pytest.fixture(scope="module")
def chain_app(databases):
    application = build_app(databases.new_url("chain"))
    prepare_database(application)
    yield application
    with application.app_context():
        from app.extensions import db

        db.session.remove()
        db.engine.dispose()


def _verify(app) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["sitthi", "verify-audit", "--batch-size", "100"])
    return result.exit_code, result.output


def _rows(app) -> int:
    from app.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent))


def _is_postgres(app) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


def _around_the_guard(app, statement: str, **params) -> None:
    """What only someone with the database's owner rights could do: change a row regardless."""
    from app.extensions import db

    with app.app_context(), db.engine.begin() as conn:
        if _is_postgres(app):
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # triggers off
            conn.execute(text(statement), params)
        else:
            triggers = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                         "AND tbl_name = 'audit_event'")).all()
            for name, _sql in triggers:
                conn.execute(text(f"DROP TRIGGER {name}"))
            conn.execute(text(statement), params)
            for _name, sql in triggers:
                conn.execute(text(sql))


def test_real_work_forms_an_intact_chain(chain_app, figures):
    browser = Browser(chain_app.test_client())
    assert browser.login("officer").status_code == 302
    browser.get("/logout/")
    assert Browser(chain_app.test_client()).login("officer", "wrong-Password1").status_code == 302
    result = chain_app.test_cli_runner().invoke(args=["sitthi", "expire-grants", "--today", "2031-01-01"])
    assert result.exit_code == 0, result.output

    code, output = _verify(chain_app)

    assert code == 0, output
    rows = _rows(chain_app)
    assert f"chain intact: {rows:,} rows verified" in output
    figures("audit chain verified", f"{rows:,} rows, intact")


def test_a_large_batch_is_sealed_into_the_chain_with_the_rest(chain_app):
    """A job's thousand rows (written sealed at commit on PostgreSQL), an ORM row before and after
    them, and a JSON column: one chain, verified; a batch rolled back leaves nothing."""
    from datetime import UTC, datetime

    from app.extensions import db
    from app.services import audit_chain

    now = datetime(2026, 12, 2, 2, 0, 0, 123456, tzinfo=UTC)
    batch = [{"occurred_at": now, "action": "Test.batch", "object_type": "Grant", "object_id": number,
              "summary": f"แถวที่ {number}", "before": {"state": "active"} if number % 2 else None,
              "after": {"state": "expired", "on": "2026-12-02"} if number % 2 else None}
             for number in range(audit_chain.WRITTEN_AT_COMMIT)]
    before = _rows(chain_app)
    with chain_app.app_context():
        db.session.add(AuditEvent(occurred_at=now, action="Test.orm_first", summary="before the batch"))
        db.session.flush()
        audit_chain.add_rows(db.session, batch)
        db.session.add(AuditEvent(occurred_at=now, action="Test.orm_after", summary="after the batch"))
        db.session.commit()
        written = db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("Test.%"))
                                     .order_by(AuditEvent.chain_seq)).all()
        mine = written[-(len(batch) + 2):]
        assert sorted(e.action for e in mine) == ["Test.batch"] * len(batch) + ["Test.orm_after", "Test.orm_first"]
        assert mine[0].action == "Test.orm_first"
        assert [e.chain_seq for e in mine] == list(range(mine[0].chain_seq, mine[0].chain_seq + len(mine)))
        odd = next(e for e in written if e.action == "Test.batch" and e.object_id == 1)
        assert (odd.summary, odd.before, odd.after) == ("แถวที่ 1", {"state": "active"},
                                                        {"state": "expired", "on": "2026-12-02"})

        audit_chain.add_rows(db.session, batch)
        db.session.rollback()
    assert _rows(chain_app) == before + len(batch) + 2
    code, output = _verify(chain_app)
    assert code == 0, output
    if _is_postgres(chain_app):
        # Analysed as it was written, so the audit trail's plans see the batch from the commit on.
        with chain_app.app_context():
            planned = db.session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'audit_event'"))
        assert planned == before + len(batch) + 2


def test_the_trail_outlives_the_job_run_and_login_it_names(chain_app):
    """The trail names its job run, login and unit by id, without a key that would refuse their
    removal (or check every audit row written, migration 0022): removed, the rows still name them
    and the chain holds; while they exist, the trail's screens reach them through the ids."""
    from datetime import UTC, datetime

    from app.extensions import db
    from app.models import JobRun, Unit

    now = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
    with chain_app.app_context():
        admin_id = db.session.scalar(text("SELECT id FROM ab_user WHERE username = 'admin'"))
        unit = db.session.scalars(select(Unit).order_by(Unit.id)).first()
        run = JobRun(kind="import_personnel", state="done", created_at=now)
        db.session.add(run)
        db.session.flush()
        event = AuditEvent(occurred_at=now, action="Test.outlives", actor_id=admin_id, unit_id=unit.id,
                           job_run_id=run.id, summary="named by id")
        db.session.add(event)
        db.session.commit()
        event_id, run_id = event.id, run.id
        db.session.expire_all()
        kept = db.session.get(AuditEvent, event_id)
        assert (kept.actor.username, kept.unit.id) == ("admin", unit.id)

        db.session.execute(delete(JobRun).where(JobRun.id == run_id))
        db.session.commit()
        assert db.session.get(AuditEvent, event_id).job_run_id == run_id
        db.session.remove()
    code, output = _verify(chain_app)
    assert code == 0, output


@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET summary = 'nothing happened' WHERE id = (SELECT min(id) FROM audit_event)",
    "DELETE FROM audit_event WHERE id = (SELECT max(id) FROM audit_event)",
    "UPDATE audit_event SET chain_seq = NULL WHERE id = (SELECT min(id) FROM audit_event)",
])
def test_the_database_refuses_to_change_or_delete_audit_rows(chain_app, statement):
    from app.extensions import db

    before = _rows(chain_app)
    with chain_app.app_context():
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert _rows(chain_app) == before


@pytest.mark.parametrize("change, allowed", [
    ("", True),
    (", summary = 'rewritten while sealed'", False),
    (""", "before" = '{"state": "forged"}'""", False),
    (", occurred_at = '2001-01-01 00:00:00'", False),
    (", purpose = 'a reason added later'", False),
])
def test_sealing_may_set_the_chain_columns_and_nothing_else(chain_app, change, allowed):
    """An unsealed row (as the services write it, sealed just before commit) takes its chain
    columns once; a seal that changes any other column, json ones included, is refused."""
    from app.extensions import db

    before = _rows(chain_app)
    with chain_app.app_context():
        new_id = db.session.execute(text(
            """INSERT INTO audit_event (occurred_at, action, summary, "before") """
            """VALUES (CURRENT_TIMESTAMP, 'Test.seal', 'as written', '{"state": "draft"}') RETURNING id""")).scalar()
        seal = text(f"UPDATE audit_event SET chain_seq = 900000000 + :id, prev_hash = 'p', row_hash = 'h'{change} "
                    "WHERE id = :id")
        try:
            if allowed:
                db.session.execute(seal, {"id": new_id})
                assert db.session.scalar(select(AuditEvent.chain_seq).where(AuditEvent.id == new_id)) == 900000000 + new_id
                with pytest.raises(DBAPIError, match="append-only"):
                    db.session.execute(text("UPDATE audit_event SET row_hash = 'again' WHERE id = :id"), {"id": new_id})
            else:
                with pytest.raises(DBAPIError, match="append-only"):
                    db.session.execute(seal, {"id": new_id})
        finally:
            db.session.rollback()
    assert _rows(chain_app) == before


def test_orm_bulk_changes_are_refused_too(chain_app):
    from app.extensions import db

    with chain_app.app_context():
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(update(AuditEvent).values(summary="x"))
        db.session.rollback()
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(delete(AuditEvent))
        db.session.rollback()


def test_truncate_is_refused_on_postgresql(chain_app):
    if not _is_postgres(chain_app):
        pytest.skip("SQLite has no TRUNCATE")
    from app.extensions import db

    with chain_app.app_context():
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text("TRUNCATE audit_event CASCADE"))
        db.session.rollback()


@pytest.mark.skipif(not POSTGRES_ADMIN_URL, reason="concurrent writers need PostgreSQL (SITTHI_TEST_POSTGRES)")
def test_two_writers_at_once_keep_one_chain(chain_app):
    from sqlalchemy.orm import Session

    from app.extensions import db
    from app.services import audit

    with chain_app.app_context():
        engine = db.engine
    barrier = threading.Barrier(2)
    failures = []

    def writer(name: str) -> None:
        try:
            barrier.wait()
            for n in range(15):
                with Session(engine) as session:
                    audit.record(session, "Test.concurrent", summary=f"{name} {n}")
                    audit.record(session, "Test.concurrent", summary=f"{name} {n} again")
                    session.commit()
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    code, output = _verify(chain_app)
    assert code == 0, output


def test_verify_names_the_first_row_changed_behind_the_apps_back(chain_app, figures):
    from app.extensions import db

    with chain_app.app_context():
        ids = db.session.scalars(select(AuditEvent.id).order_by(AuditEvent.chain_seq)).all()
    victim = ids[len(ids) // 2]
    _around_the_guard(chain_app, "UPDATE audit_event SET summary = 'nothing happened' WHERE id = :id", id=victim)

    code, output = _verify(chain_app)

    assert code == 1
    assert f"BROKEN at audit event {victim}: its content no longer matches its hash" in output
    figures("tampered audit row found by verify-audit", f"event {victim} of {len(ids):,}")


def test_verify_finds_a_deleted_row(databases):
    app = build_app(databases.new_url("chain2"))
    prepare_database(app, seed=False)
    try:
        from app.extensions import db
        from app.services import audit

        with app.app_context():
            for n in range(5):
                audit.record(db.session, "Test.row", summary=str(n))
                db.session.commit()
            ids = db.session.scalars(select(AuditEvent.id).order_by(AuditEvent.chain_seq)).all()
        assert _verify(app)[0] == 0
        _around_the_guard(app, "DELETE FROM audit_event WHERE id = :id", id=ids[2])
        code, output = _verify(app)
        assert code == 1 and f"BROKEN at audit event {ids[3]}" in output and "missing" in output
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_row_written_around_the_app_has_no_place_in_the_chain(databases):
    app = build_app(databases.new_url("chain3"))
    prepare_database(app, seed=False)
    try:
        from app.extensions import db

        with app.app_context(), db.engine.begin() as conn:
            conn.execute(text("INSERT INTO audit_event (occurred_at, action, summary) "
                              "VALUES (CURRENT_TIMESTAMP, 'Forged.row', 'added by hand')"))
        code, output = _verify(app)
        assert code == 1 and "1 audit rows have no place in the chain" in output
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
