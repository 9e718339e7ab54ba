"""Time the personnel import at the size of the force, on PostgreSQL.

    make bench-import
    SITTHI_BENCH_POSTGRES=postgresql://user@host:5432/postgres make bench-import
    BENCH_IMPORT_ROWS=50000 make bench-import        # a smaller run

Creates a database of its own through that server (the local test server by default), migrates
it, loads the reference data and imports 1,700 generated units, then writes a POLIS-like CSV of
230,000 officers (UTF-8 with BOM, Thai headers, rank variants, B.E. dates) and imports it twice
through the same job code the screens and `flask sitthi import-personnel` use: the first import
creates everyone, the second must write nothing. Prints seconds and rows per second for each, and
the rows the re-import wrote. The database is dropped at the end (BENCH_KEEP=1 keeps it).
"""
import csv
import io
import os
import random
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", 230_000))
SERVER = os.environ.get("SITTHI_BENCH_POSTGRES") or os.environ.get(
    "SITTHI_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
FIRST_LIMIT, AGAIN_LIMIT = 20.0, 10.0  # seconds, the targets of issue 9

FIRST_NAMES = ["สมชาย", "สมศักดิ์", "ประเสริฐ", "วิชัย", "สุรชัย", "อนุชา", "ธนากร", "กิตติศักดิ์", "ณัฐพล", "วรวุฒิ",
               "ศิริพร", "วิไลวรรณ", "สุดารัตน์", "กมลชนก", "ปิยะ", "อภิชาติ", "ชยพล", "พงศกร", "เกียรติศักดิ์", "ธีระ"]
LAST_NAMES = ["ใจดี", "ศรีสุข", "ทองคำ", "วงศ์สวัสดิ์", "แก้วมณี", "บุญมา", "สุขเจริญ", "พรหมมา", "จันทร์แก้ว", "ศรีวงศ์",
              "มั่นคง", "รุ่งเรือง", "สายทอง", "ปัญญาดี", "นาคประเสริฐ", "เพชรรัตน์", "อินทร์แก้ว", "ชัยมงคล"]
# rank as exports write it (variants included), position, level, duty line
PROFILES = [
    ("ส.ต.ต.", "ผบ.หมู่ (ป.)", "ผบ.หมู่", "ป."), ("ส.ต.ท.", "ผบ.หมู่ (ป.)", "ผบ.หมู่", "ป."),
    ("ส.ต.อ.", "ผบ.หมู่ (จร.)", "ผบ.หมู่", "จร."), ("จ.ส.ต.", "ผบ.หมู่ (สส.)", "ผบ.หมู่", "สส."),
    ("ด.ต.", "ผบ.หมู่ (ป.)", "ผบ.หมู่", "ป."), ("นายดาบตำรวจ", "ผบ.หมู่ (อก.)", "ผบ.หมู่", "อก."),
    ("ด.ต.หญิง", "ผบ.หมู่ (อก.)", "ผบ.หมู่", "อก."), ("ร.ต.ต.", "รอง สว.(ป.)", "รอง สว.", "ป."),
    ("ร.ต.ท.", "รอง สว.(สส.)", "รอง สว.", "สส."), ("ร.ต.อ.", "รอง สว.(สอบสวน)", "รอง สว.", "สอบสวน"),
    ("ร.ต.อ. หญิง", "รอง สว.(อก.)", "รอง สว.", "อก."), ("ว่าที่ ร.ต.ต.", "ผบ.หมู่ (ป.)", "ผบ.หมู่", "ป."),
    ("พ.ต.ต.", "สว.(ป.)", "สว.", "ป."), ("พ.ต.ท.", "รอง ผกก.(สส.)", "รอง ผกก.", "สส."),
    ("พ.ต.อ.", "ผกก.", "ผกก.", "ป."), ("พ.ต.อ.(พิเศษ)", "ผกก.", "ผกก.", "ป."),
]
HEADERS = ["เลขประจำตัวประชาชน", "ยศ", "ชื่อ", "นามสกุล", "วันเกิด", "ตำแหน่ง", "เลขตำแหน่ง", "ระดับ", "สายงาน",
           "หน่วยงาน", "สถานภาพ", "อีเมล", "โทรศัพท์"]


def national_id(index: int) -> str:
    from app.domain.national_id import check_digit

    first = f"3{(10_000_000_000 + index * 37):011d}"[:12]
    return first + check_digit(first)


def units_csv() -> tuple[bytes, list[str]]:
    """9 regions x 21 provinces x 8 stations + the root: about 1,700 units; the station codes."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["code", "name_th", "name_en", "kind", "parent_code", "administering_command"])
    writer.writerow(["B-RTP", "สำนักงานตำรวจแห่งชาติ (ทดสอบ)", "Royal Thai Police (bench)", "national", "", "0"])
    stations = []
    for region in range(1, 10):
        writer.writerow([f"B-R{region}", f"ตำรวจภูธรภาค {region} (ทดสอบ)", "", "command", "B-RTP", "0"])
        for province in range(1, 22):
            code = f"B-R{region}-P{province:02d}"
            writer.writerow([code, f"ตำรวจภูธรจังหวัดทดสอบ {region}-{province}", "", "division", f"B-R{region}", "1"])
            for station in range(1, 9):
                writer.writerow([f"{code}-S{station}", f"สถานีตำรวจภูธรทดสอบ {region}-{province}-{station}", "",
                                 "station", code, "0"])
                stations.append(f"{code}-S{station}")
    return out.getvalue().encode("utf-8"), stations


def personnel_csv(stations: list[str]) -> bytes:
    rng = random.Random(230_000)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for index in range(ROWS):
        rank, position, level, line = rng.choice(PROFILES)
        birth = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(2508, 2545)}"
        status = "ปกติ" if rng.random() > 0.01 else rng.choice(["เกษียณอายุราชการ", "โอนย้าย", "ถึงแก่กรรม"])
        writer.writerow([national_id(index), rank, rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), birth, position,
                         str(100000 + index), level, line, rng.choice(stations), status,
                         f"officer{index}@police.go.th" if index % 3 == 0 else "", f"08{rng.randrange(10**8):08d}"])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def timed_import(app, kind: str, content: bytes):
    from app.extensions import db
    from app.formatting import office_clock
    from app.services import jobs

    with app.app_context():
        clock = office_clock()
        run = jobs.create(db.session, clock, kind, filename=f"bench-{kind}.csv", content=content)
        db.session.commit()
        started = time.perf_counter()
        run = jobs.execute(db.session, clock, run.id)
        seconds = time.perf_counter() - started
        if run.state != "done":
            raise SystemExit(f"{kind} failed: {run.error}")
        return seconds, run


def main() -> None:
    name = f"sitthi_import_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(SERVER).set(database=name).render_as_string(hide_password=False)
    try:
        from flask_migrate import upgrade

        from app import create_app

        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
        with app.app_context():
            upgrade()
        result = app.test_cli_runner().invoke(args=["sitthi", "init"])
        assert result.exit_code == 0, result.output
        units, stations = units_csv()
        seconds, run = timed_import(app, "import_units", units)
        print(f"units: {run.created_count} created in {seconds:.2f} s")
        started = time.perf_counter()
        content = personnel_csv(stations)
        print(f"generated {ROWS:,} officers ({len(content) / 1e6:.1f} MB CSV) in {time.perf_counter() - started:.1f} s")
        first, run = timed_import(app, "import_personnel", content)
        print(f"first import: {first:.2f} s, {ROWS / first:,.0f} rows/s "
              f"(created {run.created_count:,}, rejected {run.rejected_count})  target <= {FIRST_LIMIT:.0f} s")
        again, run = timed_import(app, "import_personnel", content)
        written = run.created_count + run.updated_count
        print(f"re-import:    {again:.2f} s, {ROWS / again:,.0f} rows/s "
              f"(rows written {written}, unchanged {run.unchanged_count:,})  target <= {AGAIN_LIMIT:.0f} s, 0 written")
        # The audit rows both imports wrote are sealed into the chain, each link checked again.
        started = time.perf_counter()
        verified = app.test_cli_runner().invoke(args=["sitthi", "verify-audit"])
        print(f"verify-audit: {verified.output.strip()} ({time.perf_counter() - started:.1f} s)")
        ok = first <= FIRST_LIMIT and again <= AGAIN_LIMIT and written == 0 and verified.exit_code == 0
        print("targets met" if ok else "TARGETS MISSED")
        with app.app_context():
            from app.extensions import db

            db.session.remove()
            db.engine.dispose()
    finally:
        if not os.environ.get("BENCH_KEEP"):
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
