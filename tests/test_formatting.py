"""Dates: Buddhist Era in Thai, Gregorian in English, through one helper."""
from datetime import UTC, date, datetime

from flask_babel import force_locale

from app.formatting import format_date, format_datetime, thai_date


def test_thai_short_and_long_dates():
    assert thai_date(date(2016, 7, 24)) == "24 ก.ค. 2559"
    assert thai_date(date(2016, 7, 24), "long") == "24 กรกฎาคม 2559"
    assert thai_date(date(2026, 1, 1)) == "1 ม.ค. 2569"


def test_format_follows_the_language(app):
    with app.test_request_context():
        with force_locale("th"):
            assert format_date(date(2016, 7, 24)) == "24 ก.ค. 2559"
        with force_locale("en"):
            assert format_date(date(2016, 7, 24)) == "24 Jul 2016"
        assert format_date(None) == ""


def test_datetimes_are_shown_in_bangkok_time(app):
    late_utc = datetime(2016, 7, 24, 20, 15, tzinfo=UTC)  # 03:15 next day in Bangkok
    with app.test_request_context():
        with force_locale("th"):
            assert format_datetime(late_utc) == "25 ก.ค. 2559 03:15"
        with force_locale("en"):
            assert format_datetime(late_utc) == "25 Jul 2016 03:15"
