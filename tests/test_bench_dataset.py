"""bench/dataset.py at a tiny scale: the shape the benchmark relies on, in a scratch database.

The generator writes with raw SQL past the models' checks, so the rules the models guard are
checked here on what it wrote: every request has items, every sent one a timeline, the state mix
holds all the states the screens filter on, national IDs carry their check digit and no officer
holds two live grants of one source (the partial unique indexes were dropped during the load
and built again, which would fail on a duplicate, but the counts say the load happened at all).
"""
import uuid
from datetime import date

import pytest
from sqlalchemy import create_engine, make_url, text

from app.domain.national_id import check_digit
from tests.conftest import POSTGRES_ADMIN_URL

pytestmark = pytest.mark.skipif(not POSTGRES_ADMIN_URL, reason="the generator is PostgreSQL's (SITTHI_TEST_POSTGRES)")

REQUESTS = 60


@pytest.fixture()
def scratch_url():
    name = f"sitthi_test_gen_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+psycopg", database=name)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def test_tiny_scale_has_the_national_shape(scratch_url):
    from bench.dataset import UNITS, build, sizes

    before = _counts(scratch_url)  # nothing yet: the schema is not there
    assert before is None
    build(scratch_url, REQUESTS, today=date(2026, 11, 2))
    n = sizes(REQUESTS)
    engine = create_engine(scratch_url)
    with engine.connect() as conn:
        one = lambda sql: conn.execute(text(sql)).scalar()  # noqa: E731
        assert one("SELECT count(*) FROM unit") == UNITS
        assert one("SELECT count(*) FROM unit WHERE kind = 'station' AND parent_id IS NULL") == 0
        assert one("SELECT count(*) FROM officer WHERE national_id LIKE '1%'") >= n["officers"]
        generated = conn.execute(text("SELECT national_id FROM officer WHERE email LIKE 'o%@police.example'")).scalars()
        assert all(check_digit(number[:12]) == number[12] for number in generated)
        assert one("SELECT count(*) FROM officer WHERE status <> 'active'") > 0

        assert one("SELECT count(*) FROM access_request WHERE number LIKE 'N/%'") == REQUESTS
        states = dict(conn.execute(text(
            "SELECT state, count(*) FROM access_request WHERE number LIKE 'N/%' GROUP BY state")).all())
        assert set(states) == {"submitted", "draft", "returned", "rejected", "cancelled", "completed"}
        assert states["completed"] == max(states.values())
        # Waiting ones sit at a stage of their chain and carry a due date.
        assert one("SELECT count(*) FROM access_request WHERE state = 'submitted' "
                   "AND (current_stage_id IS NULL OR due_on IS NULL)") == 0
        assert one("SELECT count(*) FROM access_request r WHERE r.number LIKE 'N/%' AND NOT EXISTS "
                   "(SELECT 1 FROM request_item i WHERE i.request_id = r.id)") == 0
        assert one("SELECT max(c) FROM (SELECT count(*) c FROM request_item GROUP BY request_id) x") <= 3
        assert one("SELECT count(*) FROM access_request r WHERE r.number LIKE 'N/%' AND r.state <> 'draft' AND NOT EXISTS "
                   "(SELECT 1 FROM decision d WHERE d.request_id = r.id)") == 0
        assert one("SELECT count(*) FROM decision d JOIN access_request r ON r.id = d.request_id "
                   "WHERE r.state = 'draft'") == 0

        assert one("SELECT count(*) FROM permission_grant") >= n["grants"]
        assert one("SELECT count(*) FROM (SELECT officer_id, data_source_id FROM permission_grant "
                   "WHERE state IN ('pending_activation', 'active') AND data_source_id IS NOT NULL "
                   "GROUP BY officer_id, data_source_id, rank_group_id HAVING count(*) > 1) x") == 0
        assert one("SELECT count(*) FROM pg_indexes WHERE indexname = 'uq_grant_live_source'") == 1
        assert one("SELECT count(*) FROM audit_event") >= n["audit"]
    engine.dispose()

    # A second build finds the dataset there and adds nothing.
    build(scratch_url, REQUESTS, today=date(2026, 11, 2))
    assert _counts(scratch_url) == REQUESTS


def _counts(url: str) -> int | None:
    engine = create_engine(url)
    with engine.connect() as conn:
        if not conn.execute(text("SELECT to_regclass('access_request')")).scalar():
            engine.dispose()
            return None
        found = conn.execute(text("SELECT count(*) FROM access_request WHERE number LIKE 'N/%'")).scalar()
    engine.dispose()
    return found
