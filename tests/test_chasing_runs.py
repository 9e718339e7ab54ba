"""The chasing job as it runs in production: `flask sitthi chase-requests` on a database of its own
(committed, like cron), what people then see on their screens, and two servers running it at once
(PostgreSQL). Tried as a new user would: a head who retired while a request waited.
"""
import html
import re
import threading
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    AccessRequest,
    ApprovalChain,
    AuditEvent,
    Decision,
    DutyLine,
    Notification,
    Officer,
    StageChase,
    Unit,
)
from app.services import access_requests as service
from app.services.chasing import ChaseReport, chase
from app.services.clock import Clock
from tests.conftest import DEMO_PASSWORD, POSTGRES_ADMIN_URL, Browser, build_app, prepare_database
from tests.factories import SEARCH_DOCUMENTS, make_head, make_login, make_officer, make_request, make_unit
from tests.test_chasing import REASON, THURSDAY, WEDNESDAY, _holidays

BATCH = 4


@pytest.fixture(scope="module")
def own_app(databases):
    from app.extensions import db

    application = build_app(databases.new_url("chasing"))
    prepare_database(application)
    with application.app_context():
        _holidays(db.session)
        db.session.commit()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _browser(app, username: str) -> Browser:
    user = Browser(app.test_client())
    assert user.login(username).status_code == 302, username
    return user


class Place:
    """A command of its own in the job's database: a station with its head and a second head, the
    command's head above them, a requester; each with a login (password DEMO_PASSWORD)."""

    def __init__(self, session):
        self.command = make_unit(session, kind="division", admin_scope=True)
        self.station = make_unit(session, parent=self.command)
        investigation = session.scalar(select(DutyLine).where(DutyLine.code == "investigation"))
        self.requester = make_officer(session, self.station, duty_line=investigation)
        self.head = make_head(session, self.station)
        self.next_head = make_head(session, self.station, rank_abbr="พ.ต.ท.")
        self.superior = make_head(session, self.command)
        self.logins = {who: make_login(session, getattr(self, who), password=DEMO_PASSWORD).username
                       for who in ("requester", "head", "next_head", "superior")}

    def submitted(self, session, day: date) -> AccessRequest:
        from app.models import DataSource
        from app.security.scope import Actor

        actor = Actor(user_id=self.requester.user_id, officer_id=self.requester.id, roles=frozenset({"Officer"}))
        vehicles = session.scalar(select(DataSource).where(DataSource.code == "vehicles"))
        data = service.RequestData(kind="external_search", contact_email="me@police.example",
                                   contact_mobile="0812345678", duty_performed="สืบสวน", pledge_accepted=True,
                                   certifying_head_id=self.head.id, sources=(service.SourceChoice(vehicles.id),))
        draft = service.save_draft(session, actor, data, Clock.on(day), uploads=SEARCH_DOCUMENTS)
        return service.submit(session, actor, draft.id, Clock.on(day))


def _head_stage(session):
    return session.scalar(select(ApprovalChain).where(ApprovalChain.request_kind == "external_search")).stages[0]


def _set_rules(app, **values) -> None:
    from app.extensions import db

    with app.app_context():
        stage = _head_stage(db.session)
        for name in ("remind_after_days", "escalate_after_days", "escalate_to", "return_after_days", "return_reason"):
            setattr(stage, name, values.get(name))
        db.session.commit()


def test_a_head_who_retired_while_the_request_waited(own_app):
    """The journey: the head retires; the nightly job hands the request to the station's next head,
    who finds it in "To certify" and decides it; the officer is told; the auditor reads it all."""
    from app.extensions import db

    with own_app.app_context():
        place = Place(db.session)
        request = place.submitted(db.session, THURSDAY)
        db.session.commit()
        request_id, number, logins = request.id, request.number, place.logins
        retired = db.session.get(Officer, place.head.id)
        retired.status = "retired"
        db.session.commit()

    result = own_app.test_cli_runner().invoke(args=["sitthi", "chase-requests", "--today", "2026-12-04"])
    assert result.exit_code == 0, result.output
    assert "2026-12-04: handed to the next head 1" in result.output
    again = own_app.test_cli_runner().invoke(args=["sitthi", "chase-requests", "--today", "2026-12-04"])
    assert "handed to the next head 0, reminded 0, escalated 0, returned as overdue 0" in again.output

    new_head = _browser(own_app, logins["next_head"])
    assert number in new_head.get("/tocertifyview/list/").get_data(as_text=True)
    page = _text(new_head.get(f"/requests/show/{request_id}").get_data(as_text=True))
    assert "ส่งให้หัวหน้าหน่วยคนถัดไปพิจารณาแทน" in page and "ระบบสิทธิ์ (อัตโนมัติ)" in page
    assert "รับรอง" in page  # the decision buttons are there for them
    officer = _browser(own_app, logins["requester"])
    bell = _text(officer.get("/mynotificationview/list/").get_data(as_text=True))
    assert "คำขอถูกส่งให้หัวหน้าหน่วยคนถัดไป" in bell
    english = _browser(own_app, logins["requester"])
    english.get("/lang/en")
    assert "Handed to the unit's next head" in _text(english.get(f"/requests/show/{request_id}").get_data(as_text=True))
    with own_app.app_context():
        event = db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "AccessRequest.reassign",
                                                              AuditEvent.object_id == request_id))
    auditor = _browser(own_app, "auditor")
    trail = _text(auditor.get(f"/auditeventview/show/{event}").get_data(as_text=True))
    assert "ส่งให้หัวหน้าหน่วยคนถัดไป: คำขอ" in trail and "AccessRequest.reassign" not in trail


def test_the_job_escalates_and_the_fallback_decides_on_screen_another_command_cannot(own_app):
    from app.extensions import db

    _set_rules(own_app, remind_after_days=2, escalate_after_days=3, escalate_to="superior_head",
               return_after_days=5, return_reason=REASON)
    try:
        with own_app.app_context():
            place = Place(db.session)
            request = place.submitted(db.session, THURSDAY)
            db.session.commit()
            request_id, number, logins = request.id, request.number, place.logins
        superior = _browser(own_app, logins["superior"])
        assert superior.get(f"/requests/show/{request_id}").status_code == 404

        result = own_app.test_cli_runner().invoke(args=["sitthi", "chase-requests", "--today", WEDNESDAY.isoformat()])
        assert result.exit_code == 0, result.output
        assert re.search(r"reminded [1-9]\d*, escalated [1-9]", result.output), result.output

        assert number in superior.get("/tocertifyview/list/").get_data(as_text=True)
        page = _text(superior.get(f"/requests/show/{request_id}").get_data(as_text=True))
        assert "แจ้งเตือนผู้พิจารณาแล้ว" in page and "ส่งเรื่องต่อผู้พิจารณาสำรอง" in page
        with own_app.app_context():
            event = db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "AccessRequest.escalate",
                                                                  AuditEvent.object_id == request_id))
        trail = _text(_browser(own_app, "auditor").get(f"/auditeventview/show/{event}").get_data(as_text=True))
        assert "ส่งเรื่องต่อ คำขอ" in trail and "จำนวนวันทำการที่รอ" in trail and "business_days" not in trail
        stranger = _browser(own_app, "commandtech2")
        assert stranger.get(f"/requests/show/{request_id}").status_code == 404
        response = superior.client.post(f"/requests/decide/{request_id}", data={
            "transition": "approve", "attest": "y", "comment": "รับรองแทนหัวหน้าสถานี",
            "csrf_token": superior.csrf_token(f"/requests/show/{request_id}")})
        assert response.status_code == 302
        with own_app.app_context():
            decided = db.session.get(AccessRequest, request_id)
            assert decided.current_stage.actor == "central_it", _text(response.get_data(as_text=True))[:500]
    finally:
        _set_rules(own_app)


# -- two servers at once (PostgreSQL) ---------------------------------------------------------------
@pytest.mark.skipif(not POSTGRES_ADMIN_URL, reason="concurrent writers need PostgreSQL (SITTHI_TEST_POSTGRES)")
def test_two_servers_chasing_at_once_do_each_thing_once(own_app):
    from app.extensions import db

    _set_rules(own_app, remind_after_days=1, escalate_after_days=2, escalate_to="superior_head")
    try:
        with own_app.app_context():
            session = db.session
            place = Place(session)
            stage = _head_stage(session)
            chain = session.get(ApprovalChain, stage.chain_id)
            waiting = [make_request(session, make_officer(session, place.station), chain=chain, current_stage=stage,
                                    certifying_head=place.head, stage_entered_on=THURSDAY) for _ in range(14)]
            orphaned = [make_request(session, make_officer(session, place.station), chain=chain,
                                     current_stage=stage, certifying_head=place.next_head,
                                     stage_entered_on=THURSDAY) for _ in range(6)]
            session.get(Officer, place.next_head.id).status = "retired"
            session.commit()
            waiting_ids, orphaned_ids = [r.id for r in waiting], [r.id for r in orphaned]
            engine = db.engine

        clock = Clock.on(WEDNESDAY)

        def chase_like_the_cli(own: Session) -> ChaseReport:
            total = ChaseReport()
            while True:
                report = chase(own, clock, BATCH)
                own.commit()
                total += report
                if not report.more:
                    return total

        results, errors = [], []
        start = threading.Barrier(2)

        def worker() -> None:
            try:
                with Session(engine) as own:
                    start.wait()
                    results.append(chase_like_the_cli(own))
            except BaseException as error:  # noqa: BLE001 - surfaced below
                errors.append(error)

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not errors, errors
        assert len(results) == 2

        everything = waiting_ids + orphaned_ids
        with own_app.app_context():
            session = db.session
            per_request = {}
            for request_id, transition, count in session.execute(
                    select(Decision.request_id, Decision.transition, func.count())
                    .where(Decision.request_id.in_(everything))
                    .group_by(Decision.request_id, Decision.transition)):
                per_request.setdefault(request_id, {})[transition] = count
            for request_id in waiting_ids:
                assert per_request[request_id] == {"remind": 1, "escalate": 1}, request_id
            for request_id in orphaned_ids:
                # handed on once; the new head's wait starts that day, so nothing else is due
                assert per_request[request_id] == {"reassign": 1}, request_id
            assert sum(r.reassigned for r in results) == len(orphaned_ids)
            assert sum(r.escalated for r in results) >= len(waiting_ids)
            rows = session.execute(select(StageChase.request_id, func.count()).where(
                StageChase.request_id.in_(waiting_ids)).group_by(StageChase.request_id)).all()
            assert dict(rows) == dict.fromkeys(waiting_ids, 1)
            versions = set(session.scalars(select(AccessRequest.version).where(AccessRequest.id.in_(orphaned_ids))))
            assert versions == {2}  # changed once, by one server
            mails = session.scalar(select(func.count(Notification.id)).where(
                Notification.request_id.in_(waiting_ids), Notification.subject.contains("escalated")))
            assert mails == len(waiting_ids)
            assert session.scalar(select(func.count(Unit.id))) > 0
    finally:
        _set_rules(own_app)
