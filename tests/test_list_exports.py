"""CSV and XLSX on every list that answers "who has what": the rows the list shows on all its
pages, its filters, its row scope, formulas neutralised, and each export in the audit trail."""
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

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
    assert f"{list_url}/export/?format=csv" in tech.get(f"{list_url}/list/").get_data(as_text=True)
    text = _csv(tech.get(f"{list_url}/export/?format=csv"))
    assert "ส่งออกของเรา" in text and "ส่งออกของเขา" not in text
    assert text.count("ส่งออกของเรา") == 2
    assert "'=cmd" in text and ",=cmd" not in text
    suspended_only = _csv(tech.get(f"{list_url}/export/?format=csv&_flt_0_state=suspended"))
    assert suspended_only.count("ส่งออกของเรา") == 1
    sheet = load_workbook(io.BytesIO(tech.get(f"{list_url}/export/?format=xlsx").get_data()), read_only=True).active
    names = [row[0] for row in sheet.iter_rows(values_only=True)]
    assert sum("ส่งออกของเรา" in str(name) for name in names) == 2


def test_centralit_exports_every_command(login, two_commands):
    text = _csv(login("centralit").get("/grantview/export/?format=csv"))
    assert "ส่งออกของเรา" in text and "ส่งออกของเขา" in text


def test_every_export_is_in_the_audit_trail_and_the_trail_exports_too(app, login, two_commands):
    login(two_commands["tech"]).get("/commandgrantview/export/?format=xlsx")
    from app.extensions import db

    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "export", AuditEvent.object_type == "CommandGrant")
            .order_by(AuditEvent.id.desc())).first()
        assert event is not None and event.unit_id == two_commands["command"]
        assert "xlsx" in event.summary
    trail = _csv(login("auditor").get("/auditeventview/export/?format=csv&_flt_0_object_type=CommandGrant"))
    assert "สิทธิ์ในหน่วย" in trail and "ส่งออกรายการ" in trail  # the list exported, and the action in words


@pytest.mark.parametrize("username, url", [
    ("officer", "/grantview/export/?format=csv"),
    ("officer", "/commandgrantview/export/?format=csv"),
    ("officer", "/auditeventview/export/?format=csv"),
    ("personnel", "/commandgrantview/export/?format=csv"),
    ("commandtech", "/auditeventview/export/?format=csv"),
])
def test_roles_without_the_list_cannot_export_it(login, username, url):
    response = login(username).get(url)
    assert response.status_code in (302, 403)
    assert "attachment" not in response.headers.get("Content-Disposition", "")


def test_an_unknown_format_is_refused(login):
    assert login("centralit").get("/grantview/export/?format=pdf").status_code == 404


def test_an_export_past_the_limit_is_refused_from_a_count_and_the_list_keeps_its_filters(
        app, login, two_commands, monkeypatch):
    from app.views import exporting
    from tests.conftest import counted_statements

    monkeypatch.setattr(exporting, "EXPORT_LIMIT", 1)
    tech = login(two_commands["tech"])
    with counted_statements(app) as statements:
        response = tech.get("/commandgrantview/export/?format=csv&_flt_0_source=")
    assert response.status_code == 302
    assert "/commandgrantview/list/" in response.location and "_flt_0_source=" in response.location
    # The grants were counted, never read: no statement selected a grant's columns.
    assert not [s for s in statements if "permission_grant.reason" in s]
    listed = tech.get(response.location).get_data(as_text=True)
    assert "More than 1 rows" in listed or "มากกว่า 1 แถว" in listed
    assert _csv(tech.get("/commandgrantview/export/?format=csv&_flt_0_state=suspended")).count("ส่งออกของเรา") == 1
