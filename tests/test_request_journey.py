"""The whole approval chain through the screens, as the demo users would click it."""
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.models import (
    AccessRequest,
    Attachment,
    DataSource,
    Decision,
    Grant,
    Notification,
    Officer,
    RankGroup,
    User,
)
from tests.conftest import TEST_TODAY
from tests.factories import JPEG, PDF, decide


def _ids(app):
    from app.extensions import db

    with app.app_context():
        source = {s.code: s.id for s in db.session.scalars(select(DataSource))}
        group = {g.number: g.id for g in db.session.scalars(select(RankGroup))}
        head = db.session.scalar(select(Officer).join(User, Officer.user_id == User.id)
                                 .where(User.username == "head"))
        return source, group, head.id


def _new_request(officer, app, **extra):
    from io import BytesIO

    source, group, head_id = _ids(app)
    data = {
        "contact_email": "natthawut@police.example",
        "contact_mobile": "081-234-5678",
        "duty_performed": "สืบสวนคดียาเสพติด <b>ตัวหนา</b>",
        "source": [str(source["civil_registration"]), str(source["company_registry"])],
        f"rank_group_{source['civil_registration']}": str(group[1]),
        "certifying_head": str(head_id),
        "pledge_accepted": "y",
        "upload_memo": (BytesIO(PDF), "บันทึก.pdf"),
        "upload_id_card_copy": (BytesIO(JPEG), "บัตร.jpg"),
        "submit_request": "1",
    }
    data.update(extra)
    url = "/requests/new/external_search"
    data["csrf_token"] = officer.csrf_token(url)
    return officer.client.post(url, data=data, content_type="multipart/form-data")


def _request_id(response) -> int:
    match = re.search(r"/requests/(?:show|edit)/(\d+)", response.headers.get("Location", ""))
    assert match, response.headers
    return int(match.group(1))


def _decide(user, pk, transition, **fields):
    """Decide on the request page as its user would: a head ticks the attestation, CentralIT
    chooses "approve" for every item the test does not decide otherwise."""
    page = user.get(f"/requests/show/{pk}").get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    data = {"transition": transition, "version": version, "comment": ""}
    if transition == "approve":
        if 'id="attest"' in page:
            data["attest"] = "y"
        data.update({f"item_{i}": "approve" for i in re.findall(r'<select name="item_(\d+)"', page)})
    data.update(fields)
    return user.client.post(
        f"/requests/decide/{pk}", data={**data, "csrf_token": user.csrf_token(f"/requests/show/{pk}")})


def test_officer_to_active_grant(app, login, requester):
    from app.extensions import db

    officer = requester
    response = _new_request(officer, app)
    assert response.status_code == 302
    pk = _request_id(response)

    with app.app_context():
        req = db.session.get(AccessRequest, pk)
        assert req.state == "submitted" and req.current_stage.actor == "certifying_head"
        assert req.number and req.due_on
        items = {i.data_source.code: i for i in req.items}
        assert items["civil_registration"].above_own_rank is True
        names = sorted(a.filename for a in db.session.scalars(select(Attachment).where(Attachment.request_id == pk)))
        assert len(names) == 2 and all("/" not in n and ".." not in n for n in names)
        head_mail = db.session.scalar(select(Notification).where(
            Notification.request_id == pk, Notification.recipient_email.isnot(None)).limit(1))
        assert head_mail is not None

    page = officer.get(f"/requests/show/{pk}").get_data(as_text=True)
    assert "&lt;b&gt;ตัวหนา&lt;/b&gt;" in page  # shown as text, never as markup

    # Found in the inbox by its number: the suite's other requests may fill the inbox's first page.
    with app.app_context():
        number = db.session.get(AccessRequest, pk).number
    head = login("head")
    inbox = head.get(f"/tocertifyview/list/?_flt_0_number={number}").get_data(as_text=True)
    assert f"/requests/show/{pk}" in inbox
    assert _decide(head, pk, "approve").status_code == 302

    centralit = login("centralit")
    assert f"/requests/show/{pk}" in centralit.get(f"/toverifyview/list/?_flt_0_number={number}").get_data(as_text=True)
    with app.app_context():
        company = next(i.id for i in db.session.get(AccessRequest, pk).items
                       if i.data_source.code == "company_registry")
        civil = next(i.id for i in db.session.get(AccessRequest, pk).items
                     if i.data_source.code == "civil_registration")
    response = _decide(centralit, pk, "approve", **{f"item_{civil}": "approve", f"item_{company}": "reject",
                                                   f"item_comment_{company}": "ไม่เกี่ยวกับงาน",
                                                   # group 1 is above the officer's own rank: a warning
                                                   "comment": "ผู้บังคับบัญชารับรองความจำเป็นแล้ว"})
    assert response.status_code == 302

    with app.app_context():
        req = db.session.get(AccessRequest, pk)
        assert req.state == "completed" and req.current_stage.actor == "agency"
        grant = db.session.scalar(select(Grant).where(Grant.request_id == pk))
        assert grant.state == "pending_activation" and grant.data_source.code == "civil_registration"
        item_version = db.session.get(type(req.items[0]), civil).version

    waiting = centralit.get("/awaitingactivationview/list/").get_data(as_text=True)
    assert f"/requests/show/{pk}" in waiting
    response = centralit.client.post(f"/requests/activate/{civil}", data={
        "outcome": "activated", "agency_reference": "DOPA-2569-777", "version": str(item_version),
        "request_id": str(pk), "csrf_token": centralit.csrf_token(f"/requests/show/{pk}")})
    assert response.status_code == 302

    with app.app_context():
        grant = db.session.scalar(select(Grant).where(Grant.request_id == pk))
        assert grant.state == "active" and grant.agency_reference == "DOPA-2569-777"
        transitions = [d.transition for d in db.session.scalars(
            select(Decision).where(Decision.request_id == pk).order_by(Decision.id))]
        assert transitions == ["submit", "approve", "approve", "approve_item", "reject_item", "activate"]

    page = officer.get(f"/requests/show/{pk}").get_data(as_text=True)
    assert "DOPA-2569-777" in page
    grants = officer.get("/mygrantview/list/").get_data(as_text=True)
    assert "ทะเบียนราษฎร" in grants


@pytest.mark.parametrize("username", ["the requester", "commandtech", "centralit", "auditor", "admin"])
def test_only_the_named_head_certifies_through_the_screen(app, login, username, requester):
    from app.extensions import db

    pk = _request_id(_new_request(requester, app))
    other = requester if username == "the requester" else login(username)
    response = other.client.post(f"/requests/decide/{pk}", data={
        "transition": "approve", "csrf_token": other.csrf_token("/requests/new/external_search")})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(AccessRequest, pk).current_stage.actor == "certifying_head"
        assert db.session.scalar(select(Decision.id).where(
            Decision.request_id == pk, Decision.transition == "approve")) is None
    message = other.get(f"/requests/show/{pk}").get_data(as_text=True)
    assert "sitthi-state" in message  # these roles may read the request, but not certify it


def test_a_user_outside_the_request_gets_404_everywhere(app, login, requester):
    pk = _request_id(_new_request(requester, app))
    personnel = login("commandtech2")  # another command's technology staff
    token = personnel.csrf_token("/requests/new/external_search")
    assert personnel.get(f"/requests/show/{pk}").status_code == 404
    assert personnel.get(f"/requests/memo/{pk}").status_code == 404
    assert personnel.get(f"/requests/edit/{pk}").status_code == 404
    for url in (f"/requests/decide/{pk}", f"/requests/cancel/{pk}", f"/requests/submit/{pk}"):
        personnel.client.post(url, data={"transition": "approve", "csrf_token": token})
    from app.extensions import db

    with app.app_context():
        assert db.session.get(AccessRequest, pk).state == "submitted"


def _version(user, pk) -> str:
    page = user.get(f"/requests/show/{pk}").get_data(as_text=True)
    return re.search(r'name="version" value="(\d+)"', page).group(1)


def test_a_stale_page_changes_nothing_and_says_why(app, login, requester):
    from app.extensions import db

    pk = _request_id(_new_request(requester, app))
    head = login("head")
    head.get("/lang/en")
    stale = _version(head, pk)
    assert _decide(head, pk, "approve").status_code == 302  # another tab already certified
    token = head.csrf_token(f"/requests/show/{pk}")
    response = head.client.post(f"/requests/decide/{pk}", data={
        "transition": "return", "comment": "late", "version": stale, "csrf_token": token},
        follow_redirects=True)
    assert "Someone changed this request after you opened it" in response.get_data(as_text=True)
    with app.app_context():
        req = db.session.get(AccessRequest, pk)
        assert req.state == "submitted" and req.current_stage.actor == "central_it"


def test_head_certifies_in_bulk_and_returns_with_a_comment(app, login, requester):
    from app.extensions import db

    source, _group, _head = _ids(app)
    # Three rights, since one officer cannot ask twice for the same one.
    first, second, third = (_request_id(_new_request(requester, app, source=[str(source[code])]))
                            for code in ("vehicles", "aliens", "prisoners"))
    head = login("head")
    inbox = "/tocertifyview/list/"
    token = head.csrf_token(inbox)
    without_attestation = head.client.post("/tocertifyview/action_post", data={
        "action": "approve_selected", "rowid": [str(first)], "csrf_token": token}, follow_redirects=True)
    assert "ยืนยันการรับรอง" in without_attestation.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(AccessRequest, first).current_stage.actor == "certifying_head"
    head.client.post("/tocertifyview/action_post", data={
        "action": "approve_selected", "rowid": [str(first), str(second)], "csrf_token": token,
        "attest": "y"})
    refused = head.client.post("/tocertifyview/action_post", data={
        "action": "return_selected", "rowid": [str(third)], "csrf_token": token, "comment": ""},
        follow_redirects=True)
    assert refused.status_code == 200
    head.client.post("/tocertifyview/action_post", data={
        "action": "return_selected", "rowid": [str(third)], "csrf_token": token,
        "comment": "แนบบันทึกที่ลงนามแล้ว"})
    with app.app_context():
        states = {pk: (r.state, r.current_stage.actor) for pk in (first, second, third)
                  for r in [db.session.get(AccessRequest, pk)]}
        assert states[first] == states[second] == ("submitted", "central_it")
        assert states[third] == ("returned", "certifying_head")
        comment = db.session.scalar(select(Decision.comment).where(
            Decision.request_id == third, Decision.transition == "return"))
        assert comment == "แนบบันทึกที่ลงนามแล้ว"


def test_a_bulk_action_cannot_reach_a_request_outside_the_inbox(app, login, requester):
    """FAB loads action rows without the list's filters: the service must refuse them."""
    from app.extensions import db

    pk = _request_id(_new_request(requester, app))
    centralit = login("centralit")  # may read every request, but it waits for the head
    token = centralit.csrf_token("/requests/new/external_search")
    centralit.client.post("/toverifyview/action_post", data={
        "action": "approve_selected", "rowid": [str(pk)], "csrf_token": token})
    commandtech = login("commandtech")
    token = commandtech.csrf_token("/requests/new/external_search")
    commandtech.client.post("/accountrequestview/action_post", data={
        "action": "approve_selected", "rowid": [str(pk)], "csrf_token": token})
    with app.app_context():
        req = db.session.get(AccessRequest, pk)
        assert req.current_stage.actor == "certifying_head"
        assert db.session.scalar(select(Decision.id).where(
            Decision.request_id == pk, Decision.transition == "approve")) is None


def test_inboxes_hold_only_what_waits_for_that_user(app, login, requester):
    from app.extensions import db

    pk = _request_id(_new_request(requester, app))
    link = f"/requests/show/{pk}"
    with app.app_context():
        number = db.session.get(AccessRequest, pk).number
    # Looked up by its number: the whole run's requests share these inboxes, more than a page.
    to_certify = f"/tocertifyview/list/?_flt_0_number={number}"
    to_verify = f"/toverifyview/list/?_flt_0_number={number}"
    assert link in login("head").get(to_certify).get_data(as_text=True)
    assert link not in login("auditor").get(to_certify).get_data(as_text=True)
    assert link not in login("centralit").get(to_verify).get_data(as_text=True)
    _decide(login("head"), pk, "approve")
    assert link in login("centralit").get(to_verify).get_data(as_text=True)
    assert link not in login("head").get(to_certify).get_data(as_text=True)
    account_inbox = login("commandtech").get("/accountrequestview/list/").get_data(as_text=True)
    with app.app_context():
        from app.security.scope import command_of

        kkn = db.session.scalar(select(Officer.home_unit_id).join(User, Officer.user_id == User.id)
                                .where(User.username == "commandtech"))
        shown_ids = [int(pk) for pk in re.findall(r"/requests/show/(\d+)", account_inbox)]
        assert shown_ids, "the demo's account request of head's station waits for commandtech"
        for shown in shown_ids:
            req = db.session.get(AccessRequest, shown)
            assert req.current_stage.actor == "command_tech"
            unit = req.target_unit_id if req.kind == "temporary_assignment" else req.unit_id
            assert command_of(db.session, unit) == command_of(db.session, kkn)


def test_head_search_stays_in_the_command_unless_asked_nationwide(app, login):
    officer = login("officer")
    near = officer.get("/requests/heads?q=ประยุทธ").get_json()["results"]
    assert any("ประยุทธ" in row["text"] for row in near)
    # ธงชัย (a ผกก. of the Inspector General's office) works in Bangkok: found only nationwide.
    assert officer.get("/requests/heads?q=ธงชัย").get_json()["results"] == []
    far = officer.get("/requests/heads?q=ธงชัย&nationwide=1").get_json()["results"]
    assert any("ธงชัย" in row["text"] for row in far)
    # วรรณา (CentralIT) holds an inspector's position, not a unit head's: never offered.
    assert officer.get("/requests/heads?q=วรรณา&nationwide=1").get_json()["results"] == []
    assert login("officer").get("/requests/heads?q=ณัฐวุฒิ").get_json()["results"] == []  # never oneself


@pytest.mark.parametrize("url", ["/requests/new", "/requests/new/external_search", "/requests/show/1",
                                 "/requests/memo/1", "/requests/heads", "/dashboard/",
                                 "/tocertifyview/list/", "/toverifyview/list/"])
def test_anonymous_users_are_sent_to_log_in(app, url):
    response = app.test_client().get(url)
    assert response.status_code == 302 and "/login/" in response.headers["Location"]


def test_an_officer_without_centralit_role_cannot_open_central_inboxes(login):
    officer = login("officer")
    for url in ("/toverifyview/list/", "/awaitingactivationview/list/", "/accountrequestview/list/"):
        assert officer.get(url).status_code == 403


def test_a_returned_request_is_fixed_and_sent_back_to_the_same_stage(app, login, requester):
    from app.extensions import db

    officer = requester
    pk = _request_id(_new_request(officer, app))
    _decide(login("head"), pk, "approve")
    _decide(login("centralit"), pk, "return", comment="ขอสำเนาบัตรที่ชัดเจน")
    page = officer.get(f"/requests/edit/{pk}")
    assert page.status_code == 200
    assert "ขอสำเนาบัตรที่ชัดเจน" in page.get_data(as_text=True)  # what to fix, on the form
    _source, _group, head_id = _ids(app)
    url = f"/requests/edit/{pk}"
    response = officer.client.post(url, data={
        "csrf_token": officer.csrf_token(url), "version": _version(officer, pk),
        "contact_email": "natthawut@police.example", "contact_mobile": "0812345678",
        "duty_performed": "สืบสวน (แก้ไขแล้ว)", "source": [str(_source["vehicles"])],
        "certifying_head": str(head_id), "pledge_accepted": "y", "submit_request": "1"},
        content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context():
        req = db.session.get(AccessRequest, pk)
        assert req.state == "submitted" and req.current_stage.actor == "central_it"
        assert [i.data_source.code for i in req.items] == ["vehicles"]


def test_the_home_page_counts_what_waits_for_each_user(app, login, requester):
    officer = requester
    head = login("head")

    def waiting(user, name):
        html = user.get("/").get_data(as_text=True)
        match = re.search(rf'id="home-{name}"[^>]*>[^<]*<span class="badge">(\d+)</span>', html)
        return int(match.group(1)) if match else None

    before = waiting(head, "to_certify")
    _new_request(officer, app)
    assert waiting(head, "to_certify") == before + 1
    assert waiting(officer, "to_verify") is None  # an inbox the officer does not have
    assert waiting(login("centralit"), "to_verify") is not None


def test_a_central_it_officers_own_request_is_not_in_their_inbox(app, db_session):

    from app.security.scope import actor_for
    from app.services import access_requests as service
    from app.services.clock import Clock
    from app.services.inboxes import waiting_for

    users = {u.username: u for u in db_session.scalars(select(User))}
    central, head = actor_for(db_session, users["centralit"]), actor_for(db_session, users["head"])
    from app.models import SystemFunction

    case_search = db_session.scalar(select(SystemFunction.id).where(SystemFunction.code == "crimes_case_search"))
    clock = Clock.on(date(2026, 11, 23))
    own = service.save_draft(db_session, central, service.RequestData(
        kind="additional_functions", contact_email="c@police.example", contact_mobile="0812345678",
        duty_performed="ตรวจสอบ", pledge_accepted=True, certifying_head_id=head.officer_id,
        function_ids=(case_search,)), clock)
    service.submit(db_session, central, own.id, clock)
    decide(db_session, head, own.id, "approve", clock)
    assert own.current_stage.actor == "central_it"
    mine = db_session.scalars(select(AccessRequest.id).where(waiting_for(db_session, central))).all()
    assert own.id not in mine
    from dataclasses import replace

    other_central = replace(central, user_id=users["admin"].id, officer_id=None)
    assert own.id in db_session.scalars(select(AccessRequest.id).where(waiting_for(db_session, other_central))).all()


def test_request_actions_refuse_a_post_without_the_csrf_token(app, login, requester):
    from app.extensions import db

    pk = _request_id(_new_request(requester, app))
    head = login("head")
    response = head.client.post(f"/requests/decide/{pk}", data={"transition": "approve"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(AccessRequest, pk).current_stage.actor == "certifying_head"


def test_the_memo_prints_as_a_thai_pdf_for_whoever_may_read_the_request(app, login, requester):
    from io import BytesIO

    from pypdf import PdfReader

    from app.services.memo import recompose_sara_am

    officer = requester
    pk = _request_id(_new_request(officer, app))
    response = officer.get(f"/requests/memo/{pk}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = recompose_sara_am("".join(p.extract_text() for p in PdfReader(BytesIO(response.data)).pages))
    with app.app_context():
        from app.extensions import db

        first_name = db.session.get(AccessRequest, pk).requester.first_name_th
    assert "บันทึกข้อความ" in text and first_name in text
    assert login("head").get(f"/requests/memo/{pk}").status_code == 200


def test_an_officer_asks_for_a_temporary_assignment_choosing_the_unit(app, login):
    from app.extensions import db
    from app.models import Unit

    officer = login("officer")
    assert officer.get("/lookup/unit?q=ขอนแก่น").status_code == 403  # the unit screens are not theirs
    found = officer.get("/requests/units?q=บก.น.1").get_json()["results"]
    assert found, "the desk's own unit search answers every officer"
    target = found[0]["id"]
    _source, _group, head_id = _ids(app)
    url = "/requests/new/temporary_assignment"
    response = officer.client.post(url, data={
        "csrf_token": officer.csrf_token(url), "contact_email": "natthawut@police.example",
        "contact_mobile": "0812345678", "duty_performed": "ช่วยราชการงานสืบสวน",
        "target_unit": str(target), "assignment_until": (TEST_TODAY + timedelta(days=120)).isoformat(),
        "certifying_head": str(head_id), "pledge_accepted": "y", "submit_request": "1"})
    assert response.status_code == 302
    pk = _request_id(response)
    with app.app_context():
        req = db.session.get(AccessRequest, pk)
        assert req.state == "submitted" and req.target_unit_id == target
        assert db.session.get(Unit, target).abbr_th == "บก.น.1"


def _field_errors(page: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for field, message in re.findall(r'class="help-block sitthi-field-error" data-field="([^"]+)">([^<]+)<', page):
        found.setdefault(field, []).append(message)
    return found


def test_a_refused_certification_keeps_the_comment_and_says_why_at_the_box(app, login, requester):
    from app.models import Decision

    pk = _request_id(_new_request(requester, app))
    head = login("head")
    response = _decide(head, pk, "approve", comment="รับรองว่าสืบสวนจริง", attest="")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert list(_field_errors(page)) == ["attest"] and "ยืนยันการรับรอง" in _field_errors(page)["attest"][0]
    assert "รับรองว่าสืบสวนจริง</textarea>" in page and 'id="decision-refused"' in page
    from app.extensions import db

    with app.app_context():
        assert db.session.scalar(select(func.count(Decision.id)).where(
            Decision.request_id == pk, Decision.transition == "approve")) == 0
    response = _decide(head, pk, "return", comment="")
    assert response.status_code == 400 and list(_field_errors(response.get_data(as_text=True))) == ["comment"]


def test_central_it_sees_every_item_problem_at_once(app, login, requester):
    from app.extensions import db

    pk = _request_id(_new_request(requester, app))
    assert _decide(login("head"), pk, "approve").status_code == 302
    with app.app_context():
        first, second = sorted(i.id for i in db.session.get(AccessRequest, pk).items)
        version = db.session.get(AccessRequest, pk).version
    centralit = login("centralit")
    response = centralit.client.post(f"/requests/decide/{pk}", data={
        "transition": "approve", "version": str(version), "comment": "ตรวจแล้ว", f"item_{second}": "reject",
        "csrf_token": centralit.csrf_token(f"/requests/show/{pk}")})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert set(_field_errors(page)) == {f"item_{first}", f"item_comment_{second}"}, _field_errors(page)
    assert re.search(r'<option value="reject" selected>', page)  # the choice made is kept
    assert "ตรวจแล้ว</textarea>" in page
    with app.app_context():
        assert {i.state for i in db.session.get(AccessRequest, pk).items} == {"pending"}
