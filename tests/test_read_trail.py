"""Who read what: every view of an officer's personal data leaves an audit event, and the trail
answers "who looked at this officer" in one filter (issue 11)."""
import hashlib
import re

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from app.extensions import db
from app.models import Attachment, AuditEvent, Officer, Unit, User, audit_event_officer
from app.services import audit_chain
from tests.conftest import ApiUser
from tests.factories import PDF, make_grant, make_officer, make_request, make_unit


@pytest.fixture()
def subject(app):
    """A new officer of Khon Kaen (the demo personnel's and commandtech's command), with a
    submitted request, its memo attachment and a live right."""
    with app.app_context():
        khon_kaen = db.session.scalar(select(Unit).where(Unit.code == "KKN"))
        officer = make_officer(db.session, make_unit(db.session, parent=khon_kaen))
        req = make_request(db.session, officer)
        attachment = Attachment(request=req, kind="memo", filename="บันทึก.pdf", content_type="application/pdf",
                                size_bytes=len(PDF), sha256=hashlib.sha256(PDF).hexdigest(), content=PDF)
        db.session.add(attachment)
        make_grant(db.session, officer)
        db.session.commit()
        return {"officer_id": officer.id, "national_id": officer.national_id, "request_id": req.id,
                "number": req.number, "attachment_id": attachment.id, "unit_id": officer.home_unit_id}


def _reads_of(app, officer_id: int) -> list[AuditEvent]:
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).join(audit_event_officer, audit_event_officer.c.event_id == AuditEvent.id)
            .where(audit_event_officer.c.officer_id == officer_id).order_by(AuditEvent.id)).all()
        for event in events:
            db.session.expunge(event)
        return events


def _rows(page: str) -> list[str]:
    """The list's rows as plain text."""
    start = page.find('class="table table-bordered table-hover')
    if start < 0:
        return []
    table = page[start:page.find("</table>", start)]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)) for row in table.split("<tr")[2:]]


def _user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def test_opening_an_officers_record_is_recorded_with_who_when_and_where(app, login, subject, figures):
    personnel = login("personnel")
    page = personnel.get(f"/officerview/show/{subject['officer_id']}",
                         environ_base={"REMOTE_ADDR": "10.20.30.40"})
    assert page.status_code == 200
    [event] = _reads_of(app, subject["officer_id"])
    assert (event.action, event.object_type, event.object_id) == ("read", "Officer", subject["officer_id"])
    assert event.actor_id == _user_id(app, "personnel")
    assert event.remote_addr == "10.20.30.40"
    assert event.unit_id == subject["unit_id"]  # so the officer's own command can audit it
    assert event.occurred_at is not None
    # The edit form shows the whole record too.
    assert personnel.get(f"/officerview/edit/{subject['officer_id']}").status_code == 200
    assert [e.action for e in _reads_of(app, subject["officer_id"])] == ["read", "read"]
    figures("reads recorded: officer record (screen, edit form)", 2)


def test_the_api_record_is_recorded_but_a_list_of_masked_ids_is_not(app, api_tokens, subject):
    api = ApiUser(app.test_client(), api_tokens("personnel"))
    assert api.get("/api/v1/officers/?q=(page_size:5)").status_code == 200
    assert _reads_of(app, subject["officer_id"]) == []
    response = api.get(f"/api/v1/officers/{subject['officer_id']}")
    assert response.status_code == 200
    assert response.get_json()["result"]["national_id"] == subject["national_id"]
    [event] = _reads_of(app, subject["officer_id"])
    assert event.action == "read" and event.actor_id == _user_id(app, "personnel")
    # Out of scope reads as not found, and leaves no read behind.
    other = ApiUser(app.test_client(), api_tokens("commandtech2"))
    assert other.get(f"/api/v1/officers/{subject['officer_id']}").status_code == 404
    assert len(_reads_of(app, subject["officer_id"])) == 1


def test_a_requests_page_memo_and_files_are_reads_for_that_request(app, login, api_tokens, subject):
    centralit = login("centralit")
    assert centralit.get(f"/requests/show/{subject['request_id']}").status_code == 200
    assert centralit.get(f"/requests/memo/{subject['request_id']}").status_code == 200
    assert centralit.get(f"/requests/file/{subject['attachment_id']}").data == PDF
    api = ApiUser(app.test_client(), api_tokens("centralit"))
    assert api.get(f"/api/v1/requests/{subject['request_id']}").status_code == 200
    events = _reads_of(app, subject["officer_id"])
    assert [e.action for e in events] == ["read", "print", "download", "read"]
    assert {e.purpose for e in events} == {f"request:{subject['number']}"}
    assert {e.actor_id for e in events} == {_user_id(app, "centralit")}
    assert events[2].object_type == "Attachment" and events[2].object_id == subject["attachment_id"]
    # Shown in the reader's language.
    auditor = login("auditor")
    shown = auditor.get(f"/auditeventview/show/{events[1].id}").get_data(as_text=True)
    assert f"คำขอ {subject['number']}" in shown


def test_an_officer_reading_their_own_request_is_not_audited(app, login):
    from tests.conftest import new_requester

    username = new_requester(app)
    with app.app_context():
        officer = db.session.scalar(select(Officer).join(User, Officer.user_id == User.id)
                                    .where(User.username == username))
        req = make_request(db.session, officer)
        db.session.commit()
        officer_id, request_id = officer.id, req.id
        last_event = db.session.scalar(select(db.func.max(AuditEvent.id)))
    own = login(username)
    assert own.get(f"/requests/show/{request_id}").status_code == 200
    assert own.get(f"/requests/memo/{request_id}").status_code == 200
    assert _reads_of(app, officer_id) == []
    with app.app_context():
        assert not db.session.scalar(select(AuditEvent).where(
            AuditEvent.id > last_event, AuditEvent.action.in_(("read", "print")),
            AuditEvent.object_type == "AccessRequest", AuditEvent.object_id == request_id))


def test_an_export_links_every_officer_it_holds(app, login, subject):
    commandtech = login("commandtech")
    response = commandtech.export("/commandgrantview/export/", "/commandgrantview/list/", "csv")
    assert response.status_code == 200
    [event] = _reads_of(app, subject["officer_id"])
    assert event.action == "export" and event.actor_id == _user_id(app, "commandtech")
    with app.app_context():
        linked = db.session.scalar(select(db.func.count()).select_from(audit_event_officer)
                                   .where(audit_event_officer.c.event_id == event.id))
    rows = response.get_data(as_text=True).strip().count("\n")  # lines after the heading
    assert linked >= 1 and linked <= rows


def test_who_looked_at_this_officer_is_one_filter(app, login, subject, figures):
    login("personnel").get(f"/officerview/show/{subject['officer_id']}")
    login("centralit").get(f"/requests/memo/{subject['request_id']}")
    auditor = login("auditor")
    by_id = auditor.get(f"/auditeventview/list/?_flt_1_officers={subject['officer_id']}").get_data(as_text=True)
    by_national_id = auditor.get(
        f"/auditeventview/list/?_flt_0_officers={subject['national_id']}").get_data(as_text=True)
    for page in (by_id, by_national_id):
        rows = _rows(page)
        assert len(rows) == 2
        assert "พิมพ์บันทึกข้อความ" in rows[0] and "วรรณา ข้อมูลดี" in rows[0]  # newest first: centralit printed
        assert "เข้าดูข้อมูลส่วนบุคคล" in rows[1] and "มาลี กำลังพล" in rows[1]  # personnel opened the record
    figures("who-looked-at filter: reads found for one officer", len(_rows(by_id)))
    # The officer's page links there for whoever may read the trail, and for no one else.
    show = auditor.get(f"/officerview/show/{subject['officer_id']}").get_data(as_text=True)
    assert f"_flt_1_officers={subject['officer_id']}" in show
    assert "_flt_1_officers" not in login("personnel").get(
        f"/officerview/show/{subject['officer_id']}").get_data(as_text=True)


@pytest.mark.parametrize("index, value", [
    (0, "1234"), (0, "abc"), (0, "9" * 40), (0, "1-1111-11111-11-1"), (0, "-5"),
    (1, "abc"), (1, "9" * 40), (1, "-5"), (1, str(2**31)), (1, "1.5"),
])
def test_a_filter_value_no_officer_can_have_is_refused_with_a_message(login, index, value):
    response = login("auditor").get(f"/auditeventview/list/?_flt_{index}_officers={value}")
    assert response.status_code == 400
    assert _rows(response.get_data(as_text=True)) == []
    assert "เจ้าหน้าที่ที่ถูกเข้าดูข้อมูล" in response.get_data(as_text=True)  # the field is named


def test_a_whole_national_id_of_no_officer_finds_no_one(login):
    assert _rows(login("auditor").get("/auditeventview/list/?_flt_0_officers=1-1111-11111-11-9")
                 .get_data(as_text=True)) == []


def test_reads_stay_inside_the_audit_scope_of_the_officers_command(app, login, subject):
    login("personnel").get(f"/officerview/show/{subject['officer_id']}")
    [event] = _reads_of(app, subject["officer_id"])
    with app.app_context():
        from app.security.scope import is_visible
        from app.services.delegations import actor_on
        from tests.conftest import TEST_NOW

        def sees(username):
            user = db.session.scalar(select(User).where(User.username == username))
            return is_visible(db.session, actor_on(db.session, user, TEST_NOW.date()), AuditEvent, event.id)

        assert sees("auditor")
        assert not sees("commandtech2")  # another command's staff


def test_the_read_links_are_append_only_and_the_chain_still_holds(app, login, subject):
    login("personnel").get(f"/officerview/show/{subject['officer_id']}")
    [event] = _reads_of(app, subject["officer_id"])
    with app.app_context():
        for statement in ("UPDATE audit_event_officer SET officer_id = officer_id WHERE event_id = :e",
                          "DELETE FROM audit_event_officer WHERE event_id = :e",
                          "UPDATE audit_event SET purpose = 'x' WHERE id = :e"):
            with pytest.raises(DatabaseError):
                db.session.execute(text(statement), {"e": event.id})
            db.session.rollback()
        assert audit_chain.verify(db.session).intact


def test_the_api_answers_who_looked_at_this_officer_too(app, api_tokens, login, subject):
    login("personnel").get(f"/officerview/show/{subject['officer_id']}")
    api = ApiUser(app.test_client(), api_tokens("auditor"))
    by_national_id = api.get(
        f"/api/v1/audit-events/?q=(filters:!((col:officers,opr:onid,value:'{subject['national_id']}')))")
    by_id = api.get(f"/api/v1/audit-events/?q=(filters:!((col:officers,opr:oid,value:{subject['officer_id']})))")
    for response in (by_national_id, by_id):
        assert response.status_code == 200, response.get_json()
        [read] = response.get_json()["result"]
        assert read["action"] == "read" and read["actor"]["username"] == "personnel"
    shown = api.get(f"/api/v1/audit-events/{read['id']}").get_json()["result"]
    assert shown["officers"] == [{"id": subject["officer_id"]}]
    assert api.get("/api/v1/audit-events/?q=(filters:!((col:officers,opr:onid,value:!(1,2))))").status_code == 400
    assert api.get("/api/v1/audit-events/?q=(filters:!((col:officers,opr:oid,value:'x')))").status_code == 400
