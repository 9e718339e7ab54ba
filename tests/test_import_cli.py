"""`flask sitthi import-personnel / import-units / import-usage / create-admin`."""
from sqlalchemy import select

from app.models import JobRun, Officer, User
from tests.factories import make_unit, new_national_id
from tests.import_files import csv_bytes, person


def _station(app):
    from app.extensions import db

    with app.app_context():
        command = make_unit(db.session, kind="division", admin_scope=True)
        station = make_unit(db.session, parent=command)
        other = make_unit(db.session, kind="division", admin_scope=True)
        db.session.commit()
        return command.code, station.code, other.code


def test_import_personnel_prints_a_summary_and_writes_the_rejects(app, tmp_path):
    from app.extensions import db

    command_code, station_code, other_code = _station(app)
    nid = new_national_id()
    path = tmp_path / "polis.csv"
    path.write_bytes(csv_bytes([person(station_code, nid), person(station_code, "1234567890123"),
                                person(other_code)], encoding="cp874"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["sitthi", "import-personnel", str(path), "--command", command_code])
    assert result.exit_code == 0, result.output
    assert "created 1, updated 0, unchanged 0, rejected 2" in result.output
    rejects = (tmp_path / "polis.csv.rejects.csv").read_bytes().decode("utf-8-sig")
    assert "1234567890123" in rejects and "อยู่นอกกองบังคับการของท่าน" in rejects
    assert rejects.splitlines()[0].split(",")[:3] == ["บรรทัด", "เลขประจำตัวประชาชนหรือรหัส", "เหตุผล"]
    with app.app_context():
        assert db.session.scalar(select(Officer.home_unit_id).where(Officer.national_id == nid)) is not None
    again = runner.invoke(args=["sitthi", "import-personnel", str(path), "--command", command_code])
    assert "created 0, updated 0, unchanged 1, rejected 2" in again.output


def test_import_of_a_file_with_no_national_id_column_fails_with_the_reason(app, tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text("ชื่อ,นามสกุล\nก,ข\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["sitthi", "import-personnel", str(path)])
    assert result.exit_code != 0 and "failed" in result.output
    with app.app_context():
        from app.extensions import db

        assert db.session.scalar(select(JobRun.state).order_by(JobRun.id.desc()).limit(1)) == "failed"


def test_import_units_and_usage_from_the_command_line(app, tmp_path):
    units = tmp_path / "units.csv"
    # A region of its own: the seed's regions keep exactly their real provinces (test_seed).
    units.write_bytes(csv_bytes([["CLI-REG", "ตำรวจภูธรภาคทดสอบซีแอลไอ", "", "ภ.", "", ""],
                                 ["CLI-PROV", "ตำรวจภูธรจังหวัดทดสอบซีแอลไอ", "", "ภ.จว.", "CLI-REG", "ใช่"],
                                 ["CLI-ST", "สถานีทดสอบซีแอลไอ", "", "สภ.", "CLI-PROV", ""]],
                                headers=["code", "name_th", "name_en", "kind", "parent_code", "administering_command"]))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["sitthi", "import-units", str(units)])
    assert result.exit_code == 0 and "created 3" in result.output, result.output
    nid = new_national_id()
    people = tmp_path / "people.csv"
    people.write_bytes(csv_bytes([person("CLI-ST", nid)]))
    assert runner.invoke(args=["sitthi", "import-personnel", str(people)]).exit_code == 0
    counts = tmp_path / "usage.csv"
    counts.write_bytes(csv_bytes([[nid, "vehicles", "12", "01/11/2569"]],
                                 headers=["national_id", "source_code", "queries", "last_used_on"]))
    result = runner.invoke(args=["sitthi", "import-usage", str(counts)])
    assert result.exit_code == 0 and "created 1" in result.output, result.output


def test_create_admin_refuses_a_weak_password_and_takes_a_strong_one(app):
    from app.extensions import db

    runner = app.test_cli_runner()
    weak = runner.invoke(args=["sitthi", "create-admin", "--username", "root2", "--email", "root2@sitthi.example",
                               "--first-name", "A", "--last-name", "B", "--password", "password"])
    assert weak.exit_code != 0
    strong = runner.invoke(args=["sitthi", "create-admin"],
                           input="root3\nroot3@sitthi.example\nAdmin\nSitthi\nLong&Strong-Pass9\nLong&Strong-Pass9\n")
    assert strong.exit_code == 0, strong.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "root3"))
        assert [r.name for r in user.roles] == ["Admin"] and user.active
        assert db.session.scalar(select(User).where(User.username == "root2")) is None
    twice = runner.invoke(args=["sitthi", "create-admin", "--username", "root3", "--email", "x@sitthi.example",
                                "--first-name", "A", "--last-name", "B", "--password", "Long&Strong-Pass9"])
    assert twice.exit_code != 0 and "exists" in twice.output
