"""Every change made through a screen, and every login, leaves an append-only trace."""
import io

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AccessRequest, Attachment, AuditEvent, Officer, User
from app.models.audit import AuditTrailIsAppendOnly
from tests.conftest import Browser
from tests.factories import JPEG, PDF, make_officer, make_unit


def _events(action, object_id=None):
    query = select(AuditEvent).where(AuditEvent.action == action)
    if object_id is not None:
        query = query.where(AuditEvent.object_id == object_id)
    return db.session.scalars(query.order_by(AuditEvent.id)).all()


def _form_of(officer: Officer) -> dict:
    """What the edit form posts back when nothing is changed."""
    return {
        "national_id": officer.national_id, "rank": str(officer.rank_id),
        "first_name_th": officer.first_name_th, "last_name_th": officer.last_name_th,
        "status": officer.status, "home_unit": str(officer.home_unit_id),
        "email": officer.email or "", "mobile": officer.mobile or "",
    }


def test_an_edit_records_before_and_after_in_the_same_commit(app, login):
    with app.app_context():
        officer = make_officer(db.session, make_unit(db.session))
        db.session.commit()
        officer_id, form = officer.id, _form_of(officer)
    admin = login("admin")
    form["last_name_th"] = "นามสกุลใหม่"
    form["status"] = "retired"
    admin.submit(f"/officerview/edit/{officer_id}", form)
    with app.app_context():
        assert db.session.get(Officer, officer_id).last_name_th == "นามสกุลใหม่"
        [event] = _events("Officer.update", officer_id)
        assert event.before == {"last_name_th": "นามสกุลทดสอบ", "status": "active"}
        assert event.after == {"last_name_th": "นามสกุลใหม่", "status": "retired"}
        assert event.actor.username == "admin"
        assert event.unit_id == db.session.get(Officer, officer_id).home_unit_id


def test_create_and_delete_are_recorded(app, login):
    admin = login("admin")
    admin.submit("/holidayview/add", {"day": "2031-02-03", "name_th": "วันหยุดพิเศษทดสอบ"})
    with app.app_context():
        [created] = [e for e in _events("Holiday.create") if e.after.get("day") == "2031-02-03"]
        holiday_id = created.object_id
    token = admin.csrf_token("/holidayview/list/")
    admin.post(f"/holidayview/delete/{holiday_id}", data={"csrf_token": token})
    with app.app_context():
        [deleted] = _events("Holiday.delete", holiday_id)
        assert deleted.before["name_th"] == "วันหยุดพิเศษทดสอบ"


def test_duplicate_code_is_refused_with_a_message_and_nothing_recorded(app, login):
    admin = login("admin")
    with app.app_context():
        before = len(_events("DutyLine.create"))
    response = admin.submit("/dutylineview/add", {"code": "traffic", "name_th": "ซ้ำ", "name_en": "dup"})
    assert response.status_code == 200
    assert "มีข้อมูลนี้อยู่แล้ว" in response.get_data(as_text=True)  # "Already exists."
    assert 'value="ซ้ำ"' in response.get_data(as_text=True)      # what was typed is kept
    with app.app_context():
        assert len(_events("DutyLine.create")) == before


def test_logins_and_failures_are_recorded(app, browser):
    browser.login("auditor", "not-the-password")
    Browser(app.test_client()).login("auditor")
    with app.app_context():
        auditor_id = db.session.scalar(select(User.id).where(User.username == "auditor"))
        assert _events("login.failed", auditor_id)
        assert _events("login", auditor_id)


def test_the_trail_cannot_be_changed_or_deleted(app):
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).limit(1)).first()
        event.summary = "rewritten"
        with pytest.raises(AuditTrailIsAppendOnly):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.scalars(select(AuditEvent).limit(1)).first())
        with pytest.raises(AuditTrailIsAppendOnly):
            db.session.flush()
        db.session.rollback()


def test_no_role_may_edit_the_audit_trail_through_a_screen(login):
    admin = login("admin")
    assert admin.get("/auditeventview/add").status_code == 403
    assert admin.get("/auditeventview/list/").status_code == 200


def test_personnel_cannot_link_a_login_to_an_officer(app, login):
    from app.models import Unit

    with app.app_context():
        khon_kaen = db.session.scalar(select(Unit).where(Unit.code == "KKN"))  # personnel's command
        officer = make_officer(db.session, make_unit(db.session, parent=khon_kaen))
        db.session.commit()
        officer_id, form = officer.id, _form_of(officer)
        personnel_user = db.session.scalar(select(User.id).where(User.username == "personnel"))
    personnel = login("personnel")
    form["user"] = str(personnel_user + 1000)  # not even a real login: refused before lookup
    personnel.submit(f"/officerview/edit/{officer_id}", form)
    with app.app_context():
        assert db.session.get(Officer, officer_id).user_id is None
    form["user"] = ""
    form["mobile"] = "0899999999"
    personnel.submit(f"/officerview/edit/{officer_id}", form)
    with app.app_context():
        assert db.session.get(Officer, officer_id).mobile == "0899999999"


def _upload(officer, name, content):
    """The officer saves a draft request with one document, as the request form posts it."""
    url = "/requests/new/external_search"
    return officer.post(url, data={
        "csrf_token": officer.csrf_token(url), "contact_email": "me@police.example",
        "save_draft": "1", "upload_memo": (io.BytesIO(content), name),
    }, content_type="multipart/form-data")


@pytest.mark.parametrize("name, content, stored_type", [
    ("บันทึก.pdf", PDF, "application/pdf"),
    ("บัตร.jpg", JPEG, "image/jpeg"),
    ("บันทึก.PDF", PDF, "application/pdf"),
])
def test_uploads_are_kept_by_content_and_served_back(app, login, name, content, stored_type):
    officer = login("officer")
    response = _upload(officer, name, content)
    assert response.status_code == 302
    with app.app_context():
        stored = db.session.scalars(select(Attachment).order_by(Attachment.id.desc())).first()
        assert stored.content_type == stored_type
        # A PDF is kept as it came; a JPEG as its picture encoded afresh (without metadata).
        assert (stored.content == content) == (stored_type == "application/pdf")
        assert stored.filename.endswith(".pdf" if stored_type == "application/pdf" else ".jpg")
        kept, attachment_id = stored.content, stored.id
    download = officer.get(f"/requests/file/{attachment_id}")
    assert download.data == kept
    assert download.mimetype == stored_type
    # Someone who may not see the request cannot fetch its file either.
    assert login("commandtech2").get(f"/requests/file/{attachment_id}").status_code == 404


@pytest.mark.parametrize("name, content, message", [
    ("fake.pdf", b"<html><script>alert(1)</script></html>", "Only PDF and JPEG files are accepted"),
    ("empty.pdf", b"", "empty.pdf is empty."),
    ("big.pdf", b"%PDF-" + b"0" * (5 * 1024 * 1024 + 1), "the limit is 5 MB"),
])
def test_files_that_are_not_what_they_claim_are_refused(app, login, name, content, message):
    officer = login("officer")
    officer.get("/lang/en")
    with app.app_context():
        before = db.session.scalar(select(db.func.count(Attachment.id)))
        requests_before = db.session.scalar(select(db.func.count(AccessRequest.id)))
    response = _upload(officer, name, content)
    assert response.status_code == 400  # the form comes back with the reason next to the file
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(db.func.count(AccessRequest.id))) == requests_before
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Attachment.id))) == before


def test_the_trail_is_searched_by_who_did_it_and_by_unit(app, login, api_tokens):
    """Login and unit are named by id without foreign keys (migration 0022): the screen's and the
    API's relation filters still join on them and find exactly those rows."""
    from app.services import audit
    from tests.conftest import ApiUser

    with app.app_context():
        north, south = make_unit(db.session), make_unit(db.session)
        admin_id = db.session.scalar(select(User.id).where(User.username == "admin"))
        head_id = db.session.scalar(select(User.id).where(User.username == "head"))
        audit.record(db.session, "audit_search.test", actor_id=admin_id, object_type="SearchTest",
                     unit_id=north.id, summary="ทางเหนือ โดยผู้ดูแล")
        audit.record(db.session, "audit_search.test", actor_id=head_id, object_type="SearchTest",
                     unit_id=south.id, summary="ทางใต้ โดยหัวหน้า")
        db.session.commit()
        north_id, south_id = north.id, south.id

    by_head = login("auditor").get(f"/auditeventview/list/?_flt_0_actor={head_id}&_flt_0_object_type=SearchTest")
    text = by_head.get_data(as_text=True)
    assert "ทางใต้ โดยหัวหน้า" in text and "ทางเหนือ โดยผู้ดูแล" not in text

    api = ApiUser(app.test_client(), api_tokens("auditor"))
    for unit_id, summary in ((north_id, "ทางเหนือ โดยผู้ดูแล"), (south_id, "ทางใต้ โดยหัวหน้า")):
        found = api.get(f"/api/v1/audit-events/?q=(filters:!((col:unit,opr:rel_o_m,value:{unit_id})))").get_json()
        assert [row["summary"] for row in found["result"]] == [summary]
        assert found["result"][0]["unit"]["id"] == unit_id
    by_admin = api.get(f"/api/v1/audit-events/?q=(filters:!((col:actor,opr:rel_o_m,value:{admin_id}),"
                       f"(col:object_type,opr:eq,value:SearchTest)))").get_json()
    assert [row["summary"] for row in by_admin["result"]] == ["ทางเหนือ โดยผู้ดูแล"]
    assert by_admin["result"][0]["actor"]["username"] == "admin"


def test_the_trail_is_filtered_by_a_whole_object_type_never_by_part_of_one(login):
    """"Contains" on the object type read the ten million rows of a national trail for a few."""
    auditor = login("auditor")
    form = auditor.get("/auditeventview/list/").get_data(as_text=True)
    # The search form travels as JSON in the page: the types are offered as a choice.
    assert 'option value=\\"RightsAudit\\"' in form
    assert auditor.get("/auditeventview/list/?_flt_0_object_type=Grant").status_code == 200
    assert auditor.get("/auditeventview/list/?_flt_2_object_type=ran").status_code == 400
