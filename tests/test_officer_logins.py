"""Who may link a login to an officer record: Admin only; Personnel still edit the rest of it.

A login outside Personnel's reach (logins are in no row scope) must neither block their save nor
be changed by it, whatever they post.
"""
import uuid

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Officer, Unit
from tests.conftest import DEMO_PASSWORD
from tests.factories import make_officer, make_unit

MSG_NOT_FOUND_TH = "ไม่พบรายการที่เลือก"  # "The chosen record does not exist."


def _new_login(app) -> int:
    sm = app.appbuilder.sm
    name = f"linked-{uuid.uuid4().hex[:8]}"
    user = sm.add_user(name, "ทดสอบ", "เชื่อมบัญชี", f"{name}@sitthi.example", sm.find_role("Officer"),
                       password=DEMO_PASSWORD)
    assert user, "login not created"
    return user.id


@pytest.fixture()
def khon_kaen_officer(app):
    """An officer of ภ.จว.ขอนแก่น (Personnel's command), linked to a login of their own, and a
    second login linked to nobody."""
    with app.app_context():
        command = db.session.scalar(select(Unit).where(Unit.code == "KKN"))
        officer = make_officer(db.session, make_unit(db.session, parent=command))
        db.session.commit()
        linked, spare = _new_login(app), _new_login(app)
        officer = db.session.get(Officer, officer.id)
        officer.user_id = linked
        db.session.commit()
        return {"id": officer.id, "user": linked, "spare": spare, "form": _form_of(officer)}


def _form_of(officer: Officer) -> dict:
    """What the edit form posts back when nothing is changed (the login aside)."""
    return {
        "national_id": officer.national_id, "rank": str(officer.rank_id),
        "first_name_th": officer.first_name_th, "last_name_th": officer.last_name_th,
        "status": officer.status, "home_unit": str(officer.home_unit_id),
        "email": officer.email or "", "mobile": officer.mobile or "",
    }


def _stored(app, officer_id) -> tuple[str, int | None]:
    with app.app_context():
        officer = db.session.get(Officer, officer_id)
        return officer.mobile, officer.user_id


def test_personnel_change_the_mobile_of_an_officer_who_has_a_login(app, login, khon_kaen_officer):
    officer = khon_kaen_officer
    personnel = login("personnel")
    page = personnel.get(f"/officerview/edit/{officer['id']}").get_data(as_text=True)
    assert 'name="user"' not in page  # nothing to pick, nothing posted back

    form = dict(officer["form"], mobile="0891112222")
    response = personnel.submit(f"/officerview/edit/{officer['id']}", form, follow_redirects=True)

    assert MSG_NOT_FOUND_TH not in response.get_data(as_text=True)
    assert _stored(app, officer["id"]) == ("0891112222", officer["user"])


@pytest.mark.parametrize("posted", ["", "spare", "12345678"])
def test_personnel_cannot_change_or_remove_the_link_by_crafting_the_form(app, login, khon_kaen_officer, posted):
    officer = khon_kaen_officer
    form = dict(officer["form"], mobile="0893334444",
                user=str(officer["spare"]) if posted == "spare" else posted)

    login("personnel").submit(f"/officerview/edit/{officer['id']}", form)

    # Their change is saved; the login they posted is not even read.
    assert _stored(app, officer["id"]) == ("0893334444", officer["user"])


def test_personnel_cannot_link_a_login_when_adding_an_officer(app, login, khon_kaen_officer):
    from tests.factories import new_national_id

    nid = new_national_id()
    form = dict(khon_kaen_officer["form"], national_id=nid, user=str(khon_kaen_officer["spare"]))
    login("personnel").submit("/officerview/add", form)
    with app.app_context():
        added = db.session.scalar(select(Officer).where(Officer.national_id == nid))
        assert added is not None and added.user_id is None


def test_admin_links_keeps_and_unlinks_a_login(app, login, khon_kaen_officer):
    officer = khon_kaen_officer
    admin = login("admin")
    url = f"/officerview/edit/{officer['id']}"
    assert 'name="user"' in admin.get(url).get_data(as_text=True)

    admin.submit(url, dict(officer["form"], user=str(officer["spare"])))
    assert _stored(app, officer["id"]) == (officer["form"]["mobile"], officer["spare"])

    admin.submit(url, dict(officer["form"], mobile="0895556666", user=str(officer["spare"])))
    assert _stored(app, officer["id"]) == ("0895556666", officer["spare"])

    admin.submit(url, dict(officer["form"], mobile="0895556666", user=""))
    assert _stored(app, officer["id"]) == ("0895556666", None)
