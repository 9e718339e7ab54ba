"""Object ids of another command replayed in URLs, forms and selects: refused, and nothing changes."""
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Grant, Officer, Unit
from tests.factories import make_grant, make_officer, make_unit


@pytest.fixture()
def khon_kaen_officer(app):
    """An officer of a station of ภ.จว.ขอนแก่น, with a grant (committed)."""
    with app.app_context():
        command = db.session.scalar(select(Unit).where(Unit.code == "KKN"))
        officer = make_officer(db.session, make_unit(db.session, parent=command))
        grant = make_grant(db.session, officer)
        db.session.commit()
        return officer.id, grant.id, officer.national_id


def _form_of(officer: Officer) -> dict:
    return {
        "national_id": officer.national_id, "rank": str(officer.rank_id),
        "first_name_th": officer.first_name_th, "last_name_th": officer.last_name_th,
        "status": officer.status, "home_unit": str(officer.home_unit_id),
        "email": officer.email or "", "mobile": officer.mobile or "",
    }


def _snapshot(app, officer_id):
    with app.app_context():
        officer = db.session.get(Officer, officer_id)
        return None if officer is None else (officer.last_name_th, officer.home_unit_id, officer.version)


def test_another_commands_staff_cannot_read_edit_or_delete_an_officer(app, login, khon_kaen_officer):
    officer_id, grant_id, _nid = khon_kaen_officer
    before = _snapshot(app, officer_id)
    with app.app_context():
        form = _form_of(db.session.get(Officer, officer_id))
    outsider = login("commandtech2")
    assert outsider.get(f"/officerview/show/{officer_id}").status_code == 404
    assert outsider.get(f"/officerview/edit/{officer_id}").status_code in (403, 404)
    assert outsider.get(f"/grantview/show/{grant_id}").status_code == 404
    token = outsider.csrf_token("/officerview/list/")
    form.update(last_name_th="เปลี่ยนโดยคนนอก", csrf_token=token)
    assert outsider.post(f"/officerview/edit/{officer_id}", data=form).status_code in (403, 404)
    assert outsider.post(f"/grantview/delete/{grant_id}", data={"csrf_token": token}).status_code in (403, 404)
    assert _snapshot(app, officer_id) == before
    with app.app_context():
        assert db.session.get(Grant, grant_id) is not None


def test_personnel_cannot_move_an_officer_out_of_their_command(app, login, khon_kaen_officer):
    officer_id, _grant_id, _nid = khon_kaen_officer
    before = _snapshot(app, officer_id)
    with app.app_context():
        form = _form_of(db.session.get(Officer, officer_id))
        bangkok = db.session.scalar(select(Unit.id).where(Unit.code == "MPD1-01"))
    personnel = login("personnel")
    form["home_unit"] = str(bangkok)
    response = personnel.submit(f"/officerview/edit/{officer_id}", form, follow_redirects=True)
    assert response.status_code == 200
    assert _snapshot(app, officer_id) == before


def test_personnel_cannot_add_an_officer_to_another_command(app, login):
    from tests.factories import new_national_id

    nid = new_national_id()
    with app.app_context():
        bangkok = db.session.scalar(select(Unit.id).where(Unit.code == "MPD1-01"))
        rank = db.session.scalar(select(Officer.rank_id).limit(1))
    login("personnel").submit("/officerview/add", {
        "national_id": nid, "rank": str(rank), "first_name_th": "นอก", "last_name_th": "เขต",
        "status": "active", "home_unit": str(bangkok)}, follow_redirects=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Officer.id)).where(Officer.national_id == nid)) == 0


def test_the_generic_grant_screen_adds_nothing(app, login, khon_kaen_officer):
    """Grants are given only through the command's Permissions screens and requests."""
    officer_id, _grant_id, _nid = khon_kaen_officer
    for username in ("commandtech", "centralit", "commandtech2"):
        assert login(username).get("/grantview/add").status_code == 403


def test_a_grant_cannot_be_given_by_typing_another_commands_officer_into_the_assign_form(app, login, khon_kaen_officer):
    officer_id, _grant_id, _nid = khon_kaen_officer
    with app.app_context():
        from app.models import SystemFunction

        before = db.session.scalar(select(func.count(Grant.id)).where(Grant.officer_id == officer_id))
        function = db.session.scalar(select(SystemFunction.id).where(SystemFunction.code == "crimes_case_search"))
    outsider = login("commandtech2")
    response = outsider.client.post("/assignfunction/assign", data={
        "officer": str(officer_id), "function": str(function), "csrf_token": outsider.csrf_token("/assignfunction/")})
    assert response.status_code in (400, 404)
    with app.app_context():
        assert db.session.scalar(select(func.count(Grant.id)).where(Grant.officer_id == officer_id)) == before


def test_the_officer_picker_never_offers_another_commands_officer(login, khon_kaen_officer):
    _officer_id, _grant_id, nid = khon_kaen_officer
    assert login("commandtech2").get(f"/lookup/officer?q={nid}").get_json()["results"] == []
    assert len(login("commandtech").get(f"/lookup/officer?q={nid}").get_json()["results"]) == 1


def test_another_commands_staff_cannot_file_a_group_for_an_officer_they_do_not_reach(app, login, khon_kaen_officer):
    """A Khon Kaen officer's id replayed in Bangkok's group form: refused at the field, nothing filed."""
    from app.models import AccessRequest, DataSource, RequestGroup

    officer_id, _grant_id, _nid = khon_kaen_officer
    with app.app_context():
        vehicles = db.session.scalar(select(DataSource.id).where(DataSource.code == "vehicles"))
        before = (db.session.scalar(select(func.count(RequestGroup.id))),
                  db.session.scalar(select(func.count(AccessRequest.id)).where(AccessRequest.requester_id == officer_id)))
    outsider = login("commandtech2")
    url = "/grouprequests/new/external_search"
    answer = outsider.submit(url, {"officer": [officer_id], "source": [vehicles], "contact_email": "a@police.example",
                                   "contact_mobile": "0812345678", "duty_performed": "สืบสวน",
                                   "pledge_accepted": "y", "file": "1"})
    assert answer.status_code == 400
    assert f'id="officer-line-{officer_id}"' not in answer.get_data(as_text=True)  # not even named back
    with app.app_context():
        after = (db.session.scalar(select(func.count(RequestGroup.id))),
                 db.session.scalar(select(func.count(AccessRequest.id)).where(AccessRequest.requester_id == officer_id)))
    assert after == before
