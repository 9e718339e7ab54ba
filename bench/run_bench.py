"""Time the busy screens against a national-scale dataset.

    make bench                                   # SQLite file under bench/data/
    BENCH_DATABASE_URL=postgresql://... make bench
    BENCH_OFFICERS=50000 make bench               # a smaller run

Builds (once) 1,700 units, 230,000 officers, 100,000 requests (with their chains, stages, due
dates and ~200,000 decisions) and 150,000 grants through the migrations and bulk inserts, then
asks each screen 20 times as `admin` (and the inboxes as `centralit`) and prints the median and
95th percentile in milliseconds, with the number of SQL statements per page.
"""
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, func, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OFFICERS = int(os.environ.get("BENCH_OFFICERS", 230_000))
UNITS = 1_700
REQUESTS = int(os.environ.get("BENCH_REQUESTS", OFFICERS * 10 // 23))
GRANTS = int(os.environ.get("BENCH_GRANTS", OFFICERS * 15 // 23))
REPEAT = int(os.environ.get("BENCH_REPEAT", 20))
BATCH = 5_000


def database_url() -> str:
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    data = ROOT / "bench" / "data"
    data.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data / f'bench-{OFFICERS}.db'}"


def build_dataset(db) -> None:
    from app.domain import national_id
    from app.models import (
        AccessRequest,
        ApprovalChain,
        DataSource,
        Decision,
        Grant,
        Officer,
        Rank,
        RequestItem,
        Unit,
    )

    session = db.session
    if session.scalar(select(func.count(Officer.id))) >= OFFICERS:
        return
    rng = random.Random(230000)
    started = time.perf_counter()
    today = date.today()
    rtp = session.scalar(select(Unit.id).where(Unit.code == "RTP"))
    unit_rows = []
    for c in range(40):
        unit_rows.append(dict(code=f"B-C{c:02d}", name_th=f"กองบัญชาการ {c}", kind="command",
                              parent_id=rtp, is_admin_scope=False, is_active=True))
    session.execute(insert(Unit), unit_rows)
    commands = session.scalars(select(Unit.id).where(Unit.code.like("B-C%"))).all()
    divisions = []
    for d in range(200):
        divisions.append(dict(code=f"B-D{d:03d}", name_th=f"ตำรวจภูธรจังหวัด {d}", kind="division",
                              parent_id=commands[d % len(commands)], is_admin_scope=True, is_active=True))
    session.execute(insert(Unit), divisions)
    division_ids = session.scalars(select(Unit.id).where(Unit.code.like("B-D%"))).all()
    stations = [dict(code=f"B-S{s:04d}", name_th=f"สถานีตำรวจภูธร {s}", kind="station",
                     parent_id=division_ids[s % len(division_ids)], is_admin_scope=False, is_active=True)
                for s in range(UNITS - 240)]
    session.execute(insert(Unit), stations)
    station_ids = session.scalars(select(Unit.id).where(Unit.code.like("B-S%"))).all()
    rank_ids = session.scalars(select(Rank.id)).all()
    existing = set(session.scalars(select(Officer.national_id)))
    now = datetime.now(UTC)
    rows = []
    made = 0
    while made < OFFICERS:
        first_twelve = f"{rng.choice('12345678')}{rng.randrange(10**10, 10**11):011d}"
        nid = first_twelve + national_id.check_digit(first_twelve)
        if nid in existing:
            continue
        existing.add(nid)
        rows.append(dict(national_id=nid, rank_id=rng.choice(rank_ids),
                         first_name_th=rng.choice(["สมชาย", "วิชัย", "สุดารัตน์", "ณัฐพล", "กนกวรรณ"]) + str(made % 997),
                         last_name_th=rng.choice(["ใจดี", "ศรีสุข", "บุญมา", "ทองดี"]) + str(made % 1009),
                         status="active", home_unit_id=rng.choice(station_ids), version=1,
                         created_at=now, updated_at=now))
        made += 1
        if len(rows) == BATCH:
            session.execute(insert(Officer), rows)
            rows = []
    if rows:
        session.execute(insert(Officer), rows)
    officer_ids = session.scalars(select(Officer.id)).all()
    officer_unit = dict(session.execute(select(Officer.id, Officer.home_unit_id)).all())
    source_ids = session.scalars(select(DataSource.id).where(DataSource.is_open)).all()
    states = ["submitted"] * 3 + ["completed"] * 5 + ["rejected", "draft", "cancelled", "returned"]
    chain = session.scalar(select(ApprovalChain).where(ApprovalChain.request_kind == "external_search"))
    head_stage, central_stage = chain.stages[0].id, chain.stages[1].id
    heads = rng.sample(officer_ids, 2_000)  # a few thousand unit heads certify everything
    # Waiting requests sit at the head or at ศทก., a tenth of them overdue.
    for start in range(0, REQUESTS, BATCH):
        batch = []
        for n in range(start, min(start + BATCH, REQUESTS)):
            requester = rng.choice(officer_ids)
            state = rng.choice(states)
            submitted_at = now - timedelta(days=rng.randrange(0, 700))
            stage = rng.choice([head_stage, central_stage]) if state in ("submitted", "returned") else None
            batch.append(dict(number=f"B/{n:08d}", kind="external_search", state=state,
                              requester_id=requester, unit_id=officer_unit[requester],
                              chain_id=chain.id, current_stage_id=stage,
                              certifying_head_id=rng.choice(heads),
                              due_on=today + timedelta(days=rng.randrange(-3, 27)) if state == "submitted" else None,
                              completed_at=submitted_at + timedelta(days=3) if state == "completed" else None,
                              contact_email="b@sitthi.example", contact_mobile="0800000000",
                              duty_performed="สืบสวน", duty_mismatch=False, pledge_accepted=True,
                              submitted_at=submitted_at,
                              version=1, created_at=now, updated_at=now))
        session.execute(insert(AccessRequest), batch)
    request_rows = session.execute(select(AccessRequest.id, AccessRequest.state, AccessRequest.submitted_at)
                                   .where(AccessRequest.number.like("B/%"))).all()
    request_ids = [row.id for row in request_rows]
    # Timelines as the service writes them: sent, certified, approved.
    decisions = []
    for row in request_rows:
        if row.state == "draft":
            continue
        decisions.append(dict(request_id=row.id, stage_id=head_stage, transition="submit", from_state="draft",
                              to_state="submitted", decided_at=row.submitted_at))
        if row.state in ("submitted", "completed", "rejected"):
            decisions.append(dict(request_id=row.id, stage_id=head_stage, transition="approve",
                                  from_state="submitted", to_state="submitted",
                                  decided_at=row.submitted_at + timedelta(hours=rng.randrange(2, 96))))
        if row.state == "completed":
            decisions.append(dict(request_id=row.id, stage_id=central_stage, transition="approve",
                                  from_state="submitted", to_state="completed",
                                  decided_at=row.submitted_at + timedelta(hours=rng.randrange(100, 200))))
        if len(decisions) >= BATCH:
            session.execute(insert(Decision), decisions)
            decisions = []
    if decisions:
        session.execute(insert(Decision), decisions)
    for start in range(0, len(request_ids), BATCH):
        session.execute(insert(RequestItem), [
            dict(request_id=rid, data_source_id=rng.choice(source_ids), above_own_rank=False,
                 state="pending", version=1)
            for rid in request_ids[start:start + BATCH]
        ])
    live = set()  # one live grant per officer and source (a partial unique index holds it)
    for start in range(0, GRANTS, BATCH):
        batch = []
        for _ in range(start, min(start + BATCH, GRANTS)):
            valid_from = today - timedelta(days=rng.randrange(0, 700))
            officer_id, source_id = rng.choice(officer_ids), rng.choice(source_ids)
            state = rng.choice(["active", "active", "expired", "revoked"])
            if state == "active" and (officer_id, source_id) in live:
                state = "expired"
            elif state == "active":
                live.add((officer_id, source_id))
            batch.append(dict(officer_id=officer_id, data_source_id=source_id,
                              state=state,
                              valid_from=valid_from, valid_until=valid_from + timedelta(days=365),
                              version=1, created_at=now, updated_at=now))
        session.execute(insert(Grant), batch)
    session.commit()
    print(f"built dataset in {time.perf_counter() - started:.0f} s")


def largest_command_of(session) -> tuple[int, int]:
    """The command whose rights audit is the longest: the most grants held by its officers."""
    from app.models import Grant, Officer
    from app.services.rights_audit import UnitTree

    tree = UnitTree(session)
    per_command: dict[int, int] = {}
    for unit_id, count in session.execute(select(Officer.home_unit_id, func.count(Grant.id))
                                          .join(Grant, Grant.officer_id == Officer.id).group_by(Officer.home_unit_id)):
        command = tree.command_of(unit_id)
        if command is not None:
            per_command[command] = per_command.get(command, 0) + count
    command = max(per_command, key=per_command.get)
    return command, per_command[command]


def main() -> None:
    from tests.conftest import Browser, build_app, prepare_database

    url = database_url()
    app = build_app(url)
    from app.extensions import db
    from app.models import AccessRequest, Grant, Officer

    with app.app_context():
        from sqlalchemy import inspect

        if "officer" not in inspect(db.engine).get_table_names():
            prepare_database(app)
        build_dataset(db)
        counts = {m.__name__: db.session.scalar(select(func.count(m.id))) for m in (Officer, AccessRequest, Grant)}
        sample_nid = db.session.scalar(select(Officer.national_id).order_by(Officer.id.desc()))
        engine = db.engine
        sample_request = db.session.scalar(select(AccessRequest.id).where(
            AccessRequest.state == "submitted", AccessRequest.number.like("B/%")).limit(1))
        largest_command, command_grants = largest_command_of(db.session)
        deep_officer = db.session.scalar(select(Officer.id).order_by(Officer.id.desc()).offset(30).limit(1))
        if engine.dialect.name == "postgresql":
            with engine.connect() as connection:
                connection.exec_driver_sql("ANALYZE")
                connection.commit()
    print(f"database: {url.split('@')[-1]}  rows: {counts}")
    print(f"rights audit of the command with the most grants: {command_grants:,} grants")
    client = Browser(app.test_client())
    assert client.login("admin").status_code == 302
    central = Browser(app.test_client())
    assert central.login("centralit").status_code == 302
    pages = [
        ("officer list, first page", "/officerview/list/"),
        ("officer list, page 400 (the cap)", "/officerview/list/?page_OfficerView=399"),
        ("officer list, next rows near the end", f"/officerview/list/?after={deep_officer}"),
        ("audit trail, first page", "/auditeventview/list/"),
        ("officer search by national ID", f"/officerview/list/?_flt_0_national_id={sample_nid}"),
        ("officer search by first name", "/officerview/list/?_flt_0_first_name_th=สมชาย1"),
        ("request list, first page", "/accessrequestview/list/"),
        ("request list, state filter", "/accessrequestview/list/?_flt_0_state=submitted"),
        ("grant list, first page", "/grantview/list/"),
        ("officer add form", "/officerview/add"),
        ("officer lookup (AJAX)", "/lookup/officer?q=สมชาย"),
        ("unit lookup (AJAX)", "/lookup/unit?q=สถานี"),
        ("request page (timeline, checks)", f"/requests/show/{sample_request}"),
        ("dashboard", "/dashboard/"),
        ("home page with inbox counts", "/"),
        ("rights audit, largest command", f"/rightsaudit/?command={largest_command}"),
        ("rights audit CSV, largest command", f"/rightsaudit/export/?command={largest_command}&format=csv"),
        ("grants CSV, state filter", "/grantview/export/?format=csv&_flt_0_state=suspended"),
    ]
    # What CentralIT opens every morning, with ~15,000 requests waiting nationwide.
    central_pages = [
        ("CentralIT: to verify, first page", "/toverifyview/list/"),
        ("CentralIT: to verify, by due date", "/toverifyview/list/?_oc_ToVerifyView=due&_od_ToVerifyView=asc"),
        ("CentralIT: home page counts", "/"),
    ]
    print(f"{'screen':36} {'median ms':>10} {'p95 ms':>8} {'statements':>10}")
    for label, path, who in [(*p, client) for p in pages] + [(*p, central) for p in central_pages]:
        timings = []
        statements = []
        for _ in range(REPEAT):
            seen: list[int] = []

            def listener(*_args, seen=seen):
                seen.append(1)

            event.listen(engine, "before_cursor_execute", listener)
            started = time.perf_counter()
            response = who.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            event.remove(engine, "before_cursor_execute", listener)
            statements.append(len(seen))
            assert response.status_code == 200, (path, response.status_code)
        timings.sort()
        p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
        print(f"{label:36} {statistics.median(timings):10.1f} {p95:8.1f} {max(statements):10d}")


if __name__ == "__main__":
    main()
