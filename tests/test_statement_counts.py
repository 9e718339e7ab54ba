"""The busy lists run the same number of SQL statements for 25 rows as for 100.

A query per row, or a whole related table loaded into a filter or form, would show up here as
a count that grows with the page.
"""
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AccessRequest, Grant, Officer
from tests.conftest import counted_statements
from tests.factories import make_grant, make_officer, make_request, make_unit


@pytest.fixture(scope="module")
def hundred_requests(app):
    """At least 110 officers, requests and grants, so a page of 100 is really full."""
    with app.app_context():
        counts = [db.session.scalar(select(func.count(model.id))) for model in (AccessRequest, Grant)]
        if min(counts) < 110:
            unit = make_unit(db.session)
            for _ in range(110):
                requester = make_officer(db.session, unit)
                make_request(db.session, requester, certifying_head=requester)
                make_grant(db.session, requester)
            db.session.commit()


def _statements_for(app, user, url, route, rows):
    user.get(url)  # warm-up: the first request of a client loads its session and roles
    with counted_statements(app) as statements:
        response = user.get(url)
    assert response.status_code == 200
    shown = set(re.findall(rf'href="/{route}/show/(\d+)', response.get_data(as_text=True)))
    assert len(shown) == rows, f"{url} shows {len(shown)} rows, not {rows}"
    return statements


@pytest.mark.parametrize(
    "view, url",
    [
        ("OfficerView", "/officerview/list/"),
        ("AccessRequestView", "/accessrequestview/list/"),
        ("GrantView", "/grantview/list/"),
    ],
)
def test_list_statements_do_not_grow_with_the_page(app, login, hundred_requests, view, url):
    admin = login("admin")
    route = url.split("/")[1]
    small = _statements_for(app, admin, f"{url}?psize_{view}=25", route, 25)
    large = _statements_for(app, admin, f"{url}?psize_{view}=100", route, 100)
    assert len(large) == len(small), "\n".join(large)
    assert len(small) <= 20, "\n".join(small)


def test_forms_do_not_load_whole_related_tables(app, login):
    """The officer and request forms send only the chosen row of a big table."""
    admin = login("admin")
    with app.app_context():
        officers = db.session.scalar(select(func.count(Officer.id)))
    for url in ("/officerview/add", "/accessrequestview/add", "/grantview/add",
                "/officerview/list/", "/accessrequestview/list/"):
        html = admin.get(url).get_data(as_text=True)
        assert html.count("<option") < 200 < officers, url


def test_counts_stop_at_the_cap(app, login):
    """Past LIST_COUNT_CAP the list says "N+" instead of counting the whole table."""
    admin = login("admin")
    cap, app.config["LIST_COUNT_CAP"] = app.config["LIST_COUNT_CAP"], 50
    try:
        html = admin.get("/officerview/list/").get_data(as_text=True)
    finally:
        app.config["LIST_COUNT_CAP"] = cap
    assert "50+" in html
    assert "/officerview/show/" in html


def test_an_exact_count_reads_with_its_thousands_separated(app, login):
    """FAB's template printed a count as Python does ("2344"), beside a capped "1,000+"."""
    from app.datamodel import ShownCount

    assert (str(ShownCount(2344)), str(ShownCount(999)), str(ShownCount(0))) == ("2,344", "999", "0")
    with app.app_context():
        officers = db.session.scalar(select(func.count(Officer.id)))
    admin = login("admin")
    admin.get("/lang/en")
    assert _record_count(admin.get("/officerview/list/").get_data(as_text=True)) == \
        (f"{officers:,}" if officers <= app.config["LIST_COUNT_CAP"] else f"{app.config['LIST_COUNT_CAP']:,}+")


def _record_count(html: str) -> str:
    found = re.search(r"Record Count:</strong>\s*([\d,+]+)|จำนวนรายการ:</strong>\s*([\d,+]+)", html)
    assert found, "no record count on the page"
    return found.group(1) or found.group(2)


@pytest.mark.parametrize("listed", ["requests", "officers"])
def test_a_commands_capped_count_counts_every_row_it_may_see(app, login, listed):
    """A command's request list first counts the requests filed in its units, its officer list
    the officers of its units (one index each): past the cap that is enough; below it, every row
    the command may see is counted, one of an officer assigned into the command from elsewhere
    included."""
    tech = login("commandtech")
    tech.get("/lang/en")
    model, url = {"requests": (AccessRequest, "/accessrequestview/list/"),
                  "officers": (Officer, "/officerview/list/")}[listed]
    with app.app_context():
        from app.models import User
        from app.security import scope
        from tests.factories import make_unit

        officer = db.session.scalar(select(Officer).join(User, User.id == Officer.user_id)
                                    .where(User.username == "commandtech"))
        actor = scope.actor_for(db.session, officer.user)
        within = scope.command_units(db.session, actor)
        visible = select(func.count(model.id)).where(scope.row_condition(db.session, actor, model))
        here_only = AccessRequest.unit_id.in_(within) if model is AccessRequest else Officer.home_unit_id.in_(within)
        found_here = select(func.count(model.id)).where(here_only)
        before = db.session.scalar(visible)
        assert 1 < db.session.scalar(found_here) <= before

        far = make_unit(db.session)  # in no command
        assigned_in = make_officer(db.session, far, acting_unit_id=officer.home_unit_id)
        if model is AccessRequest:
            make_request(db.session, assigned_in, unit=far)
        db.session.commit()
        total, here = db.session.scalar(visible), db.session.scalar(found_here)
    assert total == before + 1

    cap = app.config["LIST_COUNT_CAP"]
    try:
        # Other tests add officers to the command: the cap is set around what it holds now.
        app.config["LIST_COUNT_CAP"] = total + 1
        # An exact count is shown with its thousands separated ("2,344"), as a capped one ("1,000+").
        assert _record_count(tech.get(url).get_data(as_text=True)) == f"{total:,}"
        app.config["LIST_COUNT_CAP"] = here - 1  # the rows found in the command's units alone pass it
        assert _record_count(tech.get(url).get_data(as_text=True)) == f"{here - 1:,}+"
        app.config["LIST_COUNT_CAP"] = total - 1  # only all of them together do
        with counted_statements(app) as statements:
            html = tech.get(url).get_data(as_text=True)
        assert _record_count(html) == f"{total - 1:,}+"
        assert sum("count(*)" in s for s in statements) == 1, "\n".join(statements)
    finally:
        app.config["LIST_COUNT_CAP"] = cap


def test_a_list_reads_its_rows_and_their_count_in_one_statement(app, login):
    """FAB counted a list's rows in a statement of its own before reading the page: the count is
    now a subquery of the page's statement, and right on every page, past the last one too."""
    with app.app_context():
        unit = make_unit(db.session)
        for _ in range(3):
            make_officer(db.session, unit, last_name_th="หน้าเดียว")
        db.session.commit()
    admin = login("admin")
    admin.get("/lang/en")
    url = "/officerview/list/?_flt_0_last_name_th=หน้าเดียว"

    def shown(address: str) -> tuple[str, int, list[str]]:
        admin.get(address)  # a first view fills the app's caches
        with counted_statements(app) as statements:
            html = admin.get(address).get_data(as_text=True)
        rows = len(set(re.findall(r'href="/officerview/show/(\d+)', html)))
        return _record_count(html) if rows else "none shown", rows, [s for s in statements if "count(*)" in s]

    for address, count, rows in ((url, "3", 3), (f"{url}&psize_OfficerView=2", "3", 2),
                                 (f"{url}&psize_OfficerView=2&page_OfficerView=1", "3", 1)):
        shown_count, shown_rows, counting = shown(address)
        assert (shown_count, shown_rows) == (count, rows), address
        assert len(counting) == 1 and "officer.first_name_th" in counting[0], counting
    # Past the last page no row carries the count: it is counted on its own, and nothing is shown.
    assert shown(f"{url}&psize_OfficerView=2&page_OfficerView=5")[:2] == ("none shown", 0)
    assert shown("/officerview/list/?_flt_0_last_name_th=ไม่มีใครชื่อนี้")[:2] == ("none shown", 0)


def test_the_apis_count_comes_with_its_page(app, api_tokens):
    from tests.conftest import ApiUser

    with app.app_context():
        unit = make_unit(db.session)
        for _ in range(2):
            make_officer(db.session, unit, last_name_th="นับในหน้า")
        db.session.commit()
    admin = ApiUser(app.test_client(), api_tokens("admin"))
    wanted = "filters:!((col:last_name_th,opr:sw,value:นับในหน้า))"

    def listed(page: int, size: int) -> tuple[int, int, int]:
        with counted_statements(app) as statements:
            body = admin.get(f"/api/v1/officers/?q=({wanted},page:{page},page_size:{size})").get_json()
        return body["count"], len(body["result"]), sum("count(*)" in s for s in statements)

    assert listed(0, 25) == (2, 2, 1)
    assert listed(0, 1) == (2, 1, 1)
    assert listed(1, 1) == (2, 1, 1)
    assert listed(7, 1) == (2, 0, 2)  # past the last page: no row to carry it, counted on its own
