"""Linkage Center rules through the requests API: each source's fields and justification answers go
in as the request form sends them, come back on the request's items and on the grant, and every
refusal (a field outside the agreement, a missing required answer, an agreement ended) is a 400
naming its field, with nothing saved."""
import base64
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from app.models import (
    AccessRequest,
    DataField,
    DataSharingAgreement,
    DataSource,
    JustificationQuestion,
    Officer,
    User,
)
from tests.conftest import TEST_TODAY, ApiUser, new_requester
from tests.factories import PDF

BASE = "/api/v1/requests"
DOCUMENTS = [{"kind": kind, "filename": f"{kind}.pdf", "content_base64": base64.b64encode(PDF).decode()}
             for kind in ("memo", "id_card_copy")]


@pytest.fixture(scope="module")
def lab(app):
    """Health insurance rights (NHSO), whose demo agreement allows both its fields, with a third
    field it does not allow, a required text question and an optional number question; removed
    afterwards so no other test meets them."""
    from app.extensions import db

    with app.app_context():
        source = db.session.scalar(select(DataSource).where(DataSource.code == "health_insurance"))
        fields = list(db.session.scalars(select(DataField).where(DataField.data_source_id == source.id)
                                         .order_by(DataField.position)))
        photo = DataField(data_source=source, code="api_photo", name_th="ภาพถ่ายผู้มีสิทธิ", name_en="Photo", position=9)
        case = JustificationQuestion(data_source=source, label_th="เลขคดีทดสอบ", label_en="Test case number",
                                     required=True, answer_kind="text", max_length=30, position=1)
        count = JustificationQuestion(data_source=source, label_th="จำนวนผู้เกี่ยวข้อง", label_en="People involved",
                                      required=False, answer_kind="number", max_length=5, position=2)
        db.session.add_all([photo, case, count])
        db.session.commit()
        head = db.session.scalar(select(Officer.id).join(User, Officer.user_id == User.id).where(User.username == "head"))
        made = {"source": source.id, "fields": [fields[0].id, fields[1].id, photo.id], "case": case.id,
                "count": count.id, "agency": source.agency_id, "head": head}
    yield made
    with app.app_context():
        db.session.execute(delete(JustificationQuestion).where(JustificationQuestion.id.in_((made["case"], made["count"]))))
        db.session.execute(delete(DataField).where(DataField.id == made["fields"][2]))
        db.session.commit()


@pytest.fixture()
def officer(app, api_tokens):
    from tests.conftest import api_token

    return ApiUser(app.test_client(), api_token(app.test_client(), new_requester(app)))


@pytest.fixture()
def api(app, api_tokens):
    return lambda username: ApiUser(app.test_client(), api_tokens(username))


def _body(lab, field_ids=None, answers=None) -> dict:
    source = {"data_source_id": lab["source"], "field_ids": field_ids if field_ids is not None else [lab["fields"][0]]}
    if answers is not None:
        source["answers"] = answers
    return {"kind": "external_search", "contact_email": "linkage@police.example", "contact_mobile": "0812345678",
            "duty_performed": "สืบสวน", "pledge_accepted": True, "certifying_head_id": lab["head"],
            "sources": [source], "attachments": DOCUMENTS}


def _requests(app) -> int:
    from app.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count(AccessRequest.id)))


def test_fields_and_answers_go_in_come_back_on_the_items_and_stay_on_the_grant(app, api, officer, lab):
    body = _body(lab, [lab["fields"][0], lab["fields"][1]], [
        {"question_id": lab["case"], "value": "คดีอาญา <b>99</b>/2569"}, {"question_id": lab["count"], "value": "2"}])
    created = officer.post(f"{BASE}/?_l_=en", json=body)
    assert created.status_code == 201, created.get_json()
    draft = created.get_json()
    (item,) = draft["items"]
    assert [f["id"] for f in item["fields"]] == lab["fields"][:2]
    assert {a["question_id"]: a["value"] for a in item["answers"]} == {
        lab["case"]: "คดีอาญา <b>99</b>/2569", lab["count"]: "2"}
    assert {a["question"] for a in item["answers"]} == {"Test case number", "People involved"}

    # A change that leaves `sources` out keeps the fields and answers as they were.
    changed = officer.put(f"{BASE}/{draft['id']}?_l_=en", json={"version": draft["version"], "duty_performed": "สืบสวน 2"})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["items"][0]["answers"] == item["answers"]
    assert changed.get_json()["items"][0]["fields"] == item["fields"]

    sent = officer.post(f"{BASE}/{draft['id']}/submit?_l_=en", json={})
    assert sent.status_code == 200, sent.get_json()
    head, centralit = api("head"), api("centralit")
    approved = head.post(f"{BASE}/{draft['id']}/decide", json={"transition": "approve", "attest": True,
                                                                "version": sent.get_json()["version"]})
    assert approved.status_code == 200, approved.get_json()
    done = centralit.post(f"{BASE}/{draft['id']}/decide", json={"transition": "approve", "approve_remaining": True,
                                                                "version": approved.get_json()["version"]})
    assert done.status_code == 200, done.get_json()
    grant = done.get_json()["items"][0]["grant"]
    assert grant is not None
    assert [f["id"] for f in grant["fields"]] == lab["fields"][:2]
    assert len(grant["answers"]) == 2

    justification = centralit.get(f"/api/v1/grants/{grant['id']}/justification?_l_=en")
    assert justification.status_code == 200, justification.get_json()
    assert [f["id"] for f in justification.get_json()["fields"]] == lab["fields"][:2]
    assert {a["value"] for a in justification.get_json()["answers"]} == {"คดีอาญา <b>99</b>/2569", "2"}
    # Another command's staff: not there, like a grant that does not exist.
    for pk in (grant["id"], 2**31 - 1, 2**31 + 1):
        assert api("commandtech2").get(f"/api/v1/grants/{pk}/justification").status_code == 404, pk


def test_a_field_outside_the_agreement_is_refused_at_the_sources_fields(app, officer, lab):
    before = _requests(app)
    response = officer.post(f"{BASE}/?_l_=en", json=_body(lab, [lab["fields"][0], lab["fields"][2]], [
        {"question_id": lab["case"], "value": "คดี 1/2569"}]))
    assert response.status_code == 400
    body = response.get_json()
    assert body["field"] == f"sources[{lab['source']}].field_ids"
    assert "Photo" in body["message"] or "ภาพถ่ายผู้มีสิทธิ" in body["message"]
    assert set(body["errors"]) == {f"sources[{lab['source']}].field_ids"}
    assert _requests(app) == before


@pytest.mark.parametrize("answer, said", [("ค" * 31, "30"), ("สาม", "number")])
def test_a_bad_answer_is_refused_at_its_question(app, officer, lab, answer, said):
    question = lab["case"] if said == "30" else lab["count"]
    before = _requests(app)
    response = officer.post(f"{BASE}/?_l_=en", json=_body(lab, answers=[{"question_id": question, "value": answer}]))
    assert response.status_code == 400
    assert response.get_json()["field"] == f"sources[{lab['source']}].answers[{question}]"
    assert said in response.get_json()["message"]
    assert _requests(app) == before


def test_a_missing_required_answer_refuses_the_submission_at_its_question(app, officer, lab):
    draft = officer.post(f"{BASE}/?_l_=en", json=_body(lab))
    assert draft.status_code == 201, draft.get_json()
    pk = draft.get_json()["id"]
    refused = officer.post(f"{BASE}/{pk}/submit?_l_=en", json={})
    assert refused.status_code == 400
    body = refused.get_json()
    field = f"sources[{lab['source']}].answers[{lab['case']}]"
    assert body["field"] == field
    assert any(c["field"] == field and c["code"] == "justification" for c in body["checks"])
    assert officer.get(f"{BASE}/{pk}").get_json()["state"] == "draft"


def test_an_ended_agreement_refuses_the_source_at_sources(app, officer, lab):
    from app.extensions import db

    with app.app_context():
        kept = [(a.id, a.valid_until) for a in db.session.scalars(
            select(DataSharingAgreement).where(DataSharingAgreement.agency_id == lab["agency"]))]
        db.session.execute(DataSharingAgreement.__table__.update().where(
            DataSharingAgreement.agency_id == lab["agency"]).values(valid_until=TEST_TODAY - timedelta(days=1)))
        db.session.commit()
    try:
        before = _requests(app)
        response = officer.post(f"{BASE}/?_l_=en", json=_body(lab, answers=[
            {"question_id": lab["case"], "value": "คดี 1/2569"}]))
        assert response.status_code == 400
        assert response.get_json()["field"] == "sources"
        assert _requests(app) == before
    finally:
        with app.app_context():
            for pk, until in kept:
                db.session.execute(DataSharingAgreement.__table__.update().where(
                    DataSharingAgreement.id == pk).values(valid_until=until))
            db.session.commit()


@pytest.mark.parametrize("source", [
    {"field_ids": ["x"]}, {"field_ids": [2**31 + 1]}, {"answers": [{"question_id": 1}]},
    {"answers": [{"question_id": 1, "value": "ก" * 100_000}]}, {"answers": "no"},
])
def test_malformed_fields_and_answers_are_refused_with_a_400(app, officer, lab, source):
    before = _requests(app)
    body = _body(lab)
    body["sources"][0].update(source)
    response = officer.post(f"{BASE}/?_l_=en", json=body)
    assert response.status_code in (400, 413), response.get_json()
    assert _requests(app) == before
