"""Page views per second of Sitthi under gunicorn, against the bare Flask page (the ceiling).

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_ops \\
        .venv/bin/python bench/throughput.py --seconds 30
    make bench-throughput BENCH_DATABASE_URL=...

The database must hold data: an empty one is filled first, by bench/dataset.py when it is there
(BENCH_REQUESTS requests, 100,000 by default), else by bench/run_bench.py's build_dataset
(BENCH_OFFICERS officers).

For each gunicorn layout (sync workers; gthread workers with threads) the script starts the
server, logs 8 clients in as the demo roles (officer, head, commandtech, commandtech2, centralit,
personnel, auditor, admin), and each client asks, on one keep-alive connection, for the busy
pages its role may open, in turn, for --seconds: inboxes, officer list and page, request list,
grant list, dashboard, audit trail, lookups, home page. Then the bare app (bench/bare_app.py) is
served the same ways and asked for its one page. Printed: page views/s, p50/p95 per page and
overall, and the share of CPU the load generator itself used (it runs on the same machine, so
what it takes, the servers do not get).
"""
import argparse
import http.client
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "Sitthi@demo1"
ROLES = ["officer", "head", "commandtech", "commandtech2", "centralit", "personnel", "auditor", "admin"]
LAYOUTS = {
    # name: gunicorn arguments. Two cores: a worker per core and one waiting on the database.
    "sync w3": ["-k", "sync", "-w", "3"],
    "gthread w2x4": ["-k", "gthread", "-w", "2", "--threads", "4"],
    "gthread w3x2": ["-k", "gthread", "-w", "3", "--threads", "2"],
}


# -- the database ----------------------------------------------------------------------------------
def ensure_dataset(url: str) -> str:
    """Fill an empty database; which way it was filled (or that it already held data)."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    with engine.connect() as connection:
        tables = inspect(connection).get_table_names()
        officers = connection.execute(text("SELECT count(*) FROM officer")).scalar() if "officer" in tables else 0
    engine.dispose()
    if officers > 1000:
        return f"existing data ({officers:,} officers)"
    try:
        from bench import dataset
    except ImportError:
        dataset = None
    if dataset is not None:
        requests = int(os.environ.get("BENCH_REQUESTS", 100_000))
        dataset.build(url, requests)
        return f"bench/dataset.py, {requests:,} requests"
    from bench import run_bench
    from tests.conftest import build_app, prepare_database

    app = build_app(url)
    from app.extensions import db

    with app.app_context():
        if "officer" not in tables:
            prepare_database(app)
        run_bench.build_dataset(db)
    return f"bench/run_bench.py build_dataset, {run_bench.OFFICERS:,} officers"


def sample_ids(url: str) -> dict:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        officers = connection.execute(text(
            "SELECT o.id FROM officer o JOIN ab_user u ON u.id = o.user_id "
            "WHERE u.username IN ('officer', 'head', 'commandtech', 'personnel') ORDER BY o.id")).scalars().all()
        requests = connection.execute(text(
            "SELECT id FROM access_request WHERE state = 'submitted' ORDER BY id DESC LIMIT 1")).scalars().all()
    engine.dispose()
    return {"officers": officers, "request": requests[0] if requests else None}


def busy_pages(ids: dict) -> list[tuple[str, str]]:
    pages = [
        ("home page", "/"),
        ("inbox: to certify", "/tocertifyview/list/"),
        ("inbox: to verify", "/toverifyview/list/"),
        ("inbox: accounts", "/accountrequestview/list/"),
        ("inbox: to activate", "/awaitingactivationview/list/"),
        ("officer list", "/officerview/list/"),
        ("request list", "/accessrequestview/list/"),
        ("grant list", "/grantview/list/"),
        ("my grants", "/mygrantview/list/"),
        ("dashboard", "/dashboard/"),
        ("audit trail", "/auditeventview/list/"),
        ("lookup: officer", "/lookup/officer?" + urlencode({"q": "สมชาย"})),
        ("lookup: unit", "/lookup/unit?" + urlencode({"q": "สถานี"})),
        ("lookup: heads", "/requests/heads?" + urlencode({"q": "ประ"})),
    ]
    pages += [("officer page", f"/officerview/show/{pk}") for pk in ids["officers"]]
    if ids["request"]:
        pages.append(("request page", f"/requests/show/{ids['request']}"))
    return pages


# -- the servers -----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(target: str, layout: list[str], url: str, instance: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = dict(os.environ, DATABASE_URL=url, BENCH_DATABASE_URL=url, SITTHI_INSTANCE_DIR=instance,
               SECRET_KEY="throughput-bench-key",
               # The limits stay on (their cost is part of a page); the lookups' budget is raised
               # so that the generator measures pages, not refusals.
               RATELIMIT_ENABLED="1", LOOKUP_RATE_LIMIT="1000000 per minute",
               AUTH_RATE_LIMIT="1000 per second")
    command = [str(Path(sys.executable).parent / "gunicorn"), "-b", f"127.0.0.1:{port}", "--log-level",
               "warning", "--keep-alive", "30", *layout, target]
    # The servers' own log (FAB notes every page a role may not open while the plans are probed).
    log = open(Path(instance) / "gunicorn.log", "ab")  # noqa: SIM115  (kept open by the server)
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=log)
    log.close()
    path = "/health" if target.startswith("app:") else "/"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                connection.close()
                return server, port
        except OSError:
            pass
        time.sleep(0.3)
    stop(server)
    tail = (Path(instance) / "gunicorn.log").read_text(errors="replace")[-3000:]
    raise RuntimeError(f"gunicorn {target} did not answer on port {port}:\n{tail}")


def stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


# -- the clients -----------------------------------------------------------------------------------
class Client:
    """One browser: a keep-alive connection (opened again when a sync worker closes it) and a
    session cookie."""

    def __init__(self, port: int):
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, bytes, dict]:
        headers = {"Accept-Language": "th"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed the kept-alive connection between two requests: open again.
                self.connection.close()
                if attempt == 2:
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.will_close:
            self.connection.close()
        return response.status, data, dict(response.headers)

    def login(self, username: str) -> None:
        _, page, _ = self.request("GET", "/login/")
        token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
            rb'value="([^"]+)"[^>]*name="csrf_token"', page)
        body = urlencode({"username": username, "password": PASSWORD, "csrf_token": token.group(1).decode()})
        status, _, headers = self.request("POST", "/login/", body)
        if status != 302 or "/login" in headers.get("Location", ""):
            raise RuntimeError(f"login as {username} failed ({status})")


def drive(port: int, plans: list[list[tuple[str, str]]], seconds: float) -> tuple[dict, float, float]:
    """Every client asks its plan's pages in turn for `seconds`; the timings per page label,
    the wall time and the CPU time this process used."""
    timings: dict[str, list[float]] = {}
    lock = threading.Lock()
    start = threading.Barrier(len(plans) + 1)
    stop_at = [0.0]
    errors: list[str] = []

    def run(client: Client, plan):
        mine: dict[str, list[float]] = {}
        start.wait()
        i = 0
        while time.monotonic() < stop_at[0]:
            label, path = plan[i % len(plan)]
            i += 1
            began = time.perf_counter()
            status, _, _ = client.request("GET", path)
            mine.setdefault(label, []).append((time.perf_counter() - began) * 1000)
            if status != 200:
                errors.append(f"{path}: {status}")
        with lock:
            for label, values in mine.items():
                timings.setdefault(label, []).extend(values)

    threads = []
    for plan, client in plans:
        thread = threading.Thread(target=run, args=(client, plan), daemon=True)
        thread.start()
        threads.append(thread)
    cpu_before = time.process_time()
    began = time.monotonic()
    stop_at[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - began
    cpu = time.process_time() - cpu_before
    if errors:
        print(f"  {len(errors)} answers were not 200, e.g. {errors[:3]}")
    return timings, wall, cpu


def sitthi_plans(port: int, pages: list[tuple[str, str]], clients: int) -> list:
    """Logged-in clients, each with the pages its role opens with a 200 (probed once)."""
    plans = []
    for n in range(clients):
        role = ROLES[n % len(ROLES)]
        client = Client(port)
        client.login(role)
        plan = [(label, path) for label, path in pages if client.request("GET", path)[0] == 200]
        # Each client starts at another place in its list, so the pages are mixed at any moment.
        shift = n % max(1, len(plan))
        plans.append((plan[shift:] + plan[:shift], client))
    return plans


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(len(ordered) * share)) - 1))]


def report(title: str, timings: dict, wall: float, cpu: float, per_page: bool) -> dict:
    every = [v for values in timings.values() for v in values]
    views = len(every) / wall
    cores = os.cpu_count() or 1
    summary = {"views": views, "p50": statistics.median(every), "p95": percentile(every, 0.95),
               "cpu": cpu / wall, "cores": cores}
    print(f"\n{title}: {views:.1f} page views/s over {wall:.0f} s; overall p50 {summary['p50']:.0f} ms, "
          f"p95 {summary['p95']:.0f} ms; generator CPU {cpu:.1f} s = {100 * cpu / wall:.0f}% of one core "
          f"({100 * cpu / wall / cores:.0f}% of the machine's {cores})")
    if per_page:
        print(f"  {'page':24} {'views':>6} {'p50 ms':>8} {'p95 ms':>8}")
        for label in sorted(timings):
            values = timings[label]
            print(f"  {label:24} {len(values):6d} {statistics.median(values):8.0f} {percentile(values, 0.95):8.0f}")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", 30)))
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--layouts", default=",".join(LAYOUTS),
                        help="comma-separated among: " + ", ".join(LAYOUTS))
    parser.add_argument("--without", default="",
                        help="comma-separated page labels to leave out (e.g. dashboard), to see what one page costs the mix")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        sys.exit("BENCH_DATABASE_URL=postgresql+psycopg://... is required")
    print("database:", url.split("@")[-1], "-", ensure_dataset(url))
    left_out = {label.strip() for label in args.without.split(",") if label.strip()}
    pages = [page for page in busy_pages(sample_ids(url)) if page[0] not in left_out]
    layouts = [name.strip() for name in args.layouts.split(",")]
    results = {}
    with tempfile.TemporaryDirectory(prefix="sitthi-bench-") as instance:
        for name in layouts:
            server, port = start_gunicorn("app:create_app()", LAYOUTS[name], url, instance)
            try:
                plans = sitthi_plans(port, pages, args.clients)
                drive(port, plans, min(5.0, args.seconds))  # warm every worker's pools and caches
                results[("Sitthi", name)] = report(f"Sitthi, gunicorn {name}", *drive(port, plans, args.seconds),
                                                   per_page=True)
            finally:
                stop(server)
            server, port = start_gunicorn("bench.bare_app:app", LAYOUTS[name], url, instance)
            try:
                plans = [([("bare page", "/")], Client(port)) for _ in range(args.clients)]
                drive(port, plans, min(5.0, args.seconds))
                results[("bare", name)] = report(f"Bare Flask page, gunicorn {name}",
                                                 *drive(port, plans, args.seconds), per_page=False)
            finally:
                stop(server)
    print("\nbest of each:")
    for kind in ("Sitthi", "bare"):
        (_, name), best = max(((key, value) for key, value in results.items() if key[0] == kind),
                              key=lambda item: item[1]["views"])
        print(f"  {kind:7} {name:14} {best['views']:7.1f} views/s  p50 {best['p50']:5.0f} ms  "
              f"p95 {best['p95']:5.0f} ms  generator CPU {100 * best['cpu']:.0f}% of one core")


if __name__ == "__main__":
    main()
