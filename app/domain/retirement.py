"""When an officer leaves the service by age (เกษียณอายุราชการ); pure, so every rule shares it.

An officer is out of service on the 1 October after the fiscal year (1 Oct – 30 Sep) in which they
turn 60 (DOMAIN.md). In the Gregorian calendar: 1 October of birth year + 60 for someone born on
or before 1 October, else 1 October of birth year + 61. Born 1 Oct 1966: out on 1 Oct 2026;
born 2 Oct 1966: out on 1 Oct 2027.
"""
from datetime import date

FISCAL_YEAR_START = (10, 1)  # 1 October
RETIREMENT_AGE = 60


def retire_on(birth_date: date) -> date:
    """The first day out of service: 1 Oct of birth year + 60, or + 61 when born after 1 Oct."""
    month, day = FISCAL_YEAR_START
    born_late = (birth_date.month, birth_date.day) > (month, day)
    return date(birth_date.year + RETIREMENT_AGE + (1 if born_late else 0), month, day)


def is_retired(birth_date: date | None, today: date) -> bool:
    """Whether an officer born on `birth_date` is out of service by age on `today`."""
    return birth_date is not None and retire_on(birth_date) <= today


def latest_birth_date_retired(today: date) -> date:
    """Everyone born on or before this day is out of service by age on `today`; nobody after.

    retire_on never decreases as the birth date moves later, so one cut-off answers for every
    officer at once: a database finds them with `birth_date <= cutoff`, no per-row arithmetic.
    The last 1 October on or before today retired those born up to 1 October sixty years before.
    """
    month, day = FISCAL_YEAR_START
    last_start_year = today.year if (today.month, today.day) >= (month, day) else today.year - 1
    return date(last_start_year - RETIREMENT_AGE, month, day)
