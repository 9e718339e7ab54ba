"""What a value from outside can be, whatever screen or API it comes through.

Ids and versions are PostgreSQL INTEGERs: a number past 2^31−1 is not "no such row" to the
database but an error, and so is text holding a NUL byte (SQLite accepts both, so only production
showed it). These rules say what a value may be before anything looks it up or stores it.
"""
import re
from datetime import date

from app.errors import N_, ValidationFailed

MAX_INT = 2**31 - 1  # PostgreSQL INTEGER, the type of every id and version
MIN_INT = -(2**31)
# No single text value of a form, query string or JSON body is longer (the longest field holds
# TEXT_LIMIT); files travel as files, or as `*_base64` JSON fields bounded by size instead.
MAX_TEXT = 10_000
TEXT_LIMIT = 2000  # the longest free text a field holds: a comment, a reason, a description
# Tab, line feed and carriage return are text; other control characters are not, and a lone
# surrogate (possible in JSON's \ud800) cannot even be encoded for the database.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_MAX_DIGITS = 30  # int() of thousands of digits is slow, then refused by Python itself

MSG_BAD_VERSION = N_("The version sent with the form is not a whole number. Nothing was saved: reload the "
                     "page and try again.")


def whole_number(value, minimum: int = MIN_INT, maximum: int = MAX_INT) -> int | None:
    """`value` as an int within [minimum, maximum], from an int or decimal digits; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    elif isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text[:1] in ("+", "-") else text
        if not digits.isdecimal() or len(digits) > _MAX_DIGITS:
            return None
        value = int(text)
    if not isinstance(value, int):
        return None
    return value if minimum <= value <= maximum else None


def as_id(value, maximum: int = MAX_INT) -> int | None:
    """A record id (1 to `maximum`) from a form, an address or JSON; None when no row can have it."""
    return whole_number(value, 1, maximum)


def expected_version(value) -> int | None:
    """The version a form or body sent back: None when it sent none, refused unless a whole number."""
    if value is None:
        return None
    number = whole_number(value, 0, MAX_INT)
    if number is None:
        raise ValidationFailed(MSG_BAD_VERSION)
    return number


def has_control_characters(text: str) -> bool:
    return CONTROL_CHARACTERS.search(text) is not None


# -- dates ---------------------------------------------------------------------------------------
# Every date Sitthi keeps (birth dates, holidays, validity, duty orders) falls in these years. A
# Thai user who types the Buddhist-Era year into a Gregorian field (2569 for 2026) is told so,
# never silently moved 543 years.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2200
BUDDHIST_ERA_OFFSET = 543
MSG_BUDDHIST_YEAR = N_("The year %(year)s looks like a Buddhist Era year: enter it as a Gregorian year "
                       "(%(gregorian)s).")
MSG_YEAR_OUT_OF_RANGE = N_("The year %(year)s is outside %(earliest)s to %(latest)s.")


def check_year(value) -> None:
    """Refuse a date whose year no record of Sitthi can have, saying which mistake it looks like."""
    year = getattr(value, "year", None)
    if year is None or EARLIEST_YEAR <= year <= LATEST_YEAR:
        return
    if EARLIEST_YEAR <= year - BUDDHIST_ERA_OFFSET <= LATEST_YEAR:
        raise ValidationFailed(MSG_BUDDHIST_YEAR, year=str(year), gregorian=str(year - BUDDHIST_ERA_OFFSET))
    raise ValidationFailed(MSG_YEAR_OUT_OF_RANGE, year=str(year), earliest=str(EARLIEST_YEAR),
                           latest=str(LATEST_YEAR))


MSG_NOT_A_DATE = N_("Not a valid date value.")
MSG_DATE_FORMAT_BE = N_("Enter the date as day/month/year in the Buddhist Era, for example 17/05/2523.")
MSG_DATE_FORMAT_CE = N_("Enter the date as day/month/year, for example 17/05/1980.")
MSG_NO_SUCH_DAY = N_("There is no day %(day)s/%(month)s/%(year)s.")
MSG_GREGORIAN_YEAR = N_("The year %(year)s looks like a Gregorian year: enter it in the Buddhist Era "
                        "(%(buddhist)s).")
_ENTERED = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def entered_date(raw: str | None, buddhist_era: bool) -> date | None:
    """A date a person typed: dd/mm/yyyy, in the Buddhist Era for Thai readers and Gregorian for
    English ones; None when left empty. YYYY-MM-DD (what links, the API and old browsers send) is
    always Gregorian. A year in the other era is named, never moved 543 years without a word."""
    text = (raw or "").strip()
    if not text:
        return None
    iso = _ISO.fullmatch(text)
    typed = None if iso else _ENTERED.fullmatch(text)
    if iso:
        year, month, day = (int(part) for part in iso.groups())
    elif typed:
        day, month, year = (int(part) for part in typed.groups())
        year = _gregorian_year(year, buddhist_era)
    else:
        raise ValidationFailed(MSG_DATE_FORMAT_BE if buddhist_era else MSG_DATE_FORMAT_CE)
    try:
        value = date(year, month, day)
    except ValueError:
        shown_year = year + BUDDHIST_ERA_OFFSET if typed and buddhist_era else year
        raise ValidationFailed(MSG_NO_SUCH_DAY, day=str(day), month=str(month), year=str(shown_year)) from None
    check_year(value)
    return value


def _gregorian_year(typed: int, buddhist_era: bool) -> int:
    if not buddhist_era:
        return typed  # check_year names a Buddhist-Era year typed here
    if EARLIEST_YEAR <= typed <= LATEST_YEAR:
        raise ValidationFailed(MSG_GREGORIAN_YEAR, year=str(typed), buddhist=str(typed + BUDDHIST_ERA_OFFSET))
    return typed - BUDDHIST_ERA_OFFSET


def shown_date(value: date | None, buddhist_era: bool) -> str:
    """A date as entered_date reads it back: 17/05/2523 (Buddhist Era) or 17/05/1980."""
    if value is None:
        return ""
    year = value.year + BUDDHIST_ERA_OFFSET if buddhist_era else value.year
    return f"{value.day:02d}/{value.month:02d}/{year}"

