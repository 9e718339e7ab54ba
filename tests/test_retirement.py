"""Retirement by age (DOMAIN.md): out of service on 1 October after the fiscal year of one's 60th birthday."""
from datetime import date, timedelta

import pytest

from app.domain.retirement import is_retired, latest_birth_date_retired, retire_on


@pytest.mark.parametrize("born, leaves", [
    (date(1966, 10, 1), date(2026, 10, 1)),   # turns 60 on the first day of FY 2570: counted in 2569
    (date(1966, 10, 2), date(2027, 10, 1)),   # turns 60 inside FY 2570: serves it to the end
    (date(1966, 9, 30), date(2026, 10, 1)),
    (date(1966, 1, 1), date(2026, 10, 1)),
    (date(1966, 12, 31), date(2027, 10, 1)),
    (date(1964, 2, 29), date(2024, 10, 1)),   # a leap day: no 29 Feb needed in the year of leaving
    (date(1968, 2, 29), date(2028, 10, 1)),
])
def test_retire_on(born, leaves):
    assert retire_on(born) == leaves


def test_the_last_day_of_service_and_the_first_day_out():
    born = date(1966, 10, 1)
    assert not is_retired(born, date(2026, 9, 30))
    assert is_retired(born, date(2026, 10, 1))
    assert not is_retired(None, date(2026, 10, 1))  # no birth date on file: nothing to judge


@pytest.mark.parametrize("today, cutoff", [
    (date(2026, 9, 30), date(1965, 10, 1)),
    (date(2026, 10, 1), date(1966, 10, 1)),
    (date(2026, 12, 2), date(1966, 10, 1)),
    (date(2027, 1, 1), date(1966, 10, 1)),
    (date(2028, 2, 29), date(1967, 10, 1)),
])
def test_one_cutoff_finds_everyone_retired_that_day(today, cutoff):
    assert latest_birth_date_retired(today) == cutoff


def test_the_cutoff_agrees_with_retire_on_for_every_birthday_around_it():
    """birth_date <= cutoff (what the database asks) is exactly retire_on(birth_date) <= today."""
    for today in (date(2026, 9, 30), date(2026, 10, 1), date(2026, 10, 2), date(2027, 2, 28), date(2028, 2, 29)):
        cutoff = latest_birth_date_retired(today)
        for offset in range(-800, 800):
            born = cutoff + timedelta(days=offset)
            assert (born <= cutoff) == is_retired(born, today), (today, born)
