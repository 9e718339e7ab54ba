"""Personnel, units and usage imports with real files (CSV in UTF-8, BOM and cp874; XLSX), run as jobs."""
from datetime import date

import pytest
from sqlalchemy import func, select

from app.models import (
    AuditEvent,
    DutyLine,
    Grant,
    ImportReject,
    JobRun,
    Officer,
    PersonnelChange,
    PositionLevel,
    Rank,
    SourceUsage,
    Unit,
    User,
)
from app.services import jobs
from app.services.clock import Clock
from app.services.imports import ImportFailed, personnel, units, usage
from tests.factories import make_grant, make_login, make_unit, new_national_id
from tests.import_files import ENGLISH_HEADERS, csv_bytes, person, xlsx_bytes

CLOCK = Clock.on(date(2026, 12, 2))


@pytest.fixture()
def tree(db_session):
    """A command with two stations, and a second command with one (not committed)."""
    command = make_unit(db_session, kind="division", admin_scope=True)
    station = make_unit(db_session, parent=command)
    other_station = make_unit(db_session, parent=command)
    command2 = make_unit(db_session, kind="division", admin_scope=True)
    station2 = make_unit(db_session, parent=command2)
    return command, station, other_station, command2, station2


def _import(session, content, **kwargs):
    return personnel.import_personnel(session, CLOCK, content, **kwargs)


def _officer(session, nid):
    return session.scalar(select(Officer).where(Officer.national_id == nid))


def test_good_rows_are_imported_and_bad_rows_reported_with_line_and_reason(db_session, tree):
    _command, station, _other, _command2, _station2 = tree
    good = [new_national_id() for _ in range(3)]
    twice = new_national_id()
    rows = [
        person(station.code, good[0], rank="พ.ต.ท.", birth_date="01/10/2509", level="ผกก.", duty_line="ป."),
        person(station.name_th, good[1], email="a@police.go.th"),
        person(station.code, "1234567890123"),                       # line 4: bad checksum
        person(station.code, rank="นายพล"),                           # line 5: unknown rank
        person("ไม่มีหน่วยนี้"),                                         # line 6: unknown unit
        person(station.code, birth_date="31/02/2530"),                # line 7: no such day
        person(station.code, birth_date="15/03/1987"),                # line 8: a C.E. year
        person(station.code, status="หายตัว"),                        # line 9: unknown status
        person(station.code, twice), person(station.code, twice),     # lines 10, 11: duplicate
        person(station.code, first_name=""),                          # line 12: required
        person(station.code, good[2], level="", duty_line="", birth_date="", email=""),
        person(station.code, first_name="a\x00b"),                    # line 14: NUL byte
    ]
    result = _import(db_session, csv_bytes(rows))

    assert (result.total, result.created, result.updated, result.unchanged) == (13, 3, 0, 0)
    reasons = {r.line: r.message for r in result.rejects}
    assert reasons == {4: personnel.MSG_BAD_ID, 5: personnel.MSG_UNKNOWN_RANK, 6: personnel.MSG_UNKNOWN_UNIT,
                       7: personnel.MSG_BAD_DATE, 8: personnel.MSG_BAD_DATE, 9: personnel.MSG_UNKNOWN_STATUS,
                       10: personnel.MSG_DUPLICATE, 11: personnel.MSG_DUPLICATE, 12: personnel.MSG_REQUIRED,
                       14: personnel.MSG_BAD_TEXT}
    duplicate = next(r for r in result.rejects if r.line == 10)
    assert duplicate.params == {"value": twice, "lines": "10, 11"} and duplicate.raw["ยศ"] == "ร.ต.อ."
    assert _officer(db_session, twice) is None and _officer(db_session, "1234567890123") is None

    first = _officer(db_session, good[0])
    assert first.rank.abbr_th == "พ.ต.ท." and first.home_unit_id == station.id
    assert first.birth_date == date(1966, 10, 1)
    assert first.position_level.code == "superintendent" and first.duty_line.code == "prevention"
    assert first.status == "active" and first.first_name_th == "สมชาย" and first.mobile == "0812345678"
    assert _officer(db_session, good[1]).home_unit_id == station.id  # by exact Thai name
    assert _officer(db_session, good[1]).email == "a@police.go.th"
    assert _officer(db_session, good[2]).birth_date is None


def test_a_national_id_in_thai_digits_is_the_same_officer_and_other_digits_are_refused(db_session, tree):
    _command, station, _other, _command2, _station2 = tree
    nid = new_national_id()
    thai = nid.translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))
    rows = [person(station.code, f"{thai[0]}-{thai[1:5]}-{thai[5:10]}-{thai[10:12]}-{thai[12]}"),
            person(station.code, "3" + "²" * 12)]  # digits to str.isdigit(), not to int(): a crash once
    result = _import(db_session, csv_bytes(rows))
    assert (result.created, [(r.line, r.message) for r in result.rejects]) == (1, [(3, personnel.MSG_BAD_ID)])
    assert _officer(db_session, nid).home_unit_id == station.id


def test_importing_the_same_file_again_writes_nothing(db_session, tree, app):
    from tests.conftest import counted_statements

    _command, station, other, _c2, _s2 = tree
    rows = [person(station.code) for _ in range(5)] + [person(other.code, email="x@police.go.th")]
    content = csv_bytes(rows)
    first = _import(db_session, content)
    assert (first.created, first.updated, first.unchanged) == (6, 0, 0)
    versions = {o.national_id: o.version for o in db_session.scalars(select(Officer).where(
        Officer.national_id.in_([r[0] for r in rows])))}
    with counted_statements(app) as statements:
        again = _import(db_session, content)
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 6, 0)
    writes = [s for s in statements if s.lstrip().upper().startswith(("UPDATE OFFICER", "INSERT INTO OFFICER",
                                                                        "INSERT INTO AUDIT_EVENT"))]
    assert writes == []
    db_session.expire_all()
    assert {o.national_id: o.version for o in db_session.scalars(select(Officer).where(
        Officer.national_id.in_(versions)))} == versions
    # A blank e-mail keeps the one on record; a changed rank is one update.
    rows[5][ENGLISH_HEADERS.index("email")] = ""
    rows[0][ENGLISH_HEADERS.index("rank")] = "พ.ต.ต."
    third = _import(db_session, csv_bytes(rows))
    assert (third.created, third.updated, third.unchanged) == (0, 1, 5)
    db_session.expire_all()
    assert _officer(db_session, rows[5][0]).email == "x@police.go.th"
    changed = _officer(db_session, rows[0][0])
    assert changed.rank.abbr_th == "พ.ต.ต." and changed.version == versions[rows[0][0]] + 1
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "Officer.import_update",
                                                       AuditEvent.object_id == changed.id))
    ranks = dict(db_session.execute(select(Rank.abbr_th, Rank.id)).all())
    assert event.before == {"rank_id": ranks["ร.ต.อ."]} and event.after == {"rank_id": ranks["พ.ต.ต."]}


@pytest.mark.parametrize("fmt", ["utf-8", "utf-8-bom", "cp874", "xlsx", "english-headers"])
def test_every_encoding_and_format_reads_thai(db_session, tree, fmt):
    _command, station, _other, _c2, _s2 = tree
    rows = [person(station.code, first_name="ประเสริฐ", last_name="ศรีสุข", position="สว.สส."),
            person(station.name_th, rank="ด.ต.", first_name="วิไลวรรณ", last_name="ทองคำ")]
    content = {"utf-8": lambda: csv_bytes(rows), "utf-8-bom": lambda: csv_bytes(rows, bom=True),
               "cp874": lambda: csv_bytes(rows, encoding="cp874"), "xlsx": lambda: xlsx_bytes(rows),
               "english-headers": lambda: csv_bytes(rows, headers=ENGLISH_HEADERS)}[fmt]()
    result = _import(db_session, content)
    assert (result.created, result.rejected) == (2, 0), [r.message for r in result.rejects]
    officer = _officer(db_session, rows[0][0])
    assert (officer.first_name_th, officer.last_name_th, officer.position_title) == ("ประเสริฐ", "ศรีสุข", "สว.สส.")
    assert _officer(db_session, rows[1][0]).first_name_th == "วิไลวรรณ"


def test_xlsx_with_numbers_and_real_dates(db_session, tree):
    _command, station, _other, _c2, _s2 = tree
    nid = new_national_id()
    row = person(station.code, int(nid), birth_date=date(1987, 3, 15), phone=812345678)
    result = _import(db_session, xlsx_bytes([row]))
    assert result.created == 1, [r.message for r in result.rejects]
    assert _officer(db_session, nid).birth_date == date(1987, 3, 15)


@pytest.mark.parametrize(("variant", "rank"), [
    ("ร.ต.อ.หญิง", "ร.ต.อ."), ("ร.ต.อ. หญิง", "ร.ต.อ."), ("พ.ต.อ.(พิเศษ)", "พ.ต.อ."), ("นายดาบตำรวจ", "ด.ต."),
    ("ว่าที่ ร.ต.ต.", "ร.ต.ต."), ("พล.ต.อ.", "พล.ต.อ."), ("พ.ต.อ.", "พ.ต.อ."), ("พ. ต. ท.", "พ.ต.ท."),
    ("รตอ", "ร.ต.อ."), ("พันตำรวจโทหญิง", "พ.ต.ท."), ("Pol.Col.", "พ.ต.อ."), ("ด.ต.หญิง", "ด.ต."),
    ("จ.ส.ต.", "จ.ส.ต."), ("ส.ต.ต.", "ส.ต.ต."),
])
def test_rank_variants_are_normalised(db_session, tree, variant, rank):
    _command, station, _other, _c2, _s2 = tree
    nid = new_national_id()
    result = _import(db_session, csv_bytes([person(station.code, nid, rank=variant)]))
    assert result.created == 1, [r.message for r in result.rejects]
    assert _officer(db_session, nid).rank.abbr_th == rank


def test_personnel_imports_only_for_their_own_command(db_session, tree):
    command, station, other, _command2, station2 = tree
    inside, outside = new_national_id(), new_national_id()
    result = _import(db_session, csv_bytes([person(station.code, inside), person(other.code),
                                            person(station2.code, outside)]), command_id=command.id)
    assert result.created == 2
    assert [(r.line, r.message, r.params) for r in result.rejects] == [
        (4, personnel.MSG_OUT_OF_COMMAND, {"value": station2.code})]
    assert _officer(db_session, outside) is None


def test_a_file_that_is_not_a_table_fails_as_a_whole(db_session, tree):
    with pytest.raises(ImportFailed) as refused:
        _import(db_session, b"%PDF-1.4 not a table")
    assert refused.value.message == personnel.reading.MSG_UNKNOWN_FORMAT
    with pytest.raises(ImportFailed) as missing:
        _import(db_session, "ชื่อ,นามสกุล\nก,ข\n".encode())
    assert missing.value.message == personnel.reading.MSG_MISSING_COLUMNS
    assert "เลขประจำตัวประชาชน" in missing.value.params["columns"]


# -- as a job: states, rejects kept, the rules applied ------------------------------------------------
def _committed_tree(app):
    from app.extensions import db

    with app.app_context():
        command_a = make_unit(db.session, kind="division", admin_scope=True)
        station_a = make_unit(db.session, parent=command_a)
        command_b = make_unit(db.session, kind="division", admin_scope=True)
        station_b = make_unit(db.session, parent=command_b)
        db.session.commit()
        return [(u.id, u.code) for u in (command_a, station_a, command_b, station_b)]


def _run(app, content, kind="import_personnel", command_id=None, clock=CLOCK):
    from app.extensions import db

    with app.app_context():
        run = jobs.create(db.session, clock, kind, filename="polis.csv", content=content, command_id=command_id)
        db.session.commit()
        run = jobs.execute(db.session, clock, run.id)
        return run.id, run.state, (run.created_count, run.updated_count, run.unchanged_count, run.rejected_count)


def test_a_job_keeps_its_rejects_and_counts(app):
    from app.extensions import db

    (_, _), (station_id, station_code), _, _ = _committed_tree(app)
    run_id, state, counts = _run(app, csv_bytes([person(station_code), person(station_code, "1111111111111")]))
    assert (state, counts) == ("done", (1, 0, 0, 1))
    with app.app_context():
        reject = db.session.scalar(select(ImportReject).where(ImportReject.job_run_id == run_id))
        assert (reject.line, reject.identifier, reject.message) == (3, "1111111111111", personnel.MSG_BAD_ID)
        assert reject.raw["เลขประจำตัวประชาชน"] == "1111111111111"
        run = db.session.get(JobRun, run_id)
        assert (run.total, run.processed, run.started_at is not None, run.finished_at is not None) == (2, 2, True, True)


def test_a_failed_job_writes_nothing_and_says_why(app):
    from app.extensions import db

    run_id, state, counts = _run(app, "ชื่อ,นามสกุล\nก,ข\n".encode())
    assert state == "failed" and counts == (0, 0, 0, 0)
    with app.app_context():
        run = db.session.get(JobRun, run_id)
        assert "เลขประจำตัวประชาชน" in jobs.error_text(run)
        assert run.summary["error_message"] == personnel.reading.MSG_MISSING_COLUMNS


def test_a_crash_in_the_middle_leaves_no_half_import(app, monkeypatch):
    from app.extensions import db

    (_, _), (_, station_code), _, _ = _committed_tree(app)
    rows = [person(station_code) for _ in range(3)]

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(personnel, "_audit_updates", broken)
    # The audit of creations fails after the insert.
    monkeypatch.setattr(personnel.audit_chain, "add_rows", broken)
    with pytest.raises(Exception):  # noqa: B017 - whatever the database driver raises
        _run(app, csv_bytes(rows))
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Officer.national_id.in_([r[0] for r in rows]))) == 0
        run = db.session.scalar(select(JobRun).order_by(JobRun.id.desc()).limit(1))
        assert run.state == "failed" and run.error


def test_day_one_then_day_two_retires_moves_and_joins_with_audit_events(app):
    from app.extensions import db

    (command_a, _), (station_a, code_a), (command_b, _), (station_b, code_b) = _committed_tree(app)
    retiring, moving, staying, joining = (new_national_id() for _ in range(4))
    day1 = [person(code_a, retiring, first_name="เกษียณ"), person(code_a, moving, first_name="ย้าย"),
            person(code_a, staying, first_name="อยู่")]
    run1, state, counts = _run(app, csv_bytes(day1, encoding="cp874"))
    assert (state, counts) == ("done", (3, 0, 0, 0))
    with app.app_context():
        officers = {o.national_id: o for o in db.session.scalars(select(Officer).where(
            Officer.national_id.in_([retiring, moving, staying])))}
        login = make_login(db.session, officers[retiring])
        kept = make_grant(db.session, officers[staying], command_id=command_a)
        revoked = make_grant(db.session, officers[retiring], command_id=command_a)
        suspended = make_grant(db.session, officers[moving], command_id=command_a)
        db.session.commit()
        ids = {"login": login.id, "kept": kept.id, "revoked": revoked.id, "suspended": suspended.id,
               "retiring": officers[retiring].id, "moving": officers[moving].id}

    day2 = [person(code_a, retiring, first_name="เกษียณ", status="เกษียณอายุราชการ"),
            person(code_b, moving, first_name="ย้าย"), person(code_a, staying, first_name="อยู่"),
            person(code_b, joining, first_name="ใหม่")]
    run2, state, counts = _run(app, xlsx_bytes(day2))
    assert (state, counts) == ("done", (1, 2, 1, 0))
    with app.app_context():
        session = db.session
        assert session.get(Grant, ids["kept"]).state == "active"
        assert session.get(Grant, ids["revoked"]).state == "revoked"
        assert session.get(Grant, ids["suspended"]).state == "suspended"
        assert session.get(User, ids["login"]).active is False
        moved = session.scalar(select(PersonnelChange).where(PersonnelChange.officer_id == ids["moving"],
                                                             PersonnelChange.kind == "moved"))
        assert moved.command_id == command_b and moved.job_run_id == run2
        actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.job_run_id == run2)))
        assert {"Officer.import_update", "Officer.import_create", "Grant.revoke", "Grant.suspend",
                "User.deactivate"} <= actions
        run = session.get(JobRun, run2)
        assert run.summary["rules"]["revoked"] == 1 and run.summary["rules"]["movers"] == 1
        assert _officer(session, joining).home_unit_id == station_b
        assert _officer(session, retiring).status == "retired"
    # The same day-2 file again: nothing is written, nothing more is acted on.
    run3, state, counts = _run(app, xlsx_bytes(day2))
    assert (state, counts) == ("done", (0, 0, 4, 0))
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEvent.job_run_id == run3,
                                                            AuditEvent.object_type != "JobRun")) == 0


# -- units and usage -----------------------------------------------------------------------------
UNIT_HEADERS = ["รหัสหน่วย", "ชื่อหน่วย", "ชื่อภาษาอังกฤษ", "ประเภท", "รหัสหน่วยต้นสังกัด", "หน่วยบริหารสิทธิ์"]


def test_units_import_resolves_parents_given_later_and_refuses_loops(db_session):
    rows = [
        ["U-ST1", "สถานีตำรวจภูธรทดสอบหนึ่ง", "Test Station 1", "สภ.", "U-PROV", ""],
        ["U-PROV", "ตำรวจภูธรจังหวัดทดสอบ", "Test Provincial Police", "ภ.จว.", "PPR4", "ใช่"],
        ["U-ST2", "สถานีตำรวจภูธรทดสอบสอง", "", "station", "U-PROV", "0"],
        ["U-BAD", "หน่วยผิด", "", "ไม่รู้จัก", "U-PROV", ""],
        ["U-ORPHAN", "หน่วยกำพร้า", "", "station", "NO-SUCH", ""],
        ["U-LOOP1", "วนหนึ่ง", "", "station", "U-LOOP2", ""],
        ["U-LOOP2", "วนสอง", "", "station", "U-LOOP1", ""],
    ]
    result = units.import_units(db_session, CLOCK, csv_bytes(rows, headers=UNIT_HEADERS))
    assert (result.created, result.updated, result.rejected) == (3, 0, 4)
    assert {r.line: r.message for r in result.rejects} == {
        5: units.MSG_UNKNOWN_KIND, 6: units.MSG_UNKNOWN_PARENT, 7: units.MSG_CYCLE, 8: units.MSG_CYCLE}
    by_code = {u.code: u for u in db_session.scalars(select(Unit).where(Unit.code.like("U-%")))}
    assert by_code["U-ST1"].parent_id == by_code["U-PROV"].id and by_code["U-PROV"].is_admin_scope
    assert by_code["U-PROV"].parent.code == "PPR4" and by_code["U-PROV"].kind == "division"
    again = units.import_units(db_session, CLOCK, csv_bytes(rows, headers=UNIT_HEADERS))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    rows[0][4] = "PPR4"  # the station moves up
    moved = units.import_units(db_session, CLOCK, csv_bytes(rows[:3], headers=UNIT_HEADERS))
    assert (moved.created, moved.updated, moved.unchanged) == (0, 1, 2)
    db_session.expire_all()
    assert db_session.get(Unit, by_code["U-ST1"].id).parent.code == "PPR4"


USAGE_HEADERS = ["เลขประจำตัวประชาชน", "แหล่งข้อมูล", "จำนวนครั้ง", "ใช้ล่าสุด"]


def test_usage_import_upserts_counts_per_officer_and_source(db_session, tree):
    _command, station, _other, _c2, _s2 = tree
    nids = [new_national_id() for _ in range(2)]
    _import(db_session, csv_bytes([person(station.code, nid) for nid in nids]))
    rows = [[nids[0], "vehicles", "120", "01/11/2569"], [nids[0], "ทะเบียนราษฎร", "3", ""],
            [nids[1], "vehicles", "0", ""], [new_national_id(), "vehicles", "1", ""], [nids[1], "nosuch", "1", ""],
            [nids[1], "aliens", "-4", ""],
            [nids[1], "aliens", "1²", ""]]  # a digit to str.isdigit(), not to int(): the job failed once
    result = usage.import_usage(db_session, CLOCK, csv_bytes(rows, headers=USAGE_HEADERS))
    assert (result.created, result.rejected) == (3, 4)
    assert [r.message for r in result.rejects] == [usage.MSG_UNKNOWN_OFFICER, usage.MSG_UNKNOWN_SOURCE,
                                                   usage.MSG_BAD_COUNT, usage.MSG_BAD_COUNT]
    first = db_session.scalar(select(SourceUsage).join(Officer).where(Officer.national_id == nids[0],
                                                                      SourceUsage.query_count == 120))
    assert first.last_used_on == date(2026, 11, 1)
    again = usage.import_usage(db_session, CLOCK, csv_bytes(rows, headers=USAGE_HEADERS))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    rows[0][2] = "130"
    third = usage.import_usage(db_session, CLOCK, csv_bytes(rows, headers=USAGE_HEADERS))
    assert (third.created, third.updated, third.unchanged) == (0, 1, 2)


def test_reference_lookups_cover_levels_and_duty_lines(db_session):
    ref = personnel.Reference(db_session, None)
    levels = dict(db_session.execute(select(PositionLevel.code, PositionLevel.id)).all())
    lines = dict(db_session.execute(select(DutyLine.code, DutyLine.id)).all())
    assert ref.levels[personnel.key("ผกก.")] == levels["superintendent"]
    assert ref.levels[personnel.key("ผู้กำกับการ")] == levels["superintendent"]
    assert ref.levels[personnel.key("squad_leader")] == levels["squad_leader"]
    assert ref.duty_lines[personnel.key("สส.")] == lines["investigation"]
    assert ref.duty_lines[personnel.key("Traffic")] == lines["traffic"]
