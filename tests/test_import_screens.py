"""The import screens: upload, the run page (progress, result, rejects), the CSV of rejects, per role."""
import io
import re

from sqlalchemy import select

from app.models import JobRun, Officer, Unit
from tests.factories import make_login, make_officer, new_national_id
from tests.import_files import csv_bytes, person, xlsx_bytes


def _upload(user, content: bytes, kind: str = "import_personnel", name: str = "polis.csv"):
    token = user.csrf_token("/imports/new")
    return user.post("/imports/new", data={"csrf_token": token, "kind": kind,
                                           "file": (io.BytesIO(content), name)},
                     content_type="multipart/form-data")


def _run_id(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(re.search(r"/imports/run/(\d+)", response.headers["Location"]).group(1))


def test_personnel_uploads_and_reads_the_result_and_the_rejects_in_thai(app, login):
    from app.extensions import db

    user = login("personnel")
    good = new_national_id()
    content = csv_bytes([person("KKN-MUEANG", good, first_name="นำเข้า"), person("KKN-MUEANG", "1234567890123"),
                         person("MPD1", rank="พ.ต.อ.(พิเศษ)"), person("KKN-MUEANG", rank="ไม่มียศนี้")],
                        encoding="cp874")
    run_id = _run_id(_upload(user, content))
    with app.app_context():
        run = db.session.get(JobRun, run_id)
        assert (run.state, run.created_count, run.rejected_count) == ("done", 1, 3)
        assert run.command_id == db.session.scalar(select(Unit.id).where(Unit.code == "KKN"))
        assert db.session.scalar(select(Officer.first_name_th).where(Officer.national_id == good)) == "นำเข้า"
    page = user.get(f"/imports/run/{run_id}").get_data(as_text=True)
    assert "ยศไม่ถูกต้อง" in page or "ไม่รู้จักยศ" in page
    assert "1234567890123" in page and "อยู่นอกกองบังคับการของท่าน" in page
    progress = user.get(f"/imports/run/{run_id}/progress").get_json()
    assert progress["state"] == "done" and progress["finished"] and progress["rejected"] == 3
    download = user.export(f"/imports/run/{run_id}/rejects", f"/imports/run/{run_id}", "csv")
    assert download.status_code == 200
    lines = download.get_data().decode("utf-8-sig").splitlines()
    assert len(lines) == 4 and lines[0].startswith("บรรทัด,")
    assert user.export(f"/imports/run/{run_id}/rejects", f"/imports/run/{run_id}", "xlsx").get_data()[:2] == b"PK"
    listing = user.get("/imports/").get_data(as_text=True)
    assert f"/imports/run/{run_id}" in listing
    english = user.get("/lang/en") and user.get(f"/imports/run/{run_id}").get_data(as_text=True)
    assert "is outside your command" in english
    user.get("/lang/th")


def test_other_commands_and_other_roles_do_not_see_the_run(app, login):
    from app.extensions import db

    personnel = login("personnel")
    run_id = _run_id(_upload(personnel, csv_bytes([person("KKN-MUEANG")])))
    with app.app_context():
        bangkok = make_officer(db.session, db.session.scalar(select(Unit).where(Unit.code == "MPD1")))
        other = make_login(db.session, bangkok, role="Personnel", password="Sitthi@demo1").username
        db.session.commit()
    other_personnel = login(other)
    assert other_personnel.get(f"/imports/run/{run_id}").status_code == 404
    assert other_personnel.get(f"/imports/run/{run_id}/progress").status_code == 404
    assert other_personnel.export(f"/imports/run/{run_id}/rejects", "/myrecord/", "csv").status_code == 404
    assert f"/imports/run/{run_id}" not in other_personnel.get("/imports/").get_data(as_text=True)
    for username in ("officer", "commandtech", "head"):
        user = login(username)
        assert user.get("/imports/").status_code == 403
        assert user.get(f"/imports/run/{run_id}").status_code == 403
        assert user.get("/imports/new").status_code == 403
    auditor = login("auditor")
    assert auditor.get(f"/imports/run/{run_id}").status_code == 200
    assert auditor.get("/imports/new").status_code == 403
    assert login("centralit").get(f"/imports/run/{run_id}").status_code == 200


def test_personnel_may_import_officers_only_and_centralit_units_too(app, login):
    personnel = login("personnel")
    units = csv_bytes([["SCR-1", "หน่วยทดสอบหน้าจอ", "", "station", "KKN", ""]],
                      headers=["code", "name_th", "name_en", "kind", "parent_code", "admin_scope"])
    refused = _upload(personnel, units, kind="import_units")
    assert refused.status_code == 400 and "import_units" not in refused.get_data(as_text=True).split("import-kind")[1][:400]
    centralit = login("centralit")
    run_id = _run_id(_upload(centralit, units, kind="import_units", name="units.csv"))
    from app.extensions import db

    with app.app_context():
        run = db.session.get(JobRun, run_id)
        assert (run.state, run.created_count, run.command_id) == ("done", 1, None)
    # Nationwide: an XLSX of officers anywhere.
    run_id = _run_id(_upload(centralit, xlsx_bytes([person("MPD1"), person("KKN-MUEANG")]), name="all.xlsx"))
    with app.app_context():
        assert db.session.get(JobRun, run_id).created_count == 2


def test_a_file_too_large_or_of_another_type_is_refused_at_the_field(app, login, monkeypatch):
    user = login("personnel")
    pdf = _upload(user, b"%PDF-1.4\n%%EOF\n", name="polis.csv")
    assert pdf.status_code == 400
    assert "ไม่ใช่ไฟล์ CSV หรือ XLSX" in pdf.get_data(as_text=True)
    empty = _upload(user, b"", name="polis.csv")
    assert empty.status_code == 400
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 100)
    big = _upload(user, csv_bytes([person("KKN-MUEANG") for _ in range(5)]))
    assert big.status_code == 400 and "ใหญ่กว่า" in big.get_data(as_text=True)
    nothing = user.post("/imports/new", data={"csrf_token": user.csrf_token("/imports/new"),
                                              "kind": "import_personnel"})
    assert nothing.status_code == 400
