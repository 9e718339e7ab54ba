"""Time the busy screens on PostgreSQL at 10,000 and at 1,000,000 requests.

    make bench                                     # both scales, databases bench_10k and bench_1m
    BENCH_SCALES=10000 make bench                  # one scale
    BENCH_POSTGRES=postgresql+psycopg://user@host:5432 BENCH_REPEAT=50 make bench
    make bench-data                                # only build the databases (run_bench.py --build-only)
    BENCH_DB_PREFIX=bench_gen_ make bench          # databases bench_gen_10k and bench_gen_1m
    BENCH_ONLY=dashboard make bench                # only the screens whose name holds this text
    BENCH_OFFICERS=230000 BENCH_SCALES=10000,1000000 make bench
                                                   # the whole force's officers at every scale, so the
                                                   # ratio shows the requests' growth alone (databases
                                                   # bench_10k_o230k beside bench_1m)

Each scale is built once by bench/dataset.py (set-based SQL, then VACUUM ANALYZE) into a
database of its own and reused afterwards. Every busy screen is then asked BENCH_REPEAT times
as the role that uses it, through the Flask test client (server time: no network, no browser),
after one warm-up request; the table gives the median and 95th percentile in milliseconds, the
SQL statements of the page, and for the large scale the ratio of its p95 to the small one's.
"""
import os
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, event, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = os.environ.get("BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")
SCALES = [int(s) for s in os.environ.get("BENCH_SCALES", "10000,1000000").split(",")]
REPEAT = int(os.environ.get("BENCH_REPEAT", 20))
# Databases are named PREFIX10k, PREFIX1m: helpers and the lead keep their own copies side by side.
PREFIX = os.environ.get("BENCH_DB_PREFIX", "bench_")
# Only the screens whose label contains this text (e.g. BENCH_ONLY=dashboard).
ONLY = os.environ.get("BENCH_ONLY", "")
# Officers at every scale (default: the national ratio, 23 per 100 requests, a small force at 10k).
OFFICERS = int(os.environ["BENCH_OFFICERS"]) if os.environ.get("BENCH_OFFICERS") else None


def database_name(requests: int) -> str:
    from bench.dataset import sizes

    name = f"{PREFIX}1m" if requests == 1_000_000 else f"{PREFIX}{requests // 1000}k"
    if OFFICERS is not None and sizes(requests)["officers"] != OFFICERS:
        name += f"_o{OFFICERS // 1000}k"
    return name


def database_for(requests: int) -> str:
    return ensure_database(database_name(requests))


def ensure_database(name: str) -> str:
    """The address of the database `name` on SERVER, made empty if it is not there."""
    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return f"{SERVER}/{name}"


def samples(url: str) -> dict:
    """Rows the pages open: an officer and a request of the demo command, deep-page cursors."""
    engine = create_engine(url)
    with engine.connect() as conn:
        one = lambda sql: conn.execute(text(sql)).scalar()  # noqa: E731
        found = {
            "kkn": one("SELECT id FROM unit WHERE code = 'KKN'"),
            "officer": one("SELECT o.id FROM officer o JOIN unit u ON u.id = o.home_unit_id "
                           "WHERE u.code = 'KKN-MUEANG' ORDER BY o.id DESC LIMIT 1"),
            "request": one("SELECT id FROM access_request WHERE state = 'submitted' ORDER BY id DESC LIMIT 1"),
            "deep_request": one("SELECT id FROM access_request ORDER BY id LIMIT 1 OFFSET 100"),
            "deep_event": one("SELECT id FROM audit_event ORDER BY id LIMIT 1 OFFSET 100"),
            # A day near the trail's start, typed as a Thai reader types it (B.E.).
            "old_day": _typed_day(one("SELECT (min(occurred_at) + interval '90 days')::date FROM audit_event")),
            "rows": {t: one(f"SELECT count(*) FROM {t}") for t in
                     ("unit", "officer", "access_request", "request_item", "decision", "permission_grant",
                      "audit_event")},
        }
    engine.dispose()
    return found


def _typed_day(day) -> str:
    from app.domain.inputs import shown_date

    return shown_date(day, buddhist_era=True)


def pages(s: dict) -> list[tuple]:
    """(screen, who opens it, address[, "fresh"]). The dashboard shares its figures for
    DASHBOARD_CACHE_SECONDS, the rights audit its listing for RIGHTS_AUDIT_CACHE_SECONDS (60 by
    default, as in production); "fresh" asks an app that works them out on every view: what a
    renewal costs (beside a reader's request, or in `flask sitthi renew-shared-figures`), and what
    a reader waits for only when none are kept (no keep-warm job, and nobody read them lately)."""
    return [
        ("inbox: to certify", "head", "/tocertifyview/list/"),
        ("inbox: to verify", "centralit", "/toverifyview/list/"),
        ("inbox: to verify, by due date", "centralit", "/toverifyview/list/?_oc_ToVerifyView=due&_od_ToVerifyView=asc"),
        ("inbox: account requests", "commandtech", "/accountrequestview/list/"),
        ("inbox: personnel changes", "commandtech", "/personnelchangeview/list/?_flt_0_state=open"),
        ("home page with inbox counts", "centralit", "/"),
        ("command's officer list", "commandtech", "/officerview/list/"),
        # A Thai name's first letters, as typed into the list's search (two letters, many officers).
        ("officer list, first name starts with", "admin", "/officerview/list/?_flt_0_first_name_th=สม"),
        ("officer page", "commandtech", f"/officerview/show/{s['officer']}"),
        ("request list", "admin", "/accessrequestview/list/"),
        ("request list, state filter", "admin", "/accessrequestview/list/?_flt_0_state=submitted"),
        ("request list, next rows deep", "admin", f"/accessrequestview/list/?after={s['deep_request']}"),
        ("request list, command's", "commandtech", "/accessrequestview/list/"),
        ("request list, command's, state filter", "commandtech", "/accessrequestview/list/?_flt_0_state=submitted"),
        ("request list, part of a number", "admin", "/accessrequestview/list/?_flt_2_number=000123"),
        ("request page", "centralit", f"/requests/show/{s['request']}"),
        ("grant list", "admin", "/grantview/list/"),
        ("grant list by expiry", "admin", "/grantview/list/?_oc_GrantView=valid_until&_od_GrantView=asc"),
        ("command permissions", "commandtech", "/commandgrantview/list/"),
        ("rights audit (the demo command)", "commandtech", "/rightsaudit/"),
        ("rights audit, page 40", "commandtech", "/rightsaudit/?page=40"),
        ("rights audit, worked out", "commandtech", "/rightsaudit/", "fresh"),
        # One finding: the largest at 1M (21,000 grants); its listing summed the totals per officer once.
        ("rights audit, a finding, worked out", "commandtech", "/rightsaudit/?flag=duty_line", "fresh"),
        ("audit trail", "auditor", "/auditeventview/list/"),
        ("audit trail, next rows deep", "auditor", f"/auditeventview/list/?after={s['deep_event']}"),
        ("audit trail, one day long ago", "auditor", f"/auditeventview/list/?_flt_0_occurred_at={s['old_day']}"),
        ("audit trail, one action", "auditor", "/auditeventview/list/?_flt_0_action=export"),
        ("audit trail, before a day long ago", "auditor", f"/auditeventview/list/?_flt_2_occurred_at={s['old_day']}"),
        ("dashboard, nationwide", "admin", "/dashboard/"),
        ("dashboard, command", "commandtech", "/dashboard/"),
        # A head's own figures are never shared: the counts are worked out on every view, the
        # median waits kept for the head DASHBOARD_TIMINGS_SECONDS ("worked out": both, a first view).
        ("dashboard, unit head", "head", "/dashboard/"),
        ("dashboard, nationwide, worked out", "admin", "/dashboard/", "fresh"),
        ("dashboard, command, worked out", "commandtech", "/dashboard/", "fresh"),
        ("dashboard, unit head, worked out", "head", "/dashboard/", "fresh"),
        ("picker: officer name (Thai)", "commandtech", "/lookup/officer?q=สมชาย"),
        ("picker: officer name, two words", "admin", "/lookup/officer?q=สม ใจ"),
        ("picker: unit", "commandtech", "/lookup/unit?q=สภ.1"),
    ]


def measure(url: str) -> dict[str, tuple[float, float, int]]:
    from tests.conftest import Browser, build_app

    shared_seconds = int(os.environ.get("DASHBOARD_CACHE_SECONDS", 60))
    # As deployed (config.py's defaults): a reader's own median waits kept DASHBOARD_TIMINGS_SECONDS.
    timings_seconds = int(os.environ.get("DASHBOARD_TIMINGS_SECONDS", 600))
    apps = {"": build_app(url, DASHBOARD_CACHE_SECONDS=shared_seconds, RIGHTS_AUDIT_CACHE_SECONDS=shared_seconds,
                          DASHBOARD_TIMINGS_SECONDS=timings_seconds),
            "fresh": build_app(url, DASHBOARD_CACHE_SECONDS=0, RIGHTS_AUDIT_CACHE_SECONDS=0)}
    from app.extensions import db

    engines = []
    for each in apps.values():
        with each.app_context():
            engines.append(db.engine)
    # What each gunicorn worker does once its app is built (gunicorn.conf.py).
    from app.server_tuning import tune_garbage_collection

    tune_garbage_collection()
    s = samples(url)
    print("rows: " + ", ".join(f"{t} {n:,}" for t, n in s["rows"].items()))
    browsers: dict[tuple[str, str], Browser] = {}
    results = {}
    for label, who, path, *kind in pages(s):
        if ONLY not in label:
            continue
        which = kind[0] if kind else ""
        if (who, which) not in browsers:
            browsers[(who, which)] = Browser(apps[which].test_client())
            assert browsers[(who, which)].login(who).status_code == 302, who
        browser = browsers[(who, which)]
        assert browser.get(path).status_code == 200, (label, path)
        timings, statements = [], 0
        for _ in range(REPEAT):
            seen: list[int] = []

            def count(*_args, seen=seen):
                seen.append(1)

            for engine in engines:
                event.listen(engine, "before_cursor_execute", count)
            started = time.perf_counter()
            response = browser.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            for engine in engines:
                event.remove(engine, "before_cursor_execute", count)
            statements = max(statements, len(seen))
            assert response.status_code == 200, (label, path, response.status_code)
        timings.sort()
        p95 = timings[max(0, int(round(len(timings) * 0.95)) - 1)]
        results[label] = (statistics.median(timings), p95, statements)
    for each in apps.values():
        with each.app_context():
            db.session.remove()
            db.engine.dispose()
    return results


def main() -> None:
    from bench.dataset import build

    build_only = "--build-only" in sys.argv[1:]
    measured = {}
    for requests in SCALES:
        url = database_for(requests)
        print(f"\n== {requests:,} requests ({url.rsplit('/', 1)[-1]})")
        started = time.perf_counter()
        build(url, requests, officers=OFFICERS)
        print(f"ready in {time.perf_counter() - started:.0f} s")
        if not build_only:
            measured[requests] = measure(url)
    if build_only:
        return
    small, large = SCALES[0], SCALES[-1]
    heading = f"{'screen':36}" + "".join(f" {f'{r:,}: p50':>14} {'p95':>7} {'stmts':>5}" for r in SCALES)
    if len(SCALES) > 1:
        heading += f" {'p95 ratio':>9}"
    print("\n" + heading)
    for label in measured[small]:
        line = f"{label:36}"
        for requests in SCALES:
            p50, p95, statements = measured[requests][label]
            line += f" {p50:14.1f} {p95:7.1f} {statements:5d}"
        if len(SCALES) > 1:
            line += f" {measured[large][label][1] / measured[small][label][1]:9.2f}"
        print(line)


if __name__ == "__main__":
    main()
