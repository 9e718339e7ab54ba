"""Sitthi's busy pages beside a plain Flask-AppBuilder scaffold on the same data, in one run.

    BENCH_SCALES=1000000 .venv/bin/python bench/scaffold.py      # database bench_1m (the default)
    BENCH_SCALES=10000 make bench-scaffold                        # bench_10k
    BENCH_SCAFFOLD_REPEAT=2 BENCH_REPEAT=10 .venv/bin/python bench/scaffold.py --scaffold-only

Issue 10 sets Sitthi's goal against what `flask fab create-app` gives a developer over the same
tables: >= 300x faster than that scaffold and >= 5x faster than the same scaffold with its search
form fixed, on every busy page. The figures have to come from one run on one machine, because
this machine's timings wander by a third between runs.

The scaffold is built here, in-process, without Sitthi's code: its models are the benchmark
database's tables reflected by SQLAlchemy's automap, each foreign key a many-to-one relationship
named after its column (`requester_id` -> `requester`), loaded lazily (FAB's and SQLAlchemy's
default), with no reverse collections (a hand-written scaffold's models.py declares none), and a
`__repr__` showing a row's name, as a developer writes so a select shows names. Its views are
plain `ModelView(datamodel=SQLAInterface(Model))` for officer, access_request and permission_grant,
with only `list_columns` set to six columns each (FAB's default lists one). "Plain" keeps FAB's
default search form, which offers every relationship as a select of all related rows (the request
list's lists every officer, twice). "Fixed" is the same app with `search_exclude_columns` set to
the view's relationships; nothing else changes, so its add form still lists every officer.

Logging in is FAB's AUTH_DB as scaffolded, with an admin user. The scaffold's security tables
(ab_*) live in a small database of their own, `<BENCH_DB_PREFIX>scaffold_auth` (created on first
use), so that Sitthi's ab_* tables in the benchmark database are not touched; the scaffold's
models reach the benchmark database through a Flask-SQLAlchemy bind. The benchmark database is
only read, and must have been built (`make bench-data`).

Every page is asked through Flask test clients (server time, as bench/run_bench.py), after one
warm-up view whose HTML size is kept: Sitthi and the fixed scaffold BENCH_REPEAT times (20), the
plain scaffold BENCH_SCAFFOLD_REPEAT times (3), in that order (the plain scaffold's pages load
millions of rows and slowed the pages asked after them). A page whose warm-up took over a
second gets at most BENCH_SCAFFOLD_REPEAT views (the fixed scaffold's add form is as slow as the
plain one's), one over BENCH_SCAFFOLD_SLOW seconds (30) only its warm-up. Sitthi runs with the collector
settings of its gunicorn workers (app.server_tuning), the scaffold with CPython's defaults, as each
would be served. BENCH_ONLY keeps the pages whose name holds that text.
"""
import gc
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import MetaData, create_engine, inspect, text
from sqlalchemy.exc import OperationalError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCALES = [int(s) for s in os.environ.get("BENCH_SCALES", "1000000").split(",")]
REPEAT = int(os.environ.get("BENCH_REPEAT", 20))
PLAIN_REPEAT = int(os.environ.get("BENCH_SCAFFOLD_REPEAT", 3))
SLOW_SECONDS = float(os.environ.get("BENCH_SCAFFOLD_SLOW", 30))
ONLY = os.environ.get("BENCH_ONLY", "")
SCAFFOLD_ADMIN = ("admin", "Scaffold@bench1")
DATA_BIND = "bench"
VIEW_TABLES = ["officer", "access_request", "permission_grant"]
FASTER_THAN_FIXED = 5
FASTER_THAN_PLAIN = 300
# CPython's own collector thresholds: what a scaffold served by a default gunicorn runs with.
PYTHON_GC_THRESHOLD = (700, 10, 10)


class Timing(NamedTuple):
    p50: float
    p95: float
    kilobytes: float
    views: int


class ScaffoldRow:
    """A row's name in a select or a list cell, as a scaffold's models.py gives it."""

    def __repr__(self) -> str:
        if hasattr(self, "first_name_th"):
            return f"{self.first_name_th} {self.last_name_th}"
        for name in ("number", "name_th", "code", "username"):
            value = getattr(self, name, None)
            if value:
                return str(value)
        return str(self.id)


def reflect_models(data_url: str):
    """The scaffold's models, read from the benchmark database rather than Sitthi's code: the
    three busy tables and every table their foreign keys reach."""
    from sqlalchemy.ext.automap import automap_base, generate_relationship
    from sqlalchemy.orm import interfaces

    def named_after_column(_base, local_cls, referred_cls, constraint) -> str:
        column = constraint.elements[0].parent.name
        for suffix in ("_id", "_fk"):
            if len(constraint.elements) == 1 and column.endswith(suffix):
                return column.removesuffix(suffix)
        return referred_cls.__name__.lower()

    def many_to_one_only(base, direction, return_fn, attrname, local_cls, referred_cls, **kw):
        if direction is interfaces.ONETOMANY:
            return None
        return generate_relationship(base, direction, return_fn, attrname, local_cls, referred_cls, **kw)

    base = automap_base(cls=ScaffoldRow, metadata=MetaData(info={"bind_key": DATA_BIND}))
    engine = create_engine(data_url)
    base.prepare(autoload_with=engine, reflection_options={"only": VIEW_TABLES},
                 name_for_scalar_relationship=named_after_column, generate_relationship=many_to_one_only)
    engine.dispose()
    return base.classes


def scaffold_views(models, fixed: bool) -> list[type]:
    """One ModelView per busy table; `fixed` takes the relationships out of the search form."""
    from flask_appbuilder import ModelView
    from flask_appbuilder.models.sqla.interface import SQLAInterface

    def search_fix(model) -> list[str] | None:
        return list(inspect(model).relationships.keys()) if fixed else None

    class OfficerView(ModelView):
        datamodel = SQLAInterface(models.officer)
        list_columns = ["national_id", "rank", "first_name_th", "last_name_th", "home_unit", "status"]
        search_exclude_columns = search_fix(models.officer)

    class AccessRequestView(ModelView):
        datamodel = SQLAInterface(models.access_request)
        list_columns = ["number", "kind", "state", "requester", "unit", "submitted_at"]
        search_exclude_columns = search_fix(models.access_request)

    class PermissionGrantView(ModelView):
        datamodel = SQLAInterface(models.permission_grant)
        list_columns = ["officer", "data_source", "function", "state", "valid_from", "valid_until"]
        search_exclude_columns = search_fix(models.permission_grant)

    class OfficerRightsView(OfficerView):
        """The officer page as a developer shows an officer's requests and grants below it, the way
        Sitthi's does: FAB's related views, each a counted, paged list filtered on its key to the
        officer. FAB picks a table's first key to the officer and offers no choice: the requests
        listed are those the officer certifies as head (Sitthi's page: those they filed), the same
        kind of query on an indexed key."""
        related_views = [AccessRequestView, PermissionGrantView]

    return [OfficerView, AccessRequestView, PermissionGrantView, OfficerRightsView]


def auth_database() -> str:
    """The scaffold's own small database for FAB's security tables (made once, then reused)."""
    from bench.run_bench import PREFIX, ensure_database

    return ensure_database(f"{PREFIX}scaffold_auth")


def build_scaffold(data_url: str, auth_url: str, models, fixed: bool):
    """What `flask fab create-app` sets up (Flask, SQLA, AppBuilder, AUTH_DB) with the views added."""
    import flask_appbuilder.security.sqla.models  # noqa: F401  (FAB's ab_* tables into Model.metadata)
    from flask import Flask
    from flask_appbuilder import AppBuilder, Model
    from flask_appbuilder.const import AUTH_DB
    from flask_appbuilder.models.sqla.base import SQLA

    app = Flask(f"scaffold_{'fixed' if fixed else 'plain'}")
    app.config.update(
        SECRET_KEY="scaffold-bench",
        SQLALCHEMY_DATABASE_URI=auth_url,
        SQLALCHEMY_BINDS={DATA_BIND: data_url},
        AUTH_TYPE=AUTH_DB,
        APP_NAME="Scaffold",
    )
    db = SQLA(app)
    with app.app_context():
        # Only FAB's own tables: Sitthi's models share Model.metadata when both are imported.
        security_tables = [t for name, t in Model.metadata.tables.items() if name.startswith("ab_")]
        Model.metadata.create_all(db.engine, tables=security_tables)
        appbuilder = AppBuilder(app, db.session)
        for view in scaffold_views(models, fixed):
            appbuilder.add_view(view, view.__name__.removesuffix("View"), category="Scaffold")
        security = appbuilder.sm
        if security.find_user(username=SCAFFOLD_ADMIN[0]) is None:
            security.add_user(SCAFFOLD_ADMIN[0], "Scaffold", "Admin", "admin@scaffold.example",
                              security.find_role(security.auth_role_admin), password=SCAFFOLD_ADMIN[1])
        db.session.remove()
    return app


def pages(s: dict) -> list[tuple[str, str, str, str]]:
    """(page, Sitthi's role, Sitthi's address, the scaffold's address). Sitthi's deep request
    page is its "next rows" link from a request 100 rows from the oldest (run_bench's); FAB's is
    its page 2000 (OFFSET 50,000), or its last page when there are fewer (10k: page 399)."""
    deep_page = min(2000, s["rows"]["access_request"] // 25 - 1)
    return [
        ("officer list (command)", "commandtech", "/officerview/list/", "/officerview/list/"),
        ("officer list (nationwide)", "admin", "/officerview/list/", "/officerview/list/"),
        ("request list", "admin", "/accessrequestview/list/", "/accessrequestview/list/"),
        (f"request list page {deep_page}", "admin", f"/accessrequestview/list/?after={s['deep_request']}",
         f"/accessrequestview/list/?page_AccessRequestView={deep_page}"),
        ("grant list", "admin", "/grantview/list/", "/permissiongrantview/list/"),
        ("officer page", "commandtech", f"/officerview/show/{s['officer']}", f"/officerview/show/{s['officer']}"),
        ("officer page with requests and grants", "commandtech", f"/officerview/show/{s['officer']}",
         f"/officerrightsview/show/{s['officer']}"),
        ("new-request form", "officer", "/requests/new/new_account", "/accessrequestview/add"),
    ]


def timed(browser, path: str, repeat: int) -> Timing:
    """p50 and p95 of `repeat` views after a warm-up; a page seconds long gets fewer views (the
    fixed scaffold's add form is as slow as the plain one's), and a page over SLOW_SECONDS only
    its warm-up, which a view that long barely differs from."""
    started = time.perf_counter()
    first = browser.get(path)
    warm_up = time.perf_counter() - started
    assert first.status_code == 200, (path, first.status_code)
    kilobytes = len(first.get_data()) / 1024
    del first
    if warm_up > SLOW_SECONDS:
        return Timing(warm_up * 1000, warm_up * 1000, kilobytes, 1)
    if warm_up > 1:
        repeat = min(repeat, PLAIN_REPEAT)
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = browser.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
        del response
    timings.sort()
    p95 = timings[max(0, int(round(len(timings) * 0.95)) - 1)]
    return Timing(statistics.median(timings), p95, kilobytes, len(timings))


def measure(url: str, with_sitthi: bool) -> list[tuple[str, Timing | None, Timing, Timing]]:
    from bench.run_bench import samples
    from tests.conftest import Browser

    auth_url = auth_database()
    models = reflect_models(url)
    scaffolds = {kind: build_scaffold(url, auth_url, models, fixed=kind == "fixed") for kind in ("fixed", "plain")}
    sitthi = None
    if with_sitthi:
        from tests.conftest import build_app

        sitthi = build_app(url)
    from app.server_tuning import tune_garbage_collection

    tune_garbage_collection()
    sitthi_gc = gc.get_threshold()
    s = samples(url)
    print("rows: " + ", ".join(f"{t} {n:,}" for t, n in s["rows"].items()), flush=True)
    scaffold_browsers = {}
    for kind, app in scaffolds.items():
        scaffold_browsers[kind] = Browser(app.test_client())
        assert scaffold_browsers[kind].login(*SCAFFOLD_ADMIN).status_code == 302, kind
    chosen = [page for page in pages(s) if ONLY in page[0]]
    sitthi_timings: dict[str, Timing] = {}
    if sitthi is not None:
        gc.set_threshold(*sitthi_gc)
        sitthi_browsers = {}
        for label, who, sitthi_path, _ in chosen:
            if who not in sitthi_browsers:
                sitthi_browsers[who] = Browser(sitthi.test_client())
                assert sitthi_browsers[who].login(who).status_code == 302, who
            sitthi_timings[label] = timed(sitthi_browsers[who], sitthi_path, REPEAT)
            print(f"  Sitthi, {label}: {sitthi_timings[label].p95:,.1f} ms p95", flush=True)
    gc.set_threshold(*PYTHON_GC_THRESHOLD)
    scaffold_timings: dict[tuple[str, str], Timing] = {}
    # The plain scaffold last: its pages load millions of rows, and the memory they leave behind
    # in this process and the buffers they take in the database's cache slowed what came next.
    for kind, repeat in (("fixed", REPEAT), ("plain", PLAIN_REPEAT)):
        for label, _, _, scaffold_path in chosen:
            if (kind, scaffold_path) not in scaffold_timings:
                scaffold_timings[(kind, scaffold_path)] = timed(scaffold_browsers[kind], scaffold_path, repeat)
                print(f"  {kind} scaffold, {label}: {scaffold_timings[(kind, scaffold_path)].p95:,.1f} ms p95",
                      flush=True)
    results = [(label, sitthi_timings.get(label), scaffold_timings[("fixed", path)], scaffold_timings[("plain", path)])
               for label, _, _, path in chosen]
    return results


def cells(timing: Timing | None, asked: int) -> str:
    """p50 | p95 | KB, the p95 marked with its number of views when fewer were taken than asked."""
    if timing is None:
        return "- | - | -"
    fewer = f" ({timing.views} view{'s' if timing.views > 1 else ''})" if timing.views < asked else ""
    return f"{timing.p50:,.1f} | {timing.p95:,.1f}{fewer} | {timing.kilobytes:,.0f}"


def print_table(results: list[tuple[str, Timing | None, Timing, Timing]]) -> None:
    """A Markdown table, ready for bench/README.md."""
    print("\n| page | Sitthi p50 | p95 | KB | fixed scaffold p50 | p95 | KB | plain scaffold p50 | p95 | KB "
          f"| fixed / Sitthi (p95) | plain / Sitthi (p95) | >= {FASTER_THAN_FIXED}x fixed | "
          f">= {FASTER_THAN_PLAIN}x plain |")
    print("|---|" + "---|" * 13)
    for label, own, fixed, plain in results:
        line = f"| {label} | {cells(own, REPEAT)} | {cells(fixed, REPEAT)} | {cells(plain, PLAIN_REPEAT)} |"
        if own is None:
            line += " - | - | - | - |"
        else:
            versus_fixed, versus_plain = fixed.p95 / own.p95, plain.p95 / own.p95
            line += (f" {versus_fixed:,.1f} | {versus_plain:,.0f} | "
                     f"{'yes' if versus_fixed >= FASTER_THAN_FIXED else 'NO'} | "
                     f"{'yes' if versus_plain >= FASTER_THAN_PLAIN else 'NO'} |")
        print(line)


def main() -> None:
    from bench.run_bench import SERVER, database_name

    with_sitthi = "--scaffold-only" not in sys.argv[1:]
    # Its setup and login notices ("No user yet created", "Invalid redirect") would bury the table.
    logging.getLogger("flask_appbuilder").setLevel(logging.ERROR)
    for requests in SCALES:
        url = f"{SERVER}/{database_name(requests)}"  # only read: never made here, not even empty
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                built = "access_request" in inspect(conn).get_table_names() and conn.execute(
                    text("SELECT count(*) FROM (SELECT 1 FROM access_request LIMIT 1) AS one")).scalar()
        except OperationalError:  # no such database
            built = False
        engine.dispose()
        if not built:
            sys.exit(f"{url.rsplit('/', 1)[-1]} holds no benchmark data: build it first "
                     f"(BENCH_SCALES={requests} make bench-data).")
        print(f"\n== {requests:,} requests ({url.rsplit('/', 1)[-1]}), {time.strftime('%Y-%m-%d %H:%M')}, "
              f"load average {os.getloadavg()[0]:.2f}", flush=True)
        print_table(measure(url, with_sitthi))


if __name__ == "__main__":
    main()
