"""How a typed term finds officers: by all 13 digits of the national ID, or by name.

Every picker, lookup, list filter and API filter over officers uses this module (MISSION §9). A
national ID is matched only whole, through its unique index: were a prefix enough, anyone who
may search could rebuild any officer's ID one digit at a time (about 25 searches). A term made
of digits that is not all 13 of them finds no one; it is never a name search either, so an
answer can never tell which digits an ID starts with.
"""
from sqlalchemy import and_, false, or_

from app.domain import national_id
from app.models import Officer
from app.models.collation import thai

MAX_TERM = 100  # what a person types into a search box; longer is cut, never an error


def whole_national_id(value) -> str | None:
    """The 13 digits when `value` is a whole national ID as people type it (dashes, spaces)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # an API filter may send the ID as a JSON number
    if not isinstance(value, str):
        return None
    digits = national_id.normalize(value[:MAX_TERM])
    if len(digits) == 13 and digits.isascii() and digits.isdigit():
        return digits
    return None


def national_id_is(column, value):
    """The condition "this column holds exactly that national ID"; anything less matches nothing."""
    digits = whole_national_id(value)
    return false() if digits is None else column == digits


def _name_starts_with(part: str):
    # ILIKE rather than lower() LIKE, so the names' trigram indexes serve it on PostgreSQL.
    prefix = part.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(
        Officer.first_name_th.like(prefix, escape="\\"),
        Officer.last_name_th.like(prefix, escape="\\"),
        Officer.first_name_en.ilike(prefix, escape="\\"),
        Officer.last_name_en.ilike(prefix, escape="\\"),
    )


def officers_matching(term: str | None):
    """The condition on Officer for what was typed into a search box; None when nothing was.

    Digits (with or without dashes and spaces, in any script) are a national ID: all 13, or no
    one. Anything else is names: every word must begin the Thai or English first or last name.
    """
    term = (term or "").strip()[:MAX_TERM]
    if not term:
        return None
    if "\x00" in term:  # in no name, and PostgreSQL refuses it in a text comparison (a 500)
        return false()
    if national_id.normalize(term).isdigit():
        return national_id_is(Officer.national_id, term)
    return and_(*(_name_starts_with(part) for part in term.split()))


def search_officers(query, term: str | None):
    """`query` (a select of Officer) narrowed to what the term finds."""
    condition = officers_matching(term)
    return query if condition is None else query.where(condition)


def name_order(term: str | None = None) -> tuple:
    """The order a search's officers are listed in: by Thai first and last name.

    Written so that PostgreSQL cannot read it off the name index. Walking that index in order and
    testing every officer until a page is full reads everyone before the first match: 200,000
    officers for "สมชาย" (a first name late in the alphabet, 240 ms at national scale), 140,000
    for "สม ใจ" (470 ms). Finding who matches by the trigram indexes and sorting them costs what
    the matches number: 18 ms and 9 ms, 46 ms for a two-letter prefix that 22,000 share.
    """
    return thai(Officer.first_name_th.concat("")), thai(Officer.last_name_th), Officer.id
