"""Busy screens asked with a different value each time, on one database connection.

    make bench-varied                              # bench_1m (build it first: make bench-data)
    BENCH_SCALES=10000 make bench-varied           # bench_10k
    BENCH_VARIED_ROUNDS=3 make bench-varied        # each list of values asked three times over

psycopg prepares a statement on the server once a connection has sent it five times, and
PostgreSQL may then plan it once for every value (a generic plan) instead of for the value
given: right for a statement whose values all want the same plan, slow where one value wants
another (a rare state against a common one, a name's first letters against a whole name). The
timings of run_bench ask each screen with one value; here every screen of a group is asked with
values drawn from the data, in turn, through one pooled connection as a gunicorn worker holds
it. The table gives, per group, the views before the connection prepared the statements (the
first five) and after, and the slowest address; then the statements PostgreSQL runs on a
generic plan, with how many times it did.
"""
import os
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCALE = int(os.environ.get("BENCH_SCALES", "1000000").split(",")[-1])
ROUNDS = int(os.environ.get("BENCH_VARIED_ROUNDS", 2))
# What psycopg prepares after (its prepare_threshold): the views before it are planned each time.
PREPARED_AFTER = 5


def _values(session) -> dict:
    from app.domain.inputs import shown_date

    rows = lambda sql: [row[0] for row in session.execute(text(sql))]  # noqa: E731
    return {
        # First letters as people type them: two, three and four characters of real names.
        "names": [name[:size] for size, name in zip(
            (2, 3, 4) * 8, rows("SELECT first_name_th FROM officer TABLESAMPLE SYSTEM (2) REPEATABLE (7) LIMIT 24"),
            strict=False)],
        "last_names": [name[:3] for name in rows(
            "SELECT last_name_th FROM officer TABLESAMPLE SYSTEM (2) REPEATABLE (8) LIMIT 12")],
        "states": rows("SELECT DISTINCT state FROM access_request ORDER BY 1"),
        "numbers": [number[-size:] for size, number in zip(
            (3, 4, 6) * 4, rows("SELECT number FROM access_request TABLESAMPLE SYSTEM (0.1) REPEATABLE (9) LIMIT 12"),
            strict=False)],
        "days": [shown_date(day, buddhist_era=True) for day in rows(
            "SELECT DISTINCT occurred_at::date FROM audit_event TABLESAMPLE SYSTEM (0.05) REPEATABLE (10) "
            "ORDER BY 1 LIMIT 12")],
        "actions": rows("SELECT DISTINCT action FROM audit_event TABLESAMPLE SYSTEM (0.2) REPEATABLE (11) "
                        "ORDER BY 1 LIMIT 12"),
    }


def groups(values: dict) -> list[tuple[str, str, list[str]]]:
    """(group, who asks, the addresses in the order asked)."""
    return [
        ("officer list, first name starts with", "admin",
         [f"/officerview/list/?_flt_0_first_name_th={name}" for name in values["names"]]),
        ("officer list, last name starts with", "admin",
         [f"/officerview/list/?_flt_0_last_name_th={name}" for name in values["last_names"]]),
        ("command's officer list, first name", "commandtech",
         [f"/officerview/list/?_flt_0_first_name_th={name}" for name in values["names"]]),
        ("picker: officer name", "commandtech", [f"/lookup/officer?q={name}" for name in values["names"]]),
        ("request list, state", "admin",
         [f"/accessrequestview/list/?_flt_0_state={state}" for state in values["states"] * 2]),
        ("command's request list, state", "commandtech",
         [f"/accessrequestview/list/?_flt_0_state={state}" for state in values["states"] * 2]),
        ("request list, part of a number", "admin",
         [f"/accessrequestview/list/?_flt_2_number={part}" for part in values["numbers"]]),
        ("audit trail, one day", "auditor",
         [f"/auditeventview/list/?_flt_0_occurred_at={day}" for day in values["days"]]),
        ("audit trail, before a day", "auditor",
         [f"/auditeventview/list/?_flt_2_occurred_at={day}" for day in values["days"]]),
        ("audit trail, one action", "auditor",
         [f"/auditeventview/list/?_flt_0_action={action}" for action in values["actions"]]),
    ]


def main() -> None:
    from bench.run_bench import database_for
    from tests.conftest import Browser, build_app

    url = database_for(SCALE)
    print(f"== {SCALE:,} requests ({url.rsplit('/', 1)[-1]}), {ROUNDS} rounds, one pooled connection")
    app = build_app(url, DASHBOARD_CACHE_SECONDS=60, RIGHTS_AUDIT_CACHE_SECONDS=60,
                    SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0, "hide_parameters": True})
    from app.extensions import db
    from app.server_tuning import tune_garbage_collection

    tune_garbage_collection()
    with app.app_context():
        values = _values(db.session)
        db.session.remove()
    browsers: dict[str, Browser] = {}
    print(f"\n{'group':40} {'values':>6} {'first 5: p50':>12} {'max':>6} {'then: p50':>9} {'max':>6}  slowest")
    for label, who, addresses in groups(values):
        if who not in browsers:
            browsers[who] = Browser(app.test_client())
            assert browsers[who].login(who).status_code == 302, who
        timings = []
        for _ in range(ROUNDS):
            for address in addresses:
                started = time.perf_counter()
                response = browsers[who].get(address)
                timings.append(((time.perf_counter() - started) * 1000, address))
                assert response.status_code == 200, (label, address, response.status_code)
        first, then = timings[:PREPARED_AFTER], timings[PREPARED_AFTER:]
        slowest = max(then)
        print(f"{label:40} {len(set(addresses)):6d} {statistics.median(t for t, _ in first):12.1f} "
              f"{max(t for t, _ in first):6.1f} {statistics.median(t for t, _ in then):9.1f} {slowest[0]:6.1f}  "
              f"{slowest[1]}")
    with app.app_context():
        generic = db.session.execute(text(
            "SELECT generic_plans, custom_plans, regexp_replace(statement, '\\s+', ' ', 'g') "
            "FROM pg_prepared_statements WHERE generic_plans > 0 ORDER BY generic_plans DESC")).all()
        prepared = db.session.scalar(text("SELECT count(*) FROM pg_prepared_statements"))
        db.session.remove()
        db.engine.dispose()
    print(f"\n{prepared} statements prepared on the connection, {len(generic)} on a generic plan:")
    for generic_plans, custom_plans, statement in generic:
        shown = statement if len(statement) <= 150 else statement[:100] + " ... " + statement[-45:]
        print(f"  {generic_plans:4d} generic / {custom_plans:2d} custom  {shown}")


if __name__ == "__main__":
    main()
