"""Errors are pages of the app, in the reader's language, with a way back (issue 12): 403, 400
(an expired or forged form), 404, 405 and 500, never werkzeug's bare English pages."""
import re

from app.extensions import db


def _message(response) -> str:
    found = re.search(r'id="input-refused">(.*?)</div>', response.get_data(as_text=True), re.S)
    return found.group(1).strip() if found else ""


def test_a_page_of_another_role_is_refused_in_thai_then_english(login):
    officer = login("officer")
    refused = officer.get("/auditeventview/list/")
    assert refused.status_code == 403
    assert "บทบาทอื่น" in _message(refused)
    assert 'class="navbar' in refused.get_data(as_text=True)  # the app's layout, menus and all
    officer.get("/lang/en")
    refused = officer.get("/auditeventview/list/")
    assert refused.status_code == 403 and "belongs to another role" in _message(refused)


def test_an_expired_form_goes_back_to_itself_to_be_filled_again(app, login):
    """Sent from its own page, an expired form returns there (?restore=1: sitthi-keep.js puts back
    what was typed, the browser test proves it); nothing is saved on the way."""
    from sqlalchemy import func, select

    from app.models import AccessRequest

    officer = login("officer")
    with app.app_context():
        before = db.session.scalar(select(func.count(AccessRequest.id)))
    form_page = "http://localhost/requests/new/external_search?from=menu"
    response = officer.client.post("/requests/new/external_search?from=menu", data={
        "csrf_token": "expired", "contact_email": "me@police.example", "save_draft": "1"},
        headers={"Referer": form_page})
    assert response.status_code == 302
    assert response.headers["Location"] == "/requests/new/external_search?from=menu&restore=1"
    page = officer.get(response.headers["Location"]).get_data(as_text=True)
    assert "แบบฟอร์มยังไม่ได้ส่ง" in page and "sitthi-keep.js" in page
    with app.app_context():
        assert db.session.scalar(select(func.count(AccessRequest.id))) == before


def test_a_form_sent_after_the_session_went_idle_leads_to_login_and_back_to_it(app, login):
    """The token is still good but the session is not: log in first, then the same form again."""
    from datetime import timedelta
    from urllib.parse import parse_qs, urlsplit

    from sqlalchemy import func, select

    from app.models import AccessRequest
    from app.security import sessions
    from tests.conftest import DEMO_PASSWORD, new_requester

    username = new_requester(app)
    officer = login(username)
    url = "/requests/new/temporary_assignment"
    token = officer.csrf_token(url)
    with app.app_context():
        before = db.session.scalar(select(func.count(AccessRequest.id)))
    with app.test_request_context(), officer.client.session_transaction() as cookie:
        cookie[sessions.SEEN_AT] = (sessions.now() - timedelta(minutes=31)).isoformat()
    response = officer.client.post(url, data={"csrf_token": token, "duty_performed": "ช่วยราชการ",
                                              "save_draft": "1"}, headers={"Referer": f"http://localhost{url}"})
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login/"
    assert parse_qs(location.query)["next"][0] == f"{url}?restore=1"
    with app.app_context():
        assert db.session.scalar(select(func.count(AccessRequest.id))) == before
    login_url = response.headers["Location"]
    again = officer.client.post(login_url, data={"username": username, "password": DEMO_PASSWORD,
                                                 "csrf_token": officer.csrf_token(login_url)})
    assert again.status_code == 302 and again.headers["Location"].endswith(f"{url}?restore=1")


def test_an_expired_form_posted_elsewhere_returns_to_the_page_it_was_on(login):
    """The decision form of a request page posts to /requests/decide/N: back to the request page."""
    officer = login("officer")
    page = "http://localhost/myrequestview/list/?_flt_0_state=draft"
    response = officer.client.post("/requests/decide/1", data={"csrf_token": "expired", "comment": "x"},
                                   headers={"Referer": page})
    assert response.status_code == 302
    assert response.headers["Location"] == "/myrequestview/list/?_flt_0_state=draft&restore=1"


def test_an_expired_form_with_no_page_to_return_to_says_so(login):
    officer = login("officer")
    for referrer in ({}, {"Referer": "https://elsewhere.example/form"}):
        response = officer.client.post("/requests/new/external_search", data={
            "csrf_token": "expired", "contact_email": "me@police.example"}, headers=referrer)
        assert response.status_code == 400
        assert "แบบฟอร์มหมดอายุ" in _message(response)
        assert "CSRF" not in response.get_data(as_text=True)
        assert "elsewhere.example" not in response.get_data(as_text=True)


def test_a_missing_page_and_a_wrong_method_are_told_in_thai(login):
    officer = login("officer")
    missing = officer.get("/no-such-page/")
    assert missing.status_code == 404 and _message(missing)
    wrong = officer.client.delete("/requests/new")
    assert wrong.status_code == 405 and _message(wrong)
    assert "Method Not Allowed" not in wrong.get_data(as_text=True)


def test_a_failure_on_our_side_apologises_in_thai_and_keeps_nothing(databases):
    from tests.conftest import Browser, build_app, prepare_database

    app = build_app(databases.new_url("errors"), TESTING=False, PROPAGATE_EXCEPTIONS=False)

    @app.route("/boom")
    def boom():
        from app.models import Holiday

        db.session.add(Holiday(day=__import__("datetime").date(2031, 1, 2), name_th="ครึ่งทาง"))
        db.session.flush()
        raise RuntimeError("secret detail: SELECT * FROM officer")

    prepare_database(app, seed=False)
    response = Browser(app.test_client()).get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "ไม่มีการบันทึก" in _message(response)
    assert "secret detail" not in body and "Traceback" not in body and "SELECT" not in body
    with app.app_context():
        from sqlalchemy import select

        from app.models import Holiday

        assert db.session.scalar(select(Holiday).where(Holiday.name_th == "ครึ่งทาง")) is None
        db.session.remove()
        db.engine.dispose()


def test_a_decision_sent_after_the_session_went_idle_returns_to_the_request_page(app, login):
    """A head's decision posts to /requests/decide/N, which takes only POST: after the login the
    head lands on the request page (to decide again), not on a 405."""
    from datetime import timedelta
    from urllib.parse import parse_qs, urlsplit

    from app.security import sessions

    head = login("head")
    page = "/requests/show/1"
    token = head.csrf_token("/tocertifyview/list/")
    with app.test_request_context(), head.client.session_transaction() as cookie:
        cookie[sessions.SEEN_AT] = (sessions.now() - timedelta(minutes=31)).isoformat()
    response = head.client.post("/requests/decide/1", data={"csrf_token": token, "transition": "approve",
                                                            "comment": "รับรอง"},
                                headers={"Referer": f"http://localhost{page}"})
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login/" and parse_qs(location.query)["next"] == [f"{page}?restore=1"]
