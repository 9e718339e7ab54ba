"""The REST API for requests: the same chain, rules and scope as the screens, with JWTs.

Everything the API does is committed, so each test makes its own requests and never counts
rows it did not make.
"""
import base64
import json
import re

import pytest
from sqlalchemy import func, select

from app.models import AccessRequest, DataSource, Decision, Officer, RankGroup, User
from tests.conftest import ApiUser, new_requester
from tests.factories import PDF

BASE = "/api/v1/requests"
# The memo and the ID-card copy every search request must carry.
DOCUMENTS = [{"kind": kind, "filename": f"{kind}.pdf", "content_base64": base64.b64encode(PDF).decode()}
             for kind in ("memo", "id_card_copy")]


class RequestsApiUser(ApiUser):
    def detail(self, pk: int) -> dict:
        response = self.get(f"{BASE}/{pk}?_l_=en")
        assert response.status_code == 200, response.get_json()
        return response.get_json()


@pytest.fixture()
def api(app, api_tokens):
    """api("head") -> an ApiUser holding head's JWT; api("requester") -> this test's own new
    officer (tests.conftest.new_requester), the same one for the whole test."""
    requester = []

    def _api(username: str) -> RequestsApiUser:
        if username == "requester":
            if not requester:
                requester.append(new_requester(app))
            username = requester[0]
        return RequestsApiUser(app.test_client(), api_tokens(username))

    return _api


@pytest.fixture(scope="module")
def ids(app):
    from app.extensions import db

    with app.app_context():
        return {
            "source": {s.code: s.id for s in db.session.scalars(select(DataSource))},
            "group": {g.number: g.id for g in db.session.scalars(select(RankGroup))},
            "head": db.session.scalar(select(Officer.id).join(User, Officer.user_id == User.id)
                                      .where(User.username == "head")),
        }


def _draft_body(ids, **extra) -> dict:
    body = {
        "kind": "external_search",
        "contact_email": "natthawut@police.example",
        "contact_mobile": "081-234-5678",
        "duty_performed": "สืบสวนคดียาเสพติด",
        "pledge_accepted": True,
        "certifying_head_id": ids["head"],
        "sources": [
            {"data_source_id": ids["source"]["civil_registration"], "rank_group_id": ids["group"][1]},
            {"data_source_id": ids["source"]["company_registry"]},
        ],
        "attachments": DOCUMENTS,
    }
    body.update(extra)
    return body


def _create(officer: ApiUser, ids, **extra) -> dict:
    response = officer.post(f"{BASE}/?_l_=en", json=_draft_body(ids, **extra))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _submitted(officer: ApiUser, ids, **extra) -> dict:
    draft = _create(officer, ids, **extra)
    response = officer.post(f"{BASE}/{draft['id']}/submit?_l_=en", json={"version": draft["version"]})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _decide(user: ApiUser, pk: int, transition: str, version: int, lang: str = "en", **extra):
    return user.post(f"{BASE}/{pk}/decide?_l_={lang}",
                     json={"transition": transition, "version": version, **extra})


def _at_central_it(api, ids) -> dict:
    req = _submitted(api("requester"), ids)
    response = _decide(api("head"), req["id"], "approve", req["version"], attest=True)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _row(app, pk: int) -> tuple:
    from app.extensions import db

    with app.app_context():
        req = db.session.get(AccessRequest, pk)
        decisions = db.session.scalar(select(func.count(Decision.id)).where(Decision.request_id == pk))
        return req.state, req.current_stage.actor if req.current_stage else None, req.version, decisions


# -- the whole chain --------------------------------------------------------------------------
def test_full_chain_through_the_api(api, ids):
    officer, head, centralit = api("requester"), api("head"), api("centralit")

    # A draft with a file, sent as base64, no CSRF token: the JWT is the credential.
    draft = _create(officer, ids, attachments=[
        {"kind": "memo", "filename": "บันทึก.pdf", "content_base64": base64.b64encode(PDF).decode()},
        {"kind": "id_card_copy", "filename": "บัตร.pdf", "content_base64": base64.b64encode(PDF).decode()}])
    pk = draft["id"]
    assert draft["state"] == "draft" and draft["number"] is None
    items = {i["source"]["code"]: i for i in draft["items"]}
    assert items["civil_registration"]["above_own_rank"] is True
    assert items["civil_registration"]["rank_group"]["number"] == 1
    assert items["company_registry"]["rank_group"] is None and items["company_registry"]["state"] == "pending"
    attachment = next(a for a in draft["attachments"] if a["kind"] == "memo")
    assert attachment["content_type"] == "application/pdf" and attachment["size_bytes"] == len(PDF)
    assert "/" not in attachment["filename"] and "content" not in attachment and "content_base64" not in attachment
    assert set(draft["allowed"]) == {"submit", "cancel"}
    assert {c["code"] for c in draft["checks"]} >= {"officer_active", "head", "rank_group"}

    response = officer.post(f"{BASE}/{pk}/submit?_l_=en", json={"version": draft["version"]})
    assert response.status_code == 200, response.get_json()
    submitted = response.get_json()
    assert submitted["state"] == "submitted" and submitted["number"]
    assert submitted["current_stage"]["actor"] == "certifying_head" and submitted["due_on"]
    assert submitted["allowed"] == ["cancel"]

    inbox = head.get(f"{BASE}/inbox?page_size=100").get_json()
    row = next(r for r in inbox["result"] if r["id"] == pk)
    assert row["waiting_as"] == "certifying_head" and row["overdue"] is False
    seen = head.detail(pk)
    assert seen["allowed"] == ["approve", "return", "reject"]
    refused = _decide(head, pk, "approve", seen["version"])
    assert refused.status_code == 400 and refused.get_json()["field"] == "attest"
    response = _decide(head, pk, "approve", seen["version"], attest=True)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["decisions"][-1]["attested"] is True
    assert response.get_json()["current_stage"]["actor"] == "central_it"
    assert pk not in [r["id"] for r in head.get(f"{BASE}/inbox?page_size=100").get_json()["result"]]

    rows = centralit.get(f"{BASE}/inbox?page_size=100").get_json()["result"]
    assert next(r for r in rows if r["id"] == pk)["waiting_as"] == "central_it"
    seen = centralit.detail(pk)
    items = {i["source"]["code"]: i for i in seen["items"]}
    # Nothing is approved by leaving it out, an item is rejected with its reason, and a warning
    # (group 1 is above the officer's own rank) is approved over only with a comment.
    civil_id, company_id = items["civil_registration"]["id"], items["company_registry"]["id"]
    for body, field in [({"items": [{"item_id": civil_id, "approve": True}]}, "items"),
                        ({"items": [{"item_id": civil_id, "approve": True},
                                    {"item_id": company_id, "approve": False}]}, f"item_comment_{company_id}"),
                        ({"items": [{"item_id": civil_id, "approve": True},
                                    {"item_id": company_id, "approve": False, "comment": "ไม่เกี่ยวกับงาน"}]},
                         "comment")]:
        refused = _decide(centralit, pk, "approve", seen["version"], **body)
        assert refused.status_code == 400 and refused.get_json()["field"] == field, refused.get_json()
    response = _decide(centralit, pk, "approve", seen["version"], items=[
        {"item_id": civil_id, "approve": True, "comment": "ผู้บังคับบัญชารับรองความจำเป็นแล้ว"},
        {"item_id": company_id, "approve": False, "comment": "ไม่เกี่ยวกับงาน"},
    ])
    assert response.status_code == 200, response.get_json()
    completed = response.get_json()
    assert completed["state"] == "completed" and completed["current_stage"]["actor"] == "agency"
    items = {i["source"]["code"]: i for i in completed["items"]}
    civil, company = items["civil_registration"], items["company_registry"]
    assert civil["state"] == "approved" and civil["awaiting_activation"] is True
    assert civil["grant"]["state"] == "pending_activation"
    assert company["state"] == "rejected" and company["comment"] == "ไม่เกี่ยวกับงาน" and company["grant"] is None
    assert set(completed["allowed"]) == {"activate", "refuse_activation"}

    rows = centralit.get(f"{BASE}/inbox?page_size=100").get_json()["result"]
    assert next(r for r in rows if r["id"] == pk)["waiting_as"] == "agency_activation"
    response = centralit.post(f"{BASE}/items/{civil['id']}/activation?_l_=en", json={
        "activated": True, "agency_reference": "DOPA-API-777", "version": civil["version"]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["current_stage"] is None
    assert pk not in [r["id"] for r in centralit.get(f"{BASE}/inbox?page_size=100").get_json()["result"]]

    mine = officer.get(f"{BASE}/?page_size=5").get_json()
    assert mine["result"][0]["id"] == pk and mine["result"][0]["state"] == "completed"
    final = officer.detail(pk)
    assert final["state"] == "completed" and final["state_label"] == "Completed"
    civil = next(i for i in final["items"] if i["id"] == civil["id"])
    assert civil["state"] == "activated" and civil["agency_reference"] == "DOPA-API-777"
    assert civil["grant"]["state"] == "active" and civil["grant"]["agency_reference"] == "DOPA-API-777"
    assert [d["transition"] for d in final["decisions"]] == [
        "submit", "approve", "approve", "approve_item", "reject_item", "activate"]
    assert final["allowed"] == []


def test_returned_request_is_corrected_and_resubmitted(api, ids):
    officer, head = api("requester"), api("head")
    req = _submitted(officer, ids)
    response = _decide(head, req["id"], "return", req["version"], comment="แนบบันทึกด้วย")
    assert response.status_code == 200 and response.get_json()["state"] == "returned"

    current = officer.detail(req["id"])
    assert set(current["allowed"]) == {"resubmit", "cancel"}
    response = officer.put(f"{BASE}/{req['id']}?_l_=en", json={
        "version": current["version"], "duty_performed": "สืบสวนคดีฉ้อโกง",
        "sources": [{"data_source_id": ids["source"]["civil_registration"], "rank_group_id": ids["group"][2]}],
        "attachments": [{"kind": "memo", "filename": "memo.pdf",
                         "content_base64": base64.b64encode(PDF).decode()}]})
    assert response.status_code == 200, response.get_json()
    updated = response.get_json()
    assert updated["duty_performed"] == "สืบสวนคดีฉ้อโกง"
    assert updated["contact_email"] == "natthawut@police.example"  # left out: kept
    [item] = updated["items"]
    assert item["source"]["code"] == "civil_registration" and item["above_own_rank"] is False
    assert len(updated["attachments"]) == 3  # the two it was sent with, and the new memo

    response = officer.post(f"{BASE}/{req['id']}/submit", json={"version": updated["version"]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["state"] == "submitted"
    assert response.get_json()["current_stage"]["actor"] == "certifying_head"


def test_officer_cancels_own_request(api, ids):
    officer = api("requester")
    draft = _create(officer, ids)
    response = officer.post(f"{BASE}/{draft['id']}/cancel", json={"version": draft["version"]})
    assert response.status_code == 200 and response.get_json()["state"] == "cancelled"
    again = officer.post(f"{BASE}/{draft['id']}/cancel?_l_=en")
    assert again.status_code == 409 and again.get_json()["message"]


def test_ineligible_submission_lists_the_failed_checks(api, ids):
    officer = api("requester")
    draft = _create(officer, ids, duty_mismatch=True)
    response = officer.post(f"{BASE}/{draft['id']}/submit?_l_=en", json={})
    assert response.status_code == 400
    body = response.get_json()
    assert body["message"].startswith("The request cannot be submitted")
    assert "duty_line" in {c["code"] for c in body["checks"]}
    assert all(c["status"] == "fail" for c in body["checks"])
    assert officer.detail(draft["id"])["state"] == "draft"


# -- scope and rules --------------------------------------------------------------------------
def test_a_request_one_may_not_see_is_404_everywhere(app, api, ids):
    req = _submitted(api("requester"), ids)
    pk, item_id = req["id"], req["items"][0]["id"]
    before = _row(app, pk)
    personnel = api("commandtech2")  # technology staff of another command
    assert personnel.get(f"{BASE}/{pk}").status_code == 404
    assert personnel.put(f"{BASE}/{pk}", json={"version": req["version"]}).status_code == 404
    assert personnel.post(f"{BASE}/{pk}/submit", json={}).status_code == 404
    assert personnel.post(f"{BASE}/{pk}/cancel", json={}).status_code == 404
    for transition in ("approve", "return", "reject"):
        response = _decide(personnel, pk, transition, req["version"], comment="x")
        assert response.status_code == 404
    response = personnel.post(f"{BASE}/items/{item_id}/activation",
                              json={"activated": True, "agency_reference": "X", "version": 1})
    assert response.status_code == 404
    assert pk not in [r["id"] for r in personnel.get(f"{BASE}/inbox?page_size=100").get_json()["result"]]
    assert _row(app, pk) == before

    # The same answer as a request that does not exist, and the message is the service's.
    missing = personnel.get(f"{BASE}/999999?_l_=en")
    assert missing.status_code == 404
    assert missing.get_json()["message"] == personnel.get(f"{BASE}/{pk}?_l_=en").get_json()["message"]
    assert personnel.get(f"{BASE}/99999999999999999999").status_code == 404
    assert personnel.post(f"{BASE}/99999999999999999999/submit", json={}).status_code == 404
    response = personnel.post(f"{BASE}/items/99999999999999999999/activation",
                              json={"activated": True, "agency_reference": "X", "version": 1})
    assert response.status_code == 404


def test_head_does_not_see_a_draft(api, ids):
    draft = _create(api("requester"), ids)
    assert api("head").get(f"{BASE}/{draft['id']}").status_code == 404
    assert _decide(api("head"), draft["id"], "approve", draft["version"]).status_code == 404


def test_head_cannot_act_at_the_central_it_stage(app, api, ids):
    req = _at_central_it(api, ids)
    before = _row(app, req["id"])
    head = api("head")
    assert head.detail(req["id"])["allowed"] == []
    for transition in ("approve", "return", "reject"):
        response = _decide(head, req["id"], transition, req["version"], comment="ไม่ผ่าน")
        assert response.status_code == 403, response.get_json()
        assert response.get_json()["message"]
    assert _row(app, req["id"]) == before


def test_officer_cannot_decide_own_request(app, api, ids):
    req = _submitted(api("requester"), ids)
    before = _row(app, req["id"])
    response = _decide(api("requester"), req["id"], "approve", req["version"])
    assert response.status_code == 403
    assert response.get_json()["message"] == "You cannot decide on your own request."
    assert _row(app, req["id"]) == before


def test_central_it_cannot_record_activation_twice_or_as_head(app, api, ids):
    req = _at_central_it(api, ids)
    centralit = api("centralit")
    seen = centralit.detail(req["id"])
    response = _decide(centralit, req["id"], "approve", seen["version"], approve_remaining=True,
                       comment="ผู้บังคับบัญชารับรองความจำเป็นแล้ว")
    assert response.status_code == 200, response.get_json()
    civil = next(i for i in response.get_json()["items"] if i["source"]["code"] == "civil_registration")
    body = {"activated": True, "agency_reference": "DOPA-1", "version": civil["version"]}
    assert api("head").post(f"{BASE}/items/{civil['id']}/activation", json=body).status_code == 403
    refused = centralit.post(f"{BASE}/items/{civil['id']}/activation?_l_=en",
                             json={"activated": False, "version": civil["version"]})
    assert refused.status_code == 400 and refused.get_json()["field"] == "comment"
    assert centralit.post(f"{BASE}/items/{civil['id']}/activation", json=body).status_code == 200
    again = centralit.post(f"{BASE}/items/{civil['id']}/activation", json={**body, "version": civil["version"] + 1})
    assert again.status_code == 409


def test_stale_version_conflicts_and_changes_nothing(app, api, ids):
    officer, head = api("requester"), api("head")
    req = _submitted(officer, ids)
    before = _row(app, req["id"])
    response = _decide(head, req["id"], "approve", req["version"] - 1)
    assert response.status_code == 409
    assert response.get_json()["message"].startswith("Someone changed this request")
    assert _row(app, req["id"]) == before

    draft = _create(officer, ids)
    response = officer.put(f"{BASE}/{draft['id']}?_l_=en",
                           json={"version": draft["version"] + 5, "duty_performed": "เปลี่ยน"})
    assert response.status_code == 409
    assert officer.detail(draft["id"])["duty_performed"] == "สืบสวนคดียาเสพติด"


def test_return_without_comment_is_refused_in_the_readers_language(app, api, ids):
    from flask_babel import gettext

    from app.workflow.machine import MSG_COMMENT_REQUIRED

    req = _submitted(api("requester"), ids)
    before = _row(app, req["id"])
    head = api("head")
    english = _decide(head, req["id"], "return", req["version"], lang="en", comment="  ")
    assert english.status_code == 409
    assert english.get_json()["message"] == MSG_COMMENT_REQUIRED
    thai = _decide(head, req["id"], "return", req["version"], lang="th")
    assert thai.status_code == 409
    with app.test_request_context("/?_l_=th"):
        assert thai.get_json()["message"] == gettext(MSG_COMMENT_REQUIRED)
    assert _row(app, req["id"]) == before

    # Messages the catalogue translates come in Thai: a field left out, from marshmallow ...
    missing = head.post(f"{BASE}/{req['id']}/decide?_l_=th", json={"transition": "approve"})
    assert missing.status_code == 400
    assert missing.get_json()["errors"]["version"] == ["จำเป็นต้องกรอกข้อมูลนี้"]
    # ... and from the service, with the field at fault.
    officer = api("requester")
    draft = _create(officer, ids, duty_performed="")
    incomplete = officer.post(f"{BASE}/{draft['id']}/submit?_l_=th")
    assert incomplete.status_code == 400
    assert incomplete.get_json() == {"message": "จำเป็นต้องกรอกข้อมูลนี้", "field": "duty_performed"}


# -- bad input never gives a 500 --------------------------------------------------------------
def test_malformed_json_is_400(api, ids):
    officer = api("requester")
    draft = _create(officer, ids)
    for url in (f"{BASE}/", f"{BASE}/{draft['id']}/decide"):
        response = officer.post(url, data="{not json", content_type="application/json")
        assert response.status_code == 400 and response.get_json()["message"]
    assert officer.post(f"{BASE}/", data="[1, 2]", content_type="application/json").status_code == 400
    assert officer.post(f"{BASE}/", data="kind=external_search",
                        content_type="application/x-www-form-urlencoded").status_code == 400
    assert officer.put(f"{BASE}/{draft['id']}", data="{", content_type="application/json").status_code == 400
    assert officer.post(f"{BASE}/").status_code == 400


@pytest.mark.parametrize("change, field", [
    ({"kind": 5}, "kind"),
    ({"kind": "world_domination"}, "kind"),
    ({"pledge_accepted": "maybe"}, "pledge_accepted"),
    ({"sources": "civil_registration"}, "sources"),
    ({"sources": [{"data_source_id": "1"}]}, "sources"),
    ({"sources": [{"data_source_id": 999999}]}, "sources"),
    ({"sources": [{"data_source_id": 10**20}]}, "sources"),
    ({"function_ids": [1]}, "function_ids"),
    ({"certifying_head_id": 999999}, "certifying_head_id"),
    ({"certifying_head_id": True}, "certifying_head_id"),
    ({"contact_email": "not-an-email"}, "contact_email"),
    ({"assignment_until": "31/12/2569"}, "assignment_until"),
    ({"attachments": [{"kind": "memo", "filename": "a.pdf", "content_base64": "%%%"}]}, "attachments"),
    ({"attachments": [{"kind": "memo", "filename": "a.pdf",
                       "content_base64": base64.b64encode(b"MZ\x90\x00 not a pdf").decode()}]}, "attachments"),
    ({"attachments": [{"kind": "selfie", "filename": "a.jpg", "content_base64": "AAAA"}]}, "attachments"),
    ({"surprise": 1}, "surprise"),
])
def test_wrong_input_is_400_with_the_field(app, api, ids, change, field):
    from app.extensions import db

    officer = api("requester")
    with app.app_context():
        count = db.session.scalar(select(func.count(AccessRequest.id)))
    response = officer.post(f"{BASE}/?_l_=en", json=_draft_body(ids, **change))
    assert response.status_code == 400, response.get_json()
    body = response.get_json()
    assert body["field"] == field and body["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count(AccessRequest.id))) == count


def test_wrong_decision_input_is_400(api, ids):
    req = _submitted(api("requester"), ids)
    head = api("head")
    assert _decide(head, req["id"], "approve", "1").status_code == 400
    assert _decide(head, req["id"], "rubber_stamp", req["version"]).status_code == 400
    response = _decide(head, req["id"], "approve", req["version"], items=[{"item_id": "x"}])
    assert response.status_code == 400 and response.get_json()["field"] == "items"
    response = _decide(head, req["id"], "approve", req["version"],
                       items=[{"item_id": 999999, "approve": True}])
    assert response.status_code == 400 and response.get_json()["field"] == "items"
    assert head.get(f"{BASE}/inbox?page_size=1000").status_code == 400
    assert head.get(f"{BASE}/?page=zero").status_code == 400


# -- authentication, CSRF, documentation ------------------------------------------------------
def test_no_token_is_401(app, ids):
    client = app.test_client()
    calls = [
        ("get", f"{BASE}/"), ("get", f"{BASE}/inbox"), ("get", f"{BASE}/1"),
        ("post", f"{BASE}/"), ("put", f"{BASE}/1"), ("post", f"{BASE}/1/submit"),
        ("post", f"{BASE}/1/cancel"), ("post", f"{BASE}/1/decide"), ("post", f"{BASE}/items/1/activation"),
    ]
    for method, url in calls:
        assert getattr(client, method)(url, json={}).status_code == 401, url
        response = getattr(client, method)(url, json={}, headers={"Authorization": "Bearer not.a.jwt"})
        assert response.status_code == 401 and response.get_json()["message"], url


def test_a_browser_session_is_not_an_api_credential(app, login, api, ids):
    """The API is exempt from CSRF because only a JWT authenticates it, never the session cookie."""
    browser = login("officer")
    assert browser.client.get(f"{BASE}/").status_code == 401
    assert browser.client.post(f"{BASE}/", json=_draft_body(ids)).status_code == 401
    draft = _create(api("requester"), ids)
    assert browser.client.post(f"{BASE}/{draft['id']}/cancel", json={}).status_code == 401
    # With someone else's JWT alongside, the JWT's user acts: head may not see the draft.
    head_token = api("head").token
    response = browser.client.get(f"{BASE}/{draft['id']}", headers={"Authorization": f"Bearer {head_token}"})
    assert response.status_code == 404


def test_openapi_lists_every_endpoint(app, api):
    spec = api("admin").get("/api/v1/_openapi")
    assert spec.status_code == 200
    paths = spec.get_json()["paths"]
    expected = {
        f"{BASE}/": {"get", "post"},
        f"{BASE}/inbox": {"get"},
        f"{BASE}/{{pk}}": {"get", "put"},
        f"{BASE}/{{pk}}/submit": {"post"},
        f"{BASE}/{{pk}}/cancel": {"post"},
        f"{BASE}/{{pk}}/decide": {"post"},
        f"{BASE}/items/{{item_id}}/activation": {"post"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), path
        for method in methods:
            assert paths[path][method]["responses"], (path, method)
    schemas = spec.get_json()["components"]["schemas"]
    refs = set(re.findall(r"#/components/schemas/(\w+)", json.dumps(
        {path: paths[path] for path in expected})))
    assert refs and refs <= set(schemas), refs - set(schemas)
    assert {"RequestCreate", "RequestUpdate", "Decide", "Activation", "RequestDetail", "ApiError"} <= set(schemas)
    assert "items" in schemas["Decide"]["properties"]


def test_swagger_ui_is_served(login):
    assert login("admin").get("/swagger/v1").status_code == 200
