"""Two people deciding the same request at once: exactly one wins, the other is told, nothing is half-written."""
import os
import threading
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import StaleRecord
from app.models import AccessRequest, DataSource, Decision, DutyLine, Grant, Officer, User
from app.security.scope import actor_for
from app.services import access_requests as service
from app.services.clock import Clock
from tests.factories import SEARCH_DOCUMENTS, decide, make_login, make_officer

CLOCK = Clock.on(date(2026, 11, 23))


def _request_at_central_it(app) -> int:
    """A request of a new officer of the demo head's station, certified by the demo head, committed.

    A new requester each time: the rights a committed request leaves must not make the next one a
    duplicate.
    """
    from app.extensions import db

    with app.app_context():
        session = db.session
        users = {u.username: u for u in session.scalars(select(User))}
        head = actor_for(session, users["head"])
        head_officer = session.get(Officer, head.officer_id)
        investigation = session.scalar(select(DutyLine).where(DutyLine.code == "investigation"))
        requester = make_officer(session, head_officer.home_unit, duty_line=investigation)
        officer = actor_for(session, make_login(session, requester))
        vehicles = session.scalar(select(DataSource.id).where(DataSource.code == "vehicles"))
        request = service.save_draft(session, officer, service.RequestData(
            kind="external_search", contact_email="me@police.example", contact_mobile="0812345678",
            duty_performed="สืบสวน", pledge_accepted=True, certifying_head_id=head_officer.id,
            sources=(service.SourceChoice(vehicles),)), CLOCK, uploads=SEARCH_DOCUMENTS)
        service.submit(session, officer, request.id, CLOCK)
        decide(session, head, request.id, "approve", CLOCK)
        session.commit()
        return request.id


def _counts(session, request_id):
    return (
        session.scalar(select(func.count(Decision.id)).where(Decision.request_id == request_id)),
        session.scalar(select(func.count(Grant.id)).where(Grant.request_id == request_id)),
    )


def test_two_sessions_one_request_one_winner(app):
    """Both opened the request at version N; the second commit is refused cleanly."""
    from app.extensions import db

    request_id = _request_at_central_it(app)
    with app.app_context():
        engine = db.engine
        with Session(engine) as first, Session(engine) as second:
            user = first.scalar(select(User).where(User.username == "centralit"))
            actor = actor_for(first, user)
            version = first.get(AccessRequest, request_id).version
            second.get(AccessRequest, request_id)  # the other tab has it open too

            decide(first, actor, request_id, "approve", CLOCK, expected_version=version)
            first.commit()
            with pytest.raises(StaleRecord):
                decide(second, actor, request_id, "approve", CLOCK, expected_version=version)
            second.rollback()

        with Session(engine) as check:
            request = check.get(AccessRequest, request_id)
            assert request.state == "completed"
            decisions, grants = _counts(check, request_id)
            assert grants == 1
            assert decisions == 4  # submit, head approve, central approve, the item approval


@pytest.mark.skipif(not os.environ.get("SITTHI_TEST_POSTGRES"), reason="row locks are PostgreSQL's")
def test_two_connections_clicking_at_the_same_moment(app):
    """Two threads, two connections, a barrier: PostgreSQL makes one wait, then refuses it."""
    from app.extensions import db

    request_id = _request_at_central_it(app)
    with app.app_context():
        engine = db.engine
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def click():
        with Session(engine) as session:
            user = session.scalar(select(User).where(User.username == "centralit"))
            actor = actor_for(session, user)
            version = session.get(AccessRequest, request_id).version
            barrier.wait()
            try:
                decide(session, actor, request_id, "approve", CLOCK, expected_version=version)
                session.commit()
                outcomes.append("won")
            except StaleRecord:
                session.rollback()
                outcomes.append("stale")

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["stale", "won"]
    with Session(engine) as check:
        assert check.get(AccessRequest, request_id).state == "completed"
        decisions, grants = _counts(check, request_id)
        assert (decisions, grants) == (4, 1)
