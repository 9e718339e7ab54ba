"""Small frictions users met every day (issue 12): each is a rule now, with its test."""
import re
from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.formatting import position_at
from app.models import Officer, Unit, User
from tests.conftest import TEST_NOW, new_requester
from tests.factories import make_grant
from tests.test_request_journey import _decide, _new_request, _request_id

TODAY = TEST_NOW.date()


def _officer_of(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Officer.id).join(User, Officer.user_id == User.id)
                                 .where(User.username == username))


def _own_officer(app, login):
    """A new requester (tests.conftest.new_requester), logged in, and their officer record."""
    username = new_requester(app)
    browser = login(username)
    with app.app_context():
        return browser, db.session.get(Officer, _officer_of(app, username))


def test_my_permissions_say_why_one_was_revoked(app, login):
    requester, officer = _own_officer(app, login)
    with app.app_context():
        make_grant(db.session, db.session.merge(officer), "vehicles", state="revoked", reason="ย้ายออกนอกสังกัด",
                   valid_from=TODAY - timedelta(days=100), valid_until=TODAY + timedelta(days=200))
        db.session.commit()
    listing = requester.get("/mygrantview/list/").get_data(as_text=True)
    assert "ย้ายออกนอกสังกัด" in listing


def test_renew_is_offered_only_inside_the_reminder_window(app, login):
    requester, officer = _own_officer(app, login)
    with app.app_context():
        officer = db.session.merge(officer)
        early = make_grant(db.session, officer, "vehicles", valid_from=TODAY, valid_until=TODAY + timedelta(days=365))
        due = make_grant(db.session, officer, "company_registry", valid_from=TODAY - timedelta(days=340),
                         valid_until=TODAY + timedelta(days=20))
        db.session.commit()
        early_id, due_id = early.id, due.id
    listing = requester.get("/mygrantview/list/").get_data(as_text=True)
    assert f"/grants/renew/{due_id}" in listing
    assert f"/grants/renew/{early_id}" not in listing
    token = re.search(r'name="csrf_token" value="([^"]+)"', listing).group(1)
    refused = requester.post(f"/grants/renew/{early_id}", data={"csrf_token": token}, follow_redirects=True)
    assert "ต่ออายุได้ตั้งแต่" in refused.get_data(as_text=True)


def test_a_position_names_its_unit_once(app):
    with app.app_context():
        station = db.session.scalar(select(Unit).where(Unit.code == "KKN-MUEANG"))
        assert position_at("รอง สว.(สืบสวน) สภ.เมืองขอนแก่น", station) == "รอง สว.(สืบสวน) สภ.เมืองขอนแก่น"
        assert position_at("รอง สว.(สืบสวน)", station) == f"รอง สว.(สืบสวน) {station}"
        assert position_at(None, None) == ""


def test_the_home_page_prints_the_unit_once(login):
    page = re.sub(r"\s+", " ", login("officer").get("/").get_data(as_text=True))
    assert "สภ.เมืองขอนแก่น" in page
    assert "สภ.เมืองขอนแก่น &middot; สภ.เมืองขอนแก่น" not in page and "สภ.เมืองขอนแก่น สภ.เมืองขอนแก่น" not in page


def test_an_approver_reads_the_documents_before_the_decision_buttons(app, login, requester):
    pk = _request_id(_new_request(requester, app))
    head = login("head")
    page = head.get(f"/requests/show/{pk}").get_data(as_text=True)
    assert page.index('id="request-attachments"') < page.index('id="decision-panel"')
    assert _decide(head, pk, "approve").status_code == 302
    central = login("centralit").get(f"/requests/show/{pk}").get_data(as_text=True)
    assert central.index('id="request-attachments"') < central.index('id="decision-panel"')


def test_command_tech_sees_the_system_functions_the_assign_form_offers(login):
    tech = login("commandtech")
    listing = tech.get("/systemfunctionview/list/").get_data(as_text=True)
    offered = tech.get("/assignfunction/").get_data(as_text=True)
    codes = re.findall(r"/systemfunctionview/show/(\d+)", listing)
    assert len(codes) >= 5
    assert "crimes" in listing.lower() or len(codes) >= 5
    assert 'id="assignable-functions"' in offered


def test_a_refused_submit_shows_every_reason_at_its_field_and_saves_no_draft(app, login):
    from sqlalchemy import func

    from app.models import AccessRequest

    requester, officer = _own_officer(app, login)
    with app.app_context():
        before = db.session.scalar(select(func.count(AccessRequest.id)))
    url = "/requests/new/external_search"
    response = requester.post(url, data={
        "csrf_token": requester.csrf_token(url), "contact_email": "me@police.example", "contact_mobile": "",
        "duty_performed": "สืบสวน", "submit_request": "1"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)

    def error_at(field_marker: str) -> str:
        block = page[page.index(field_marker):]
        found = re.search(r'class="help-block sitthi-error">([^<]+)<', block)
        return found.group(1) if found else ""

    assert "คำรับรอง" in error_at('class="form-group sitthi-pledge')                        # the pledge
    assert "กรุณาเลือกแหล่งข้อมูล" in error_at("<legend>")  # no data source chosen, at the sources
    assert error_at('id="certifying_head"') == "กรุณาระบุหัวหน้าหน่วยผู้รับรองคำขอนี้"          # the head
    assert error_at('name="contact_mobile"') == "จำเป็นต้องกรอกข้อมูลนี้"                  # the mobile
    assert "สืบสวน</textarea>" in page  # what was typed is kept
    with app.app_context():
        assert db.session.scalar(select(func.count(AccessRequest.id))) == before  # no draft behind it


def test_the_home_page_lists_what_waits_for_me_and_nothing_that_does_not(app, login):
    requester, officer = _own_officer(app, login)
    home = requester.get("/").get_data(as_text=True)
    assert 'id="home-own-work"' not in home  # nothing waits: nothing is listed
    with app.app_context():
        from tests.factories import make_request

        officer = db.session.merge(officer)
        make_request(db.session, officer, state="draft", number=None)
        make_request(db.session, officer, state="returned")
        make_grant(db.session, officer, "vehicles", valid_from=TODAY - timedelta(days=350),
                   valid_until=TODAY + timedelta(days=10))
        make_grant(db.session, officer, "company_registry", valid_from=TODAY, valid_until=TODAY + timedelta(days=300))
        db.session.commit()
    home = requester.get("/").get_data(as_text=True)
    own = home[home.index('id="home-own-work"'):home.index("</div>", home.index('id="home-own-work"'))]
    counts = dict(re.findall(r'id="home-(my_\w+)">[^<]*<span class="badge">(\d+)</span>', own))
    assert counts == {"my_drafts": "1", "my_returned": "1", "my_expiring": "1"}
    assert "/myrequestview/list/?_flt_0_state=returned" in own
    listing = requester.get("/myrequestview/list/?_flt_0_state=returned").get_data(as_text=True)
    assert len(set(re.findall(r"/(?:myrequestview|requests)/show/(\d+)", listing))) == 1  # the one returned
