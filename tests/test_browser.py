"""A real Chromium drives the app as a person would (Debian's chromium via Playwright)."""
import os
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import DEMO_PASSWORD

CHROMIUM = os.environ.get("SITTHI_CHROMIUM", "/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}: apt-get install chromium"),
]


@pytest.fixture(scope="module")
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture()
def page(chromium):
    context = chromium.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def log_in(page, base, username):
    page.goto(f"{base}/login/")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/")


def test_admin_opens_the_officer_list_in_thai_then_english(page, live_server):
    log_in(page, live_server, "admin")
    page.click("text=กำลังพล")
    page.click("a[href='/officerview/list/']")
    page.wait_for_url("**/officerview/list/")
    assert page.locator(".panel-title").first.inner_text().strip() == "ข้าราชการตำรวจ"
    header = page.locator("table th").all_inner_texts()
    assert any("เลขประจำตัวประชาชน" in text for text in header)
    first_id = page.locator("table tbody tr td").nth(1).inner_text()
    assert "xxxxx-xx" in first_id

    # the language menu is the flag in the navbar
    page.click("a.dropdown-toggle:has(i.flag.th)")
    page.click("a[href='/lang/en']")
    page.wait_for_load_state()
    page.goto(f"{live_server}/officerview/list/")
    assert page.locator(".panel-title").first.inner_text().strip() == "Officers"
    header = page.locator("table th").all_inner_texts()
    assert any("National ID" in text for text in header)
    assert page.locator("text=Personnel").first.is_visible()


def test_officer_sees_only_own_menus_in_the_browser(page, live_server):
    log_in(page, live_server, "officer")
    navbar = page.locator(".navbar").first.inner_text()
    assert "คำขอของฉัน" in navbar
    assert "ตั้งค่าระบบ" not in navbar and "กำลังพล" not in navbar
    response = page.goto(f"{live_server}/officerview/list/")
    assert response.status == 403


def test_admin_adds_an_officer_choosing_the_unit_by_typing(page, live_server, app):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Officer
    from tests.factories import new_national_id

    nid = new_national_id()
    log_in(page, live_server, "admin")
    page.goto(f"{live_server}/officerview/add")
    page.fill("#national_id", nid)
    page.fill("#first_name_th", "เบราว์เซอร์")
    page.fill("#last_name_th", "ทดสอบหน่วย")
    page.select_option("#rank", label="ด.ต.")
    page.click("#home_unit + .select2 .select2-selection")
    page.fill(".select2-container--open .select2-search__field", "เมืองขอนแก่น")
    page.click(".select2-results__option:has-text('สภ.เมืองขอนแก่น')")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    with app.app_context():
        officer = db.session.scalar(select(Officer).where(Officer.national_id == nid))
        assert officer is not None
        assert officer.home_unit.abbr_th == "สภ.เมืองขอนแก่น"
        assert officer.first_name_th == "เบราว์เซอร์"
