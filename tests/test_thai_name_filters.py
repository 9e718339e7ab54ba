"""The officer list's filters on a Thai name match it as typed.

Thai has no letter case, so "starts with", "ends with" and "contains" are LIKE, not ILIKE (which
no index serves: migration 0029), and what the reader typed is taken literally: a "%" or "_" in
the box is that character, not "anything" (FAB's own filters matched every officer for "%").
"""
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Officer, Unit
from tests.conftest import ApiUser, counted_statements
from tests.factories import make_officer

MARK = "ฉฉฉ"  # in no other officer's name


@pytest.fixture(scope="module")
def named(app):
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == "KKN-MUEANG"))
        officers = {
            "begins": make_officer(db.session, unit, first_name_th=f"{MARK}ศิริ", last_name_th=f"พร{MARK}"),
            "ends": make_officer(db.session, unit, first_name_th=f"ศิริ{MARK}", last_name_th=f"{MARK}พร"),
            "percent": make_officer(db.session, unit, first_name_th="100%ศิริ", last_name_th="ทดสอบ_ตัวอักษร"),
        }
        db.session.commit()
        return {key: officer.id for key, officer in officers.items()}


def _shown(client, query: str, named: dict) -> set[str]:
    html = client.get(f"/officerview/list/?{query}").get_data(as_text=True)
    ids = {int(found) for found in re.findall(r'href="/officerview/show/(\d+)', html)}
    return {key for key, pk in named.items() if pk in ids}


# FAB's filters on a string, by number: 0 starts with, 1 ends with, 2 contains, 4 not starts with.
@pytest.mark.parametrize("query, expected", [
    (f"_flt_0_first_name_th={MARK}", {"begins"}),
    (f"_flt_1_first_name_th={MARK}", {"ends"}),
    (f"_flt_2_first_name_th={MARK}", {"begins", "ends"}),
    (f"_flt_2_first_name_th={MARK}&_flt_4_first_name_th={MARK}", {"ends"}),
    (f"_flt_0_last_name_th={MARK}", {"ends"}),
    (f"_flt_1_last_name_th={MARK}", {"begins"}),
    # Typed literally: "%" and "_" are those characters.
    ("_flt_0_first_name_th=100%25", {"percent"}),
    ("_flt_0_first_name_th=%25", set()),
    ("_flt_2_last_name_th=_", {"percent"}),
])
def test_a_thai_name_is_matched_as_typed(login, named, query, expected):
    admin = login("admin")
    assert _shown(admin, query, named) == expected, query


def test_a_typed_wildcard_finds_no_one_it_does_not_name(app, login, named):
    """A "%" alone was FAB's "anything": the whole force listed for a name that none bears."""
    admin = login("admin")
    admin.get("/lang/en")
    html = admin.get("/officerview/list/?_flt_0_first_name_th=%25").get_data(as_text=True)
    assert not re.findall(r'href="/officerview/show/(\d+)', html)


def test_an_api_operator_is_the_columns_own_filter(app, api_tokens, named):
    """FAB found an API filter's operator in one map of the whole process (the class made last
    under each name), so the Thai names' "sw" (LIKE) could have served an English name, which
    is matched case-blind. Each column now answers with its own filter of that name."""
    from flask_appbuilder.models.filters import map_args_filter

    from app.datamodel import THAI_NAME_FILTERS, datamodel

    THAI_NAME_FILTERS[0]("first_name_th", datamodel(Officer))  # made last: FAB's map names it for "sw"
    assert map_args_filter["sw"] is THAI_NAME_FILTERS[0]
    api = ApiUser(app.test_client(), api_tokens("centralit"))

    def found(column: str, operator: str, value: str) -> set[str]:
        rison = f"(filters:!((col:{column},opr:{operator},value:'{value}')),page_size:100)"
        response = api.get("/api/v1/officers/", query_string={"q": rison})
        assert response.status_code == 200, (column, operator, value, response.get_data(as_text=True))
        return {key for key, pk in named.items() if pk in response.get_json()["ids"]}

    with app.app_context():
        station = db.session.scalar(select(Unit.id).where(Unit.code == "KKN-MUEANG"))
    with counted_statements(app) as statements:
        units = api.get("/api/v1/units/", query_string={"q": "(filters:!((col:code,opr:sw,value:'kkn-mue')))"})
    assert units.status_code == 200, units.get_data(as_text=True)
    assert station in units.get_json()["ids"]
    # A code is matched case-blind, by FAB's own "sw" (ILIKE; lower() on SQLite), not the names' LIKE.
    assert any(re.search(r"unit\.code ILIKE|lower\(unit\.code\) LIKE lower", each) for each in statements), statements
    assert found("first_name_th", "sw", MARK) == {"begins"}
    assert found("first_name_th", "ct", MARK) == {"begins", "ends"}
    assert found("first_name_th", "sw", "100%") == {"percent"}  # typed literally
    refused = api.get("/api/v1/officers/", query_string={
        "q": "(filters:!((col:first_name_th,opr:day_eq,value:'1/1/2569')))"})
    assert refused.status_code == 400
