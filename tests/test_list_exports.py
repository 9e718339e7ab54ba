"""CSV and XLSX on every list that answers "who has what": the rows the list shows on all its
pages, its filters, its row scope, formulas neutralised, and each export in the audit trail. The
file is written by a job (inline in tests) and downloaded from the run's page by whoever asked."""
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.models import AuditEvent
from tests.conftest import DEMO_PASSWORD
from tests.factories import make_grant, make_login, make_officer, make_unit


@pytest.fixture()
def two_commands(app):
    from app.extensions import db

    with app.app_context():
        session = db.session
        command = make_unit(session, kind="division", admin_scope=True)
        other = make_unit(session, kind="division", admin_scope=True)
        tech = make_login(session, make_officer(session, command), role="CommandTech", password=DEMO_PASSWORD)
        mine = make_officer(session, make_unit(session, parent=command), first_name_th="ส่งออกของเรา")
        theirs = make_officer(session, make_unit(session, parent=other), first_name_th="ส่งออกของเขา")
        make_grant(session, mine, command_id=command.id)
        make_grant(session, mine, "company_registry", command_id=command.id, state="suspended",
                   reason="=cmd|' /C calc'!A0")
        make_grant(session, theirs, command_id=other.id)
        session.commit()
        return {"tech": tech.username, "command": command.id}


def _csv(response) -> str:
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Disposition"].startswith("attachment;")
    return response.get_data().decode("utf-8-sig")


@pytest.mark.parametrize("list_url", ["/commandgrantview", "/grantview"])
def test_a_command_tech_exports_only_their_command_with_the_lists_filters(login, two_commands, list_url):
    tech = login(two_commands["tech"])
    page = f"{list_url}/list/"
    listed = tech.get(page).get_data(as_text=True)
    assert f'action="{list_url}/export/"' in listed and 'name="format" value="csv"' in listed
    text = _csv(tech.export(f"{list_url}/export/", page, "csv"))
    assert "ส่งออกของเรา" in text and "ส่งออกของเขา" not in text
    assert text.count("ส่งออกของเรา") == 2
    assert "'=cmd" in text and ",=cmd" not in text
    filtered = f"{list_url}/list/?_flt_0_state=suspended"
    assert f'action="{list_url}/export/?_flt_0_state=suspended"' in tech.get(filtered).get_data(as_text=True)
    suspended_only = _csv(tech.export(f"{list_url}/export/?_flt_0_state=suspended", filtered, "csv"))
    assert suspended_only.count("ส่งออกของเรา") == 1
    sheet = load_workbook(io.BytesIO(tech.export(f"{list_url}/export/", page, "xlsx").get_data()),
                          read_only=True).active
    names = [row[0] for row in sheet.iter_rows(values_only=True)]
    assert sum("ส่งออกของเรา" in str(name) for name in names) == 2


def test_centralit_exports_every_command(login, two_commands):
    text = _csv(login("centralit").export("/grantview/export/", "/grantview/list/", "csv"))
    assert "ส่งออกของเรา" in text and "ส่งออกของเขา" in text


def test_every_export_is_in_the_audit_trail_and_the_trail_exports_too(app, login, two_commands):
    login(two_commands["tech"]).export("/commandgrantview/export/", "/commandgrantview/list/", "xlsx")
    from app.extensions import db

    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "export", AuditEvent.object_type == "CommandGrant")
            .order_by(AuditEvent.id.desc())).first()
        assert event is not None and event.unit_id == two_commands["command"]
        assert "xlsx" in event.summary
    trail = _csv(login("auditor").export("/auditeventview/export/?_flt_0_object_type=CommandGrant",
                                         "/auditeventview/list/", "csv"))
    assert "สิทธิ์ในหน่วย" in trail and "ส่งออกรายการ" in trail  # the list exported, and the action in words


@pytest.mark.parametrize("username, url", [
    ("officer", "/grantview/export/?format=csv"),
    ("officer", "/commandgrantview/export/?format=csv"),
    ("officer", "/auditeventview/export/?format=csv"),
    ("personnel", "/commandgrantview/export/?format=csv"),
    ("commandtech", "/auditeventview/export/?format=csv"),
])
def test_roles_without_the_list_cannot_export_it(app, login, username, url):
    from app.extensions import db
    from app.models import JobRun

    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(JobRun))
    browser = login(username)
    response = browser.post(url, data={"csrf_token": browser.csrf_token("/myrecord/")})
    assert response.status_code in (302, 403) and "/exports/run/" not in (response.location or "")
    assert "attachment" not in response.headers.get("Content-Disposition", "")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(JobRun)) == before  # nothing queued


def test_an_unknown_format_is_refused_and_a_get_starts_nothing(login):
    centralit = login("centralit")
    assert centralit.export("/grantview/export/", "/grantview/list/", "pdf").status_code == 404
    assert centralit.get("/grantview/export/?format=csv").status_code == 405
    without_token = centralit.post("/grantview/export/", data={"format": "csv"})
    assert without_token.status_code in (302, 400) and "/exports/run/" not in (without_token.location or "")


def test_an_export_past_the_limit_is_refused_from_a_count_and_the_list_keeps_its_filters(
        app, login, two_commands, monkeypatch):
    from app.views import exporting
    from tests.conftest import counted_statements

    monkeypatch.setattr(exporting, "EXPORT_LIMIT", 1)
    tech = login(two_commands["tech"])
    token = tech.csrf_token("/commandgrantview/list/")
    with counted_statements(app) as statements:
        response = tech.post("/commandgrantview/export/?_flt_0_source=", data={"format": "csv", "csrf_token": token})
    assert response.status_code == 302
    assert "/commandgrantview/list/" in response.location and "_flt_0_source=" in response.location
    # The grants were counted, never read: no statement selected a grant's columns.
    assert not [s for s in statements if "permission_grant.reason" in s]
    listed = tech.get(response.location).get_data(as_text=True)
    assert "More than 1 rows" in listed or "มากกว่า 1 แถว" in listed
    assert _csv(tech.export("/commandgrantview/export/?_flt_0_state=suspended", "/commandgrantview/list/",
                            "csv")).count("ส่งออกของเรา") == 1
