"""Time the nightly jobs over 2,000,000 grants on PostgreSQL.

    .venv/bin/python bench/jobs_bench.py
    BENCH_JOBS_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_jobs  (the default)
    BENCH_OFFICERS=230000 BENCH_GRANTS=2000000 BENCH_BATCH=<the CLI default> (the defaults)
    BENCH_BUILD_ONLY=1                                                      (build, time nothing)

Drops and rebuilds its own database every run (the jobs change the data they are timed on):
the schema through the migrations and `flask sitthi init`, exactly as `make run` does, then
1,700 units, 230,000 officers (23,000 with a login, a CommandTech login per command) and
2,000,000 grants with INSERT ... SELECT generate_series, then ANALYZE. The mix, on the day the
jobs run (BENCH_TODAY, default 2026-12-03):

- grants: ~87% active, 4% revoked, 5% expired, 2% pending activation, 1.5% suspended; of the
  active ones 2% are past their date (to expire, a third of those civil registration the agency
  activated, so each asks the agency to deactivate), 3% are inside the 30-day reminder window
  and not yet reminded, 6% inside it and reminded already;
- officers: 0.5% retired, 0.1% deceased, 0.3% transferred out, 0.1% suspended from duty, 0.3%
  active but past the retirement age, 0.5% holding a grant another command administers (moved),
  0.5% with a civil-registration rank group above their own, 0.5% of the eighth grants a
  CRIMES function that needs a position level (a ninth of them below it): both flagged.

Then it times, through the real CLI commands, `flask sitthi expire-grants` and
`flask sitthi apply-personnel-rules`, and each a second time (nothing left to do), and prints
the counts they report with the seconds each took; then `flask sitthi verify-audit` walks the
audit chain they wrote.
"""
import os
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

URL = os.environ.get("BENCH_JOBS_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_jobs")
OFFICERS = int(os.environ.get("BENCH_OFFICERS", 230_000))
GRANTS = int(os.environ.get("BENCH_GRANTS", 2_000_000))
BATCH = os.environ.get("BENCH_BATCH")  # default: the commands' own --batch-size default
TODAY = date.fromisoformat(os.environ.get("BENCH_TODAY", "2026-12-03"))
COMMANDS = 200  # divisions / provinces: the units flagged is_admin_scope
STATIONS = 1_700 - 1 - 40 - COMMANDS


def recreate_database() -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = make_url(URL)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
    admin.dispose()


# Each statement builds one table from generate_series; :n, :today and the like are bound.
DATASET = [
    # The tree: the national HQ, 40 bureaus, 200 commands (is_admin_scope), 1,459 stations.
    """INSERT INTO unit (code, name_th, name_en, kind, is_admin_scope, is_active, parent_id)
       VALUES ('RTP', 'สำนักงานตำรวจแห่งชาติ', 'Royal Thai Police', 'national', false, true, NULL)""",
    """INSERT INTO unit (code, name_th, name_en, kind, is_admin_scope, is_active, parent_id)
       SELECT 'J-B' || b, 'กองบัญชาการ ' || b, 'Bureau ' || b, 'command', false, true,
              (SELECT id FROM unit WHERE code = 'RTP')
       FROM generate_series(0, 39) b""",
    """INSERT INTO unit (code, name_th, name_en, kind, is_admin_scope, is_active, parent_id)
       SELECT 'J-C' || c, 'ตำรวจภูธรจังหวัด ' || c, 'Provincial Police ' || c, 'division', true, true,
              (SELECT id FROM unit WHERE code = 'J-B' || (c % 40))
       FROM generate_series(0, :commands - 1) c""",
    """INSERT INTO unit (code, name_th, name_en, kind, is_admin_scope, is_active, parent_id)
       SELECT 'J-S' || s, 'สถานีตำรวจภูธร ' || s, 'Police Station ' || s, 'station', false, true,
              (SELECT id FROM unit WHERE code = 'J-C' || (s % :commands))
       FROM generate_series(0, :stations - 1) s""",
    # Officers 1..200 work at their command (its technology staff); the rest at stations.
    """WITH ids AS (
           SELECT (SELECT array_agg(id ORDER BY id) FROM rank) AS ranks,
                  (SELECT array_agg(id ORDER BY id) FROM position_level) AS levels,
                  (SELECT array_agg(id ORDER BY id) FROM duty_line) AS lines,
                  (SELECT array_agg(id ORDER BY id) FROM unit WHERE kind = 'division') AS commands,
                  (SELECT array_agg(id ORDER BY id) FROM unit WHERE kind = 'station') AS stations)
       INSERT INTO officer (national_id, rank_id, first_name_th, last_name_th, first_name_en, last_name_en,
                            birth_date, position_level_id, duty_line_id, status, home_unit_id, email,
                            created_at, updated_at, version)
       SELECT lpad((1100000000000 + i * 7)::text, 13, '0'),
              ids.ranks[1 + i % cardinality(ids.ranks)],
              'สมชาย' || i, 'ใจดี' || i, 'Somchai' || i, 'Jaidee' || i,
              CASE WHEN i > :commands AND i % 1000 BETWEEN 900 AND 902 THEN DATE '1960-01-15'
                   ELSE DATE '1970-01-01' + (i % 12000) END,
              ids.levels[1 + i % cardinality(ids.levels)],
              ids.lines[1 + i % cardinality(ids.lines)],
              CASE WHEN i <= :commands THEN 'active'
                   WHEN i % 1000 < 5 THEN 'retired'
                   WHEN i % 1000 = 5 THEN 'deceased'
                   WHEN i % 1000 BETWEEN 6 AND 8 THEN 'transferred_out'
                   WHEN i % 1000 = 9 THEN 'suspended'
                   ELSE 'active' END,
              CASE WHEN i <= :commands THEN ids.commands[i]
                   ELSE ids.stations[1 + i % cardinality(ids.stations)] END,
              'officer' || i || '@police.example', now(), now(), 1
       FROM generate_series(1, :officers) i, ids""",
    # A login for every tenth officer and for each command's technology staff.
    """INSERT INTO ab_user (first_name, last_name, username, password, active, email, login_count,
                            fail_login_count, created_on, changed_on)
       SELECT 'Somchai', 'Jaidee' || o.id, 'u' || o.id, 'x', true, 'user' || o.id || '@police.example',
              0, 0, now(), now()
       FROM officer o WHERE o.id <= :commands OR o.id % 10 = 0""",
    """UPDATE officer o SET user_id = u.id FROM ab_user u WHERE u.username = 'u' || o.id""",
    """INSERT INTO ab_user_role (user_id, role_id)
       SELECT u.id, (SELECT id FROM ab_role WHERE name = 'CommandTech')
       FROM officer o JOIN ab_user u ON u.id = o.user_id WHERE o.id <= :commands""",
    # Every agency has an agreement in force.
    """INSERT INTO data_sharing_agreement (agency_id, reference, valid_from, valid_until)
       SELECT id, 'MOU-' || code, DATE '2020-01-01', NULL FROM agency""",
]


GRANTS_SQL = """
INSERT INTO permission_grant (officer_id, data_source_id, function_id, rank_group_id, state, valid_from,
                              valid_until, activated_on, agency_reference, reason, reminded_on, command_id,
                              created_at, updated_at, version)
SELECT g.officer_id, src.id, fn.id,
       CASE WHEN g.slot = 0 THEN
            CASE WHEN g.h2 % 200 = 7 AND r.rank_group_id > 1 THEN r.rank_group_id - 1 ELSE r.rank_group_id END
       END,
       g.state, g.valid_until - 365, g.valid_until,
       CASE WHEN g.slot = 0 AND g.state <> 'pending_activation' THEN g.valid_until - 350 END,
       CASE WHEN g.slot = 0 AND g.state <> 'pending_activation' THEN 'DOPA-' || g.i END,
       CASE WHEN g.state IN ('revoked', 'suspended') THEN 'bench' END,
       CASE WHEN g.state = 'active' AND g.valid_until BETWEEN :today AND :today + 30 AND g.h2 >= 50
            THEN :today - 1 END,
       CASE WHEN g.h2 % 200 = 3 AND g.officer_id > :commands
            THEN (SELECT array_agg(id ORDER BY id) FROM unit WHERE kind = 'division')[1 + (g.officer_id + 7) % :commands]
            ELSE uc.command_id END,
       now(), now(), 1
FROM (
    SELECT i, ((i % :officers) + 1)::int AS officer_id, (i / :officers)::int AS slot, (i * 40503) % 1000 AS h2,
           CASE WHEN (i * 2654435761) % 1000 < 40 THEN 'revoked'
                WHEN (i * 2654435761) % 1000 < 90 THEN 'expired'
                WHEN (i * 2654435761) % 1000 < 110 THEN 'pending_activation'
                WHEN (i * 2654435761) % 1000 < 125 THEN 'suspended'
                ELSE 'active' END AS state,
           CASE WHEN (i * 40503) % 1000 < 20 THEN :today - 1 - (i % 60)::int
                WHEN (i * 40503) % 1000 < 110 THEN :today + (i % 31)::int
                ELSE :today + 31 + (i % 330)::int END AS valid_until
    FROM generate_series(0::bigint, :grants - 1) i
) g
JOIN officer o ON o.id = g.officer_id
JOIN rank r ON r.id = o.rank_id
JOIN (SELECT s.id AS unit_id, c.id AS command_id FROM unit s JOIN unit c ON c.id = s.parent_id
      WHERE s.kind = 'station' UNION ALL SELECT id, id FROM unit WHERE is_admin_scope) uc
  ON uc.unit_id = o.home_unit_id
LEFT JOIN data_source src ON src.code = (ARRAY['civil_registration', 'aliens', 'vehicles', 'company_registry',
    'social_security', 'health_insurance', 'prisoners', NULL, NULL])[g.slot + 1]
LEFT JOIN system_function fn ON fn.code = (ARRAY[NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    'crimes_case_search', CASE WHEN g.h2 % 200 = 11 THEN 'crimes_warrant' ELSE 'crimes_inquiry_desk' END])[g.slot + 1]
"""


def build(app) -> None:
    from sqlalchemy import text

    from app.extensions import db

    params = dict(commands=COMMANDS, stations=STATIONS, officers=OFFICERS, grants=GRANTS, today=TODAY)
    with app.app_context():
        started = time.perf_counter()
        for statement in DATASET:
            used = {k: v for k, v in params.items() if f":{k}" in statement}
            db.session.execute(text(statement), used)
        db.session.commit()
        print(f"units, {OFFICERS:,} officers, logins: {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        db.session.execute(text(GRANTS_SQL), params)
        db.session.commit()
        print(f"{GRANTS:,} grants: {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
        print(f"VACUUM ANALYZE: {time.perf_counter() - started:.1f} s", flush=True)
        counts = db.session.execute(text(
            "SELECT count(*) FILTER (WHERE state = 'active' AND valid_until < :today) AS to_expire, "
            "count(*) FILTER (WHERE state = 'active' AND reminded_on IS NULL "
            "AND valid_until BETWEEN :today AND :today + 30) AS to_remind, count(*) AS grants "
            "FROM permission_grant"), {"today": TODAY}).one()
        leavers = db.session.execute(text(
            "SELECT count(*) FILTER (WHERE status <> 'active') AS out, "
            "count(*) FILTER (WHERE status = 'active' AND birth_date < DATE '1961-01-01') AS by_age "
            "FROM officer")).one()
        print(f"grants {counts.grants:,}: due to expire {counts.to_expire:,}, to remind {counts.to_remind:,}; "
              f"officers out of service {leavers.out:,}, past retirement age {leavers.by_age:,}", flush=True)


def timed(app, *args: str) -> None:
    runner = app.test_cli_runner()
    started = time.perf_counter()
    result = runner.invoke(args=list(args))
    seconds = time.perf_counter() - started
    if result.exit_code != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.output}\n{result.exception!r}")
    print(f"{seconds:7.1f} s  {' '.join(args[:2])}: {result.output.strip()}", flush=True)


def main() -> None:
    from tests.conftest import build_app, prepare_database

    recreate_database()
    app = build_app(URL)
    started = time.perf_counter()
    prepare_database(app, seed=False)
    print(f"schema (migrations, init): {time.perf_counter() - started:.1f} s", flush=True)
    build(app)
    if os.environ.get("BENCH_BUILD_ONLY"):
        return
    day = TODAY.isoformat()
    batch = ["--batch-size", BATCH] if BATCH else []
    print(f"jobs on {day}, batch size {BATCH or 'default'}:")
    for _ in range(2):  # the second run finds nothing left to do
        timed(app, "sitthi", "expire-grants", "--today", day, *batch)
    for _ in range(2):
        timed(app, "sitthi", "apply-personnel-rules", "--today", day, *batch)
    # Every audit row the jobs wrote is sealed into the chain: each link checked again.
    timed(app, "sitthi", "verify-audit")


if __name__ == "__main__":
    main()
