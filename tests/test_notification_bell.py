"""The bell: every user reads their own notifications in the app, counted on every page; nobody
reads, counts or marks another's (issue 12)."""
import re

from sqlalchemy import select

from app.extensions import db
from app.models import Notification
from app.services import notifications
from tests.conftest import new_requester


def _user_id(app, username):
    with app.app_context():
        return db.session.scalar(select(app.appbuilder.sm.user_model.id)
                                 .where(app.appbuilder.sm.user_model.username == username))


def _tell(app, user_id, subject, body="เนื้อความ\n\nBody\n{app_url}/mygrantview/list/"):
    with app.app_context():
        message = notifications.queue(db.session, recipient_email="x@police.example", recipient_user_id=user_id,
                                      subject=subject, body=body)
        db.session.commit()
        return message.id


def _bell(page: str) -> int:
    found = re.search(r'id="sitthi-unread">(\d+)<', page)
    return int(found.group(1)) if found else 0


def test_the_bell_counts_ones_own_unread_and_opening_reads_them(app, login):
    mine, theirs = new_requester(app), new_requester(app)
    me = _user_id(app, mine)
    first = _tell(app, me, "[Sitthi] สิทธิ์ของท่านได้รับการอนุมัติ")
    _tell(app, me, "[Sitthi] คำขอถูกส่งกลับให้แก้ไข")
    other = _tell(app, _user_id(app, theirs), "[Sitthi] ของคนอื่น")
    officer = login(mine)

    home = officer.get("/").get_data(as_text=True)
    assert _bell(home) == 2 and 'id="sitthi-bell"' in home
    listing = officer.get("/mynotificationview/list/").get_data(as_text=True)
    assert "สิทธิ์ของท่านได้รับการอนุมัติ" in listing and "ของคนอื่น" not in listing
    assert officer.get(f"/mynotificationview/show/{other}").status_code == 404

    shown = officer.get(f"/mynotificationview/show/{first}").get_data(as_text=True)
    assert "เนื้อความ" in shown and "{app_url}" not in shown and "/mygrantview/list/" in shown
    assert _bell(officer.get("/").get_data(as_text=True)) == 1

    token = officer.csrf_token("/mynotificationview/list/")
    response = officer.post("/mynotificationview/read-all", data={"csrf_token": token})
    assert response.status_code == 302
    assert _bell(officer.get("/").get_data(as_text=True)) == 0
    with app.app_context():  # the other user's stays unread
        assert db.session.get(Notification, other).read_at is None
        assert notifications.unread_count(db.session, _user_id(app, theirs)) == 1


def test_marking_read_needs_the_form_token_and_touches_only_ones_own(app, login):
    mine = new_requester(app)
    message = _tell(app, _user_id(app, mine), "[Sitthi] ทดสอบ")
    officer = login(mine)
    assert officer.post("/mynotificationview/read-all").status_code == 400
    with app.app_context():
        assert db.session.get(Notification, message).read_at is None
    admin = login("admin")
    admin.post("/mynotificationview/read-all", data={"csrf_token": admin.csrf_token("/mynotificationview/list/")})
    with app.app_context():
        assert db.session.get(Notification, message).read_at is None
    assert admin.get(f"/mynotificationview/show/{message}").status_code == 404


def test_a_user_who_is_told_nothing_sees_a_quiet_bell(login):
    page = login("auditor").get("/").get_data(as_text=True)
    assert 'id="sitthi-bell"' in page and 'id="sitthi-unread"' not in page and "fa-bell-o" in page
