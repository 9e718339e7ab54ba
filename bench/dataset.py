"""A national-scale dataset on PostgreSQL, built with set-based SQL in a few minutes.

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_1m \
        .venv/bin/python bench/dataset.py --requests 1000000

At 1,000,000 requests: 1,700 units, 230,000 officers, 1,000,000 requests with 2,000,000 items
and about 2,400,000 decisions, 2,000,000 grants and 10,000,000 audit events. `--requests 10000`
makes the same shape at 10,000 requests (officers, grants and audit events scale with it; the
unit tree stays national). The schema comes from the migrations, with the reference data and the
demo logins (`make run`'s seed); then the secondary indexes of the big tables are dropped, every
row is written by INSERT ... SELECT over generate_series, the indexes are built again and the
database is VACUUMed and ANALYZEd. Each phase prints its time.

The mix is what the busy screens meet: most requests completed long ago, ~1.5% waiting at a
unit head and ~1.5% at CentralIT (a tenth of them overdue), some drafts, returns, rejections and
cancellations; a live grant per officer and source at most; a few retired, transferred and acting
officers. The demo logins get real volume: `head` certifies thousands of requests, `commandtech`'s
command (ภ.จว.ขอนแก่น) holds thousands of officers, requests and grants.
"""
import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BIG_TABLES = ("officer", "access_request", "request_item", "decision", "permission_grant", "audit_event")
UNITS = 1_700


def _words(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = _words(
    "สมชาย สมศักดิ์ สมพงษ์ สมบัติ วิชัย วิเชียร ประยุทธ ประเสริฐ ณัฐพล ณัฐวุฒิ ธนพล ธนากร กิตติ กิตติพงษ์ "
    "อนุชา อนุวัฒน์ สุริยา สุรชัย ชัยวัฒน์ ชาญชัย พงศกร พงษ์ศักดิ์ ศักดิ์ชัย อภิชาติ อภิสิทธิ์ ปิยะ ปิยะพงษ์ "
    "วีระ วีรพงษ์ ธีระ ธีรวัฒน์ เกรียงไกร เกียรติศักดิ์ เอกชัย เอกพล เฉลิมชัย แสงชัย โชคชัย ไพโรจน์ ไชยา "
    "สุดารัตน์ กนกวรรณ วิภาวดี ศิริพร มาลี จันทร์เพ็ญ รัตนา พรทิพย์ นภาพร อรุณี เพ็ญศรี ดวงใจ ปัทมา ลำดวน"
)
LAST_NAMES = _words(
    "ใจดี ศรีสุข บุญมา ทองดี แก้วมณี สุขสวัสดิ์ วงศ์สวัสดิ์ ศรีสวัสดิ์ รัตนพันธ์ พรหมมา ชัยมงคล บุญเรือง "
    "มีสุข ทองคำ จันทร์หอม สายสุวรรณ เพชรรัตน์ ธนากุล อินทร์แก้ว ศรีวงศ์ สมบูรณ์ นาคสวัสดิ์ เรืองศรี "
    "เอี่ยมสะอาด แสงทอง โพธิ์ทอง ไชยวงศ์ ใหม่สุวรรณ กองแก้ว ปัญญาดี ทองประเสริฐ บุญประเสริฐ วิเศษสุข "
    "อุดมสุข ประเสริฐศรี จันทร์แก้ว สิงห์ทอง คำแสน ภูมิใจ ขันทอง หอมจันทร์ ดีมาก เจริญสุข รุ่งเรือง"
)
FIRST_NAMES_EN = _words("Somchai Somsak Wichai Prayut Nattapon Thanapon Kitti Anucha Suriya Chaiwat Pongsakorn "
                  "Apichat Piya Weera Teera Ekachai Sudarat Kanokwan Siriporn Malee")


def sizes(requests: int, officers: int | None = None) -> dict[str, int]:
    return {"requests": requests, "officers": officers or max(2_300, requests * 23 // 100),
            "grants": requests * 2, "audit": requests * 10}


def _array(values) -> str:
    return "ARRAY[" + ",".join("'" + v + "'" for v in values) + "]"


def _check_digit(twelve: str) -> str:
    """The 13th digit of a Thai national ID, as app.domain.national_id computes it, in SQL."""
    total = " + ".join(f"substr({twelve}, {k + 1}, 1)::int * {13 - k}" for k in range(12))
    return f"((11 - (({total}) % 11)) % 10)::text"


def _phase(label: str, started: float) -> float:
    now = time.perf_counter()
    print(f"  {label:38} {now - started:7.1f} s", flush=True)
    return now


def build(url: str, requests: int, *, officers: int | None = None, today: date | None = None) -> None:
    """Build the dataset at `url` (a fresh or empty PostgreSQL database) unless it is there already;
    `officers` other than the national ratio (a plan test wants a big officer table, few requests)."""
    from app.services.stage_waits import record_waits
    from tests.conftest import build_app, prepare_database

    n = sizes(requests, officers)
    today = today or date.today()
    app = build_app(url)
    from app.extensions import db

    with app.app_context():
        from sqlalchemy import inspect

        if "officer" not in inspect(db.engine).get_table_names():
            prepare_database(app)
        else:
            # A set built before the newest migrations gets their tables and indexes, then ANALYZE.
            from flask_migrate import upgrade

            version = text("SELECT version_num FROM alembic_version")
            before = db.session.execute(version).scalar()
            db.session.commit()
            upgrade()
            if db.session.execute(version).scalar() != before:
                db.session.execute(text("ANALYZE"))
                db.session.commit()
        db.session.remove()
        db.engine.dispose()
    engine = create_engine(url)
    with engine.connect() as conn:
        if conn.execute(text("SELECT count(*) FROM access_request")).scalar() >= requests:
            print(f"dataset of {requests:,} requests already built")
            return
    print(f"building {n['requests']:,} requests, {n['officers']:,} officers, {n['grants']:,} grants, "
          f"{n['audit']:,} audit events", flush=True)
    started = total = time.perf_counter()
    with engine.begin() as conn:
        indexes = _drop_secondary_indexes(conn)
        started = _phase(f"dropped {len(indexes)} indexes", started)
        ids = _reference_ids(conn)
        _units(conn, ids)
        started = _phase("units", started)
        _officers(conn, ids, n, today)
        started = _phase("officers", started)
        _requests(conn, ids, n, today)
        started = _phase("requests", started)
        _items_and_decisions(conn, ids, n)
        started = _phase("items and decisions", started)
        record_waits(Session(bind=conn))
        started = _phase("stage waits", started)
        _grants(conn, ids, n, today)
        started = _phase("grants", started)
        _audit_events(conn, ids, n, today)
        started = _phase("audit events", started)
        for definition in indexes:
            conn.exec_driver_sql(definition)
        started = _phase("indexes built again", started)
        for table in BIG_TABLES:
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT max(id) FROM {table}))")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    _phase("VACUUM ANALYZE", started)
    print(f"built in {time.perf_counter() - total:.0f} s")
    engine.dispose()


def _drop_secondary_indexes(conn) -> list[str]:
    """Every index of the big tables but the primary keys and unique constraints, dropped for the
    load; their definitions are returned to build them again."""
    rows = conn.execute(text(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i "
        "WHERE i.schemaname = 'public' AND i.tablename = ANY(:tables) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"),
        {"tables": list(BIG_TABLES)}).all()
    for name, _ in rows:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    return [definition for _, definition in rows]


def _reference_ids(conn) -> dict:
    one = lambda sql: conn.execute(text(sql)).scalar()  # noqa: E731
    many = lambda sql: list(conn.execute(text(sql)).scalars())  # noqa: E731
    stages = {(kind, position): stage for kind, position, stage in conn.execute(text(
        "SELECT c.request_kind, s.position, s.id FROM approval_chain c "
        "JOIN approval_stage s ON s.chain_id = c.id"))}
    chains = dict(conn.execute(text("SELECT request_kind, id FROM approval_chain")).all())
    return {
        "rtp": one("SELECT id FROM unit WHERE code = 'RTP'"),
        "kkn": one("SELECT id FROM unit WHERE code = 'KKN'"),
        "kkn_station": one("SELECT id FROM unit WHERE code = 'KKN-MUEANG'"),
        "ranks": many("SELECT id FROM rank ORDER BY \"order\""),
        "levels": many("SELECT id FROM position_level ORDER BY \"order\""),
        "head_level": one("SELECT id FROM position_level WHERE code = 'superintendent'"),
        "lines": many("SELECT id FROM duty_line ORDER BY id"),
        "sources": many("SELECT id FROM data_source WHERE is_open ORDER BY id"),
        "group_source": one("SELECT id FROM data_source WHERE needs_rank_group AND is_open ORDER BY id LIMIT 1"),
        "functions": many("SELECT id FROM system_function ORDER BY id"),
        "rank_groups": many("SELECT id FROM rank_group ORDER BY number"),
        "users": many("SELECT id FROM ab_user ORDER BY id"),
        "head": one("SELECT o.id FROM officer o JOIN ab_user u ON u.id = o.user_id WHERE u.username = 'head'"),
        "stages": stages,
        "chains": chains,
        "officer0": one("SELECT coalesce(max(id), 0) + 1 FROM officer"),
        "request0": one("SELECT coalesce(max(id), 0) + 1 FROM access_request"),
        "grant0": one("SELECT coalesce(max(id), 0) + 1 FROM permission_grant"),
    }


def _units(conn, ids) -> None:
    """Commands under RTP, provincial divisions under them, stations under those: 1,700 in all,
    KKN's division among the parents so the demo command has stations of its own."""
    have = conn.execute(text("SELECT count(*) FROM unit")).scalar()
    if have >= UNITS:
        ids["stations"] = list(conn.execute(text("SELECT id FROM unit WHERE kind = 'station' ORDER BY id")).scalars())
        return
    conn.execute(text(
        "INSERT INTO unit (code, name_th, abbr_th, kind, parent_id, is_admin_scope, is_active) "
        "SELECT 'N-C' || g, 'กองบัญชาการ ' || g, 'บช.' || g, 'command', :rtp, true, true "
        "FROM generate_series(1, 40) g"), {"rtp": ids["rtp"]})
    conn.execute(text(
        "INSERT INTO unit (code, name_th, abbr_th, kind, province_th, parent_id, is_admin_scope, is_active) "
        "SELECT 'N-D' || g, 'ตำรวจภูธรจังหวัด ' || g, 'ภ.จว.' || g, 'division', 'จังหวัด ' || g, "
        "(SELECT id FROM unit WHERE code = 'N-C' || (1 + g % 40)), true, true "
        "FROM generate_series(1, 200) g"))
    stations = UNITS - conn.execute(text("SELECT count(*) FROM unit")).scalar()
    # Every hundredth station belongs to KKN, the demo command: with a hundredth of all officers
    # placed at its Mueang station, about 3,000 officers at national scale, as in a real province.
    conn.execute(text(
        "INSERT INTO unit (code, name_th, abbr_th, kind, parent_id, is_admin_scope, is_active) "
        "SELECT 'N-S' || g, 'สถานีตำรวจภูธร ' || g, 'สภ.' || g, 'station', "
        "CASE WHEN g % 100 = 0 THEN :kkn ELSE (SELECT id FROM unit WHERE code = 'N-D' || (1 + g % 200)) END, "
        "false, true FROM generate_series(1, :stations) g"), {"kkn": ids["kkn"], "stations": stations})
    ids["stations"] = list(conn.execute(text("SELECT id FROM unit WHERE kind = 'station' ORDER BY id")).scalars())


def _officers(conn, ids, n, today: date) -> None:
    twelve = "('1' || lpad((:o0 + g)::text, 11, '0'))"
    conn.execute(text(f"""
        INSERT INTO officer (id, national_id, rank_id, first_name_th, last_name_th, first_name_en, last_name_en,
            birth_date, position_title, position_level_id, duty_line_id, status, home_unit_id, acting_unit_id,
            acting_until, email, mobile, created_at, updated_at, version)
        SELECT :o0 + g, {twelve} || {_check_digit(twelve)},
            (:ranks)[1 + (g * 7) % cardinality(:ranks)],
            ({_array(FIRST_NAMES)})[1 + (g * 31) % {len(FIRST_NAMES)}],
            ({_array(LAST_NAMES)})[1 + (g * 17) % {len(LAST_NAMES)}],
            CASE WHEN g % 4 = 0 THEN ({_array(FIRST_NAMES_EN)})[1 + (g * 13) % {len(FIRST_NAMES_EN)}] END,
            CASE WHEN g % 4 = 0 THEN 'Officer' || g END,
            DATE '1966-01-01' + ((g * 37) % 13000)::int,
            'ตำแหน่ง ' || (g % 50),
            CASE WHEN g % 100 = 0 THEN :head_level ELSE (:levels)[1 + g % 4] END,
            (:lines)[1 + (g * 3) % cardinality(:lines)],
            CASE WHEN g % 100 = 7 THEN 'retired' WHEN g % 100 = 8 THEN 'transferred_out'
                 WHEN g % 200 = 9 THEN 'suspended' ELSE 'active' END,
            CASE WHEN g % 100 = 1 THEN :kkn_station ELSE (:stations)[1 + (g * 7919) % cardinality(:stations)] END,
            CASE WHEN g % 100 = 11 THEN (:stations)[1 + (g * 104729) % cardinality(:stations)] END,
            CASE WHEN g % 100 = 11 THEN CAST(:acting_until AS date) END,
            'o' || g || '@police.example', '08' || lpad((g % 100000000)::text, 8, '0'),
            now(), now(), 1
        FROM generate_series(0::bigint, :count - 1) g"""),
        {"o0": ids["officer0"], "ranks": ids["ranks"][3:], "levels": ids["levels"], "head_level": ids["head_level"],
         "lines": ids["lines"], "stations": ids["stations"], "kkn_station": ids["kkn_station"],
         "acting_until": date(today.year + 1, 6, 30), "count": n["officers"]})


def _requests(conn, ids, n, today: date) -> None:
    """Kinds and states in the mix of a working year; the chain's stage of each waiting one."""
    stages, chains = ids["stages"], ids["chains"]
    conn.execute(text("""
        INSERT INTO access_request (id, number, kind, state, requester_id, unit_id, chain_id, current_stage_id,
            contact_email, contact_mobile, duty_performed, duty_mismatch, pledge_accepted, certifying_head_id,
            submitted_at, due_on, stage_entered_on, completed_at, created_at, updated_at, version)
        SELECT :r0 + g, 'N/' || lpad(g::text, 8, '0'), k.kind, k.state, o.id, o.home_unit_id,
            CASE k.kind WHEN 'external_search' THEN :c_search WHEN 'external_search_renewal' THEN :c_renewal
                ELSE :c_functions END,
            CASE WHEN k.state = 'submitted' AND g % 2 = 0 THEN
                     CASE k.kind WHEN 'external_search' THEN :s_search_1 WHEN 'external_search_renewal' THEN :s_renewal_1
                         ELSE :s_functions_1 END
                 WHEN k.state = 'submitted' THEN
                     CASE k.kind WHEN 'external_search' THEN :s_search_2 WHEN 'external_search_renewal' THEN :s_renewal_2
                         ELSE :s_functions_2 END
                 WHEN k.state = 'returned' THEN
                     CASE k.kind WHEN 'external_search' THEN :s_search_1 WHEN 'external_search_renewal' THEN :s_renewal_1
                         ELSE :s_functions_1 END END,
            'o' || o.id || '@police.example', '0800000000', 'สืบสวนคดีอาญา', false, true,
            CASE WHEN g % 300 = 0 THEN :head ELSE :o0 + ((g * 7) % (:officers / 100)) * 100 END,
            CASE WHEN k.state <> 'draft' THEN k.sent END,
            -- g / 200, not g: waiting ones are the first six of every 200, whose g % 30 falls in the
            -- first three days a sixth of the time; a tenth overdue is what the inboxes should meet.
            CASE WHEN k.state = 'submitted' THEN CAST(:today AS date) + (((g / 200) % 30) - 3)::int END,
            -- entered its stage about three business days before it is due
            CASE WHEN k.state = 'submitted' THEN CAST(:today AS date) + (((g / 200) % 30) - 8)::int END,
            CASE WHEN k.state = 'completed' THEN k.sent + interval '5 days' END,
            k.sent, k.sent, 1
        FROM generate_series(0::bigint, :count - 1) g
        CROSS JOIN LATERAL (SELECT
            CASE WHEN g % 20 < 17 THEN 'external_search' WHEN g % 20 < 19 THEN 'external_search_renewal'
                 ELSE 'additional_functions' END AS kind,
            CASE WHEN g % 200 < 6 THEN 'submitted' WHEN g % 200 < 14 THEN 'draft' WHEN g % 200 < 22 THEN 'returned'
                 WHEN g % 200 < 34 THEN 'rejected' WHEN g % 200 < 44 THEN 'cancelled' ELSE 'completed' END AS state,
            CAST(:now AS timestamptz) - ((g * 7919) % 730) * interval '1 day' - (g % 86400) * interval '1 second' AS sent
        ) k
        JOIN officer o ON o.id = :o0 + (g * 104729) % :officers"""), {
        "r0": ids["request0"], "o0": ids["officer0"], "officers": n["officers"], "count": n["requests"],
        "head": ids["head"], "today": today.isoformat(), "now": f"{today.isoformat()} 09:00:00+07",
        "c_search": chains["external_search"], "c_renewal": chains["external_search_renewal"],
        "c_functions": chains["additional_functions"],
        "s_search_1": stages[("external_search", 1)], "s_search_2": stages[("external_search", 2)],
        "s_renewal_1": stages[("external_search_renewal", 1)], "s_renewal_2": stages[("external_search_renewal", 2)],
        "s_functions_1": stages[("additional_functions", 1)], "s_functions_2": stages[("additional_functions", 2)],
    })
    # Waiting at a head: the demo head's share certifies from its inbox.
    conn.execute(text("""
        UPDATE access_request SET certifying_head_id = :head
        WHERE id >= :r0 AND state = 'submitted' AND current_stage_id IN (SELECT id FROM approval_stage
            WHERE position = 1) AND id % 20 = 0"""), {"head": ids["head"], "r0": ids["request0"]})


def _items_and_decisions(conn, ids, n) -> None:
    conn.execute(text("""
        INSERT INTO request_item (request_id, data_source_id, function_id, rank_group_id, above_own_rank, state, version)
        SELECT r.id,
            CASE WHEN r.kind <> 'additional_functions' THEN (:sources)[1 + (r.id + k) % cardinality(:sources)] END,
            CASE WHEN r.kind = 'additional_functions' THEN (:functions)[1 + (r.id + k) % cardinality(:functions)] END,
            CASE WHEN r.kind <> 'additional_functions'
                  AND (:sources)[1 + (r.id + k) % cardinality(:sources)] = :group_source THEN (:groups)[2] END,
            false,
            CASE r.state WHEN 'completed' THEN 'activated' WHEN 'rejected' THEN 'rejected' ELSE 'pending' END, 1
        FROM access_request r CROSS JOIN LATERAL generate_series(0, r.id % 3) k
        WHERE r.id >= :r0"""), {"r0": ids["request0"], "sources": ids["sources"], "functions": ids["functions"],
                                "group_source": ids["group_source"], "groups": ids["rank_groups"]})
    # The timeline: sent; certified by the head; approved, returned or rejected at the next stage.
    conn.execute(text("""
        INSERT INTO decision (request_id, stage_id, transition, from_state, to_state, actor_id, attested, decided_at)
        SELECT r.id, s1.id, 'submit', 'draft', 'submitted', NULL, false, r.submitted_at
        FROM access_request r JOIN approval_stage s1 ON s1.chain_id = r.chain_id AND s1.position = 1
        WHERE r.id >= :r0 AND r.state <> 'draft'
        UNION ALL
        SELECT r.id, s1.id, CASE WHEN r.state = 'returned' THEN 'return' ELSE 'approve' END, 'submitted',
            CASE WHEN r.state = 'returned' THEN 'returned' ELSE 'submitted' END, :head_user, true,
            r.submitted_at + ((r.id % 96) + 2) * interval '1 hour'
        FROM access_request r JOIN approval_stage s1 ON s1.chain_id = r.chain_id AND s1.position = 1
        WHERE r.id >= :r0 AND (r.state IN ('completed', 'rejected', 'returned', 'cancelled')
                               OR (r.state = 'submitted' AND r.current_stage_id <> s1.id))
        UNION ALL
        SELECT r.id, s2.id, CASE WHEN r.state = 'rejected' THEN 'reject' ELSE 'approve' END, 'submitted',
            r.state, :central_user, false, r.submitted_at + ((r.id % 100) + 100) * interval '1 hour'
        FROM access_request r JOIN approval_stage s2 ON s2.chain_id = r.chain_id AND s2.position = 2
        WHERE r.id >= :r0 AND r.state IN ('completed', 'rejected')"""),
        {"r0": ids["request0"], "head_user": ids["users"][0], "central_user": ids["users"][-1]})


def _grants(conn, ids, n, today: date) -> None:
    """Each grant its own (officer, source) pair, so live ones never collide; a share ends within
    the reminder window and some are past their end but still active (for the nightly jobs)."""
    conn.execute(text("""
        INSERT INTO permission_grant (id, officer_id, data_source_id, rank_group_id, state, valid_from, valid_until,
            created_at, updated_at, version, reason)
        SELECT :g0 + g, :o0 + g % :officers, s.source,
            CASE WHEN s.source = :group_source THEN (:groups)[2] END,
            CASE WHEN g % 20 < 10 THEN 'active' WHEN g % 20 < 16 THEN 'expired' WHEN g % 20 < 19 THEN 'revoked'
                 ELSE 'suspended' END,
            CAST(:today AS date) - ((g * 7919) % 700)::int - 1,
            CAST(:today AS date) - ((g * 7919) % 700)::int - 1 + 365,
            now(), now(), 1,
            CASE WHEN g % 20 >= 16 THEN 'สิ้นสุดตามคำสั่ง' END
        FROM generate_series(0::bigint, :count - 1) g
        CROSS JOIN LATERAL (SELECT (:sources)[1 + (g / :officers) % cardinality(:sources)] AS source) s
        WHERE g / :officers < cardinality(:sources)"""),
        {"g0": ids["grant0"], "o0": ids["officer0"], "officers": n["officers"], "count": n["grants"],
         "sources": ids["sources"], "group_source": ids["group_source"], "groups": ids["rank_groups"],
         "today": today.isoformat()})


def _audit_events(conn, ids, n, today: date) -> None:
    actions = ["AccessRequest.submit", "AccessRequest.approve", "Grant.create", "Grant.expire", "login",
               "Officer.update", "export", "Grant.revoke"]
    conn.execute(text(f"""
        INSERT INTO audit_event (occurred_at, action, actor_id, object_type, object_id, unit_id, summary, remote_addr)
        SELECT CAST(:start AS timestamptz) + g * (interval '730 days' / :count),
            ({_array(actions)})[1 + g % {len(actions)}],
            (:users)[1 + g % cardinality(:users)],
            CASE g % 3 WHEN 0 THEN 'AccessRequest' WHEN 1 THEN 'Grant' ELSE 'Officer' END,
            1 + (g * 7919) % 1000000,
            (:stations)[1 + (g * 31) % cardinality(:stations)],
            'เหตุการณ์ที่ ' || g, '10.0.' || (g % 250) || '.' || (g % 200)
        FROM generate_series(0::bigint, :count - 1) g"""),
        {"start": f"{today.year - 2}-{today.month:02d}-01 00:00:00+00",
         "count": n["audit"], "users": ids["users"], "stations": ids["stations"]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    arguments = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        sys.exit("BENCH_DATABASE_URL must name a PostgreSQL database")
    build(url, arguments.requests)


if __name__ == "__main__":
    main()
