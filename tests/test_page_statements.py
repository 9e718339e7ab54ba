"""Every busy page runs the same number of SQL statements however much data lies behind it.

A lazy load per row, or a Python loop that asks the database once per request, shows up here as
a count that grows when the command's data grows. The pages are opened by the role that uses
them, on a database of their own, before and after the command gains three times more officers,
requests, decisions, grants and audit events.
"""
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.models import ApprovalChain, AuditEvent, Decision, Officer, Unit, User
from tests.conftest import TEST_NOW, Browser, build_app, counted_statements, prepare_database
from tests.factories import make_grant, make_officer, make_request


@pytest.fixture(scope="module")
def grown_app(databases):
    application = build_app(databases.new_url("statements"))
    prepare_database(application)
    yield application
    from app.extensions import db

    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def grow(app, rows: int) -> None:
    """`rows` more officers in the head's station, each with requests at every stage and rights."""
    from app.extensions import db

    with app.app_context():
        session = db.session
        now = TEST_NOW
        station = session.scalar(select(Unit).where(Unit.code == "KKN-MUEANG"))
        head_user = session.scalar(select(User).where(User.username == "head"))
        head = session.scalar(select(Officer).where(Officer.user_id == head_user.id))
        chain = session.scalar(select(ApprovalChain).where(ApprovalChain.request_kind == "external_search"))
        at_head, at_central = sorted(chain.stages, key=lambda stage: stage.position)[:2]
        for n in range(rows):
            officer = make_officer(session, station, first_name_th=f"สมชาย{n}")
            for stage in (at_head, at_central):
                waiting = make_request(session, officer, certifying_head=head, chain=chain,
                                       current_stage=stage, submitted_at=now - timedelta(days=n % 20),
                                       due_on=now.date() + timedelta(days=n % 7 - 2))
                session.add(Decision(request=waiting, stage=at_head, transition="submit", from_state="draft",
                                     to_state="submitted", decided_at=waiting.submitted_at))
            done = make_request(session, officer, state="completed", certifying_head=head, chain=chain,
                                submitted_at=now - timedelta(days=5), completed_at=now - timedelta(days=1))
            for stage, hours in ((at_head, 0), (at_head, 20), (at_central, 60)):
                session.add(Decision(request=done, stage=stage, transition="approve", from_state="submitted",
                                     to_state="submitted", actor_id=head_user.id,
                                     decided_at=done.submitted_at + timedelta(hours=hours)))
            make_grant(session, officer, valid_from=now.date() - timedelta(days=300),
                       valid_until=now.date() + timedelta(days=n % 60))
            make_grant(session, officer, source_code="civil_registration", state="revoked",
                       reason="ย้ายหน่วย")
            session.add(AuditEvent(action="Grant.create", actor_id=head_user.id, object_type="Officer",
                                   object_id=officer.id, unit_id=station.id, summary=str(officer),
                                   occurred_at=now))
        session.commit()


def officer_and_request(app) -> tuple[int, int]:
    from app.extensions import db

    with app.app_context():
        station = db.session.scalar(select(Unit.id).where(Unit.code == "KKN-MUEANG"))
        officer = db.session.scalar(select(Officer.id).where(Officer.home_unit_id == station)
                                    .order_by(Officer.id.desc()))
        from app.models import AccessRequest

        request = db.session.scalar(select(AccessRequest.id).where(AccessRequest.requester_id == officer)
                                    .order_by(AccessRequest.id))
    return officer, request


BUSY_PAGES = [
    ("head", "/tocertifyview/list/"),
    ("head", "/"),
    ("centralit", "/toverifyview/list/"),
    ("centralit", "/toverifyview/list/?_oc_ToVerifyView=due&_od_ToVerifyView=asc"),
    ("centralit", "/"),
    ("commandtech", "/"),
    ("commandtech", "/officerview/list/"),
    ("commandtech", "/officerview/show/{officer}"),
    ("commandtech", "/accessrequestview/list/"),
    ("commandtech", "/accessrequestview/list/?_flt_0_state=submitted"),
    ("commandtech", "/requests/show/{request}"),
    ("commandtech", "/grantview/list/"),
    ("commandtech", "/commandgrantview/list/"),
    ("commandtech", "/expiringgrantview/list/"),
    ("commandtech", "/rightsaudit/"),
    ("commandtech", "/dashboard/"),
    ("commandtech", "/lookup/officer?q=สมชาย"),
    ("commandtech", "/lookup/unit?q=สภ"),
    ("auditor", "/auditeventview/list/"),
    ("auditor", "/dashboard/"),
    ("admin", "/grantview/list/"),
    ("officer", "/myrequestview/list/"),
    ("officer", "/mygrantview/list/"),
]


# A page needs one statement for its user (app.security.manager._open_request), its rows and a
# few lookups: no more. A page that shows personal data also records the read: the event, its
# officer link, and the chain's seal (its lock on PostgreSQL, the last link, the new row, its hash).
RECORDING_A_READ = 6
MOST_STATEMENTS = 15 + RECORDING_A_READ


def statements_of(app, browsers, who: str, url: str) -> list[str]:
    browser = browsers.setdefault(who, Browser(app.test_client()))
    if not getattr(browser, "logged_in", False):
        assert browser.login(who).status_code == 302
        browser.logged_in = True
    browser.get(url)  # app-wide caches (the unit tree, translations) fill on a page's first view
    with counted_statements(app) as statements:
        response = browser.get(url)
    assert response.status_code == 200, (who, url, response.status_code)
    return list(statements)


def test_busy_pages_run_as_many_statements_at_three_times_the_data(grown_app):
    grow(grown_app, 8)
    officer, request = officer_and_request(grown_app)
    browsers: dict = {}
    before = {(who, url): statements_of(grown_app, browsers, who, url.format(officer=officer, request=request))
              for who, url in BUSY_PAGES}
    grow(grown_app, 16)
    grew = []
    for who, url in BUSY_PAGES:
        after = statements_of(grown_app, browsers, who, url.format(officer=officer, request=request))
        print(f"{who:12} {url:70} {len(before[(who, url)]):3} {len(after):3}")
        if len(after) != len(before[(who, url)]):
            grew.append(f"{who} {url}: {len(before[(who, url)])} -> {len(after)}\n  " + "\n  ".join(
                statement.split("\n")[0][:160] for statement in after))
        if len(after) > MOST_STATEMENTS:
            grew.append(f"{who} {url} runs {len(after)} statements, more than {MOST_STATEMENTS}")
    assert not grew, "\n".join(grew)


def test_a_page_asks_everything_of_its_user_in_its_first_statement(grown_app):
    """User, roles, login generation, officer, deputyships, menu facts, the bell and the reference
    stamps: one statement, then the page's own (a picker's one query)."""
    statements = statements_of(grown_app, {}, "commandtech", "/lookup/unit?q=สภ")
    assert len(statements) == 2, "\n".join(statements)
    first = statements[0]
    assert "ab_user" in first and "login_generation" in first and "officer" in first
    assert "delegation" in first and "notification" in first and "reference_stamp" in first
