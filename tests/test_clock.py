"""The suite's clock is ours, and a Clock's today and now are one instant."""
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.services.clock import Clock
from tests.conftest import TEST_NOW

BANGKOK = ZoneInfo("Asia/Bangkok")


def test_the_run_happens_at_the_chosen_instant():
    # Ticking from TEST_NOW: a run takes minutes, never a day.
    assert timedelta(0) <= datetime.now(UTC) - TEST_NOW < timedelta(hours=6)
    assert date.today() == TEST_NOW.astimezone(BANGKOK).date()


def test_the_web_layer_hands_the_services_the_same_instant(app):
    from app.formatting import local_today, office_clock

    with app.test_request_context():
        clock = office_clock()
        assert clock.today == local_today() == TEST_NOW.astimezone(BANGKOK).date()
        assert timedelta(0) <= clock.now - TEST_NOW < timedelta(hours=6)


def test_today_is_the_office_day_of_now():
    # 23:30 UTC is already the next morning in Bangkok.
    late = Clock.at(datetime(2026, 11, 22, 23, 30, tzinfo=UTC))
    assert late.today == date(2026, 11, 23)
    assert late.now.tzinfo == UTC
    morning = Clock.on(date(2026, 11, 23))
    assert morning.today == date(2026, 11, 23)
    assert morning.now.astimezone(BANGKOK).date() == morning.today


def test_a_clock_without_a_time_zone_is_refused():
    with pytest.raises(ValueError):
        Clock.at(datetime(2026, 11, 23, 9, 0))
