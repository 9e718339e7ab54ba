"""The whole lifecycle through the REST API: the same services, role, row scope and errors as the screens.

For each operation: the role that may do it succeeds and the state changes; a role without the
screen's permission gets FAB's 403; the staff of another command (or another person) gets 404 (or
the service's 403), and nothing changes; bad input is refused at its field with a 4xx in the
reader's language. Everything here is committed on the shared demo database, so each test makes
its own officers and grants (the demo commands: ภ.จว.ขอนแก่น for `commandtech` and `personnel`,
บก.น.1 for `commandtech2`).
"""
import base64
import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.models import (
    AuditEvent,
    CommandFunction,
    DeactivationNotice,
    Delegation,
    Grant,
    Holiday,
    JobRun,
    Officer,
    ReviewDecision,
    SystemFunction,
    Unit,
    User,
)
from app.models.lifecycle import DutyOrder
from tests import test_grant_admin, test_reviews
from tests.conftest import DEMO_PASSWORD, TEST_TODAY, ApiUser, new_requester
from tests.factories import make_grant, make_head, make_login, make_officer, new_national_id
from tests.import_files import csv_bytes, person
from tests.test_grant_admin import _grant_row, _unit_id
from tests.test_reviews import _campaign_of, _item_of

# The screens' tests' fixtures, shared: a KKN officer holding a function; a command with a review's people.
kkn = test_grant_admin.kkn
screen_world = test_reviews.screen_world

API = "/api/v1"
FORBIDDEN = "Forbidden"  # FAB's own answer to a role without the permission


@pytest.fixture()
def api(app, api_tokens):
    def _api(username: str) -> ApiUser:
        return ApiUser(app.test_client(), api_tokens(username))

    return _api


def _refused_by_role(response) -> None:
    assert response.status_code == 403 and response.get_json()["message"] == FORBIDDEN, response.get_json()


def _refused(response, status: int, field: str | None = None) -> dict:
    body = response.get_json()
    assert response.status_code == status, body
    assert body["message"] and body["message"] != FORBIDDEN, body
    if field is not None:
        assert body["field"] == field, body
    return body


def _db():
    from app.extensions import db

    return db


# -- CommandTech's commands on grants -----------------------------------------------------------------
def test_command_tech_suspends_reinstates_extends_and_revokes_through_the_api(app, api, kkn):
    tech, pk = api("commandtech"), kkn["grant"]
    version = _grant_row(app, pk)[3]
    suspended = tech.post(f"{API}/grants/{pk}/suspend?_l_=en", json={"reason": "ย้ายหน่วย", "version": version})
    assert suspended.status_code == 200, suspended.get_json()
    assert suspended.get_json()["state"] == "suspended" and suspended.get_json()["reason"] == "ย้ายหน่วย"
    assert _grant_row(app, pk)[0] == "suspended"

    stale = tech.post(f"{API}/grants/{pk}/reinstate?_l_=en", json={"version": version})
    _refused(stale, 409)
    reinstated = tech.post(f"{API}/grants/{pk}/reinstate", json={"version": suspended.get_json()["version"]})
    assert reinstated.status_code == 200 and reinstated.get_json()["state"] == "active"

    until = TEST_TODAY + timedelta(days=400)
    extended = tech.post(f"{API}/grants/{pk}/extend", json={"valid_until": until.isoformat()})
    assert extended.status_code == 200 and extended.get_json()["valid_until"] == until.isoformat()

    revoked = tech.post(f"{API}/grants/{pk}/revoke", json={"reason": "พ้นหน้าที่"})
    assert revoked.status_code == 200 and revoked.get_json()["state"] == "revoked"
    assert _grant_row(app, pk)[:3] == ("revoked", until, "พ้นหน้าที่")
    with app.app_context():
        actions = set(_db().session.scalars(select(AuditEvent.action).where(
            AuditEvent.object_type == "Grant", AuditEvent.object_id == pk)))
    assert {"Grant.suspend", "Grant.reinstate", "Grant.extend", "Grant.revoke"} <= actions


BODIES = {"suspend": {"reason": "ทดสอบ"}, "revoke": {"reason": "ทดสอบ"}, "reinstate": {},
          "extend": {"valid_until": (TEST_TODAY + timedelta(days=300)).isoformat()}, "duty-order": {"duty_order_id": 1}}


@pytest.mark.parametrize("command", sorted(BODIES))
def test_grant_commands_refuse_other_roles_and_other_commands(app, api, kkn, command):
    body = BODIES[command]
    before = _grant_row(app, kkn["grant"])
    for username in ("officer", "auditor", "centralit", "personnel"):
        _refused_by_role(api(username).post(f"{API}/grants/{kkn['grant']}/{command}", json=body))
    _refused(api("commandtech2").post(f"{API}/grants/{kkn['grant']}/{command}?_l_=en", json=body), 404)
    _refused(api("commandtech").post(f"{API}/grants/{2**31 - 1}/{command}", json=body), 404)
    assert _grant_row(app, kkn["grant"]) == before


def test_grant_commands_refuse_bad_input_at_its_field(app, api, kkn):
    tech, pk = api("commandtech"), kkn["grant"]
    before = _grant_row(app, pk)
    _refused(tech.post(f"{API}/grants/{pk}/suspend?_l_=en", json={}), 400, "reason")
    _refused(tech.post(f"{API}/grants/{pk}/suspend?_l_=en", json={"reason": "x" * 2001}), 400, "reason")
    _refused(tech.post(f"{API}/grants/{pk}/revoke?_l_=en", json={"reason": "   "}), 400)
    _refused(tech.post(f"{API}/grants/{pk}/extend?_l_=en", json={"valid_until": "31/12/2569"}), 400, "valid_until")
    earlier = tech.post(f"{API}/grants/{pk}/extend?_l_=en", json={"valid_until": TEST_TODAY.isoformat()})
    _refused(earlier, 400)
    _refused(tech.post(f"{API}/grants/{pk}/reinstate?_l_=en", json={"version": "1"}), 400, "version")
    _refused(tech.post(f"{API}/grants/{pk}/duty-order?_l_=en", json={"duty_order_id": 2**40}), 400, "duty_order_id")
    thai = _refused(tech.post(f"{API}/grants/{pk}/suspend?_l_=th", data="x", content_type="text/plain"), 400)
    assert any("\u0e00" <= ch <= "\u0e7f" for ch in thai["message"])
    assert _grant_row(app, pk) == before


def test_command_tech_assigns_a_function_and_records_its_duty_order(app, api, kkn):
    db = _db()
    with app.app_context():
        allowed = min(db.session.scalars(select(CommandFunction.function_id).where(
            CommandFunction.unit_id == _unit_id("KKN"))))
        order = DutyOrder(number=f"API-{kkn['spare']}", issued_on=TEST_TODAY - timedelta(days=2),
                          unit=db.session.get(Unit, _unit_id("KKN")), subject="มอบหมายหน้าที่")
        other_order = DutyOrder(number=f"API-MPD-{kkn['spare']}", issued_on=TEST_TODAY - timedelta(days=2),
                                unit=db.session.get(Unit, _unit_id("MPD1")), subject="มอบหมายหน้าที่")
        db.session.add_all([order, other_order])
        db.session.commit()
        order_id, other_order_id = order.id, other_order.id
    body = {"officer_id": kkn["spare"], "function_id": allowed}
    for username in ("officer", "auditor", "centralit"):
        _refused_by_role(api(username).post(f"{API}/grants/assign", json=body))
    _refused(api("commandtech2").post(f"{API}/grants/assign?_l_=en", json=body), 404)
    _refused(api("commandtech").post(f"{API}/grants/assign?_l_=en", json={**body, "function_id": "abc"}), 400,
             "function_id")
    _refused(api("commandtech").post(f"{API}/grants/assign?_l_=en", json={**body, "duty_order_id": other_order_id}),
             400)  # another command's order is not one to cite
    with app.app_context():
        assert db.session.scalar(select(func.count(Grant.id)).where(Grant.officer_id == kkn["spare"])) == 0

    assigned = api("commandtech").post(f"{API}/grants/assign", json=body)
    assert assigned.status_code == 201, assigned.get_json()
    grant = assigned.get_json()
    assert grant["state"] == "active" and grant["officer"]["id"] == kkn["spare"] and grant["duty_order_id"] is None
    _refused(api("commandtech").post(f"{API}/grants/assign?_l_=en", json=body), 400)  # already holds it

    _refused(api("commandtech2").post(f"{API}/grants/{grant['id']}/duty-order", json={"duty_order_id": order_id}), 404)
    recorded = api("commandtech").post(f"{API}/grants/{grant['id']}/duty-order", json={"duty_order_id": order_id})
    assert recorded.status_code == 200 and recorded.get_json()["duty_order_id"] == order_id
    with app.app_context():
        assert db.session.get(Grant, grant["id"]).duty_order_id == order_id


# -- renewals -------------------------------------------------------------------------------------------
@pytest.fixture()
def holder(app):
    """A new officer with a login, holding a right that ends within the reminder window, and one revoked."""
    db = _db()
    username = new_requester(app)
    with app.app_context():
        officer = db.session.scalar(select(Officer).join(User, Officer.user_id == User.id)
                                    .where(User.username == username))
        ending = make_grant(db.session, officer, "vehicles", valid_until=TEST_TODAY + timedelta(days=10))
        ended = make_grant(db.session, officer, "aliens", state="revoked", reason="พ้นหน้าที่")
        db.session.commit()
        return {"username": username, "ending": ending.id, "ended": ended.id}


def test_an_officer_renews_their_own_permission_once(app, api, holder):
    owner = api(holder["username"])
    started = owner.post(f"{API}/renewals/?_l_=en", json={"grant_id": holder["ending"]})
    assert started.status_code == 201, started.get_json()
    renewal = started.get_json()
    assert renewal["created"] is True and renewal["request"]["kind"] == "external_search_renewal"
    assert renewal["request"]["state"] == "draft"
    again = owner.post(f"{API}/renewals/", json={"grant_id": holder["ending"]})
    assert again.status_code == 200 and again.get_json()["created"] is False
    assert again.get_json()["request"]["id"] == renewal["request"]["id"]


def test_a_renewal_is_refused_for_others_and_for_a_permission_that_ended(app, api, holder):
    db = _db()
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Grant))
    _refused(api("officer").post(f"{API}/renewals/?_l_=en", json={"grant_id": holder["ending"]}), 404)
    _refused(api("commandtech").post(f"{API}/renewals/?_l_=en", json={"grant_id": holder["ending"]}), 404)
    _refused(api(holder["username"]).post(f"{API}/renewals/?_l_=en", json={"grant_id": holder["ended"]}), 403)
    _refused(api(holder["username"]).post(f"{API}/renewals/?_l_=en", json={"grant_id": "x"}), 400, "grant_id")
    _refused(api(holder["username"]).post(f"{API}/renewals/?_l_=en", json={}), 400, "grant_id")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Grant)) == count


# -- deputies ---------------------------------------------------------------------------------------------
@pytest.fixture()
def heads(app):
    """A new unit head with a login, an officer of their station to stand in, and another head."""
    db = _db()
    with app.app_context():
        station = db.session.get(Unit, _unit_id("KKN-MUEANG"))
        head, other_head = make_head(db.session, station), make_head(db.session, station)
        deputy = make_officer(db.session, station)
        logins = [make_login(db.session, o, password=DEMO_PASSWORD) for o in (head, other_head, deputy)]
        db.session.commit()
        return {"head": logins[0].username, "other_head": logins[1].username, "deputy": logins[2].username,
                "deputy_id": logins[2].id, "head_id": logins[0].id}


def test_a_head_names_and_cancels_a_deputy_and_nobody_else_cancels_it(app, api, heads):
    db = _db()
    head = api(heads["head"])
    body = {"deputy_user_id": heads["deputy_id"], "starts_on": TEST_TODAY.isoformat(),
            "ends_on": (TEST_TODAY + timedelta(days=6)).isoformat(), "reason": "ลาพักร้อน"}
    named = head.post(f"{API}/deputies/?_l_=en", json=body)
    assert named.status_code == 201, named.get_json()
    delegation = named.get_json()
    assert delegation["principal"]["id"] == heads["head_id"] and delegation["state"] == "in_force"
    listed = head.get(f"{API}/deputies/").get_json()
    assert [row["id"] for row in listed["result"]] == [delegation["id"]]  # a new head's only one
    assert delegation["id"] not in [row["id"] for row in api(heads["other_head"]).get(f"{API}/deputies/").get_json()["result"]]
    _refused(head.post(f"{API}/deputies/?_l_=en", json=body), 400)  # the same days overlap

    for username in (heads["other_head"], "centralit", "commandtech2"):
        _refused(api(username).post(f"{API}/deputies/{delegation['id']}/cancel?_l_=en"), 404)
    with app.app_context():
        assert db.session.get(Delegation, delegation["id"]).ends_on == TEST_TODAY + timedelta(days=6)
    # A later delegation stays: the removed one's id is then not the last, and no later row takes it
    # (SQLite gives a new row the last id + 1), so the trail's events never name another delegation.
    later = head.post(f"{API}/deputies/", json={**body, "starts_on": (TEST_TODAY + timedelta(days=10)).isoformat(),
                                                 "ends_on": (TEST_TODAY + timedelta(days=12)).isoformat()})
    assert later.status_code == 201 and later.get_json()["state"] == "upcoming"
    cancelled = head.post(f"{API}/deputies/{delegation['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.get_json()["removed"] is True
    with app.app_context():
        assert db.session.get(Delegation, delegation["id"]) is None


def test_naming_a_deputy_refuses_who_may_not_and_bad_days(app, api, heads):
    db = _db()
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Delegation))
    body = {"deputy_user_id": heads["deputy_id"], "starts_on": TEST_TODAY.isoformat(),
            "ends_on": (TEST_TODAY + timedelta(days=3)).isoformat()}
    # Every officer has the screen; the service lets each name deputies for themselves only (Admin for anyone).
    _refused(api(heads["deputy"]).post(f"{API}/deputies/?_l_=en", json={**body, "principal_user_id": heads["head_id"]}),
             403)
    _refused(api(heads["head"]).post(f"{API}/deputies/?_l_=en", json={**body, "deputy_user_id": heads["head_id"]}),
             400, "deputy_user_id")
    _refused(api(heads["head"]).post(f"{API}/deputies/?_l_=en", json={**body, "ends_on": "tomorrow"}), 400, "ends_on")
    too_long = {**body, "ends_on": (TEST_TODAY + timedelta(days=120)).isoformat()}
    _refused(api(heads["head"]).post(f"{API}/deputies/?_l_=en", json=too_long), 400, "ends_on")
    past = {**body, "starts_on": (TEST_TODAY - timedelta(days=1)).isoformat()}
    _refused(api(heads["head"]).post(f"{API}/deputies/?_l_=en", json=past), 400)
    _refused(api(heads["head"]).post(f"{API}/deputies/{2**31 - 1}/cancel?_l_=en"), 404)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Delegation)) == count


# -- deactivation notices -----------------------------------------------------------------------------------
@pytest.fixture()
def notice(app):
    """A pending deactivation notice: a right the agency activated, revoked."""
    from app.services import deactivation

    db = _db()
    with app.app_context():
        officer = make_officer(db.session, db.session.get(Unit, _unit_id("KKN-MUEANG")))
        grant = make_grant(db.session, officer, "civil_registration", state="revoked", reason="พ้นหน้าที่",
                           rank_group_id=1, activated_on=TEST_TODAY - timedelta(days=30), agency_reference="มท 1")
        found = deactivation.open_notice(db.session, grant, "พ้นหน้าที่")
        db.session.commit()
        return found.id


def _notice_state(app, pk):
    with app.app_context():
        row = _db().session.get(DeactivationNotice, pk)
        return row.state, row.agency_reference


def test_central_it_confirms_a_deactivation_and_others_may_not(app, api, notice):
    for username in ("commandtech", "officer", "personnel"):
        _refused_by_role(api(username).get(f"{API}/deactivation-notices/"))
    for username in ("commandtech", "auditor"):
        _refused_by_role(api(username).post(f"{API}/deactivation-notices/{notice}/confirm",
                                            json={"agency_reference": "x"}))
    assert notice in [row["id"] for row in api("auditor").get(f"{API}/deactivation-notices/?page_size=100")
                      .get_json()["result"]]
    assert _notice_state(app, notice) == ("pending", None)

    centralit = api("centralit")
    _refused(centralit.post(f"{API}/deactivation-notices/{notice}/confirm?_l_=en", json={}), 400, "agency_reference")
    future = (TEST_TODAY + timedelta(days=2)).isoformat()
    _refused(centralit.post(f"{API}/deactivation-notices/{notice}/confirm?_l_=en",
                            json={"agency_reference": "มท 0309/55", "deactivated_on": future}), 400)
    _refused(centralit.post(f"{API}/deactivation-notices/{2**31 - 1}/confirm?_l_=en",
                            json={"agency_reference": "x"}), 404)
    assert _notice_state(app, notice) == ("pending", None)
    confirmed = centralit.post(f"{API}/deactivation-notices/{notice}/confirm", json={"agency_reference": "มท 0309/55"})
    assert confirmed.status_code == 200 and confirmed.get_json()["state"] == "confirmed"
    assert _notice_state(app, notice) == ("confirmed", "มท 0309/55")
    _refused(centralit.post(f"{API}/deactivation-notices/{notice}/confirm?_l_=en",
                            json={"agency_reference": "again"}), 400)


# -- rights reviews ----------------------------------------------------------------------------------------------
def _start(user, command_id, **extra):
    return user.post(f"{API}/review-campaigns/?_l_=en", json={
        "name": "ทบทวนสิทธิ์ประจำปี", "command_id": command_id,
        "due_on": (TEST_TODAY + timedelta(days=10)).isoformat(), **extra})


def test_a_review_through_the_api_from_start_to_sign_off(app, api, screen_world):
    db = _db()
    tech = api(screen_world["tech"])
    _refused(_start(tech, screen_world["command"], due_on=TEST_TODAY.isoformat()), 400, "due_on")
    _refused(_start(tech, screen_world["command"], undecided_rule="forget"), 400, "undecided_rule")
    _refused(_start(api("commandtech2"), screen_world["command"]), 403)
    for username in ("officer", "personnel"):
        _refused_by_role(_start(api(username), screen_world["command"]))
    assert _campaign_of(app, screen_world["command"]) is None

    started = _start(tech, screen_world["command"])
    # 202: the items are listed by a job; under the tests' inline runner it is done when the answer comes.
    assert started.status_code == 202, started.get_json()
    campaign = started.get_json()
    assert campaign["progress"]["total"] == 7 and campaign["state"] == "open" and campaign["error"] is None
    assert tech.get(f"{API}/review-campaigns/{campaign['id']}").get_json()["progress"]["pending"] == 7
    _refused(api("commandtech2").get(f"{API}/review-campaigns/{campaign['id']}"), 404)
    assert api("auditor").get(f"{API}/review-campaigns/{campaign['id']}").status_code == 200

    keep, revoke, own = (_item_of(app, campaign["id"], screen_world[k]) for k in ("keep", "revoke", "tech_own"))
    waiting = [row["id"] for row in tech.get(f"{API}/reviews/items?page_size=100").get_json()["result"]]
    assert keep.id in waiting and own.id not in waiting
    assert api("commandtech2").get(f"{API}/reviews/items?page_size=100").get_json()["result"] == [] or \
        keep.id not in [r["id"] for r in api("commandtech2").get(f"{API}/reviews/items?page_size=100").get_json()["result"]]

    _refused(api("commandtech2").post(f"{API}/reviews/items/{keep.id}/decide?_l_=en", json={"outcome": "keep"}), 404)
    _refused(api(screen_world["officer"]).post(f"{API}/reviews/items/{keep.id}/decide?_l_=en",
                                               json={"outcome": "keep"}), 403)
    _refused(tech.post(f"{API}/reviews/items/{keep.id}/decide?_l_=en", json={"outcome": "maybe"}), 400, "outcome")
    _refused(tech.post(f"{API}/reviews/items/{revoke.id}/decide?_l_=en", json={"outcome": "revoke"}), 400, "comment")
    _refused(tech.post(f"{API}/reviews/items/{revoke.id}/decide?_l_=en",
                       json={"outcome": "revoke", "comment": "x", "version": revoke.version + 5}), 409)
    assert tech.post(f"{API}/reviews/items/{keep.id}/decide", json={"outcome": "keep"}).status_code == 200
    decided = tech.post(f"{API}/reviews/items/{revoke.id}/decide",
                        json={"outcome": "revoke", "comment": "ไม่ได้ใช้งานเกิน 1 ปี", "version": revoke.version})
    assert decided.status_code == 200 and decided.get_json()["outcome"] == "revoke"
    with app.app_context():
        assert db.session.get(Grant, screen_world["revoke"]).state == "active"  # not before the sign-off

    # Another command's staff have nothing of this review to sign off (the service's answer, as on the screen).
    _refused(api("commandtech2").post(f"{API}/reviews/{campaign['id']}/sign-off?_l_=en"), 400)
    with app.app_context():
        assert db.session.get(ReviewDecision, keep.id).signed_off_at is None
    signed = tech.post(f"{API}/reviews/{campaign['id']}/sign-off")
    assert signed.status_code == 200 and signed.get_json()["kept"] == 1 and signed.get_json()["revoked"] == 1
    with app.app_context():
        assert db.session.get(Grant, screen_world["revoke"]).state == "revoked"
        assert db.session.get(ReviewDecision, keep.id).signed_off_at is not None
    _refused(tech.post(f"{API}/reviews/{campaign['id']}/sign-off?_l_=en"), 400)  # nothing left to sign

    export = _exported(tech, f"{API}/review-campaigns/{campaign['id']}/export?format=csv")
    assert export.status_code == 200 and export.headers["Content-Disposition"].endswith(".csv")
    assert len(list(csv.reader(io.StringIO(export.get_data().decode("utf-8-sig"))))) == 1 + 7
    _refused(api("commandtech2").post(f"{API}/review-campaigns/{campaign['id']}/export"), 404)
    _refused(tech.post(f"{API}/review-campaigns/{campaign['id']}/export?format=pdf&_l_=en"), 400, "format")


# -- imports -----------------------------------------------------------------------------------------------------
def _upload(user, kind, content: bytes, filename="polis.csv"):
    return user.post(f"{API}/imports/?_l_=en", json={
        "kind": kind, "filename": filename, "content_base64": base64.b64encode(content).decode()})


def test_personnel_start_an_import_and_poll_it_within_their_command(app, api):
    db = _db()
    nid = new_national_id()
    personnel = api("personnel")
    started = _upload(personnel, "import_personnel", csv_bytes([person("KKN-MUEANG", nid, first_name="นำเข้าเอพีไอ"),
                                                                person("MPD1")]))
    assert started.status_code == 202, started.get_json()
    run = personnel.get(f"{API}/imports/{started.get_json()['id']}").get_json()
    assert run["finished"] is True and run["state"] == "done", run
    assert (run["created"], run["rejected"]) == (1, 1)  # the officer of another command is refused
    with app.app_context():
        assert db.session.scalar(select(Officer.first_name_th).where(Officer.national_id == nid)) == "นำเข้าเอพีไอ"
    rejects = _exported(personnel, f"{API}/imports/{run['id']}/rejects?format=csv")
    assert rejects.status_code == 200 and rejects.headers["Content-Disposition"].endswith(".csv")
    assert run["id"] in [r["id"] for r in personnel.get(f"{API}/imports/").get_json()["result"]]
    # Another command's staff and other roles never read the run.
    _refused(api("centralit").get(f"{API}/imports/{2**31 - 1}"), 404)
    _refused_by_role(api("commandtech2").get(f"{API}/imports/{run['id']}"))
    _refused_by_role(api("officer").get(f"{API}/imports/{run['id']}"))


def test_an_import_is_refused_to_who_may_not_and_for_files_no_import_reads(app, api):
    db = _db()
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(JobRun))
    content = csv_bytes([person("KKN-MUEANG")])
    for username in ("officer", "commandtech", "auditor"):
        _refused_by_role(_upload(api(username), "import_personnel", content))
    _refused(_upload(api("personnel"), "import_units", content), 400, "kind")
    _refused(_upload(api("personnel"), "import_anything", content), 400, "kind")
    _refused(_upload(api("personnel"), "import_personnel", b""), 400, "content_base64")
    _refused(_upload(api("personnel"), "import_personnel", b"%PDF-1.4 not a table \x00\x01"), 400, "content_base64")
    bad = api("personnel").post(f"{API}/imports/?_l_=en", json={"kind": "import_personnel", "filename": "a.csv",
                                                                 "content_base64": "not base64!"})
    _refused(bad, 400, "content_base64")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(JobRun)) == count
    # Central IT imports nationwide; a nationwide run is not one Personnel of a command read.
    run = _upload(api("centralit"), "import_personnel", content)
    assert run.status_code == 202
    _refused(api("personnel").get(f"{API}/imports/{run.get_json()['id']}"), 404)


# -- exports -----------------------------------------------------------------------------------------------------
def _exported(user, url):
    """Ask for a file (202 and a run; jobs run inline in tests), then download what the run wrote."""
    asked = user.post(url)
    assert asked.status_code == 202, asked.get_json()
    run = user.get(f"{API}/export-runs/{asked.get_json()['id']}").get_json()
    assert run["finished"] and run["state"] == "done" and run["file_url"], run
    return user.get(run["file_url"])


def test_the_api_answers_429_while_three_exports_wait(app, api, monkeypatch):
    from app import job_queue
    from app.services import jobs

    held = []
    monkeypatch.setattr(job_queue, "submit", held.append)  # nobody carries them out yet
    tech = api("commandtech2")
    for _ in range(jobs.EXPORTS_AT_ONCE):
        assert tech.post(f"{API}/exports/command-grants?format=csv").status_code == 202
    refused = tech.post(f"{API}/exports/command-grants?format=csv&_l_=en")
    assert refused.status_code == 429 and "still being written" in refused.get_json()["message"]
    assert len(held) == jobs.EXPORTS_AT_ONCE
    with app.app_context():
        for run_id in held:  # the worker catches up
            job_queue.perform(run_id)
    assert tech.post(f"{API}/exports/command-grants?format=csv").status_code == 202


def test_only_who_asked_reads_an_export_run_and_its_file(app, api):
    tech = api("commandtech")
    asked = tech.post(f"{API}/exports/command-grants?format=csv").get_json()
    assert asked["state"] == "done" and asked["file_url"].endswith(f"/export-runs/{asked['id']}/file")
    assert asked["id"] in [r["id"] for r in tech.get(f"{API}/export-runs/").get_json()["result"]]
    for username in ("commandtech2", "admin", "auditor"):
        someone = api(username)
        _refused(someone.get(f"{API}/export-runs/{asked['id']}"), 404)
        _refused(someone.get(f"{API}/export-runs/{asked['id']}/file"), 404)
        assert asked["id"] not in [r["id"] for r in someone.get(f"{API}/export-runs/").get_json()["result"]]
    _refused(tech.get(f"{API}/export-runs/{2**40}"), 404)
    _refused(tech.get(f"{API}/export-runs/{2**40}/file"), 404)


def test_the_command_permissions_export_holds_the_readers_command_only(app, api, kkn):
    db = _db()
    with app.app_context():
        stranger_grant = make_grant(db.session, db.session.get(Officer, kkn["stranger"]), "vehicles")
        db.session.commit()
        nids = {pk: db.session.get(Officer, pk).national_id for pk in (kkn["officer"], kkn["stranger"])}
        stranger_grant_id = stranger_grant.id
    own = _exported(api("commandtech"), f"{API}/exports/command-grants?format=csv")
    assert own.status_code == 200 and own.headers["Content-Disposition"].endswith(".csv")
    text = own.get_data().decode("utf-8-sig")
    assert nids[kkn["officer"]] in text and nids[kkn["stranger"]] not in text
    other = _exported(api("commandtech2"), f"{API}/exports/command-grants?format=xlsx")
    assert other.status_code == 200 and other.get_data()[:2] == b"PK"
    _refused_by_role(api("officer").post(f"{API}/exports/command-grants"))
    _refused(api("commandtech").post(f"{API}/exports/command-grants?format=pdf&_l_=en"), 400, "format")
    assert api("commandtech").get(f"{API}/exports/command-grants?format=csv").status_code == 405
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export",
                                                             AuditEvent.object_type == "CommandGrant")).all()
        assert events and stranger_grant_id


# -- reference data (Admin) ----------------------------------------------------------------------------------------
def test_admin_keeps_reference_data_and_nobody_else_changes_it(app, api):
    db = _db()
    day = TEST_TODAY + timedelta(days=700)
    body = {"day": day.isoformat(), "name_th": "วันหยุดทดสอบ", "name_en": "Test holiday"}
    for username in ("centralit", "commandtech", "officer"):
        answer = api(username).post(f"{API}/holidays/", json=body)
        _refused_by_role(answer)
    _refused_by_role(api("commandtech").get(f"{API}/holidays/"))
    assert api("centralit").get(f"{API}/holidays/").status_code == 200
    _refused(api("admin").post(f"{API}/holidays/?_l_=en", json={**body, "day": "next year"}), 400)
    _refused(api("admin").post(f"{API}/rank-groups/?_l_=en", json={"number": -1, "name_th": "x", "name_en": "x"}), 400)
    with app.app_context():
        assert db.session.scalar(select(Holiday).where(Holiday.day == day)) is None

    added = api("admin").post(f"{API}/holidays/", json=body)
    assert added.status_code == 201, added.get_json()
    pk = added.get_json()["id"]
    _refused(api("admin").post(f"{API}/holidays/?_l_=en", json=body), 409)  # the same day twice
    changed = api("admin").put(f"{API}/holidays/{pk}", json={"name_en": "Renamed"})
    assert changed.status_code == 200
    _refused_by_role(api("centralit").put(f"{API}/holidays/{pk}", json={"name_en": "x"}))
    _refused(api("admin").put(f"{API}/holidays/{pk}?_l_=en", json={"version": "1"}), 400, "version")
    with app.app_context():
        assert db.session.get(Holiday, pk).name_en == "Renamed"
        actions = set(db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.object_type == "Holiday", AuditEvent.object_id == pk)))
    assert actions == {"Holiday.create", "Holiday.update"}


def test_a_withdrawn_function_is_kept_as_data_by_admin(app, api):
    db = _db()
    with app.app_context():
        function = db.session.scalar(select(SystemFunction).order_by(SystemFunction.id.desc()).limit(1))
        pk, active = function.id, function.is_active
    assert api("commandtech").get(f"{API}/system-functions/{pk}").status_code == 200
    _refused_by_role(api("commandtech").put(f"{API}/system-functions/{pk}", json={"is_active": not active}))
    _refused(api("admin").put(f"{API}/system-functions/{pk}?_l_=en", json={"duty_line": 2**31}), 400, "duty_line")
    with app.app_context():
        assert db.session.get(SystemFunction, pk).is_active == active
