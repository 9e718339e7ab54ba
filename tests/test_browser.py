"""A real Chromium drives the app as a person would (Debian's chromium via Playwright)."""
import os
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import DEMO_PASSWORD, new_requester
from tests.factories import JPEG, PDF

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
    """The browser; every page it opens is watched for Content-Security-Policy refusals, and a
    journey that met one fails (a script the policy blocks is a broken button for the user)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        opened = browser.new_context

        def watched_context(*args, **kwargs):
            context = opened(*args, **kwargs)
            context.on("console", lambda message: CSP_REFUSALS.append(message.text)
                       if "Content Security Policy" in message.text else None)
            return context

        browser.new_context = watched_context
        yield browser
        browser.close()


CSP_REFUSALS: list[str] = []


@pytest.fixture(autouse=True)
def no_csp_refusals():
    CSP_REFUSALS.clear()
    yield
    assert not CSP_REFUSALS, CSP_REFUSALS


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


def _fixture_files(tmp_path):
    pdf = tmp_path / "บันทึกข้อความ.pdf"
    pdf.write_bytes(PDF)
    jpeg = tmp_path / "บัตรข้าราชการ.jpg"
    jpeg.write_bytes(JPEG)
    return pdf, jpeg


def _name_the_head_attach_and_pledge(page, pdf, jpeg):
    """The rest of a request form: the certifying head typed into the picker, both documents, the pledge."""
    page.click("#certifying_head + .select2 .select2-selection")
    page.fill(".select2-container--open .select2-search__field", "ประยุทธ")
    page.click(".select2-results__option:has-text('ประยุทธ')")
    page.set_input_files("#upload_memo", str(pdf))
    page.set_input_files("#upload_id_card_copy", str(jpeg))
    page.check("#pledge_accepted")


def test_the_approval_chain_from_request_to_active_grant(chromium, live_server, app, tmp_path):
    """officer asks → head certifies → centralit decides per item → agency activation → grant."""
    pdf, jpeg = _fixture_files(tmp_path)

    def session_for(username):
        context = chromium.new_context(viewport={"width": 1300, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(15000)
        log_in(page, live_server, username)
        return context, page

    # A new officer of the head's station fills the request: civil registration one group above
    # own rank + company registry.
    officer = new_requester(app)
    context, page = session_for(officer)
    page.click("text=คำขอของฉัน")
    page.click("a[href='/requests/new']")
    page.click("#kind-external_search")
    page.wait_for_url("**/requests/new/external_search")
    page.fill("#duty_performed", "สืบสวนหาข่าวคดียาเสพติด")
    page.check("#source-civil_registration")
    page.select_option("#rank-group-civil_registration", index=0)  # group 1: above ร.ต.อ.
    first_group = page.locator("#rank-group-civil_registration option").first
    assert first_group.get_attribute("data-number") == "1"
    assert page.locator("#rank-group-civil_registration").input_value() == first_group.get_attribute("value")
    page.check("#source-company_registry")
    assert page.locator("#source-firearms").is_disabled()
    _name_the_head_attach_and_pledge(page, pdf, jpeg)
    page.click("#submit-request")
    page.wait_for_url("**/requests/show/*")
    request_url = page.url
    assert page.locator("#request-state").get_attribute("class").count("sitthi-state") == 1
    assert page.locator("#request-attachments li").count() == 2
    context.close()

    # The head certifies from the "to certify" inbox.
    context, page = session_for("head")
    page.goto(f"{live_server}/tocertifyview/list/")
    page.click(f"a[href='{request_url.replace(live_server, '')}']")
    page.wait_for_url(request_url)
    page.fill("#comment", "รับรองว่าปฏิบัติหน้าที่สืบสวนจริง")
    page.click("#btn-approve")  # without the attestation: refused at its box, nothing changes or is lost
    page.wait_for_selector("#decision-refused")
    assert page.locator("#attestation .sitthi-field-error").is_visible()
    assert page.locator("#comment").input_value() == "รับรองว่าปฏิบัติหน้าที่สืบสวนจริง"
    assert "ศทก." not in page.locator("#request-stage").inner_text()
    page.check("#attest")
    page.click("#btn-approve")
    page.wait_for_url("**/requests/show/*")
    assert "ศทก." in page.locator("#request-stage").inner_text()
    context.close()

    # Central IT approves civil registration, rejects the company registry, records activation.
    context, page = session_for("centralit")
    page.goto(f"{live_server}/toverifyview/list/")
    page.click(f"a[href='{request_url.replace(live_server, '')}']")
    page.wait_for_url(request_url)
    assert page.locator("#eligibility .sitthi-check-warn").count() >= 1  # above own rank
    rows = page.locator("#request-items tbody tr, #request-items tr[id^=item-]")
    civil = page.locator("tr[id^=item-]:has-text('ทะเบียนราษฎร') select")
    assert civil.input_value() == ""  # nothing is preset: every item is a choice
    civil.select_option("approve")
    page.locator("tr[id^=item-]:has-text('ทะเบียนราษฎร') input[type=text]").fill("ผู้บังคับบัญชารับรองความจำเป็น")
    company = page.locator("tr[id^=item-]:has-text('จดทะเบียนบริษัท') select")
    company.select_option("reject")
    page.locator("tr[id^=item-]:has-text('จดทะเบียนบริษัท') input[type=text]").fill("ไม่เกี่ยวกับงานสืบสวน")
    assert rows.count() >= 2
    page.click("#btn-approve")
    page.wait_for_url("**/requests/show/*")
    page.goto(f"{live_server}/awaitingactivationview/list/")
    page.click(f"a[href='{request_url.replace(live_server, '')}']")
    page.wait_for_url(request_url)
    page.locator(".sitthi-activation input[name=agency_reference]").fill("มท 0309.1/12345")
    page.locator(".sitthi-activation button[value=activated]").click()
    page.wait_for_url("**/requests/show/*")
    context.close()

    # The officer sees the active grant and the whole timeline.
    context, page = session_for(officer)
    page.goto(f"{live_server}/mygrantview/list/")
    row = page.locator("table tbody tr:has-text('ทะเบียนราษฎร')").first
    with app.test_request_context():
        from flask_babel import gettext

        assert gettext("Active") in row.inner_text()
    page.goto(request_url)
    timeline = page.locator("#timeline").inner_text()
    with app.test_request_context():
        from flask_babel import gettext

        steps = [gettext(text) for text in (
            "Sent", "Certified by the unit head", "Approved by the Central IT Center",
            "Item rejected", "Activated by the data-owner agency")]
    steps += ["มท 0309.1/12345", "ไม่เกี่ยวกับงานสืบสวน", "รับรองว่าปฏิบัติหน้าที่สืบสวนจริง"]
    for step in steps:
        assert step in timeline, step
    assert steps[0] != "Sent"  # the page speaks Thai
    context.close()


def test_command_tech_assigns_a_function_then_revokes_it_with_a_reason(chromium, live_server, app):
    """commandtech assigns a function to a KKN officer, sees it listed, revokes it; the officer sees it revoked."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Grant, Officer, SystemFunction, User

    def session_for(username):
        context = chromium.new_context(viewport={"width": 1300, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(15000)
        log_in(page, live_server, username)
        return context, page

    context, page = session_for("commandtech")
    page.goto(f"{live_server}/commandgrantview/list/")
    page.click("#assign-function")
    page.wait_for_url("**/assignfunction/")
    page.click("#officer + .select2 .select2-selection")
    page.fill(".select2-container--open .select2-search__field", "ณัฐวุฒิ")
    page.click(".select2-results__option:has-text('ณัฐวุฒิ')")
    page.select_option("#function", label="ค้นหาคดีอาญา")
    page.click("#assign-submit")
    page.wait_for_url("**/commandgrantview/list/")
    with app.app_context():
        officer_id = db.session.scalar(select(Officer.id).join(User, Officer.user_id == User.id)
                                       .where(User.username == "officer"))
        grant_id = db.session.scalar(
            select(Grant.id).join(SystemFunction, Grant.function_id == SystemFunction.id)
            .where(Grant.officer_id == officer_id, SystemFunction.code == "crimes_case_search",
                   Grant.state == "active"))
    assert grant_id is not None
    row = page.locator(f"table tbody tr:has(input.action_check[value='{grant_id}'])")
    assert "ณัฐวุฒิ" in row.inner_text() and "ค้นหาคดีอาญา" in row.inner_text()

    row.locator("input.action_check").check()
    page.fill("#sitthi-bulk-reason", "ย้ายไปปฏิบัติหน้าที่สายงานอำนวยการ")
    page.click("button.dropdown-toggle:has(.caret) >> nth=-1")
    page.click("a.revoke_selected_menu_item")
    page.click("#modal-confirm-ok")
    page.wait_for_load_state()
    page.wait_for_selector(".alert-success")
    with app.app_context():
        db.session.expire_all()
        grant = db.session.get(Grant, grant_id)
        assert grant.state == "revoked"
        assert grant.reason == "ย้ายไปปฏิบัติหน้าที่สายงานอำนวยการ"
    context.close()

    # The officer has a login: their own permissions list shows it revoked.
    context, page = session_for("officer")
    page.goto(f"{live_server}/mygrantview/list/?psize_MyGrantView=100")
    rows = page.locator("table tbody tr:has-text('ค้นหาคดีอาญา')")
    with app.test_request_context():
        from flask_babel import force_locale, gettext

        with force_locale("th"):
            revoked = gettext("Revoked")
    assert any(revoked in text for text in rows.all_inner_texts())
    context.close()


def _text_widths(page) -> dict:
    """The rendered widths of a Thai and a Latin sample, in the login page's own font."""
    return page.evaluate("""async () => {
        await document.fonts.ready;
        const width = (text) => {
            const span = document.createElement('span');
            span.textContent = text;
            span.style.fontSize = '32px';
            document.body.appendChild(span);
            const w = span.getBoundingClientRect().width;
            span.remove();
            return w;
        };
        return {thai: width('สิทธิ์การเข้าถึงข้อมูลทะเบียนราษฎร'), thaiAgain: width('ภูธรจังหวัดขอนแก่นเมือง'),
                latin: width('Permission desk'),
                loaded: document.fonts.check('32px Sarabun', 'สิทธิ์'),
                lang: document.documentElement.lang};
    }""")


def test_thai_shows_in_the_served_font_on_a_pc_without_one(chromium, live_server):
    """This machine has no Thai font (fc-list :lang=th is empty), like many office PCs: the page
    must bring its own. Without the served font Thai falls back to empty boxes, all one width."""
    served = chromium.new_context(viewport={"width": 1300, "height": 900})
    page = served.new_page()
    page.goto(f"{live_server}/login/")
    with_font = _text_widths(page)
    page.screenshot(path=os.path.join(os.environ.get("SITTHI_SCREENSHOTS", "/tmp"), "login-with-font.png"))
    served.close()

    bare = chromium.new_context(viewport={"width": 1300, "height": 900})
    page = bare.new_page()
    page.route("**/static/fonts/**", lambda route: route.abort())
    page.goto(f"{live_server}/login/")
    without_font = _text_widths(page)
    bare.close()

    assert with_font["lang"] == "th"
    assert with_font["loaded"] and not without_font["loaded"]
    # Two Thai samples of different letters are different widths only when real glyphs are drawn.
    assert abs(with_font["thai"] - without_font["thai"]) > 5, (with_font, without_font)
    print(f"Thai sample width with the served font {with_font['thai']:.0f}px, without {without_font['thai']:.0f}px")


def test_an_action_with_no_row_ticked_is_told_in_thai(page, live_server):
    log_in(page, live_server, "commandtech")
    page.goto(f"{live_server}/commandgrantview/list/")
    page.click("button.dropdown-toggle:has-text('การดำเนินการ')")
    page.click("a.suspend_selected_menu_item")
    alert = page.locator("#modal-alert .modal-text")
    alert.wait_for(state="visible")
    assert alert.inner_text().startswith("ยังไม่ได้เลือกรายการ")
    assert page.locator("#modal-alert button").inner_text() == "ตกลง"


@pytest.mark.parametrize("language", ["th", "en"])
def test_admins_menu_bar_stays_on_one_line_at_1366_pixels(app, chromium, live_server, language):
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Notification
    from app.services import notifications

    with app.app_context():  # the widest bell: "99+" unread
        admin_id = db.session.scalar(select(app.appbuilder.sm.user_model.id)
                                     .where(app.appbuilder.sm.user_model.username == "admin"))
        unread = notifications.unread_count(db.session, admin_id)
        for number in range(max(0, 100 - unread)):
            notifications.queue(db.session, recipient_email="admin@police.example", recipient_user_id=admin_id,
                                subject=f"[Sitthi] {number}", body="-")
        db.session.commit()
        assert db.session.scalar(select(func.count(Notification.id))
                                 .where(Notification.recipient_user_id == admin_id)) >= 100
    context = chromium.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    log_in(page, live_server, "admin")
    if language == "en":
        page.goto(f"{live_server}/lang/en")
        page.goto(f"{live_server}/")
    tops = page.evaluate("[...document.querySelectorAll('.navbar-nav > li')]"
                         ".map(e => Math.round(e.getBoundingClientRect().top))")
    assert page.locator("#sitthi-unread").inner_text() == "99+"
    context.close()
    assert len(tops) >= 8 and len(set(tops)) == 1, tops


def test_the_assign_form_greys_out_what_the_chosen_officer_cannot_receive(app, page, live_server):
    from datetime import timedelta

    from playwright.sync_api import expect
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Grant, SystemFunction, Unit
    from tests.conftest import TEST_NOW
    from tests.factories import make_officer

    with app.app_context():
        station = db.session.scalar(select(Unit).where(Unit.code == "KKN-MUEANG"))
        officer = make_officer(db.session, station)
        account = db.session.scalar(select(SystemFunction).where(SystemFunction.code == "crimes_account"))
        db.session.add(Grant(officer=officer, function=account, state="active", valid_from=TEST_NOW.date(),
                             valid_until=TEST_NOW.date() + timedelta(days=100)))
        db.session.commit()
        officer_id, account_id = officer.id, account.id
    log_in(page, live_server, "commandtech")
    page.goto(f"{live_server}/assignfunction/")
    page.evaluate("""(id) => { const s = document.querySelector('select[name=officer]');
        s.add(new Option('officer', id, true, true)); $(s).trigger('change'); }""", str(officer_id))
    option = page.locator(f"select[name=function] option[value='{account_id}']")
    # a locator assertion, not wait_for_function: the page's CSP forbids the eval that needs
    expect(option).to_be_disabled()
    assert "อยู่แล้ว" in option.inner_text()


def test_a_date_is_picked_from_a_buddhist_era_calendar_and_saved(app, page, live_server):
    from datetime import date

    from playwright.sync_api import expect
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Holiday

    log_in(page, live_server, "admin")
    page.goto(f"{live_server}/holidayview/add")
    field = page.locator("input[name=day]")
    field.click()
    calendar = page.locator(".sitthi-cal")
    expect(calendar).to_be_visible()
    expect(calendar.locator("th").first).to_have_text("อา")
    field.fill("01/03/2693")  # typing a whole date moves the calendar to it
    expect(calendar.locator(".sitthi-cal-year option:checked")).to_have_text("2693")
    expect(calendar.locator(".sitthi-cal-month option:checked")).to_have_text("มีนาคม")
    calendar.locator(".sitthi-cal-day", has_text="17").click()
    expect(calendar).to_have_count(0)
    expect(field).to_have_value("17/03/2693")
    page.fill("input[name=name_th]", "วันเลือกจากปฏิทิน")
    page.click("form button[type=submit], form input[type=submit]")
    page.wait_for_load_state()
    with app.app_context():
        assert db.session.scalar(select(Holiday.day).where(Holiday.name_th == "วันเลือกจากปฏิทิน")) == date(2150, 3, 17)


def test_a_form_sent_after_the_session_ended_comes_back_filled_after_logging_in(chromium, live_server, app,
                                                                                  tmp_path):
    """The session ends while the officer fills a request (here: its cookies are gone). Sending is
    refused, the login page comes, and after it the same form with what was typed and chosen."""
    from playwright.sync_api import expect

    pdf, jpeg = _fixture_files(tmp_path)
    officer = new_requester(app)
    context = chromium.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15000)
    log_in(page, live_server, officer)
    page.goto(f"{live_server}/requests/new/external_search")
    page.fill("#duty_performed", "สืบสวนคดีที่กรอกไว้ก่อนหมดเวลา")
    page.check("#source-civil_registration")
    page.select_option("#rank-group-civil_registration", index=0)
    chosen_group = page.locator("#rank-group-civil_registration").input_value()
    _name_the_head_attach_and_pledge(page, pdf, jpeg)

    context.clear_cookies()  # the session ends
    page.click("#submit-request")
    page.wait_for_url("**/login/**")
    page.fill("#username", officer)
    page.fill("#password", DEMO_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/requests/new/external_search**")

    expect(page.locator(".sitthi-kept")).to_be_visible()
    expect(page.locator("#duty_performed")).to_have_value("สืบสวนคดีที่กรอกไว้ก่อนหมดเวลา")
    expect(page.locator("#source-civil_registration")).to_be_checked()
    expect(page.locator("#rank-group-civil_registration")).to_have_value(chosen_group)
    expect(page.locator("#certifying_head option:checked")).to_contain_text("ประยุทธ")
    expect(page.locator("#pledge_accepted")).to_be_checked()
    for _ in range(50):  # the files come back from IndexedDB a moment after the page
        if page.eval_on_selector("#upload_memo", "e => e.files.length") == 1:
            break
        page.wait_for_timeout(100)
    assert page.eval_on_selector("#upload_memo", "e => e.files.length") == 1
    assert page.eval_on_selector("#upload_id_card_copy", "e => e.files[0].name") == jpeg.name

    page.click("#submit-request")
    page.wait_for_url("**/requests/show/*")
    assert page.locator("#request-attachments li").count() == 2
    assert "สืบสวนคดีที่กรอกไว้ก่อนหมดเวลา" in page.content()
    context.close()


def test_a_kept_form_is_forgotten_once_it_lands(page, live_server, app):
    """What was kept in the tab lasts only until the form is sent and lands."""
    officer = new_requester(app)
    log_in(page, live_server, officer)
    page.goto(f"{live_server}/requests/new/temporary_assignment")
    page.fill("#duty_performed", "ช่วยราชการ")
    page.click("#save-draft")
    page.wait_for_url("**/requests/show/*")
    assert page.evaluate("() => window.sessionStorage.getItem('sitthi-kept-form')") is None
    page.goto(f"{live_server}/requests/new/temporary_assignment?restore=1")
    assert page.locator("#duty_performed").input_value() == ""
    assert page.locator(".sitthi-kept").count() == 0


def test_a_decision_typed_when_the_session_ended_is_back_on_the_request_page(page, live_server):
    from playwright.sync_api import expect

    log_in(page, live_server, "head")
    page.goto(f"{live_server}/tocertifyview/list/")
    page.locator("table a[href*='/requests/show/']").first.click()
    page.wait_for_url("**/requests/show/*")
    request_page = page.url
    page.fill("#comment", "ขอให้แนบคำสั่งมอบหมายงานเพิ่มเติม")
    page.context.clear_cookies()  # the session ends
    page.click("#btn-return")
    page.wait_for_url("**/login/**")
    page.fill("#username", "head")
    page.fill("#password", DEMO_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{request_page}?restore=1")
    expect(page.locator("#comment")).to_have_value("ขอให้แนบคำสั่งมอบหมายงานเพิ่มเติม")
    expect(page.locator(".sitthi-kept")).to_be_visible()
