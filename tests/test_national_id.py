"""The national ID check digit, in the rule, the model and the officer form."""
import pytest
from sqlalchemy import func, select

from app.domain import national_id
from app.errors import ValidationFailed
from app.models import Officer


@pytest.mark.parametrize("value", ["3100600445635", "1112034563562", "3-1006-00445-63-5", " 1112034563562 "])
def test_valid_ids_are_accepted_and_normalised(value):
    assert national_id.validate(value) == national_id.normalize(value)
    assert len(national_id.validate(value)) == 13


def test_thai_digits_are_read_as_the_same_id():
    assert national_id.validate("๓-๑๐๐๖-๐๐๔๔๕-๖๓-๕") == "3100600445635"


@pytest.mark.parametrize(
    "value, message",
    [
        ("3100600445636", national_id.MSG_BAD_CHECKSUM),
        ("1112034563561", national_id.MSG_BAD_CHECKSUM),
        ("310060044563", national_id.MSG_NOT_13_DIGITS),
        ("31006004456355", national_id.MSG_NOT_13_DIGITS),
        ("31006004456a5", national_id.MSG_NOT_13_DIGITS),
        ("²" * 13, national_id.MSG_NOT_13_DIGITS),  # digits to str.isdigit(), not to int()
        ("3" + "²" * 12, national_id.MSG_NOT_13_DIGITS),
        ("", national_id.MSG_NOT_13_DIGITS),
        (None, national_id.MSG_NOT_13_DIGITS),
        ("0100600445630", national_id.MSG_BAD_FIRST_DIGIT),
        ("9100600445639", national_id.MSG_BAD_FIRST_DIGIT),
    ],
)
def test_invalid_ids_are_refused_with_the_reason(value, message):
    with pytest.raises(ValidationFailed) as caught:
        national_id.validate(value)
    assert caught.value.message == message


def test_every_wrong_check_digit_is_caught():
    valid = "3100600445635"
    for digit in "0123456789":
        candidate = valid[:12] + digit
        if digit == "5":
            assert national_id.validate(candidate) == valid
        else:
            with pytest.raises(ValidationFailed):
                national_id.validate(candidate)


def test_display_forms():
    assert national_id.format_full("3100600445635") == "3-1006-00445-63-5"
    assert national_id.format_masked("3100600445635") == "3-1006-xxxxx-xx-5"


def test_model_refuses_a_bad_id():
    with pytest.raises(ValidationFailed):
        Officer(national_id="3100600445636")


def _officer_form(unit_id, rank_id, nid):
    return {
        "national_id": nid, "rank": str(rank_id), "first_name_th": "ทดสอบ",
        "last_name_th": "เลขบัตร", "status": "active", "home_unit": str(unit_id),
    }


@pytest.mark.parametrize(
    "lang, expected, typed",
    [
        ("th", "ไม่ถูกต้อง", "3100600445636"),
        ("en", "is not valid: the check digit does not match", "3100600445636"),
        ("en", "must be exactly 13 digits", "3" + "²" * 12),  # a ValueError (a 500) once
    ],
)
def test_officer_form_refuses_bad_checksum_in_the_users_language(app, login, lang, expected, typed):
    admin = login("admin")
    admin.get(f"/lang/{lang}")
    with app.app_context():
        from app.extensions import db
        from app.models import Rank, Unit

        unit_id = db.session.scalar(select(Unit.id).where(Unit.code == "KKN-MUEANG"))
        rank_id = db.session.scalar(select(Rank.id).where(Rank.abbr_th == "ด.ต."))
        before = db.session.scalar(select(func.count(Officer.id)))
    response = admin.submit("/officerview/add", _officer_form(unit_id, rank_id, typed))
    assert response.status_code == 200
    assert expected in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Officer.id))) == before


def test_the_import_check_agrees_with_the_form_check():
    """is_valid (the imports' fast check) and validate (the forms') give one verdict."""
    import random

    rng = random.Random(13)
    candidates = ["3100600445635", "๓๑๐๐๖๐๐๔๔๕๖๓๕", "3" + "²" * 12, "0100600445630", "9100600445639", "31006004456a5"]
    candidates += ["".join(rng.choice("0123456789") for _ in range(13)) for _ in range(3000)]
    for value in candidates:
        try:
            national_id.validate(value)
            valid = True
        except ValidationFailed:
            valid = False
        assert national_id.is_valid(value) is (valid and value.isascii()), value


def test_officer_form_stores_an_id_typed_in_thai_digits_in_arabic_digits(app, login):
    admin = login("admin")
    with app.app_context():
        from app.extensions import db
        from app.models import Rank, Unit

        unit_id = db.session.scalar(select(Unit.id).where(Unit.code == "KKN-MUEANG"))
        rank_id = db.session.scalar(select(Rank.id).where(Rank.abbr_th == "ด.ต."))
    response = admin.submit("/officerview/add", _officer_form(unit_id, rank_id, "๓-๑๐๐๖-๐๐๔๔๕-๖๓-๕"))
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Officer.first_name_th).where(Officer.national_id == "3100600445635")) == "ทดสอบ"
