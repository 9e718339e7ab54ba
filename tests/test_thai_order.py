"""Thai text sorts in Thai dictionary order on both databases (issue 12): words that start with
เ แ โ ใ ไ sort by the consonant after the vowel, not after ฮ."""
import os
import re

import pytest
from sqlalchemy import literal, select, union_all

from app.domain.thai_sort import sort_key
from app.extensions import db
from app.models.collation import thai
from tests.factories import make_officer, make_unit

# Dictionary order: ก (กา, then เกม and ไก่ by their vowels), ข, ต, ม, ฮ.
IN_ORDER = ["กา", "เกม", "ไก่", "ขวด", "โต๊ะ", "แมว", "ฮูก"]
SHUFFLED = ["ฮูก", "ไก่", "แมว", "กา", "โต๊ะ", "เกม", "ขวด"]


def test_the_sort_key_puts_leading_vowels_among_their_consonants():
    assert sorted(SHUFFLED, key=sort_key) == IN_ORDER
    assert sorted(SHUFFLED) != IN_ORDER  # code-point order, what the lists did before
    assert sorted(["ก่า", "กา", "ก้า"], key=sort_key) == ["กา", "ก่า", "ก้า"]  # tone marks decide last


def test_the_database_sorts_thai_in_dictionary_order(app):
    """SQLite through app.domain.thai_sort, PostgreSQL through ICU: the same order."""
    with app.app_context():
        words = union_all(*(select(literal(word).label("word")) for word in SHUFFLED)).subquery()
        ordered = db.session.scalars(select(words.c.word).order_by(thai(words.c.word))).all()
    assert ordered == IN_ORDER


def test_the_officer_list_sorted_by_first_name_is_in_thai_order(app, login):
    with app.app_context():
        unit = make_unit(db.session)
        for name in SHUFFLED:
            make_officer(db.session, unit, first_name_th=name)
        db.session.commit()
        unit_id = unit.id
    page = login("admin").get(f"/officerview/list/?_flt_0_home_unit={unit_id}"
                              "&_oc_OfficerView=first_name_th&_od_OfficerView=asc").get_data(as_text=True)
    shown = [name for name in re.findall(r"<td>\s*([^<\s]+)\s*</td>", page) if name in IN_ORDER]
    assert shown == IN_ORDER


@pytest.mark.skipif(not os.environ.get("SITTHI_TEST_POSTGRES"), reason="the ICU collation is PostgreSQL's")
def test_postgresql_has_the_icu_collation(app):
    with app.app_context():
        provider = db.session.scalar(db.text("SELECT collprovider FROM pg_collation WHERE collname = 'thai'"))
    assert provider == "i"
