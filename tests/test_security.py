"""Security behaviour every screen shares: CSRF, escaping, masking, caching, lookups, login."""


import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Officer, User
from tests.conftest import DEMO_PASSWORD, Browser, build_app, prepare_database
from tests.factories import make_officer, make_unit


@pytest.fixture()
def victim(app):
    """An officer of a station under ภ.จว.ขอนแก่น, the command of `personnel` and `commandtech`."""
    from app.models import Unit

    with app.app_context():
        unit = make_unit(db.session, parent=db.session.scalar(select(Unit).where(Unit.code == "KKN")))
        officer = make_officer(db.session, unit)
        db.session.commit()
        return officer.id, officer.national_id


def test_post_without_csrf_token_changes_nothing(app, login, victim):
    officer_id, _ = victim
    admin = login("admin")
    response = admin.post(f"/officerview/delete/{officer_id}", data={})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(Officer, officer_id) is not None


def test_get_delete_is_refused(app, login, victim):
    officer_id, _ = victim
    admin = login("admin")
    admin.get(f"/officerview/delete/{officer_id}")
    with app.app_context():
        assert db.session.get(Officer, officer_id) is not None


def test_delete_with_token_works_for_admin(app, login, victim):
    officer_id, _ = victim
    admin = login("admin")
    token = admin.csrf_token("/officerview/list/")
    admin.post(f"/officerview/delete/{officer_id}", data={"csrf_token": token})
    with app.app_context():
        assert db.session.get(Officer, officer_id) is None


def test_national_id_masked_in_lists_whole_on_detail(app, login, victim):
    officer_id, nid = victim
    admin = login("admin")
    with app.app_context():
        first_name = db.session.get(Officer, officer_id).first_name_th
    listing = admin.get(f"/officerview/list/?_flt_0_first_name_th={first_name}").get_data(as_text=True)
    masked = f"{nid[0]}-{nid[1:5]}-xxxxx-xx-{nid[12]}"
    assert masked in listing
    assert nid not in listing
    detail = admin.get(f"/officerview/show/{officer_id}").get_data(as_text=True)
    assert f"{nid[0]}-{nid[1:5]}-{nid[5:10]}-{nid[10:12]}-{nid[12]}" in detail


def test_html_typed_into_a_field_is_shown_as_text(app, login):
    admin = login("admin")
    with app.app_context():
        unit = make_unit(db.session)
        officer = make_officer(db.session, unit, first_name_th="<script>alert(1)</script>")
        db.session.commit()
        officer_id = officer.id
    html = admin.get(f"/officerview/show/{officer_id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_pages_are_never_cached(browser, login):
    assert "no-store" in browser.get("/login/").headers["Cache-Control"]
    admin = login("admin")
    response = admin.get("/officerview/list/")
    assert "no-store" in response.headers["Cache-Control"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_lookup_needs_the_read_permission(login):
    officer = login("officer")
    assert officer.get("/lookup/officer?q=ส").status_code == 403
    assert officer.get("/lookup/unit?q=สภ").status_code == 403
    assert officer.get("/lookup/nothing?q=x").status_code == 404


def test_lookup_finds_by_name_and_whole_national_id_twenty_at_most(app, login, victim):
    officer_id, nid = victim
    personnel = login("personnel")
    found = personnel.get("/lookup/officer?q=สม").get_json()["results"]
    assert 0 < len(found) <= 20
    by_id = personnel.get(f"/lookup/officer?q={nid}").get_json()["results"]
    assert [row["id"] for row in by_id] == [officer_id]
    assert personnel.get(f"/lookup/officer?q={nid[:12]}").get_json()["results"] == []
    units = personnel.get("/lookup/unit?q=ขอนแก่น").get_json()["results"]
    assert any("ขอนแก่น" in row["text"] for row in units)


def test_lookup_by_a_number_no_row_can_have_finds_nothing(login):
    """Past an INTEGER id PostgreSQL refused the comparison (a 500); "²" is a digit to Python only."""
    admin = login("admin")
    assert admin.get("/lookup/grant", query_string={"q": "99999999999999"}).get_json() == {"results": []}
    assert admin.get("/lookup/grant", query_string={"q": "²"}).status_code == 200  # not an id: no filter


def test_lookup_requires_login(browser):
    assert browser.get("/lookup/officer?q=a").status_code in (302, 401)


def test_wrong_password_is_refused(browser):
    response = browser.login("admin", "wrong-password")
    assert response.status_code == 302
    assert "/login/" in response.headers["Location"]
    assert browser.get("/officerview/list/").status_code == 302


def test_login_does_not_redirect_to_another_site(browser):
    token = browser.csrf_token("/login/")
    response = browser.post(
        "/login/?next=https://evil.example/steal",
        data={"username": "admin", "password": DEMO_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]


def test_disabled_user_loses_a_live_session(app, login):
    auditor = login("auditor")
    assert auditor.get("/auditeventview/list/").status_code == 200
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "auditor"))
        user.active = False
        db.session.commit()
    try:
        assert auditor.get("/auditeventview/list/").status_code in (302, 403)
    finally:
        with app.app_context():
            user = db.session.scalar(select(User).where(User.username == "auditor"))
            user.active = True
            db.session.commit()


def test_login_is_rate_limited(databases):
    limited = build_app(databases.new_url("ratelimit"), RATELIMIT_ENABLED=True,
                        AUTH_RATE_LIMIT="3 per 60 second")
    prepare_database(limited, seed=False)
    client = Browser(limited.test_client())
    statuses = [client.login("nobody", "wrong").status_code for _ in range(5)]
    assert 429 in statuses
    with limited.app_context():
        db.session.remove()
        db.engine.dispose()


def test_users_list_is_admin_only(login):
    for username in ("officer", "commandtech", "centralit", "personnel", "auditor"):
        assert login(username).get("/users/list/").status_code == 403


def test_every_user_can_reach_own_profile_and_password(login):
    for username in ("officer", "auditor"):
        user = login(username)
        assert user.get("/users/userinfo/").status_code == 200
        assert user.get("/resetmypassword/form").status_code == 200


def test_weak_password_is_refused(login):
    officer = login("officer")
    response = officer.submit("/resetmypassword/form", {"password": "short", "conf_password": "short"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "รหัสผ่าน" in html
    # the old password still works
    fresh = Browser(officer.client.application.test_client())
    assert fresh.login("officer").status_code == 302


def test_officer_found_by_national_id_typed_with_dashes(app, login, victim):
    officer_id, nid = victim
    personnel = login("personnel")
    dashed = f"{nid[0]}-{nid[1:5]}-{nid[5:10]}-{nid[10:12]}-{nid[12]}"
    exact = personnel.get(f"/officerview/list/?_flt_0_national_id={dashed}").get_data(as_text=True)
    assert f"/officerview/show/{officer_id}" in exact
    assert exact.count("/officerview/show/") == 1
    # Never a prefix (MISSION §9): nine digits find no one.
    for value in (nid[:9], nid[:12], "abc"):
        response = personnel.get(f"/officerview/list/?_flt_0_national_id={value}")
        assert response.status_code == 200
        assert "/officerview/show/" not in response.get_data(as_text=True)
    # The old "starts with" (filter 1) is gone: a bookmark of it is refused by the input guard,
    # with a message, and finds no one.
    old_bookmark = personnel.get(f"/officerview/list/?_flt_1_national_id={nid[:9]}")
    assert old_bookmark.status_code == 400
    assert "/officerview/show/" not in old_bookmark.get_data(as_text=True)


def test_pickers_offer_only_what_the_user_may_see(app, login, victim):
    """The AJAX officer search follows the row scope: another command's staff never see the name."""
    _officer_id, nid = victim
    inside = login("personnel").get(f"/lookup/officer?q={nid}").get_json()["results"]
    assert len(inside) == 1
    outside = login("commandtech2").get(f"/lookup/officer?q={nid}").get_json()["results"]
    assert outside == []
    nationwide = login("centralit").get(f"/lookup/officer?q={nid}").get_json()["results"]
    assert len(nationwide) == 1
