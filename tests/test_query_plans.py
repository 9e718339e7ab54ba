"""The busy pages' queries use indexes on PostgreSQL: no sequential scan of a big table.

A database of its own is filled by bench/dataset.py at a scale where the planner prefers an
index whenever one serves (set-based, then VACUUM ANALYZE). Each busy page is opened as the role
that uses it; every statement it sends is EXPLAINed with the same parameters, and a Seq Scan on
a big table fails the test, naming the page, the statement and the plan. A missing index fails
here instead of on a user's morning.
"""
import json
import os

import pytest
from sqlalchemy import event, select

from app.domain.inputs import shown_date
from tests.conftest import TEST_NOW, Browser, build_app

pytestmark = pytest.mark.skipif(not os.environ.get("SITTHI_TEST_POSTGRES"),
                                reason="query plans are PostgreSQL's (set SITTHI_TEST_POSTGRES)")

BIG_TABLES = frozenset({"officer", "access_request", "request_item", "decision", "permission_grant",
                        "audit_event"})
# Enough rows that an index is cheaper than reading a table whenever one serves: a command's
# officers are a hundredth of 60,000 (at 7,000 officers the planner rightly reads them all).
REQUESTS, OFFICERS = 30_000, 60_000


@pytest.fixture(scope="module")
def planned_app(databases):
    from bench.dataset import build

    url = databases.new_url("plans")
    build(url, REQUESTS, officers=OFFICERS, today=TEST_NOW.date())
    application = build_app(url)
    yield application
    from app.extensions import db

    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def _samples(app) -> dict:
    from app.extensions import db
    from app.models import AccessRequest, AuditEvent, Officer, Unit

    with app.app_context():
        station = db.session.scalar(select(Unit.id).where(Unit.code == "KKN-MUEANG"))
        return {
            "officer": db.session.scalar(select(Officer.id).where(Officer.home_unit_id == station)
                                         .order_by(Officer.id.desc()).limit(1)),
            "request": db.session.scalar(select(AccessRequest.id).where(AccessRequest.state == "submitted")
                                         .order_by(AccessRequest.id.desc()).limit(1)),
            "deep_request": db.session.scalar(select(AccessRequest.id).order_by(AccessRequest.id).offset(100).limit(1)),
            "deep_event": db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id).offset(100).limit(1)),
            "today_be": shown_date(TEST_NOW.date(), buddhist_era=True),
        }


PAGES = [
    ("head", "/tocertifyview/list/"),
    ("centralit", "/toverifyview/list/"),
    ("centralit", "/toverifyview/list/?_oc_ToVerifyView=due&_od_ToVerifyView=asc"),
    ("centralit", "/"),
    ("commandtech", "/accountrequestview/list/"),
    ("commandtech", "/officerview/list/"),
    ("commandtech", "/officerview/show/{officer}"),
    # A command's requests include those of officers now serving in it: counted, their ids go in
    # first as an array and each is an index probe (the count read the whole table before).
    ("commandtech", "/accessrequestview/list/"),
    ("commandtech", "/accessrequestview/list/?_flt_0_state=submitted"),
    ("commandtech", "/commandgrantview/list/"),
    ("commandtech", "/expiringgrantview/list/"),
    ("commandtech", "/rightsaudit/"),
    ("admin", "/accessrequestview/list/?_flt_0_state=submitted"),
    ("admin", "/accessrequestview/list/?after={deep_request}"),
    ("admin", "/accessrequestview/list/?_flt_2_number=000123"),  # part of a request's number
    ("admin", "/grantview/list/"),
    ("admin", "/grantview/list/?_oc_GrantView=valid_until&_od_GrantView=asc"),
    ("admin", "/officerview/list/?_flt_0_first_name_th=สมชาย"),
    ("centralit", "/requests/show/{request}"),
    ("auditor", "/auditeventview/list/"),
    ("auditor", "/auditeventview/list/?after={deep_event}"),
    ("auditor", "/auditeventview/list/?_flt_0_occurred_at={today_be}"),  # the trail of one day
    ("auditor", "/auditeventview/list/?_flt_2_occurred_at={today_be}"),  # before a day, by moment
    ("auditor", "/auditeventview/list/?_flt_0_action=export"),  # one action, rare in the trail
    ("auditor", "/auditeventview/list/?_flt_0_object_type=RightsAudit"),
    ("commandtech", "/lookup/officer?q=สมชาย"),
    ("admin", "/lookup/officer?q=สม ใจ"),
]


def _statements(app, who: str, url: str, browsers: dict) -> list[tuple[str, object]]:
    from app.extensions import db

    if who not in browsers:
        browsers[who] = Browser(app.test_client())
        assert browsers[who].login(who).status_code == 302
    with app.app_context():
        engine = db.engine
    seen: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many):
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        response = browsers[who].get(url)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200, (who, url, response.status_code)
    return [(statement, parameters) for statement, parameters in seen
            if statement.lstrip().upper().startswith(("SELECT", "WITH"))]


def _seq_scans(node) -> list[str]:
    found = []
    if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") in BIG_TABLES:
        found.append(node["Relation Name"])
    for child in node.get("Plans", ()):
        found += _seq_scans(child)
    return found


def _explained(cursor, statement: str, parameters) -> dict:
    """The root of the statement's plan, as PostgreSQL would run it with these parameters."""
    cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
    plan = cursor.fetchone()[0]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


def _plan_of_the_one(app, who: str, url: str, chosen) -> dict:
    """The plan of the one statement of the page that `chosen` picks (it must pick exactly one)."""
    from app.extensions import db

    statements = _statements(app, who, url, _test_browsers)
    picked = [(statement, parameters) for statement, parameters in statements if chosen(statement)]
    assert len(picked) == 1, [statement for statement, _ in statements]
    with app.app_context(), db.engine.connect() as connection:
        return _explained(connection.connection.driver_connection.cursor(), *picked[0])


@pytest.mark.parametrize("who, url", PAGES)
def test_busy_pages_read_the_big_tables_through_indexes(planned_app, who, url):
    from app.extensions import db

    address = url.format(**_samples(planned_app))
    statements = _statements(planned_app, who, address, _test_browsers)
    assert statements, address
    with planned_app.app_context(), db.engine.connect() as connection:
        cursor = connection.connection.driver_connection.cursor()
        for statement, parameters in statements:
            plan = _explained(cursor, statement, parameters)
            scans = _seq_scans(plan)
            assert not scans, (f"{who} {address}: sequential scan of {', '.join(scans)} in\n{statement}\n"
                               f"{json.dumps(plan, indent=1)[:4000]}")


_test_browsers: dict = {}


def test_the_chasing_sweep_reads_the_big_tables_through_indexes(planned_app):
    """Every SELECT of one batch of `flask sitthi chase-requests`, with a rule on every stage and
    the bench's requests naming officers who cannot certify (so the fallback heads are sought);
    then the CentralIT inbox with what the batch escalated to it."""
    from sqlalchemy import func

    from app.extensions import db
    from app.models import AccessRequest, ApprovalStage
    from app.security.scope import Actor
    from app.services import inboxes
    from app.services.chasing import chase
    from app.services.clock import Clock

    with planned_app.app_context():
        session = db.session
        for stage in session.scalars(select(ApprovalStage).where(ApprovalStage.actor != "agency")):
            stage.remind_after_days, stage.escalate_after_days, stage.return_after_days = 1, 3, 20
            stage.escalate_to, stage.escalate_to_role, stage.return_reason = "role", "CentralIT", "overdue"
        session.flush()
        seen: list[tuple[str, object]] = []

        def record(_conn, _cursor, statement, parameters, _context, _many):
            if statement.lstrip().upper().startswith(("SELECT", "WITH")):
                seen.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            report = chase(session, Clock.on(TEST_NOW.date()), 200)
            assert report.total and report.escalated, report
            # What was escalated then waits in the CentralIT inbox beside its own stage's requests:
            # its count and first page, soonest due first, read through indexes too.
            central = Actor(user_id=-1, roles=frozenset({"CentralIT"}))
            waiting = inboxes.to_verify(session, central)
            assert inboxes.escalated_waits(session, role="CentralIT")
            session.scalar(select(func.count(AccessRequest.id)).where(waiting))
            session.scalars(select(AccessRequest.id).where(waiting).order_by(AccessRequest.due_on).limit(25)).all()
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        cursor = session.connection().connection.driver_connection.cursor()
        try:
            for statement, parameters in seen:
                plan = _explained(cursor, statement, parameters)
                scans = _seq_scans(plan)
                assert not scans, (f"chase-requests: sequential scan of {', '.join(scans)} in\n{statement}\n"
                                   f"{json.dumps(plan, indent=1)[:4000]}")
        finally:
            session.rollback()


def _nodes(node):
    yield node
    for child in node.get("Plans", ()):
        yield from _nodes(child)


@pytest.mark.parametrize("column", ["first_name_th", "last_name_th"])
def test_a_thai_names_first_letters_are_a_range_of_its_index(planned_app, column):
    """"Starts with" on a Thai name is counted from a range of the names' index (migration 0029).
    As ILIKE it read the whole index and case-folded every entry (36 ms at 230,000 officers):
    no sequential scan, so only this test sees it."""
    plan = _plan_of_the_one(planned_app, "admin", f"/officerview/list/?_flt_0_{column}=สม",
                            lambda statement: f"officer.{column} LIKE" in statement and "count(" in statement)
    ranges = [node for node in _nodes(plan) if "~>=~" in node.get("Index Cond", "")]
    assert ranges, json.dumps(plan, indent=1)[:4000]


def _the_commands_count(statement: str) -> bool:
    # The user's own statement counts too (unread notifications, requests naming them).
    return "count(" in statement and "FROM access_request" in statement \
        and not statement.lstrip().startswith("SELECT ab_user")


def test_a_commands_requests_in_one_state_are_counted_among_that_states_only(planned_app):
    """The command's request list filtered by state counts the requests of the officers serving
    in it among the requests in that state alone: by one probe each of the requester index, the
    state in its key (migration 0030), or along (state, id) holding the requester (0031), as the
    planner finds cheaper at the scale. Before, each officer's every request was read from the
    table (77 ms at 1,000,000 requests), or, as `IN (subquery)` inside the OR, every request in
    that state tested row by row (27-37 ms)."""
    plan = _plan_of_the_one(planned_app, "commandtech", "/accessrequestview/list/?_flt_0_state=submitted",
                            _the_commands_count)
    officers_tested = [node for node in _nodes(plan)
                       if "requester_id = ANY" in node.get("Index Cond", "") + node.get("Filter", "")]

    def among_the_states_rows(node) -> bool:
        if node.get("Index Name") == "ix_request_requester_id":
            return node["Node Type"] == "Bitmap Index Scan" and "state" in node.get("Index Cond", "")
        return node.get("Index Name") == "ix_request_state_id" and node["Node Type"] == "Index Only Scan"

    assert officers_tested and all(map(among_the_states_rows, officers_tested)), json.dumps(plan, indent=1)[:6000]


def test_a_commands_requests_in_one_state_are_listed_along_that_state(planned_app):
    """The page itself walks (state, id) backwards, testing the command's scope on the index's own
    columns (migration 0031); along the table's key it passed 62,000 rows of other states and
    commands for the newest 25 at 1,000,000 requests (13 ms against 1.5)."""
    plan = _plan_of_the_one(
        planned_app, "commandtech", "/accessrequestview/list/?_flt_0_state=submitted",
        lambda statement: statement.lstrip().startswith("SELECT access_request.id AS access_request_id"))
    walks = [node for node in _nodes(plan) if node.get("Index Name") == "ix_request_state_id"]
    assert walks, json.dumps(plan, indent=1)[:6000]
