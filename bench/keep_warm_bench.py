"""Time `flask sitthi renew-shared-figures` at national scale: what keeping every command's
figures ready costs the database.

    .venv/bin/python bench/keep_warm_bench.py
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_1m   (the default: the
                                                   national set `make bench-data` builds)
    BENCH_CACHE_URL=redis://127.0.0.1:6379/9      (the default; this Redis database is flushed)

As if the country's and every command's dashboard, and every command's rights audit listing, had
been read within SHARED_FIGURES_KEEP_WARM_HOURS (the most the job ever keeps warm), it times
three passes of the real command on a job host sharing the app servers' Redis:

1. none kept: the first pass of a day (each day's figures have a key of their own);
2. right after: every set still fresh, nothing worked out;
3. every set aged half way to stale (SHARED_FIGURES_STALE_SECONDS / 2): the pass that runs every
   five minutes or so while nobody reads, each set worked out again.

It prints each pass's report and seconds, and the database time one set costs on average.
"""
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_1m")
CACHE_URL = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/9")


def main() -> None:
    from redis import Redis
    from sqlalchemy import select

    from app.extensions import cache, db
    from app.formatting import office_clock
    from app.models import Unit
    from app.security.scope import Actor
    from app.shared_figures import _FAMILIES, READ_FIGURES_KEY
    from tests.conftest import build_app

    Redis.from_url(CACHE_URL).flushdb()
    app = build_app(URL, CACHE_TYPE="RedisCache", CACHE_REDIS_URL=CACHE_URL, JOBS_INLINE=False,
                    DASHBOARD_CACHE_SECONDS=60, RIGHTS_AUDIT_CACHE_SECONDS=60)
    with app.test_request_context():
        commands = list(db.session.scalars(select(Unit.id).where(Unit.is_admin_scope.is_(True))))
        now = office_clock().now
        noted = {("dashboard", ("nation", Actor(user_id=0, roles=frozenset({"Admin"})))): now}
        for command_id in commands:
            reader = Actor(user_id=0, roles=frozenset({"CommandTech"}), command_id=command_id)
            noted[("dashboard", (f"command:{command_id}", reader))] = now
            noted[("rights-audit", (command_id, None))] = now
        cache.set(READ_FIGURES_KEY, noted, timeout=0)
        keys = [_FAMILIES[name](*arguments)[0] for name, arguments in noted]
        db.session.remove()
    print(f"{URL.rsplit('/', 1)[-1]}: {len(noted):,} sets of figures (the country, {len(commands)} commands' "
          f"dashboards and rights audit listings)", flush=True)

    def run(label: str) -> float:
        started = time.perf_counter()
        result = app.test_cli_runner().invoke(args=["sitthi", "renew-shared-figures"])
        seconds = time.perf_counter() - started
        if result.exit_code != 0:
            raise SystemExit(result.output)
        print(f"{seconds:7.1f} s  {label}: {result.output.strip()}", flush=True)
        return seconds

    first = run("none kept (a day's first pass)")
    run("right after (all fresh)")
    with app.app_context():
        half_stale = app.config["SHARED_FIGURES_STALE_SECONDS"] // 2
        for key in keys:
            figures, worked_out_at = cache.get(key)
            cache.set(key, (figures, worked_out_at - timedelta(seconds=half_stale)), timeout=3600)
    again = run(f"every set {half_stale} s old (half way to stale)")
    print(f"per set: {first / len(noted) * 1000:.0f} / {again / len(noted) * 1000:.0f} ms; "
          f"kept warm every {half_stale} s, all of them take {again / half_stale:.0%} of one database "
          f"connection's time while nobody reads them")
    Redis.from_url(CACHE_URL).flushdb()


if __name__ == "__main__":
    main()
