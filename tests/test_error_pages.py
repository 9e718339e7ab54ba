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


def test_an_expired_form_says_so_and_leads_back(login):
    officer = login("officer")
    form_page = "http://localhost/requests/new/external_search"
    response = officer.client.post("/requests/new/external_search", data={"csrf_token": "expired",
                                                                          "contact_email": "me@police.example"},
                                   headers={"Referer": form_page})
    assert response.status_code == 400
    assert "แบบฟอร์มหมดอายุ" in _message(response)
    assert f'href="{form_page}"' in response.get_data(as_text=True)
    assert "CSRF" not in response.get_data(as_text=True)


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
