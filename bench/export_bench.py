"""Time the exports and the printed report at national scale, on PostgreSQL, as jobs.

    .venv/bin/python bench/export_bench.py        # after `make bench-data` (database bench_1m)
    BENCH_EXPORT_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_1m  (the default)

Each file is asked for as its button does (a POST through the Flask test client, as the role
that uses it) with the job held back, so the figure of the web request is the request alone;
then the run is carried out in this process (app.job_queue.perform, as a worker does) and timed
with the memory it took at its peak (VmHWM, reset before each run). Prints, per file: the
request's ms, the run's seconds, its rows and bytes, and the peak resident memory in MB.
"""
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

URL = os.environ.get("BENCH_EXPORT_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_1m")

# (label, who, page the button is on, the button's address, format)
FILES = [
    ("command permissions, CSV", "commandtech", "/commandgrantview/list/", "/commandgrantview/export/", "csv"),
    ("command permissions, XLSX", "commandtech", "/commandgrantview/list/", "/commandgrantview/export/", "xlsx"),
    ("rights audit, CSV", "commandtech", "/rightsaudit/", "/rightsaudit/export/", "csv"),
    ("rights audit, XLSX", "commandtech", "/rightsaudit/", "/rightsaudit/export/", "xlsx"),
    ("rights audit report, one finding", "commandtech", "/rightsaudit/", "/rightsaudit/report/?flag={small}", None),
    ("rights audit report, too long", "commandtech", "/rightsaudit/", "/rightsaudit/report/?flag=retired", None),
    ("nationwide grants (refused: > 50,000)", "centralit", "/grantview/list/", "/grantview/export/", "csv"),
]


def peak_reset() -> None:
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def peak_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def small_finding(browser) -> str:
    """A finding of the command that a report prints: the largest with at most 500 officers."""
    page = browser.get("/rightsaudit/").get_data(as_text=True)
    counts = {code: int(n.replace(",", "")) for code, n in
              re.findall(r'data-flag="(\w+)" href="[^"]*">[^<(]*\(([\d,]+)\)</a>', page)}
    return max((code for code, n in counts.items() if n <= 500), key=counts.get)


def main() -> None:
    from app.extensions import db
    from app.models import JobRun
    from bench.held_jobs import HeldJobs
    from tests.conftest import Browser, build_app

    app = build_app(URL, JOBS_INLINE=False, JOB_QUEUE_URL=None)
    jobs = HeldJobs()
    browsers: dict[str, Browser] = {}
    print(f"{'file':40} {'request ms':>10} {'run s':>7} {'rows':>8} {'bytes':>11} {'peak MB':>8}  state")
    for label, who, page, address, fmt in FILES:
        if who not in browsers:
            browsers[who] = Browser(app.test_client())
            assert browsers[who].login(who).status_code == 302, who
        browser = browsers[who]
        data = {"csrf_token": browser.csrf_token(page)}
        if fmt:
            data["format"] = fmt
        if "{small}" in address:
            address = address.format(small=small_finding(browser))
        asked, request_ms, run_id = jobs.ask(browser.post, address, data=data)
        if run_id is None:
            print(f"{label:40} {request_ms:10.1f} {'':>7} {'':>8} {'':>11} {'':>8}  refused at once "
                  f"({asked.status_code})")
            continue
        peak_reset()
        run_seconds = jobs.carry_out(app, run_id)
        with app.app_context():
            run = db.session.get(JobRun, run_id)
            size = (run.summary or {}).get("bytes", 0)
            print(f"{label:40} {request_ms:10.1f} {run_seconds:7.2f} {run.total:8,} {size:11,} {peak_mb():8.0f}  "
                  f"{run.state}{': ' + run.error if run.error else ''}")
            db.session.remove()


if __name__ == "__main__":
    main()
