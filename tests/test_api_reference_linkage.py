"""Reference data of issue 13 through the API: the approval stages' chasing rules (Admin, judged
by the stage form's own rule), the Linkage Center's data fields and justification questions
(Admin) and agencies' super users with their letters (CentralIT and Admin write, Auditor reads).

Everything is committed: each test puts back what it changed and removes what it added.
"""
import base64

import pytest
from flask_babel import gettext
from sqlalchemy import delete, select

from app.models import Agency, AgencySuperUser, ApprovalStage, DataField, DataSource, JustificationQuestion
from app.services import chasing, linkage
from tests.conftest import TEST_TODAY, ApiUser
from tests.factories import JPEG, PDF

API = "/api/v1"
STAGE_RULES = ("remind_after_days", "escalate_after_days", "escalate_to", "escalate_to_user", "escalate_to_role",
               "return_after_days", "return_reason")


@pytest.fixture()
def api(app, api_tokens):
    return lambda username: ApiUser(app.test_client(), api_tokens(username))


@pytest.fixture()
def central_stage(app):
    """The Central IT stage of the search chain, its chasing rules put back afterwards."""
    from app.extensions import db

    with app.app_context():
        stage = db.session.scalar(select(ApprovalStage).where(ApprovalStage.actor == "central_it")
                                  .order_by(ApprovalStage.id))
        kept = {name: getattr(stage, name) for name in (*STAGE_RULES[:3], "escalate_to_role", "return_after_days",
                                                         "return_reason", "escalate_to_user_id")}
        pk = stage.id
    yield pk
    with app.app_context():
        db.session.execute(ApprovalStage.__table__.update().where(ApprovalStage.id == pk).values(**kept))
        db.session.commit()


def _rules(app, pk) -> dict:
    from app.extensions import db

    with app.app_context():
        stage = db.session.get(ApprovalStage, pk)
        return {name: getattr(stage, name) for name in ("remind_after_days", "escalate_after_days", "escalate_to",
                                                         "return_after_days", "return_reason")}


def test_admin_reads_and_writes_a_stages_chasing_rules(app, api, central_stage):
    admin = api("admin")
    shown = admin.get(f"{API}/approval-stages/{central_stage}")
    assert shown.status_code == 200, shown.get_json()
    assert set(STAGE_RULES) - {"escalate_to_user"} <= set(shown.get_json()["result"])
    rules = {"remind_after_days": 2, "escalate_after_days": 4, "escalate_to": "role", "escalate_to_role": "CentralIT",
             "return_after_days": 9, "return_reason": "  เกินกำหนด  "}
    changed = admin.put(f"{API}/approval-stages/{central_stage}", json=rules)
    assert changed.status_code == 200, changed.get_json()
    assert _rules(app, central_stage) == {"remind_after_days": 2, "escalate_after_days": 4, "escalate_to": "role",
                                          "return_after_days": 9, "return_reason": "เกินกำหนด"}


@pytest.mark.parametrize("rules, field, message", [
    ({"remind_after_days": 5, "escalate_after_days": 3, "escalate_to": "role", "escalate_to_role": "CentralIT"},
     "remind_after_days", chasing.MSG_REMIND_BEFORE_ESCALATE),
    ({"escalate_after_days": 3, "escalate_to": None}, "escalate_to", chasing.MSG_TARGET_NEEDED),
])
def test_rules_the_stage_form_refuses_are_refused_in_its_words_and_nothing_changes(
        app, api, central_stage, rules, field, message):
    before = _rules(app, central_stage)
    answer = api("admin").put(f"{API}/approval-stages/{central_stage}", json=rules)
    assert answer.status_code == 400, answer.get_json()
    body = answer.get_json()
    assert body["field"] == field
    with app.test_request_context():  # Thai by default, like the form
        assert gettext(message) in body["errors"][field]
    assert _rules(app, central_stage) == before


def test_only_admin_changes_stages_fields_and_questions(app, api, central_stage):
    for username in ("centralit", "commandtech", "auditor"):
        user = api(username)
        assert user.put(f"{API}/approval-stages/{central_stage}", json={"remind_after_days": 1}).status_code == 403
        assert user.post(f"{API}/data-fields/", json={}).status_code == 403
        assert user.post(f"{API}/justification-questions/", json={}).status_code == 403


def test_admin_adds_a_data_field_and_a_question(app, api):
    from app.extensions import db

    admin = api("admin")
    with app.app_context():
        source = db.session.scalar(select(DataSource.id).where(DataSource.code == "vehicles"))
    made = []
    try:
        field = admin.post(f"{API}/data-fields/", json={"data_source": source, "position": 9, "code": "api_test",
                                                         "name_th": "ทดสอบ", "name_en": "Test"})
        assert field.status_code == 201, field.get_json()
        made.append((DataField, field.get_json()["id"]))
        question = admin.post(f"{API}/justification-questions/", json={
            "data_source": source, "position": 9, "label_th": "คำถามทดสอบ", "label_en": "Test question",
            "answer_kind": "text", "required": False, "max_length": 50, "is_active": False})
        assert question.status_code == 201, question.get_json()
        made.append((JustificationQuestion, question.get_json()["id"]))
        for bad in ({"answer_kind": "colour"}, {"max_length": 0}, {"max_length": 2**31 + 1}):
            refused = admin.put(f"{API}/justification-questions/{made[-1][1]}?_l_=en", json=bad)
            assert refused.status_code == 400, (bad, refused.get_json())
        assert admin.get(f"{API}/data-fields/{made[0][1]}").get_json()["result"]["code"] == "api_test"
    finally:
        with app.app_context():
            for model, pk in reversed(made):
                db.session.execute(delete(model).where(model.id == pk))
            db.session.commit()


def _super_user(agency: int, **extra) -> dict:
    return {"agency": agency, "name": "นายทดสอบ ระบบ", "position": "ผู้ดูแลระบบ", "letter_number": "ทส 0001/2569",
            "valid_from": TEST_TODAY.isoformat(), **extra}


def test_centralit_keeps_super_users_with_a_checked_pdf_letter_and_the_auditor_reads(app, api):
    from app.extensions import db

    with app.app_context():
        agency = db.session.scalar(select(Agency.id).order_by(Agency.id))
    centralit, auditor = api("centralit"), api("auditor")
    made = []
    try:
        letter = {"filename": "แต่งตั้ง.pdf", "content_base64": base64.b64encode(PDF).decode()}
        added = centralit.post(f"{API}/agency-super-users/", json=_super_user(agency, letter_pdf=letter))
        assert added.status_code == 201, added.get_json()
        pk = added.get_json()["id"]
        made.append(pk)
        shown = auditor.get(f"{API}/agency-super-users/{pk}")
        assert shown.status_code == 200 and shown.get_json()["result"]["letter"]["filename"] == "แต่งตั้ง.pdf", shown.get_json()
        assert auditor.post(f"{API}/agency-super-users/", json=_super_user(agency)).status_code == 403
        assert auditor.put(f"{API}/agency-super-users/{pk}", json={"name": "x"}).status_code == 403
        for username in ("commandtech", "officer"):
            assert api(username).get(f"{API}/agency-super-users/{pk}").status_code == 403

        jpeg = {"filename": "letter.jpg", "content_base64": base64.b64encode(JPEG).decode()}
        for body, field in ((_super_user(agency, letter_pdf=jpeg), "letter_pdf"),
                            (_super_user(agency, letter_pdf={"filename": "x.pdf", "content_base64": "%%"}), "letter_pdf"),
                            (_super_user(agency, valid_until=(TEST_TODAY.replace(year=TEST_TODAY.year - 1)).isoformat()),
                             "valid_until")):
            refused = centralit.post(f"{API}/agency-super-users/?_l_=en", json=body)
            assert refused.status_code == 400, refused.get_json()
            assert refused.get_json()["field"] == field, refused.get_json()
        with app.test_request_context("/?_l_=en"):
            assert refused.get_json()["message"] == gettext(linkage.MSG_SUPER_USER_DATES)
        changed = api("admin").put(f"{API}/agency-super-users/{pk}", json={"position": "หัวหน้างาน"})
        assert changed.status_code == 200, changed.get_json()
        # Left out, the letter kept stays.
        assert auditor.get(f"{API}/agency-super-users/{pk}").get_json()["result"]["letter"]["filename"] == "แต่งตั้ง.pdf"
        with app.app_context():
            assert db.session.scalar(select(AgencySuperUser.id).where(AgencySuperUser.agency_id == agency,
                                                                      AgencySuperUser.name == "นายทดสอบ ระบบ")) == pk
            assert len(db.session.scalars(select(AgencySuperUser.id).where(
                AgencySuperUser.letter_number == "ทส 0001/2569")).all()) == 1  # nothing kept of the refusals
    finally:
        with app.app_context():
            db.session.execute(delete(AgencySuperUser).where(AgencySuperUser.id.in_(made)))
            db.session.commit()
