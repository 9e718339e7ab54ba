"""The audit trail as an inspector reads it (issue 12): actions in words, the changed fields as a
before/after table, the actor and address of every event, workflow decisions included, a link to
what the event concerns, and filters by actor and action."""
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, User
from tests.factories import make_officer, make_unit
from tests.test_audit_trail import _form_of


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def _latest(app, action: str, object_id: int) -> AuditEvent:
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action,
                                                            AuditEvent.object_id == object_id)
                                   .order_by(AuditEvent.id.desc())).first()
        db.session.expunge(event)
        return event


def test_a_change_reads_as_words_and_a_table_of_what_changed(app, login):
    with app.app_context():
        officer = make_officer(db.session, make_unit(db.session))
        db.session.commit()
        officer_id, form = officer.id, _form_of(officer)
    form["last_name_th"] = "นามสกุลใหม่"
    form["mobile"] = ""
    admin = login("admin")
    admin.client.post(f"/officerview/edit/{officer_id}", data={
        **form, "csrf_token": admin.csrf_token(f"/officerview/edit/{officer_id}")},
        environ_base={"REMOTE_ADDR": "10.1.2.3"})
    event = _latest(app, "Officer.update", officer_id)
    assert event.remote_addr == "10.1.2.3"
    page = login("auditor").get(f"/auditeventview/show/{event.id}").get_data(as_text=True)
    text = _text(page)
    assert "แก้ไข ข้าราชการตำรวจ" in text and "ผู้ดำเนินการ" in text
    assert "Officer.update" not in text and "Unit Id" not in text and "None" not in text
    changes = re.search(r'<table[^>]*id="audit-changes".*?</table>', page, re.S).group(0)
    rows = [_text(row).strip() for row in re.findall(r"<tr>.*?</tr>", changes, re.S)[1:]]
    assert rows == sorted(rows) or len(rows) == 2
    assert any("นามสกุลทดสอบ" in row and "นามสกุลใหม่" in row for row in rows)
    assert any("0810000000" in row and "—" in row for row in rows)  # emptied: shown as a dash
    assert f'href="/officerview/show/{officer_id}"' in page


def test_a_workflow_decision_carries_the_address_it_came_from(app, requester):
    url = "/requests/new/external_search"
    response = requester.client.post(url, data={
        "csrf_token": requester.csrf_token(url), "contact_email": "me@police.example",
        "contact_mobile": "0812345678", "duty_performed": "สืบสวน", "save_draft": "1"},
        environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert response.status_code == 302
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "AccessRequest.create")
                                   .order_by(AuditEvent.id.desc())).first()
        assert event.remote_addr == "10.9.8.7"


def test_the_trail_is_filtered_by_actor_and_by_action(app, login):
    login("personnel")  # a login of its own: at least one event by personnel
    with app.app_context():
        personnel = db.session.scalar(select(User.id).where(User.username == "personnel"))
    auditor = login("auditor")
    by_actor = _text(auditor.get(f"/auditeventview/list/?_flt_0_actor={personnel}").get_data(as_text=True))
    assert "เข้าสู่ระบบ" in by_actor and "ธงชัย ตรวจสอบ" not in by_actor.split("ผู้ดำเนินการ", 1)[-1]
    by_action = auditor.get("/auditeventview/list/?_flt_0_action=login").get_data(as_text=True)
    listed = re.findall(r'<td>\s*([^<]+?)\s*</td>', by_action)
    assert "เข้าสู่ระบบ" in listed and "เข้าสู่ระบบไม่สำเร็จ" not in listed
    search = auditor.get("/auditeventview/list/").get_data(as_text=True)
    assert "เข้าดูข้อมูลส่วนบุคคล" in search  # the action filter offers actions in words


@pytest.mark.after_journeys
def test_every_action_the_services_write_has_words(app, figures):
    """Walk the actions on record after the suite's journeys: none shows as a bare code."""
    from app.labels import audit_action_label

    with app.app_context():
        codes = set(db.session.scalars(select(AuditEvent.action).distinct()))
    codes = {code for code in codes if not code.endswith(".test")}  # rows tests write by hand
    bare = sorted(code for code in codes if audit_action_label(code) == code)
    assert bare == []
    figures("audit actions on record, each in words", len(codes))
