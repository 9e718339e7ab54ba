"""The lists under a row's page (an officer's requests and rights, a unit's officers).

Every line of such a list names the page's own row: the column would repeat it on every line,
and reading it again for the list cost a statement (one per list) on every view of the page.
"""
import re

from sqlalchemy import select

from app.extensions import db
from app.models import Unit
from tests.conftest import counted_statements
from tests.factories import make_grant, make_officer, make_request, make_unit


def _headers(html: str) -> list[list[str]]:
    """Each table's column headings, in order."""
    return [[re.sub(r"<[^>]+>|\s+", " ", cell).strip() for cell in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)]
            for head in re.findall(r"<thead>(.*?)</thead>", html, re.S)]


def test_an_officers_page_lists_their_requests_and_rights_without_their_name_on_each_line(app, login):
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == "KKN-MUEANG"))
        officer = make_officer(db.session, unit)
        numbers = [make_request(db.session, officer).number for _ in range(3)]
        make_grant(db.session, officer)
        make_grant(db.session, officer, source_code="civil_registration")
        db.session.commit()
        officer_id, name = officer.id, officer.first_name_th
    admin = login("admin")
    admin.get("/lang/en")
    admin.get(f"/officerview/show/{officer_id}")  # a first view fills the app's caches
    with counted_statements(app) as statements:
        html = admin.get(f"/officerview/show/{officer_id}").get_data(as_text=True)

    requests_head, grants_head = _headers(html)[-2:]
    assert "Number" in requests_head and "Requester" not in requests_head, requests_head
    assert "Data source" in grants_head and "Officer" not in grants_head, grants_head
    assert all(number in html for number in numbers)
    # The officer is read once, for the page itself; neither list reads them again.
    officer_reads = [each for each in statements if re.match(r"SELECT officer\.", each)]
    assert len(officer_reads) == 1, officer_reads
    assert name in html


def test_a_units_page_lists_its_officers_without_the_unit_on_each_line(app, login):
    """A unit with more officers than a page: its officers' list had a next-rows link built for
    the officer list's own page, and answered 500 under the unit's (no key for the unit)."""
    with app.app_context():
        unit = make_unit(db.session)
        for _ in range(26):
            make_officer(db.session, unit)
        db.session.commit()
        unit_id = unit.id
    admin = login("admin")
    admin.get("/lang/en")
    response = admin.get(f"/unitview/show/{unit_id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    officers_head = _headers(html)[-1]
    assert "Rank" in officers_head and "Home unit" not in officers_head, officers_head
    assert len(set(re.findall(r'href="/officerview/show/(\d+)', html))) == 25


def test_an_officer_with_more_requests_than_a_page_has_a_page(app, login):
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == "KKN-MUEANG"))
        officer = make_officer(db.session, unit)
        for _ in range(26):
            make_request(db.session, officer)
        db.session.commit()
        officer_id = officer.id
    response = login("admin").get(f"/officerview/show/{officer_id}")
    assert response.status_code == 200
    assert len(set(re.findall(r'href="/requests/show/(\d+)', response.get_data(as_text=True)))) == 25
