"""PostgreSQL only: the dashboard's and the inbox counts' queries are driven by indexes.

A dataset of the national shape (bench/dataset.py, set-based, a few seconds at 20,000 requests)
is built in a database of its own and ANALYZEd; every statement the dashboard and the home page's
inbox counts send is captured and EXPLAINed, and none may read a big table from end to end. That
is what keeps one command's dashboard fast at a million requests: a Seq Scan grows with the
country, an index scan with the reader's share of it.

One exception, on purpose: the nationwide reader's count by state counts every request, which no
index can shorten; PostgreSQL may read the table or the state index, both are fine.
"""
import os
import re

import pytest
from sqlalchemy import event, func, select

from tests.conftest import TEST_NOW, build_app

pytestmark = pytest.mark.skipif(not os.environ.get("SITTHI_TEST_POSTGRES"),
                                reason="query plans are PostgreSQL's")

REQUESTS = 20_000
BIG_TABLES = ("access_request", "decision", "request_item", "permission_grant")
SEQ_SCAN = re.compile(r"Seq Scan on (\w+)")


@pytest.fixture(scope="module")
def national(databases):
    from bench.dataset import build

    url = databases.new_url("dashplans")
    build(url, REQUESTS, today=TEST_NOW.date())
    application = build_app(url)
    yield application
    with application.app_context():
        from app.extensions import db

        db.session.remove()
        db.engine.dispose()


def _actor(session, username: str):
    from app.models import AccessRequest, Unit, User
    from app.security.scope import Actor, actor_for, command_of

    if username == "one province":
        # The demo command holds a large share of a 20,000-request country (bench/dataset.py
        # gives the demo logins volume), where reading the table is rightly cheaper; a typical
        # province's CommandTech is the reader whose share is small, as at national scale.
        station = session.scalar(select(AccessRequest.unit_id).group_by(AccessRequest.unit_id)
                                 .order_by(func.count().desc(), AccessRequest.unit_id).limit(1).offset(50))
        command = command_of(session, station)
        assert command is not None and session.get(Unit, command).is_admin_scope
        return Actor(user_id=-1, roles=frozenset({"CommandTech"}), command_id=command)
    return actor_for(session, session.scalar(select(User).where(User.username == username)))


def _captured(app, work) -> list[tuple[str, object]]:
    """(statement, parameters) of every statement `work` sends; the reader's own look-ups too."""
    from app.extensions import db

    sent = []

    def record(_conn, _cursor, statement, parameters, *_args):
        sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        work()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return sent


def _seq_scans(app, statements) -> dict[str, list[str]]:
    """Statement -> the big tables its plan reads end to end."""
    from app.extensions import db

    found = {}
    with db.engine.connect() as conn:
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            plan = "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters))
            tables = [table for table in SEQ_SCAN.findall(plan) if table in BIG_TABLES]
            if tables:
                found[statement] = [*tables, plan]
    return found


@pytest.mark.parametrize("username", [
    # Each arm of the province's scope is an index scan (unit, target unit, and, since the
    # dashboard counts with its officers' ids worked out first as an array, their requests).
    "one province",
    "head", "officer",
    # The time per stage reads the waits kept on decisions (ix_decision_waits), no longer a LAG
    # over every decision of 90 days; the waiting counts name the agency stages by id.
    "centralit", "admin"])
def test_dashboard_and_inbox_counts_use_indexes(national, username):
    from app.extensions import db
    from app.security.scope import is_nationwide
    from app.services.dashboard import approval_dashboard
    from app.services.inboxes import inbox_counts

    with national.app_context():
        session = db.session
        actor = _actor(session, username)
        today = TEST_NOW.date()
        dashboard = None

        def work():
            nonlocal dashboard
            dashboard = approval_dashboard(session, actor, today)
            inbox_counts(session, actor)

        statements = _captured(national, work)
        scans = _seq_scans(national, statements)
        if is_nationwide(actor):
            # The nationwide count by state: every request counted (see the module docstring).
            scans = {statement: found for statement, found in scans.items()
                     if not re.search(r"GROUP BY access_request\.state\b", statement)}
        assert not scans, "\n\n".join(f"{statement}\n{found[-1]}" for statement, found in scans.items())
        # The dataset gives every reader something to count, so the plans are of real work.
        assert sum(dashboard.by_state.values()) > 0
        session.rollback()
