"""Flask-AppBuilder's own parts of the screens speak Thai and start from nothing (issue 12):
blank choices that say so, no preselected rank, yes/no and names instead of Python values, a
confirm dialog and alerts in the reader's language."""
import html
import json
import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import Officer


def _options(page: str, name: str) -> list[tuple[str, str, bool]]:
    select_tag = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S).group(1)
    return [(value, label.strip(), "selected" in attrs)
            for attrs, value, label in re.findall(r'<option([^>]*?)value="([^"]*)"[^>]*>([^<]*)</option>', select_tag)]


def test_a_new_officer_starts_with_no_rank_chosen_and_blanks_say_what_they_are(login):
    page = login("admin").get("/officerview/add").get_data(as_text=True)
    rank = _options(page, "rank")
    assert rank[0][1:] == ("— เลือก —", True)           # required: choose one
    assert not any(selected for _value, _label, selected in rank[1:])
    assert _options(page, "duty_line")[0][1:] == ("— ไม่ระบุ —", True)  # optional: none
    assert "__None<" not in page and ">__None" not in page
    search = login("admin").get("/officerview/list/").get_data(as_text=True)
    assert "__None\\u003c" not in search and ">__None<" not in search


def test_leaving_the_rank_blank_is_told_at_the_field_and_saves_nothing(app, login):
    admin = login("admin")
    with app.app_context():
        before = db.session.scalar(select(func.count(Officer.id)))
    page = admin.submit("/officerview/add", {
        "national_id": "1101700203451", "rank": "__None", "first_name_th": "ทดสอบ", "last_name_th": "ไม่มียศ",
        "status": "active"}).get_data(as_text=True)
    rank_row = page[page.find('name="rank"'):]
    assert "กรุณากรอกข้อมูลในช่องนี้" in rank_row[:3000] or "จำเป็น" in rank_row[:3000]
    with app.app_context():
        assert db.session.scalar(select(func.count(Officer.id))) == before


def test_the_users_list_shows_words_not_python_values(login):
    page = login("admin").get("/users/list/").get_data(as_text=True)
    cells = re.findall(r"<td>\s*([^<]*?)\s*</td>", page)
    assert "True" not in cells and "False" not in cells and "[]" not in cells
    assert not any(cell.startswith("[") for cell in cells)
    assert "ใช่" in cells
    assert {"Admin", "Officer", "CommandTech", "CentralIT", "Personnel", "Auditor"} & set(cells)  # roles by name


def test_the_confirm_dialog_and_alerts_are_in_the_readers_language(login):
    admin = login("admin")
    page = admin.get("/grantview/list/").get_data(as_text=True)
    dialog = page[page.find('id="modal-confirm"'):]
    assert "กรุณายืนยัน" in dialog[:800] and ">ยกเลิก<" in dialog[:1200] and ">ตกลง<" in dialog[:1200]
    assert "ต้องยืนยันบัญชีผู้ใช้" not in page
    carried = json.loads(html.unescape(re.search(r"data-translations='([^']*)'", page).group(1)))
    assert carried["No row selected"].startswith("ยังไม่ได้เลือกรายการ")  # sitthi.js shows it for FAB's alert
    admin.get("/lang/en")
    page = admin.get("/grantview/list/").get_data(as_text=True)
    assert "Please confirm" in page and ">Cancel<" in page


def test_a_grants_command_is_labelled_in_thai(login):
    admin = login("admin")
    listing = admin.get("/commandgrantview/list/").get_data(as_text=True)
    grant_id = re.search(r"/commandgrantview/show/(\d+)", listing).group(1)
    page = admin.get(f"/commandgrantview/show/{grant_id}").get_data(as_text=True)
    assert ">Command<" not in page
    assert re.search(r'<th[^>]*>\s*กองบังคับการ/ภ.จว. ที่ดูแล\s*</th>', page)
