"""A list's rows written in Python (app.views.list_rows) and its search form kept between views
(app.views.search_form): the same page as FAB's widgets give, no stale choice, nothing unescaped."""

import json
import re
import uuid

from markupsafe import escape
from sqlalchemy import func, select

from app.extensions import db
from app.models import Rank, RankGroup
from tests.conftest import counted_statements
from tests.factories import make_officer, make_unit


def _filter_script(page: str) -> list:
    """What the page hands FAB's filter script: labels, fields, filter names, active filters."""
    arguments = re.search(r"new AdminFilters\(\s*'#filter_form',\s*(.*?)\s*\);", page, re.S).group(1)
    return json.loads(f"[{arguments}]")


def _search_fields(page: str) -> dict:
    return _filter_script(page)[1]


def test_a_new_rank_is_offered_by_the_search_form_at_once_and_a_kept_form_reads_no_rank(app, login):
    tech = login("commandtech")
    tech.get("/officerview/list/")
    with counted_statements(app) as statements:
        kept = tech.get("/officerview/list/").get_data(as_text=True)
    assert not [s for s in statements if re.search(r"\bFROM rank\b", s)], "the kept form read the ranks again"
    name = f"ยศ{uuid.uuid4().hex[:6]}"
    assert name not in _search_fields(kept)["rank"]
    with app.app_context():
        order = (db.session.scalar(select(func.max(Rank.order))) or 0) + 1
        rank = Rank(order=order, name_th=name, abbr_th=name, name_en="Test rank", rank_class="commissioned",
                    rank_group_id=db.session.scalar(select(RankGroup.id).limit(1)))
        db.session.add(rank)
        db.session.commit()
        rank_id = rank.id
    try:
        assert name in _search_fields(tech.get("/officerview/list/").get_data(as_text=True))["rank"]
    finally:
        with app.app_context():
            db.session.delete(db.session.get(Rank, rank_id))
            db.session.commit()
    assert name not in _search_fields(tech.get("/officerview/list/").get_data(as_text=True))["rank"]


def test_the_search_form_is_kept_per_language(app, login):
    tech = login("commandtech")
    thai = _filter_script(tech.get("/officerview/list/").get_data(as_text=True))
    tech.get("/lang/en")
    english = _filter_script(tech.get("/officerview/list/").get_data(as_text=True))
    tech.get("/lang/th")
    again = _filter_script(tech.get("/officerview/list/").get_data(as_text=True))
    assert english[0]["national_id"] == "National ID" and thai[0]["national_id"] != "National ID"
    assert english[2] != thai[2]  # the filters' names
    assert again == thai


def test_list_rows_escape_what_people_typed_and_link_each_row(app, login):
    with app.app_context():
        unit = make_unit(db.session)
        officer = make_officer(db.session, unit, first_name_th='<img src=x onerror="alert(1)">',
                               last_name_th="O'Neil & co")
        db.session.commit()
        officer_id, national_id = officer.id, officer.national_id
    admin = login("admin")
    page = admin.get(f"/officerview/list/?_flt_0_national_id={national_id}").get_data(as_text=True)
    assert '<img src=x onerror="alert(1)">' not in page
    assert str(escape('<img src=x onerror="alert(1)">')) in page
    assert "O&#39;Neil &amp; co" in page
    assert f'href="/officerview/show/{officer_id}"' in page
    assert f'href="/officerview/edit/{officer_id}"' in page


def test_bulk_lists_give_each_row_its_checkbox(app, login):
    head = login("head")
    page = head.get("/tocertifyview/list/").get_data(as_text=True)
    rows = re.findall(r'<input id="(\d+)" class="action_check" name="rowid" value="(\d+)" type="checkbox">', page)
    links = re.findall(r'<a href="/requests/show/(\d+)">', page)
    assert rows and all(a == b for a, b in rows)
    assert {a for a, _ in rows} == set(links)


def test_an_inbox_says_each_reason_once_per_page_and_language(app, monkeypatch):
    from flask_babel import force_locale

    from app.services.eligibility import Check
    from app.views import request_columns

    said = []
    real = request_columns.translate
    monkeypatch.setattr(request_columns, "translate", lambda m, p: said.append(m) or real(m, p))
    retired = Check("officer_active", "fail", "The officer's personnel status is %(status)s, not active.",
                    {"status": "retired"})
    with app.test_request_context("/"):
        with force_locale("en"):
            english = [request_columns._reason(retired) for _ in range(3)]
        with force_locale("th"):
            thai = request_columns._reason(retired)
        unhashable = request_columns._reason(Check("x", "fail", "%(units)s", {"units": ["a"]}))
    assert len(said) == 3  # English once, Thai once, the unhashable one as it is
    assert english == ["The officer's personnel status is retired, not active."] * 3
    assert thai != english[0] and "retired" not in thai
    assert unhashable == "['a']"
