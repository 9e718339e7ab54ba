"""Thai first, English one click away, dates in the reader's calendar."""
import re

from sqlalchemy import select

from app.formatting import thai_date
from app.models import Holiday


def test_thai_is_the_default(login):
    admin = login("admin")
    html = admin.get("/officerview/list/").get_data(as_text=True)
    assert "กำลังพล" in html            # the Personnel menu
    assert "เลขประจำตัวประชาชน" in html  # the National ID column
    assert "ค้นหา" in html              # Flask-AppBuilder's own "Search"


def test_english_is_one_click_away(login):
    admin = login("admin")
    assert admin.get("/lang/en").status_code == 302
    html = admin.get("/officerview/list/").get_data(as_text=True)
    assert "Personnel" in html and "National ID" in html
    assert "เลขประจำตัวประชาชน" not in html
    admin.get("/lang/th")
    assert "เลขประจำตัวประชาชน" in admin.get("/officerview/list/").get_data(as_text=True)


def test_dates_in_lists_use_the_readers_calendar(app, login):
    with app.app_context():
        from app.extensions import db

        holiday = db.session.scalar(select(Holiday).order_by(Holiday.day.desc()))
        day, holiday_id = holiday.day, holiday.id
    admin = login("admin")
    thai = admin.get(f"/holidayview/show/{holiday_id}").get_data(as_text=True)
    assert thai_date(day) in thai                       # e.g. 31 ธ.ค. 2571
    assert str(day.year + 543) in thai
    admin.get("/lang/en")
    english = admin.get(f"/holidayview/show/{holiday_id}").get_data(as_text=True)
    assert f"{day.day} {day.strftime('%b')} {day.year}" in english


def test_unknown_language_is_refused(login):
    admin = login("admin")
    admin.get("/lang/xx")
    assert "กำลังพล" in admin.get("/").get_data(as_text=True)


def test_every_thai_message_is_translated():
    from babel.messages.pofile import read_po

    with open("translations/th/LC_MESSAGES/messages.po", "rb") as handle:
        catalog = read_po(handle)
    missing = [m.id for m in catalog if m.id and not m.string]
    assert missing == []
    placeholder = re.compile(r"%\(\w+\)[sd]|%[sd]")
    for message in catalog:
        if message.id and isinstance(message.id, str):
            assert sorted(placeholder.findall(message.id)) == sorted(placeholder.findall(message.string)), message.id


def test_validator_messages_speak_the_readers_language(login):
    """WTForms has no Thai catalogue of its own: ours carries its messages."""
    admin = login("admin")
    token = admin.csrf_token("/officerview/add")
    thai = admin.post("/officerview/add", data={"csrf_token": token}).get_data(as_text=True)
    assert "จำเป็นต้องกรอกข้อมูลนี้" in thai and "This field is required." not in thai
    admin.get("/lang/en")
    english = admin.post("/officerview/add", data={"csrf_token": token}).get_data(as_text=True)
    assert "This field is required." in english

    officer = login("officer")
    url = "/requests/new/temporary_assignment"
    page = officer.post(url, data={"csrf_token": officer.csrf_token(url), "assignment_until": "2026-13-45",
                                   "save_draft": "1"}).get_data(as_text=True)
    assert "ไม่มีวันที่ 45/13/2026" in page


def test_the_page_names_its_language_and_serves_its_font(app):
    from tests.conftest import Browser

    browser = Browser(app.test_client())
    assert '<html lang="th">' in browser.get("/login/").get_data(as_text=True)
    browser.get("/lang/en")
    assert '<html lang="en">' in browser.get("/login/").get_data(as_text=True)
    css = browser.get("/static/sitthi.css").get_data(as_text=True)
    assert "@font-face" in css and "sarabun-regular.woff2" in css
    font = browser.get("/static/fonts/sarabun-regular.woff2")
    assert font.status_code == 200 and font.data[:4] == b"wOF2"


def test_catalogue_rows_are_named_in_english_for_english_readers(login):
    """Ranks, units and sources in a list read in the reader's language where an English name exists."""
    import re

    admin = login("admin")
    thai = re.findall(r"<td>\s*([^<]+?)\s*</td>", admin.get("/officerview/list/").get_data(as_text=True))
    assert "ร.ต.อ." in thai and "Police Captain" not in thai
    admin.get("/lang/en")
    english = re.findall(r"<td>\s*([^<]+?)\s*</td>", admin.get("/officerview/list/").get_data(as_text=True))
    assert "Police Captain" in english and "ร.ต.อ." not in english
    assert "Central IT Center" in english  # a unit with an English name
