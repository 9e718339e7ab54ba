"""Roles' rights, the unit tree and the rules' small tables are kept by each app process between
requests, and read again as soon as anything writes to them: another server, a screen, psql."""
import pytest
from sqlalchemy import create_engine, event, select, text

from app.extensions import db
from app.models import ReferenceStamp, Unit
from app.models.reference_stamp import REFERENCE_TABLES
from app.security import scope
from tests.conftest import Browser
from tests.factories import make_unit


def _stamps(session) -> dict[str, int]:
    return dict(session.execute(select(ReferenceStamp.name, ReferenceStamp.stamp)).all())


def _elsewhere(app):
    """A connection of another server: its own engine, committing on its own."""
    return create_engine(app.config["SQLALCHEMY_DATABASE_URI"], isolation_level="AUTOCOMMIT")


class _Statements:
    def __init__(self, engine):
        self.engine, self.seen = engine, []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self.seen

    def __exit__(self, *_exc):
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, _conn, _cursor, statement, *_args):
        self.seen.append(statement)


@pytest.mark.parametrize("group", sorted(REFERENCE_TABLES))
def test_any_write_to_a_reference_table_renews_its_stamp_and_only_its_own(db_session, group):
    for table in REFERENCE_TABLES[group]:
        before = _stamps(db_session)
        first_column = db_session.execute(text(f"SELECT * FROM {table} LIMIT 0")).keys()
        column = next(iter(first_column))
        db_session.execute(text(f"UPDATE {table} SET {column} = {column}"))
        after = _stamps(db_session)
        assert after[group] != before[group], table
        assert {name: stamp for name, stamp in after.items() if name != group} == \
            {name: stamp for name, stamp in before.items() if name != group}, table
        db_session.rollback()
        assert _stamps(db_session) == before, "a rolled-back write leaves the stamp it found"


def test_the_unit_tree_is_read_once_then_again_after_a_unit_is_added_elsewhere(app):
    with app.app_context():
        session = db.session
        command = session.scalar(select(Unit).where(Unit.code == "KKN"))
        command_id = command.id
        under = scope.units_under(session, command_id)
        session.commit()
        with _Statements(db.engine) as seen:
            assert scope.units_under(session, command_id) == under
            assert scope.command_of(session, under[-1]) is not None
        assert len(seen) == 1 and "reference_stamp" in seen[0], "only the stamps are read"
        session.commit()

        other = _elsewhere(app)
        try:
            with other.connect() as conn:
                conn.execute(text("INSERT INTO unit (code, name_th, name_en, kind, is_admin_scope, is_active, "
                                  "parent_id) VALUES ('CACHE-NEW', 'หน่วยใหม่', 'New unit', 'station', false, true, :p)"),
                             {"p": command.id})
                added = conn.execute(text("SELECT id FROM unit WHERE code = 'CACHE-NEW'")).scalar()
            assert added in scope.units_under(session, command.id)
            assert scope.command_of(session, added) == command.id
            session.commit()
        finally:
            with other.connect() as conn:
                conn.execute(text("DELETE FROM unit WHERE code = 'CACHE-NEW'"))
            other.dispose()
        assert scope.units_under(session, command.id) == under
        session.commit()


def test_a_transaction_sees_its_own_new_unit_and_after_its_rollback_nobody_does(app):
    with app.app_context():
        session = db.session
        command = session.scalar(select(Unit).where(Unit.code == "KKN"))
        under = scope.units_under(session, command.id)
        added = make_unit(session, parent=command)
        assert added.id in scope.units_under(session, command.id), "its own write, before commit"
        session.rollback()
        assert scope.units_under(session, command.id) == under
        session.commit()


def test_a_right_taken_from_a_role_elsewhere_is_refused_on_the_next_request(app):
    browser = Browser(app.test_client())
    assert browser.login("auditor").status_code == 302
    assert browser.get("/auditeventview/list/").status_code == 200
    assert browser.get("/auditeventview/list/").status_code == 200  # now from what the process kept
    held = """FROM ab_permission_view_role pvr
              JOIN ab_role r ON r.id = pvr.role_id
              JOIN ab_permission_view pv ON pv.id = pvr.permission_view_id
              JOIN ab_permission p ON p.id = pv.permission_id
              JOIN ab_view_menu v ON v.id = pv.view_menu_id
              WHERE r.name = 'Auditor' AND p.name = 'can_read' AND v.name = 'AuditEvent'"""
    other = _elsewhere(app)
    try:
        with other.connect() as conn:
            row = conn.execute(text(f"SELECT pvr.id, pvr.permission_view_id, pvr.role_id {held}")).one()
            conn.execute(text("DELETE FROM ab_permission_view_role WHERE id = :id"), {"id": row.id})
        refused = browser.get("/auditeventview/list/")
        assert refused.status_code != 200 and "/auditeventview/list/" not in refused.headers.get("Location", "")
    finally:
        with other.connect() as conn:
            conn.execute(text("INSERT INTO ab_permission_view_role (id, permission_view_id, role_id) "
                              "VALUES (:id, :pv, :role)"), {"id": row.id, "pv": row.permission_view_id,
                                                            "role": row.role_id})
        other.dispose()
    assert browser.get("/auditeventview/list/").status_code == 200


def test_a_units_write_on_the_sessions_own_connection_is_seen_by_its_transaction(app):
    """A unit import writes with Core statements on the session's connection, not through the
    ORM: what the same transaction reads of the tree afterwards includes them."""
    from sqlalchemy import insert

    with app.app_context():
        session = db.session
        command = session.scalar(select(Unit).where(Unit.code == "KKN"))
        under = scope.units_under(session, command.id)
        session.connection().execute(insert(Unit), [{
            "code": "CACHE-CORE", "name_th": "หน่วยนำเข้า", "name_en": "Imported unit", "kind": "station",
            "is_admin_scope": False, "is_active": True, "parent_id": command.id}])
        added = session.scalar(select(Unit.id).where(Unit.code == "CACHE-CORE"))
        assert added in scope.units_under(session, command.id)
        assert scope.command_of(session, added) == command.id
        session.rollback()
        assert scope.units_under(session, command.id) == under
        session.commit()
