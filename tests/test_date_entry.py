"""One date field everywhere: dd/mm/yyyy in the Buddhist Era for Thai readers, Gregorian for
English ones, on add/edit screens, hand-written forms and list filters alike. A year in the other
era is named at its field; nothing is moved 543 years in silence, and nothing is saved."""
from datetime import date

import pytest
from sqlalchemy import func, select

from app.domain.inputs import entered_date, shown_date
from app.errors import ValidationFailed
from app.models import Holiday


@pytest.mark.parametrize("typed", ["17/05/2523", "17-05-2523", "17.5.2523", " 17/5/2523 ", "1980-05-17"])
def test_a_thai_reader_types_the_buddhist_era(typed):
    assert entered_date(typed, buddhist_era=True) == date(1980, 5, 17)


@pytest.mark.parametrize("typed", ["17/05/1980", "17-5-1980", "1980-05-17"])
def test_an_english_reader_types_the_gregorian_year(typed):
    assert entered_date(typed, buddhist_era=False) == date(1980, 5, 17)


@pytest.mark.parametrize("typed, buddhist, message", [
    ("17/05/1980", True, "The year 1980 looks like a Gregorian year: enter it in the Buddhist Era (2523)"),
    ("17/05/2523", False, "The year 2523 looks like a Buddhist Era year: enter it as a Gregorian year (1980)"),
    ("31/02/2567", True, "There is no day 31/2/2567"),
    ("31/02/2024", False, "There is no day 31/2/2024"),
    ("17/05/23", True, "day/month/year in the Buddhist Era, for example 17/05/2523"),
    ("May 17 1980", False, "day/month/year, for example 17/05/1980"),
    ("17/05/0001", False, "outside 1900 to 2200"),
    ("1" * 100, True, "for example"),
])
def test_what_cannot_be_a_date_is_named(typed, buddhist, message):
    with pytest.raises(ValidationFailed) as refused:
        entered_date(typed, buddhist_era=buddhist)
    assert message in refused.value.translated()


def test_empty_is_no_date_and_shown_dates_read_back():
    assert entered_date("", True) is None and entered_date(None, False) is None
    assert shown_date(date(1980, 5, 7), True) == "07/05/2523"
    assert shown_date(date(1980, 5, 7), False) == "07/05/1980"
    for buddhist in (True, False):
        assert entered_date(shown_date(date(2026, 12, 4), buddhist), buddhist) == date(2026, 12, 4)


def _holiday_days(app, name):
    from app.extensions import db

    with app.app_context():
        return list(db.session.scalars(select(Holiday.day).where(Holiday.name_th == name)))


def test_the_add_screen_takes_a_buddhist_era_date_and_edit_shows_it_back(app, login):
    admin = login("admin")
    page = admin.get("/holidayview/add").get_data(as_text=True)
    assert 'data-era="be"' in page and "sitthi-date" in page and "วว/ดด/ปปปป (พ.ศ.)" in page
    assert "appbuilder_date" not in page  # FAB's Gregorian picker is gone
    response = admin.submit("/holidayview/add", {"day": "14/12/2569", "name_th": "วันพ่อทดสอบ", "name_en": "Test"})
    assert response.status_code == 302
    assert _holiday_days(app, "วันพ่อทดสอบ") == [date(2026, 12, 14)]
    from app.extensions import db

    with app.app_context():
        pk = db.session.scalar(select(Holiday.id).where(Holiday.name_th == "วันพ่อทดสอบ"))
    assert 'value="14/12/2569"' in admin.get(f"/holidayview/edit/{pk}").get_data(as_text=True)
    admin.get("/lang/en")
    assert 'value="14/12/2026"' in admin.get(f"/holidayview/edit/{pk}").get_data(as_text=True)


def test_a_gregorian_year_typed_in_thai_is_named_at_its_field_and_nothing_is_saved(app, login):
    from app.extensions import db

    admin = login("admin")
    with app.app_context():
        before = db.session.scalar(select(func.count(Holiday.id)))
    response = admin.submit("/holidayview/add", {"day": "14/12/2026", "name_th": "วันผิดปี", "name_en": "x"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "ปี 2026 ดูเหมือนเป็นปีคริสต์ศักราช กรุณากรอกเป็นปีพุทธศักราช (2569)" in page
    assert 'value="14/12/2026"' in page  # what was typed stays, to be mended
    with app.app_context():
        assert db.session.scalar(select(func.count(Holiday.id))) == before


def test_an_english_reader_enters_gregorian_dates(app, login):
    admin = login("admin")
    admin.get("/lang/en")
    page = admin.get("/holidayview/add").get_data(as_text=True)
    assert 'data-era="ce"' in page and 'placeholder="dd/mm/yyyy"' in page
    response = admin.submit("/holidayview/add", {"day": "06/12/2569", "name_th": "วันผิดยุค", "name_en": "x"})
    assert "looks like a Buddhist Era year" in response.get_data(as_text=True)
    response = admin.submit("/holidayview/add", {"day": "06/12/2026", "name_th": "วันอังกฤษ", "name_en": "x"})
    assert response.status_code == 302
    assert _holiday_days(app, "วันอังกฤษ") == [date(2026, 12, 6)]


def test_list_filters_read_dates_in_the_readers_era(app, login):
    from app.extensions import db

    with app.app_context():
        db.session.add_all([Holiday(day=date(2150, 3, 1), name_th="กรองหนึ่ง"),
                            Holiday(day=date(2150, 3, 2), name_th="กรองสอง")])
        db.session.commit()
    admin = login("admin")
    assert "sitthi-date" in admin.get("/holidayview/list/").get_data(as_text=True)
    page = admin.get("/holidayview/list/?_flt_0_day=01/03/2693").get_data(as_text=True)
    assert "กรองหนึ่ง" in page and "กรองสอง" not in page
    page = admin.get("/holidayview/list/?_flt_1_day=01/03/2693").get_data(as_text=True)  # after
    assert "กรองสอง" in page and "กรองหนึ่ง" not in page
    page = admin.get("/holidayview/list/?_flt_0_day=01/03/2150").get_data(as_text=True)
    assert "กรองหนึ่ง" not in page and "ดูเหมือนเป็นปีคริสต์ศักราช" in page
    admin.get("/lang/en")
    page = admin.get("/holidayview/list/?_flt_0_day=01/03/2150").get_data(as_text=True)
    assert "กรองหนึ่ง" in page and "กรองสอง" not in page


def test_hand_written_forms_take_buddhist_era_dates(app, login):
    """The extend-validity field above the grant list, read by the same rule."""
    from datetime import timedelta

    from app.domain.thai_dates import thai_date
    from app.extensions import db
    from app.models import Grant, Notification, SystemFunction, Unit
    from tests.conftest import TEST_NOW
    from tests.factories import make_officer

    today = TEST_NOW.date()
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == "KKN-MUEANG"))
        account = db.session.scalar(select(SystemFunction).where(SystemFunction.code == "crimes_account"))
        grant = Grant(officer=make_officer(db.session, unit), function=account, state="active",
                      valid_from=today, valid_until=today + timedelta(days=30))
        db.session.add(grant)
        db.session.commit()
        grant_id = grant.id
    target = today + timedelta(days=200)
    tech = login("commandtech")
    assert 'data-era="be"' in tech.get("/commandgrantview/list/").get_data(as_text=True)
    tech.client.post("/commandgrantview/action_post", data={
        "action": "extend_selected", "rowid": [str(grant_id)], "valid_until": shown_date(target, True),
        "csrf_token": tech.csrf_token("/assignfunction/")})
    with app.app_context():
        grant = db.session.get(Grant, grant_id)
        assert grant.valid_until == target
        mail = db.session.scalar(select(Notification).where(Notification.recipient_email == grant.officer.email)
                                 .order_by(Notification.id.desc()))
    # The mail tells a Thai reader the date as Thai readers write it, and the English reader his way.
    thai, english = mail.body.split("\n\n", 1)
    assert f"ใช้ได้ถึง: {thai_date(target, 'long')}" in thai and target.isoformat() not in thai
    assert target.isoformat() in english


def test_the_audit_trail_is_filtered_by_days_entered_in_the_readers_era(app, login):
    """A moment (occurred_at) is found by its office day, typed as every date is typed."""
    from datetime import timedelta

    from tests.conftest import TEST_NOW

    admin = login("admin")
    admin.submit("/holidayview/add", {"day": "15/12/2569", "name_th": "วันตรวจร่องรอย", "name_en": "Trail"})
    auditor = login("auditor")
    today, tomorrow = shown_date(TEST_NOW.date(), True), shown_date(TEST_NOW.date() + timedelta(days=1), True)
    assert "sitthi-date" in auditor.get("/auditeventview/list/").get_data(as_text=True)
    page = auditor.get(f"/auditeventview/list/?_flt_0_occurred_at={today}").get_data(as_text=True)
    assert "วันตรวจร่องรอย" in page
    page = auditor.get(f"/auditeventview/list/?_flt_2_occurred_at={tomorrow}").get_data(as_text=True)  # before
    assert "วันตรวจร่องรอย" in page
    page = auditor.get(f"/auditeventview/list/?_flt_0_occurred_at={tomorrow}").get_data(as_text=True)
    assert "วันตรวจร่องรอย" not in page
    page = auditor.get("/auditeventview/list/?_flt_0_occurred_at=2026-99-99").get_data(as_text=True)
    assert "ไม่มีวันที่ 99/99/2026" in page


def test_a_day_of_the_trail_holds_its_rows_written_out_of_order(app, login):
    """The day filter bounds the keys by the day's first and last: a row written late for the day
    (a server's clock behind) is still the day's, and a row between them of another day is not."""
    from datetime import UTC, datetime

    from app.extensions import db
    from app.services import audit

    with app.app_context():
        for summary, moment in (("วันก่อน-แรก", datetime(2025, 3, 1, 3, tzinfo=UTC)),
                                ("อีกวัน-กลาง", datetime(2025, 3, 5, 3, tzinfo=UTC)),
                                ("วันก่อน-หลัง", datetime(2025, 3, 1, 9, tzinfo=UTC))):
            audit.record(db.session, "day_filter.test", object_type="DayTest", summary=summary).occurred_at = moment
        db.session.commit()
    auditor = login("auditor")
    page = auditor.get("/auditeventview/list/?_flt_0_occurred_at=01/03/2568").get_data(as_text=True)
    assert "วันก่อน-แรก" in page and "วันก่อน-หลัง" in page and "อีกวัน-กลาง" not in page
    other = auditor.get("/auditeventview/list/?_flt_0_occurred_at=05/03/2568").get_data(as_text=True)
    assert "อีกวัน-กลาง" in other and "วันก่อน" not in other


def _trail_rows(app, tag: str, moments) -> None:
    """Trail rows written in the order given, each with its moment (a row written late comes last)."""
    from app.extensions import db
    from app.services import audit

    with app.app_context():
        for number, moment in enumerate(moments):
            audit.record(db.session, "before_filter.test", object_type="DayTest",
                         summary=f"{tag}-{number}").occurred_at = moment
        db.session.commit()


def test_before_a_day_the_trail_lists_earlier_rows_newest_first_even_one_written_late(app, login):
    """Before a day, the trail is newest first by the moment: a row written late with an early
    moment (a larger key than rows after the day) is listed in its moment's place."""
    from datetime import UTC, datetime

    from tests.conftest import counted_statements

    _trail_rows(app, "ก่อนวัน", [datetime(2023, 2, 1, 3, tzinfo=UTC), datetime(2023, 3, 10, 3, tzinfo=UTC),
                                 datetime(2023, 1, 15, 3, tzinfo=UTC)])
    auditor = login("auditor")
    with counted_statements(app) as statements:
        page = auditor.get("/auditeventview/list/?_flt_2_occurred_at=01/03/2566").get_data(as_text=True)
    assert "ก่อนวัน-0" in page and "ก่อนวัน-2" in page and "ก่อนวัน-1" not in page
    assert page.index("ก่อนวัน-0") < page.index("ก่อนวัน-2")  # 1 Feb before 15 Jan, newest first
    assert not [s for s in statements if "EXPLAIN" in s or "max(" in s]  # nothing read before the page
    # A sort the reader chooses replaces it.
    oldest_first = auditor.get("/auditeventview/list/?_flt_2_occurred_at=01/03/2566"
                               "&_oc_AuditEventView=occurred_at&_od_AuditEventView=asc").get_data(as_text=True)
    assert oldest_first.index("ก่อนวัน-2") < oldest_first.index("ก่อนวัน-0")


def test_next_rows_before_a_day_go_on_by_the_moment_without_a_row_lost_or_repeated(app, login):
    """30 rows before the day, written out of their moments' order, two sharing one moment: page
    after page of "Next rows" lists each once, newest moment first (the later key first on a tie)."""
    import re
    from datetime import UTC, datetime, timedelta
    from html import unescape

    start = datetime(2022, 5, 1, 3, tzinfo=UTC)
    moments = [start + timedelta(hours=(7 * n) % 30) for n in range(30)]
    moments[12] = moments[5]
    _trail_rows(app, "หน้าถัดไป", moments)
    expected = [f"หน้าถัดไป-{n}" for n in sorted(range(30), key=lambda n: (moments[n], n), reverse=True)]
    auditor = login("auditor")
    url, seen = "/auditeventview/list/?_flt_2_occurred_at=01/06/2565", []
    for _page in range(5):
        page = auditor.get(url).get_data(as_text=True)
        seen += re.findall(r"หน้าถัดไป-\d+", page)
        following = re.search(r'id="keyset-next" href="([^"]+)"', page)
        if following is None:
            break
        url = unescape(following.group(1))
    assert seen == expected
    assert auditor.get("/auditeventview/list/?_flt_2_occurred_at=01/06/2565&after=99999999").status_code == 200
