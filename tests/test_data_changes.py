"""Data-change requests: an officer asks Personnel of their command to correct their record.

The journey commits on the shared database in commands made for the test: an officer with a
login, the personnel staff of their command, and the personnel staff of another command.
"""
import pytest
from sqlalchemy import select

from app.errors import NotAllowed, StaleRecord, ValidationFailed
from app.models import AuditEvent, DataChangeRequest, Notification
from app.security.scope import Actor
from app.services import data_changes as service
from app.services.clock import Clock
from tests.conftest import DEMO_PASSWORD, TEST_TODAY
from tests.factories import make_login, make_officer, make_unit


def clock() -> Clock:

    return Clock.on(TEST_TODAY)


@pytest.fixture()
def people(app):
    """Committed: a command with an officer and two personnel clerks, another command's clerk."""
    from app.extensions import db

    with app.app_context():
        session = db.session
        command = make_unit(session, kind="division", admin_scope=True)
        station = make_unit(session, parent=command)
        other_command = make_unit(session, kind="division", admin_scope=True)
        officer = make_officer(session, station)
        clerk = make_officer(session, command)
        second_clerk = make_officer(session, command)
        other_clerk = make_officer(session, other_command)
        logins = {
            "officer": make_login(session, officer, password=DEMO_PASSWORD),
            "clerk": make_login(session, clerk, role="Personnel", password=DEMO_PASSWORD),
            "second_clerk": make_login(session, second_clerk, role="Personnel", password=DEMO_PASSWORD),
            "other_clerk": make_login(session, other_clerk, role="Personnel", password=DEMO_PASSWORD),
        }
        session.commit()
        return {"command": command.id, "officer": officer.id, "clerk": clerk.id, "second_clerk": second_clerk.id,
                **{f"{name}_login": user.username for name, user in logins.items()},
                **{f"{name}_user": user.id for name, user in logins.items()},
                "clerk_email": logins["clerk"].email}


def _request_of(app, officer_id):
    from app.extensions import db

    with app.app_context():
        return db.session.scalar(select(DataChangeRequest).where(DataChangeRequest.officer_id == officer_id)
                                 .order_by(DataChangeRequest.id.desc()))


def test_an_officer_asks_and_personnel_of_the_command_answer(app, login, people):
    from app.extensions import db

    officer = login(people["officer_login"])
    record = officer.get("/myrecord/?field=rank").get_data(as_text=True)
    assert 'id="report-form"' in record and '<option selected value="rank">' in record
    token = officer.csrf_token("/myrecord/")
    refused = officer.post("/myrecord/report", data={"field": "rank", "requested_value": "", "reason": "",
                                                     "csrf_token": token})
    assert refused.status_code == 400 and "sitthi-error" in refused.get_data(as_text=True)
    response = officer.post("/myrecord/report", data={
        "field": "rank", "requested_value": "จ.ส.ต.", "reason": "เลื่อนยศตามคำสั่ง ภ.จว. ที่ 123/2569",
        "csrf_token": token})
    assert response.status_code == 302
    change = _request_of(app, people["officer"])
    assert (change.field, change.requested_value, change.state) == ("rank", "จ.ส.ต.", "open")
    assert change.command_id == people["command"] and change.created_by_id == people["officer_user"]
    with app.app_context():
        mailed = db.session.scalars(select(Notification.recipient_user_id).where(
            Notification.subject.contains("ขอแก้ไขข้อมูลกำลังพล"))).all()
        assert people["clerk_user"] in mailed and people["other_clerk_user"] not in mailed

    # Personnel of the command: on the home page, in the list, on the request's page.
    clerk = login(people["clerk_login"])
    assert 'id="home-data_changes"' in clerk.get("/").get_data(as_text=True)
    listing = clerk.get("/datachangerequestview/list/?_flt_0_state=open&psize_DataChangeRequestView=100")
    assert f"/datachangerequestview/show/{change.id}" in listing.get_data(as_text=True)
    page = clerk.get(f"/datachangerequestview/show/{change.id}").get_data(as_text=True)
    assert 'id="resolve-form"' in page and f"/officerview/edit/{people['officer']}" in page

    # Another command's Personnel see nothing of it and cannot answer it.
    other = login(people["other_clerk_login"])
    listing = other.get("/datachangerequestview/list/?psize_DataChangeRequestView=100").get_data(as_text=True)
    assert f"/datachangerequestview/show/{change.id}" not in listing
    assert other.get(f"/datachangerequestview/show/{change.id}").status_code == 404
    other_token = other.csrf_token("/myrecord/")
    answer = other.post(f"/datachangerequestview/resolve/{change.id}",
                        data={"outcome": "done", "resolution": "", "csrf_token": other_token})
    assert answer.status_code == 404 and _request_of(app, people["officer"]).state == "open"
    assert 'id="home-data_changes"' in other.get("/").get_data(as_text=True)  # their own inbox, empty

    # A refusal needs a reason; a stale form changes nothing; then done.
    clerk_token = clerk.csrf_token("/myrecord/")
    no_reason = clerk.post(f"/datachangerequestview/resolve/{change.id}",
                           data={"outcome": "refused", "resolution": "", "version": change.version,
                                 "csrf_token": clerk_token})
    assert no_reason.status_code == 400
    stale = clerk.post(f"/datachangerequestview/resolve/{change.id}",
                       data={"outcome": "done", "resolution": "", "version": change.version + 3,
                             "csrf_token": clerk_token})
    assert stale.status_code == 409 and _request_of(app, people["officer"]).state == "open"
    done = clerk.post(f"/datachangerequestview/resolve/{change.id}",
                      data={"outcome": "done", "resolution": "แก้ไขยศแล้ว", "version": change.version,
                            "csrf_token": clerk_token})
    assert done.status_code == 302
    change = _request_of(app, people["officer"])
    assert (change.state, change.resolution, change.handled_by_id) == ("done", "แก้ไขยศแล้ว", people["clerk_user"])
    with app.app_context():
        told = db.session.scalars(select(Notification).where(Notification.recipient_user_id == people["officer_user"])
                                  .order_by(Notification.id.desc())).first()
        assert "แก้ไขข้อมูลกำลังพลแล้ว" in told.subject and "แก้ไขยศแล้ว" in told.body
        actions = set(db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.object_type == "DataChangeRequest", AuditEvent.object_id == change.id)))
        assert actions == {"DataChangeRequest.create", "DataChangeRequest.done"}

    # The officer sees the answer on their record page; answering twice is refused.
    mine = officer.get("/myrecord/").get_data(as_text=True)
    assert f'id="data-change-{change.id}"' in mine and "แก้ไขยศแล้ว" in mine
    again = clerk.post(f"/datachangerequestview/resolve/{change.id}",
                       data={"outcome": "refused", "resolution": "x", "csrf_token": clerk_token})
    assert again.status_code == 400 and _request_of(app, people["officer"]).state == "done"


def test_a_refusal_is_told_with_its_reason(app, people):
    from app.extensions import db

    with app.app_context():
        officer = Actor(user_id=people["officer_user"], officer_id=people["officer"], roles=frozenset({"Officer"}))
        clerk = Actor(user_id=people["clerk_user"], officer_id=people["clerk"],
                      roles=frozenset({"Officer", "Personnel"}), command_id=people["command"])
        change = service.ask(db.session, officer, "duty_line", "สืบสวน", "ปฏิบัติงานสืบสวนตามคำสั่ง", clock())
        service.resolve(db.session, clerk, change.id, "refused", "คำสั่งยังไม่ถึงฝ่ายกำลังพล", clock())
        assert change.state == "refused" and change.resolution == "คำสั่งยังไม่ถึงฝ่ายกำลังพล"
        told = db.session.scalars(select(Notification).where(Notification.recipient_user_id == people["officer_user"])
                                  .order_by(Notification.id.desc())).first()
        assert "refused" in told.body and "คำสั่งยังไม่ถึงฝ่ายกำลังพล" in told.body
        db.session.rollback()


def test_what_an_officer_asks_and_who_answers_is_checked(app, people):
    from app.extensions import db

    with app.app_context():
        session = db.session
        officer = Actor(user_id=people["officer_user"], officer_id=people["officer"], roles=frozenset({"Officer"}))
        clerk = Actor(user_id=people["clerk_user"], officer_id=people["clerk"],
                      roles=frozenset({"Officer", "Personnel"}), command_id=people["command"])
        second = Actor(user_id=people["second_clerk_user"], officer_id=people["second_clerk"],
                       roles=frozenset({"Officer", "Personnel"}), command_id=people["command"])
        for field, value, reason in (("salary", "x", "y"), ("rank", " ", "y"), ("rank", "x", ""),
                                     ("rank", "ก" * 2001, "y")):
            with pytest.raises(ValidationFailed):
                service.ask(session, officer, field, value, reason, clock())
        with pytest.raises(NotAllowed):
            service.ask(session, Actor(user_id=people["officer_user"]), "rank", "x", "y", clock())
        change = service.ask(session, officer, "name", "สมชาย ใจดี", "สะกดผิด", clock())
        with pytest.raises(NotAllowed):  # an officer does not answer their own
            service.resolve(session, officer, change.id, "done", "", clock())
        with pytest.raises(ValidationFailed):
            service.resolve(session, clerk, change.id, "maybe", "", clock())
        with pytest.raises(StaleRecord):
            service.resolve(session, clerk, change.id, "done", "", clock(), expected_version=change.version + 1)
        # A clerk's own record is corrected by another clerk.
        own = service.ask(session, clerk, "position", "สว.ฝอ.", "ได้รับแต่งตั้ง", clock())
        with pytest.raises(NotAllowed):
            service.resolve(session, clerk, own.id, "done", "", clock())
        assert service.resolve(session, second, own.id, "done", "", clock()).state == "done"
        session.rollback()
