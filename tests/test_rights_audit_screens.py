"""The rights audit screen: who may open which command's audit, the filter, CSV/XLSX/PDF
(scoped, neutralised, audited) and revoking a flagged grant from it."""
import io
import re
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from app.models import AuditEvent, Grant
from app.services.memo import recompose_sara_am
from tests.conftest import DEMO_PASSWORD, age_shared_figures
from tests.factories import make_grant, make_login, make_officer, make_unit

TODAY = date(2026, 12, 2)


@pytest.fixture()
def audit_world(app):
    """Two commands of their own, each with a technology-staff login; in the first a retired
    officer whose position would be a spreadsheet formula, and a clean officer; in the second one more."""
    from app.extensions import db

    with app.app_context():
        session = db.session
        command = make_unit(session, kind="division", admin_scope=True)
        station = make_unit(session, parent=command)
        other_command = make_unit(session, kind="division", admin_scope=True)
        other_station = make_unit(session, parent=other_command)
        tech = make_login(session, make_officer(session, command), role="CommandTech", password=DEMO_PASSWORD)
        other_tech = make_login(session, make_officer(session, other_command), role="CommandTech",
                                password=DEMO_PASSWORD)
        retired = make_officer(session, station, status="retired", position_title='=HYPERLINK("x")')
        flagged = make_grant(session, retired, command_id=command.id, valid_from=TODAY - timedelta(days=10))
        clean = make_officer(session, station, first_name_th="สมชายคลีน")
        make_grant(session, clean, command_id=command.id, valid_from=TODAY - timedelta(days=10))
        neighbour = make_officer(session, other_station, first_name_th="เพื่อนบ้านอีกกองบังคับการ")
        neighbour_grant = make_grant(session, neighbour, command_id=other_command.id)
        session.commit()
        return {"command": command.id, "command_name": command.name_th, "other": other_command.id,
                "tech": tech.username, "other_tech": other_tech.username, "flagged": flagged.id,
                "neighbour_grant": neighbour_grant.id}


def test_a_command_tech_audits_their_own_command_only(login, audit_world):
    tech = login(audit_world["tech"])
    page = tech.get("/rightsaudit/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert audit_world["command_name"] in html
    assert f'data-grant="{audit_world["flagged"]}"' in html and 'data-flag="retired"' in html
    assert "สมชายคลีน" in html and "เพื่อนบ้านอีกกองบังคับการ" not in html
    assert tech.get(f"/rightsaudit/?command={audit_world['other']}").status_code == 403
    assert tech.export(f"/rightsaudit/export/?command={audit_world['other']}", "/rightsaudit/", "csv").status_code == 403
    assert tech.export(f"/rightsaudit/report/?command={audit_world['other']}", "/rightsaudit/").status_code == 403

    other = login(audit_world["other_tech"]).get("/rightsaudit/").get_data(as_text=True)
    assert "เพื่อนบ้านอีกกองบังคับการ" in other and "สมชายคลีน" not in other


def test_the_filter_shows_only_officers_with_that_flag(login, audit_world):
    html = login(audit_world["tech"]).get("/rightsaudit/?flag=retired").get_data(as_text=True)
    assert f'data-grant="{audit_world["flagged"]}"' in html and "สมชายคลีน" not in html


@pytest.mark.parametrize("username", ["officer", "head", "personnel"])
def test_roles_without_the_audit_are_refused(login, audit_world, username):
    user = login(username)
    for url in ("/rightsaudit/", f"/rightsaudit/?command={audit_world['command']}"):
        response = user.get(url)
        assert response.status_code in (302, 403), url
        assert audit_world["command_name"] not in response.get_data(as_text=True)
    for url in (f"/rightsaudit/export/?command={audit_world['command']}&format=csv",
                f"/rightsaudit/report/?command={audit_world['command']}"):
        response = user.post(url, data={"csrf_token": user.csrf_token("/myrecord/")})
        assert response.status_code in (302, 403) and "/exports/run/" not in (response.location or ""), url


@pytest.mark.parametrize("username", ["centralit", "auditor"])
def test_nationwide_readers_choose_any_command_but_do_not_revoke(app, login, audit_world, username):
    user = login(username)
    assert 'id="choose-command"' in user.get("/rightsaudit/").get_data(as_text=True)
    html = user.get(f"/rightsaudit/?command={audit_world['command']}").get_data(as_text=True)
    assert f'data-grant="{audit_world["flagged"]}"' in html
    assert 'id="revoke-selected"' not in html
    response = user.post(f"/rightsaudit/revoke/?command={audit_world['command']}",
                         data={"grant": str(audit_world["flagged"]), "reason": "x",
                               "csrf_token": user.csrf_token(f"/rightsaudit/?command={audit_world['command']}")})
    assert response.status_code in (302, 403)
    assert _state(app, audit_world["flagged"]) == "active"


@pytest.mark.parametrize("query", ["command=99999999999", "command=abc", "flag=bogus", "command=1%00"])
def test_bad_addresses_are_refused_not_a_500(login, audit_world, query):
    assert login("centralit").get(f"/rightsaudit/?{query}").status_code in (400, 404)


def test_the_csv_and_xlsx_hold_the_command_only_neutralised_and_audited(app, login, audit_world):
    tech = login(audit_world["tech"])
    csv_response = tech.export("/rightsaudit/export/", "/rightsaudit/", "csv")
    assert csv_response.status_code == 200
    text = csv_response.get_data().decode("utf-8-sig")
    assert "สมชายคลีน" in text and "เพื่อนบ้านอีกกองบังคับการ" not in text
    assert "'=HYPERLINK" in text and ',=HYPERLINK' not in text
    xlsx = tech.export("/rightsaudit/export/?flag=retired", "/rightsaudit/", "xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.get_data()), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][2] == "'=HYPERLINK(\"x\")"
    from app.extensions import db

    with app.app_context():
        exported = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "export", AuditEvent.object_type == "RightsAudit",
            AuditEvent.unit_id == audit_world["command"])).all()
        assert len(exported) >= 2


def test_the_printed_report_is_a_thai_pdf_of_the_command(login, audit_world):
    response = login(audit_world["tech"]).export("/rightsaudit/report/", "/rightsaudit/")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline;")
    text = recompose_sara_am("".join(page.extract_text() for page in PdfReader(io.BytesIO(response.get_data())).pages))
    assert audit_world["command_name"] in text
    assert "สมชายคลีน" in text and "เพื่อนบ้านอีกกองบังคับการ" not in text
    assert "รายงาน" in text


def test_a_report_too_long_to_print_is_refused_and_one_finding_still_prints(app, login, audit_world, monkeypatch):
    """A large command's whole audit held a web worker for minutes laying out a PDF. The shared
    listing refuses it at once; without one, the run refuses it, and its page says why."""
    from app.views import rights_audit as screen

    monkeypatch.setattr(screen, "REPORT_ROW_LIMIT", 1)
    tech = login(audit_world["tech"])
    failed = tech.export("/rightsaudit/report/", "/rightsaudit/")
    assert failed.status_code == 200 and failed.mimetype == "text/html"
    page = failed.get_data(as_text=True)
    assert 'id="export-error"' in page and "มากเกินกว่าจะพิมพ์ได้" in page and 'id="export-download"' not in page
    one_finding = tech.export("/rightsaudit/report/?flag=retired", "/rightsaudit/")
    assert one_finding.status_code == 200 and one_finding.mimetype == "application/pdf"
    app.config["RIGHTS_AUDIT_CACHE_SECONDS"] = 60
    try:
        monkeypatch.setattr(screen, "REPORT_ROW_LIMIT", 0)
        refused = tech.export("/rightsaudit/report/?flag=retired", "/rightsaudit/")
        assert refused.status_code == 302 and "flag=retired" in refused.location
        assert "มากเกินกว่าจะพิมพ์ได้" in tech.get(refused.location).get_data(as_text=True)
    finally:
        app.config["RIGHTS_AUDIT_CACHE_SECONDS"] = 0


def test_a_command_tech_revokes_a_flagged_grant_with_a_reason(app, login, audit_world):
    tech = login(audit_world["tech"])
    token = tech.csrf_token("/rightsaudit/")
    tech.post("/rightsaudit/revoke/", data={"grant": str(audit_world["flagged"]), "reason": "",
                                            "csrf_token": token})
    assert _state(app, audit_world["flagged"]) == "active", "no reason, no revocation"
    # Another command's grant in the same post is refused by the grant service.
    response = tech.post("/rightsaudit/revoke/", data={
        "grant": [str(audit_world["flagged"]), str(audit_world["neighbour_grant"])],
        "reason": "เกษียณอายุราชการแล้ว", "csrf_token": token}, follow_redirects=True)
    assert response.status_code == 200
    assert _state(app, audit_world["flagged"]) == "revoked"
    assert _state(app, audit_world["neighbour_grant"]) == "active"


def _state(app, grant_id: int) -> str:
    from app.extensions import db

    with app.app_context():
        return db.session.get(Grant, grant_id).state


def test_the_screen_pages_the_command_by_officer(app, login, audit_world):
    """26 more officers of the command: the first page holds 25 users, the second the rest, no
    grant on both; the counts on both are the whole command's; a page past the end lists nobody."""
    from app.extensions import db
    from app.models import Unit

    with app.app_context():
        station = db.session.scalar(select(Unit).where(Unit.parent_id == audit_world["command"]))
        for number in range(26):
            officer = make_officer(db.session, station, first_name_th=f"หน้าสอง{number:02d}")
            make_grant(db.session, officer, command_id=audit_world["command"], valid_from=TODAY - timedelta(days=10))
        db.session.commit()

    tech = login(audit_world["tech"])
    first = tech.get("/rightsaudit/").get_data(as_text=True)
    second = tech.get("/rightsaudit/?page=2").get_data(as_text=True)
    listed = [html.count("data-officer=") for html in (first, second)]
    assert listed == [25, 4]  # 29 users: 28 holders of one grant, and the login of the technology staff
    shown = [set(re.findall(r'data-grant="(\d+)"', html)) for html in (first, second)]
    assert all(shown) and not shown[0] & shown[1], "no grant on both pages"
    for html in (first, second):
        assert '<td id="count-officers">29</td>' in html and '<td id="count-grants">28</td>' in html
    assert 'href="/rightsaudit/?command=' in first and "page=2" in first
    past = tech.get("/rightsaudit/?page=99")
    assert past.status_code == 200 and "data-officer=" not in past.get_data(as_text=True)


def test_the_screen_finds_an_officer_of_the_command_only(login, audit_world):
    tech = login(audit_world["tech"])
    found = tech.get("/rightsaudit/?q=สมชายคลีน").get_data(as_text=True)
    assert "สมชายคลีน" in found and found.count("data-officer=") == 1
    assert 'id="count-listed"' in found and 'value="สมชายคลีน"' in found
    elsewhere = tech.get("/rightsaudit/?q=เพื่อนบ้านอีกกองบังคับการ").get_data(as_text=True)
    assert "data-officer=" not in elsewhere and "เพื่อนบ้านอีกกองบังคับการ" not in elsewhere.split('id="audit-table"')[1]
    assert tech.get("/rightsaudit/?q=" + "ก" * 100_001).status_code == 400
    assert tech.get("/rightsaudit/?q=%00").status_code == 400
    csv = tech.export("/rightsaudit/export/?q=สมชายคลีน", "/rightsaudit/", "csv").get_data().decode("utf-8-sig")
    assert "สมชายคลีน" in csv and "HYPERLINK" not in csv


def test_the_command_s_readers_share_one_listing_for_a_while(app, login, audit_world):
    """Judging every grant of a command costs a third of a second at national scale, so its readers
    share the list and counts for RIGHTS_AUDIT_CACHE_SECONDS. What they act on is never stale:
    each page's officers are judged as they are now, a revocation from the page starts a new
    listing at once, and a search, the exports and the report are worked out when asked."""
    from app.extensions import db

    def flagged_count(page: str) -> int:
        return int(re.search(r'id="count-flagged">([\d,]+)<', page).group(1).replace(",", ""))

    app.config["RIGHTS_AUDIT_CACHE_SECONDS"] = 60
    try:
        tech = login(audit_world["tech"])
        first = tech.get("/rightsaudit/").get_data(as_text=True)
        before = flagged_count(first)
        assert 'id="counted-at"' in first and before >= 1

        with app.app_context():  # a second retired holder, written behind the screen's back
            retired_holder = db.session.get(Grant, audit_world["flagged"]).officer
            late = make_officer(db.session, retired_holder.home_unit, status="retired", first_name_th="เกษียณภายหลัง")
            make_grant(db.session, late, command_id=audit_world["command"], valid_from=TODAY - timedelta(days=5))
            db.session.commit()
        shared = login("auditor").get(f"/rightsaudit/?command={audit_world['command']}").get_data(as_text=True)
        assert flagged_count(shared) == before, "another reader of the command gets the same figures"
        assert flagged_count(tech.get("/rightsaudit/").get_data(as_text=True)) == before
        searched = tech.get("/rightsaudit/?q=เกษียณภายหลัง").get_data(as_text=True)
        assert "เกษียณภายหลัง" in searched and 'id="counted-at"' not in searched and flagged_count(searched) == before + 1
        exported = tech.export("/rightsaudit/export/", "/rightsaudit/", "csv").get_data().decode("utf-8-sig")
        assert "เกษียณภายหลัง" in exported

        token = tech.csrf_token("/rightsaudit/")
        tech.post("/rightsaudit/revoke/", data={"grant": str(audit_world["flagged"]), "reason": "เกษียณอายุราชการ",
                                                "csrf_token": token})
        after = tech.get("/rightsaudit/").get_data(as_text=True)
        assert flagged_count(after) == before and "เกษียณภายหลัง" in after, "a new listing at once, with today's facts"
        assert f'data-grant="{audit_world["flagged"]}"' not in after
    finally:
        app.config["RIGHTS_AUDIT_CACHE_SECONDS"] = 0


def test_the_audit_table_escapes_what_people_typed_and_offers_revoking_only_flagged_grants(app, login):
    from app.extensions import db

    with app.app_context():
        session = db.session
        command = make_unit(session, kind="division", admin_scope=True)
        station = make_unit(session, parent=command)
        tech = make_login(session, make_officer(session, command), role="CommandTech", password=DEMO_PASSWORD)
        retired = make_officer(session, station, status="retired", first_name_th='<img src=x onerror="alert(1)">',
                               position_title="หัวหน้า & <b>ผู้ช่วย</b>")
        flagged = make_grant(session, retired, command_id=command.id, valid_from=TODAY - timedelta(days=10))
        clean = make_grant(session, make_officer(session, station), command_id=command.id,
                           valid_from=TODAY - timedelta(days=10))
        session.commit()
        username, flagged_id, clean_id = tech.username, flagged.id, clean.id
    html = login(username).get("/rightsaudit/").get_data(as_text=True)
    assert '<img src=x onerror="alert(1)">' not in html and "<b>ผู้ช่วย</b>" not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    assert "หัวหน้า &amp; &lt;b&gt;ผู้ช่วย&lt;/b&gt;" in html
    rows = dict(re.findall(r'<tr data-officer="\d+" data-grant="(\d+)" class="[a-z]*">(.*?)</tr>', html, re.S))
    assert {str(flagged_id), str(clean_id)} <= set(rows)
    assert 'data-flag="retired"' in rows[str(flagged_id)] and 'data-flag="retired"' not in rows[str(clean_id)]
    for grant_id, cells in rows.items():  # a box to revoke exactly where a flag is
        assert (f'name="grant" value="{grant_id}"' in cells) == ("sitthi-flag" in cells)


def test_the_keep_warm_job_has_a_read_listing_ready_with_todays_facts(app, login, audit_world):
    """A command's listing its staff read is worked out again by the keep-warm job half way to
    stale (app.shared_figures.keep_warm, as `flask sitthi renew-shared-figures` runs it): the next
    reader finds a holder retired meanwhile without waiting for a new listing."""
    from app.extensions import cache, db
    from app.shared_figures import READ_FIGURES_KEY, keep_warm
    from app.views.rights_audit import shared_listing

    def flagged_count(page: str) -> int:
        return int(re.search(r'id="count-flagged">([\d,]+)<', page).group(1).replace(",", ""))

    app.config["RIGHTS_AUDIT_CACHE_SECONDS"] = 60
    try:
        with app.app_context():
            cache.clear()
        tech = login(audit_world["tech"])
        before = flagged_count(tech.get("/rightsaudit/").get_data(as_text=True))
        with app.app_context():
            retired_holder = db.session.get(Grant, audit_world["flagged"]).officer
            late = make_officer(db.session, retired_holder.home_unit, status="retired", first_name_th="เกษียณก่อนรอบ")
            make_grant(db.session, late, command_id=audit_world["command"], valid_from=TODAY - timedelta(days=5))
            db.session.commit()
            assert set(name for name, _arguments in cache.get(READ_FIGURES_KEY)) == {"rights-audit"}
        with app.test_request_context():
            key = shared_listing(audit_world["command"], None)[0]
            age_shared_figures(key, app.config["SHARED_FIGURES_STALE_SECONDS"] // 2 + 1)
            assert keep_warm(24).renewed == 1
        assert flagged_count(tech.get("/rightsaudit/").get_data(as_text=True)) == before + 1
    finally:
        app.config["RIGHTS_AUDIT_CACHE_SECONDS"] = 0
        with app.app_context():
            cache.clear()


def test_a_nationwide_reader_exports_the_command_they_chose(login, audit_world):
    page = f"/rightsaudit/?command={audit_world['command']}"
    exported = login("auditor").export(f"/rightsaudit/export/?command={audit_world['command']}", page, "csv")
    text = exported.get_data().decode("utf-8-sig")
    assert exported.status_code == 200 and "สมชายคลีน" in text and "เพื่อนบ้านอีกกองบังคับการ" not in text
    assert login("auditor").export("/rightsaudit/export/?command=99999999999", page, "csv").status_code == 404
