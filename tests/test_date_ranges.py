"""A date outside the years Sitthi keeps is refused at its field, on the screens and the API; a
Buddhist-Era year typed as a Gregorian one is named as such, never moved 543 years in silence."""
import pytest
from sqlalchemy import func, select

from app.domain.inputs import check_year
from app.errors import ValidationFailed
from app.models import Holiday
from tests.conftest import ApiUser


@pytest.mark.parametrize("year, message", [
    (1, "outside 1900 to 2200"), (2569, "looks like a Buddhist Era year"), (2743, "Buddhist Era"),
    (9999, "outside"),
])
def test_the_rule(year, message):
    from datetime import date

    with pytest.raises(ValidationFailed, match=message):
        check_year(date(year, 1, 1))
    check_year(date(2026, 1, 1))
    check_year(None)


def _holidays(app) -> int:
    from app.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count(Holiday.id)))


@pytest.mark.parametrize("day, thai", [
    ("0001-01-01", "อยู่นอกช่วง 1900 ถึง 2200"),
    ("2569-12-05", "ปี 2569 ดูเหมือนเป็นปีพุทธศักราช กรุณากรอกเป็นปีคริสต์ศักราช (2026)"),
])
def test_a_holiday_in_a_year_no_record_has_is_refused_at_its_field(app, login, day, thai):
    admin = login("admin")
    before = _holidays(app)
    response = admin.submit("/holidayview/add", {"day": day, "name_th": "วันทดสอบ", "name_en": "Test day"})
    assert response.status_code == 200
    assert thai in response.get_data(as_text=True)
    assert _holidays(app) == before


def test_the_api_refuses_a_buddhist_era_year_with_the_reason(app, api_tokens):
    api = ApiUser(app.test_client(), api_tokens("officer"))
    response = api.post("/api/v1/requests/?_l_=en", json={
        "kind": "temporary_assignment", "contact_email": "me@police.example", "contact_mobile": "0812345678",
        "duty_performed": "สืบสวน", "assignment_until": "2569-12-31"})
    assert response.status_code == 400
    body = response.get_json()
    assert "looks like a Buddhist Era year" in str(body), body
