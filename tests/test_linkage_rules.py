"""Linkage Center rules (the data-sharing circulars), each proven with a frozen clock: a source
outside an agreement in force cannot be asked for nor approved; fields beyond the agreement are
refused with the reason; justification questions are asked, answered, shown to approvers and kept
on the grant; agencies' super users are kept by CentralIT and the audit flags an agency without
one; the letters are checked PDFs only the nationwide roles download."""
import re
from datetime import date, timedelta
from io import BytesIO

import pytest
from sqlalchemy import delete, func, select

from app.errors import FieldsRefused, ValidationFailed
from app.models import (
    AccessRequest,
    Agency,
    AgencySuperUser,
    DataField,
    DataSharingAgreement,
    DataSource,
    Grant,
    JustificationQuestion,
    LinkageLetter,
    Officer,
    User,
)
from app.services import access_requests as service
from app.services import linkage
from app.services.clock import Clock
from tests.conftest import TEST_TODAY, new_requester
from tests.factories import JPEG, PDF, SEARCH_DOCUMENTS, decide
from tests.test_request_journey import _decide, _request_id
from tests.test_workflow import CLOCK, TODAY, World


@pytest.fixture()
def world(db_session):
    return World(db_session)


def _field(world, source_code, code) -> DataField:
    return world.session.scalar(select(DataField).join(DataSource).where(
        DataSource.code == source_code, DataField.code == code))


def _choice(world, source_code, field_codes=None, answers=()):
    source = world.source(source_code)
    group = world.group(2).id if source.needs_rank_group else None
    ids = None if field_codes is None else tuple(_field(world, source_code, c).id for c in field_codes)
    return service.SourceChoice(source.id, group, field_ids=ids, answers=answers)


def _draft(world, *choices):
    """World.draft with the sources chosen as given (fields and answers included)."""
    data = service.RequestData(kind="external_search", contact_email="me@police.example",
                               contact_mobile="0812345678", duty_performed="สืบสวน", pledge_accepted=True,
                               certifying_head_id=world.head.id, sources=choices)
    return service.save_draft(world.session, world.officer_actor, data, CLOCK, uploads=SEARCH_DOCUMENTS)


def _end_agreement(world, source_code, last_day):
    source = world.source(source_code)
    world.session.execute(DataSharingAgreement.__table__.update().where(
        DataSharingAgreement.agency_id == source.agency_id).values(valid_until=last_day))
    world.session.expire_all()


# -- an agreement that is not in force ------------------------------------------------------------
def test_an_expired_agreement_refuses_the_request(world):
    saved = world.draft(sources=("vehicles",))
    _end_agreement(world, "vehicles", TODAY - timedelta(days=1))
    with pytest.raises(ValidationFailed) as refused:
        world.draft(sources=("vehicles",))
    assert refused.value.field == "sources"
    assert refused.value.message == service.MSG_NO_AGREEMENT
    # A draft saved while it was in force cannot be sent once it has ended.
    with pytest.raises(service.Ineligible) as not_sent:
        service.submit(world.session, world.officer_actor, saved.id, CLOCK)
    assert {c.code for c in not_sent.value.checks} == {"agreement"}
    assert saved.state == "draft"


def test_an_agreement_that_ends_while_the_request_waits_refuses_the_approval(world):
    request = world.at_central_it(sources=("vehicles",))
    last_day = TODAY + timedelta(days=1)
    _end_agreement(world, "vehicles", last_day)
    version = request.version
    with pytest.raises(service.Ineligible) as refused:
        decide(world.session, world.central_actor, request.id, "approve", Clock.on(last_day + timedelta(days=1)))
    assert [c.code for c in refused.value.checks] == ["agreement"]
    assert "กรมการขนส่งทางบก" in refused.value.translated()
    world.session.refresh(request)
    assert request.version == version and request.current_stage.actor == "central_it"
    # On its last day the agreement still stands.
    done = decide(world.session, world.central_actor, request.id, "approve", Clock.on(last_day))
    assert done.state == "completed"


# -- the fields the agreement allows ----------------------------------------------------------------
def test_fields_beyond_the_agreement_are_refused_with_the_reason_at_their_field(world):
    before = world.session.scalar(select(func.count(AccessRequest.id)))
    with pytest.raises(FieldsRefused) as refused:
        _draft(world, _choice(world, "civil_registration", ("full_name", "moves")))
    source = world.source("civil_registration")
    (field, message, params), = refused.value.problems
    assert field == f"fields_{source.id}" and message == linkage.MSG_FIELDS_NOT_ALLOWED
    assert params["fields"] == "ประวัติการย้ายที่อยู่" and params["agency"] == "กรมการปกครอง"
    assert world.session.scalar(select(func.count(AccessRequest.id))) == before  # nothing saved


def test_no_field_ticked_and_a_field_of_another_source_are_refused(world):
    with pytest.raises(FieldsRefused) as none:
        _draft(world, _choice(world, "civil_registration", ()))
    assert none.value.problems[0][1] == linkage.MSG_NO_FIELD_CHOSEN
    vehicles_plate = _field(world, "vehicles", "plate").id
    foreign = service.SourceChoice(world.source("civil_registration").id, world.group(2).id,
                                   field_ids=(vehicles_plate,))
    with pytest.raises(FieldsRefused) as other:
        _draft(world, foreign)
    assert other.value.problems[0][1] == linkage.MSG_UNKNOWN_FIELD


def test_fields_not_stated_are_every_field_the_agreement_allows(world):
    """What the API and a renewal send: the item names the fields, so approvers and the grant see them."""
    request = world.draft(sources=("civil_registration",))
    asked = {f.code for f in request.items[0].fields}
    assert asked == {"full_name", "id_card", "address", "household", "face_photo", "parents", "name_changes"}
    chosen = _draft(world, _choice(world, "civil_registration", ("full_name", "address")))
    assert {f.code for f in chosen.items[0].fields} == {"full_name", "address"}


def test_an_agreement_narrowed_while_the_request_waits_refuses_the_approval(world):
    request = _draft(world, _choice(world, "civil_registration", ("full_name", "face_photo")))
    service.submit(world.session, world.officer_actor, request.id, CLOCK)
    decide(world.session, world.head_actor, request.id, "approve", CLOCK)
    photo = _field(world, "civil_registration", "face_photo")
    for agreement in world.session.scalars(select(DataSharingAgreement).where(
            DataSharingAgreement.agency_id == photo.data_source.agency_id)):
        agreement.allowed_fields = [f for f in agreement.allowed_fields if f.id != photo.id]
    world.session.flush()
    with pytest.raises(service.Ineligible) as refused:
        decide(world.session, world.central_actor, request.id, "approve", CLOCK, comment="กลุ่มยศตรงตามตำแหน่ง")
    fields_check, = [c for c in refused.value.checks if c.code == "fields"]
    assert fields_check.params["fields"] == "ภาพใบหน้า"
    assert "ภาพใบหน้า" in refused.value.translated()


# -- justification questions ----------------------------------------------------------------------
def _ask(world, source_code, label, *, required=True, kind="text", max_length=30, position=1):
    question = JustificationQuestion(data_source=world.source(source_code), label_th=label, label_en=label + " (en)",
                                     required=required, answer_kind=kind, max_length=max_length, position=position)
    world.session.add(question)
    world.session.flush()
    return question


def test_a_required_answer_is_asked_at_submit_and_kept_on_the_grant(world):
    case = _ask(world, "vehicles", "เลขคดี")
    count = _ask(world, "vehicles", "จำนวนบุคคล", required=False, kind="number", position=2)
    vehicles = world.source("vehicles").id
    draft = world.draft(sources=("vehicles",))  # a draft is kept without the answer
    problems = service.submission_problems(world.session, draft, TODAY)
    assert list(problems[f"answer_{vehicles}_{case.id}"]) == [
        (linkage.MSG_ANSWER_REQUIRED, {"question": "เลขคดี", "source": "ยานพาหนะ"})]
    assert f"answer_{vehicles}_{count.id}" not in problems  # optional
    with pytest.raises(service.Ineligible):
        service.submit(world.session, world.officer_actor, draft.id, CLOCK)

    for answers, said in (((case.id, "x" * 31),), linkage.MSG_ANSWER_TOO_LONG), \
            (((count.id, "สาม"),), linkage.MSG_ANSWER_NUMBER):
        with pytest.raises(FieldsRefused) as refused:
            _draft(world, service.SourceChoice(vehicles, answers=answers))
        assert refused.value.problems[0][1] == said

    request = _draft(world, service.SourceChoice(
        vehicles, answers=((case.id, " คดีอาญาที่ 123/2569 "), (count.id, "3"))))
    service.submit(world.session, world.officer_actor, request.id, CLOCK)
    decide(world.session, world.head_actor, request.id, "approve", CLOCK)
    # Reworded after submit: the grant keeps the words that were asked.
    case.label_th = "เลขคดีอาญา"
    decide(world.session, world.central_actor, request.id, "approve", CLOCK)
    grant = world.session.scalar(select(Grant).where(Grant.request_id == request.id))
    kept = {a.label_th: a.value for a in grant.request_item.answers}
    assert kept == {"เลขคดี": "คดีอาญาที่ 123/2569", "จำนวนบุคคล": "3"}


def test_a_date_answer_is_read_in_the_officers_era_and_kept_as_a_date(world):
    question = _ask(world, "vehicles", "วันที่เกิดเหตุ", kind="date", max_length=10)
    assert linkage.read_answer(question, "30/11/2569", buddhist_era=True) == "2026-11-30"
    assert linkage.read_answer(question, "30/11/2026", buddhist_era=False) == "2026-11-30"
    with pytest.raises(ValidationFailed):
        linkage.read_answer(question, "30/11/2026", buddhist_era=True)  # a Gregorian year typed in Thai
    with pytest.raises(ValidationFailed):
        linkage.read_answer(question, "31/02/2569", buddhist_era=True)


def test_a_question_added_after_submit_does_not_block_the_decision(world):
    request = world.at_central_it(sources=("vehicles",))
    _ask(world, "vehicles", "วัตถุประสงค์")
    assert decide(world.session, world.central_actor, request.id, "approve", CLOCK).state == "completed"


# -- the screens: questions of their own, removed afterwards, so no other test meets them -----------
@pytest.fixture(scope="module")
def lab(app):
    """Health insurance rights (NHSO), whose demo agreement allows both its fields, with a third
    field it does not allow, a required text question and an optional number question."""
    from app.extensions import db

    with app.app_context():
        source = db.session.scalar(select(DataSource).where(DataSource.code == "health_insurance"))
        fields = list(db.session.scalars(select(DataField).where(DataField.data_source_id == source.id)
                                         .order_by(DataField.position)))
        photo = DataField(data_source=source, code="lab_photo", name_th="ภาพถ่ายผู้มีสิทธิ", name_en="Photo", position=9)
        case = JustificationQuestion(data_source=source, label_th="เลขคดีทดสอบ", label_en="Test case number",
                                     required=True, answer_kind="text", max_length=30, position=1)
        count = JustificationQuestion(data_source=source, label_th="จำนวนผู้เกี่ยวข้อง", label_en="People involved",
                                      required=False, answer_kind="number", max_length=5, position=2)
        db.session.add_all([photo, case, count])
        db.session.commit()
        made = {"source": source.id, "fields": [fields[0].id, fields[1].id, photo.id], "case": case.id,
                "count": count.id, "agency": source.agency_id}
    yield made
    with app.app_context():
        db.session.execute(delete(JustificationQuestion).where(JustificationQuestion.id.in_((made["case"], made["count"]))))
        db.session.execute(delete(DataField).where(DataField.id == made["fields"][2]))
        db.session.commit()


def _form(app, user, lab, **extra):
    from tests.test_request_journey import _ids

    _source, _group, head_id = _ids(app)
    sid = lab["source"]
    data = {
        "contact_email": "linkage@police.example", "contact_mobile": "0812345678",
        "duty_performed": "สืบสวน", "source": [str(sid)], f"fields_shown_{sid}": "1",
        f"field_{sid}": [str(lab["fields"][0])], "certifying_head": str(head_id), "pledge_accepted": "y",
        "upload_memo": (BytesIO(PDF), "memo.pdf"), "upload_id_card_copy": (BytesIO(JPEG), "id.jpg"),
        "submit_request": "1",
    }
    data.update(extra)
    url = "/requests/new/external_search"
    data["csrf_token"] = user.csrf_token(url)
    return user.client.post(url, data=data, content_type="multipart/form-data")


def _requests_of(app, username) -> int:
    from app.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count(AccessRequest.id)).join(Officer, AccessRequest.requester_id == Officer.id)
                                 .join(User, Officer.user_id == User.id).where(User.username == username))


def test_the_form_asks_the_questions_and_offers_only_agreed_fields(app, login, lab):
    page = login(new_requester(app)).get("/requests/new/external_search").get_data(as_text=True)
    sid = lab["source"]
    assert f'name="answer_{sid}_{lab["case"]}"' in page and "เลขคดีทดสอบ" in page
    name_box, photo_box = (re.search(rf'<input[^>]*value="{i}"[^>]*id="field-health_insurance-{c}"[^>]*>', page,
                                     re.S).group(0)
                           for i, c in ((lab["fields"][0], "scheme"), (lab["fields"][2], "lab_photo")))
    assert "checked" in name_box and "disabled" not in name_box
    assert "disabled" in photo_box and "ไม่อยู่ในข้อตกลง" in page


def test_a_missing_required_answer_shows_at_its_field_and_saves_nothing(app, login, lab):
    username = new_requester(app)
    user = login(username)
    response = _form(app, user, lab)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    field = f'answer_{lab["source"]}_{lab["case"]}'
    assert re.search(rf'has-error">\s*<label class="control-label" for="{field}"', page)
    assert "กรุณาตอบ “เลขคดีทดสอบ” ของสิทธิหลักประกันสุขภาพ" in page
    assert _requests_of(app, username) == 0


@pytest.mark.parametrize("answer, count, said", [
    ("ค" * 31, "", "คำตอบต้องยาวไม่เกิน 30 ตัวอักษร"),
    ("คดี 1/2569", "สาม", "กรุณากรอกเป็นตัวเลข"),
])
def test_a_bad_answer_is_refused_at_its_field(app, login, lab, answer, count, said):
    username = new_requester(app)
    response = _form(app, login(username), lab, **{f'answer_{lab["source"]}_{lab["case"]}': answer,
                                                    f'answer_{lab["source"]}_{lab["count"]}': count})
    assert response.status_code == 400 and said in response.get_data(as_text=True)
    assert _requests_of(app, username) == 0


@pytest.mark.parametrize("hostile", ["คดี\x00", "ก" * 100_000])
def test_hostile_answers_are_refused_before_anything(app, login, lab, hostile):
    username = new_requester(app)
    response = _form(app, login(username), lab, **{f'answer_{lab["source"]}_{lab["case"]}': hostile})
    assert response.status_code == 400
    assert _requests_of(app, username) == 0


def test_a_field_outside_the_agreement_sent_by_hand_is_refused_with_the_reason(app, login, lab):
    username = new_requester(app)
    response = _form(app, login(username), lab, **{
        f'field_{lab["source"]}': [str(lab["fields"][0]), str(lab["fields"][2])],
        f'answer_{lab["source"]}_{lab["case"]}': "คดี 1/2569"})
    assert response.status_code == 400
    assert ("ข้อตกลงการใช้ข้อมูลกับสำนักงานหลักประกันสุขภาพแห่งชาติไม่อนุญาตรายการข้อมูลต่อไปนี้"
            "ของสิทธิหลักประกันสุขภาพ: ภาพถ่ายผู้มีสิทธิ" in response.get_data(as_text=True))
    assert _requests_of(app, username) == 0


def test_answers_and_fields_go_to_the_approvers_and_stay_on_the_grant(app, login, lab):
    from app.extensions import db

    officer = login(new_requester(app))
    response = _form(app, officer, lab, **{
        f'field_{lab["source"]}': [str(lab["fields"][0]), str(lab["fields"][1])],
        f'answer_{lab["source"]}_{lab["case"]}': "คดีอาญา <b>99</b>/2569",
        f'answer_{lab["source"]}_{lab["count"]}': "2"})
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    pk = _request_id(response)
    head = login("head")
    page = head.get(f"/requests/show/{pk}").get_data(as_text=True)
    assert "เลขคดีทดสอบ" in page and "คดีอาญา &lt;b&gt;99&lt;/b&gt;/2569" in page  # as text, never markup
    assert "สิทธิการรักษาพยาบาล, หน่วยบริการประจำ" in page
    assert _decide(head, pk, "approve").status_code == 302
    centralit = login("centralit")
    assert "คดีอาญา &lt;b&gt;99&lt;/b&gt;/2569" in centralit.get(f"/requests/show/{pk}").get_data(as_text=True)
    assert _decide(centralit, pk, "approve").status_code == 302
    with app.app_context():
        grant_id = db.session.scalar(select(Grant.id).where(Grant.request_id == pk))
    assert grant_id is not None
    for user, url in ((centralit, f"/grantview/show/{grant_id}"), (officer, f"/mygrantview/show/{grant_id}")):
        shown = user.get(url).get_data(as_text=True)
        assert "รายการข้อมูลและเหตุผลความจำเป็น" in shown, url
        assert "คดีอาญา &lt;b&gt;99&lt;/b&gt;/2569" in shown and "สิทธิการรักษาพยาบาล, หน่วยบริการประจำ" in shown, url


# -- super users and the audit's flag -------------------------------------------------------------
def test_an_agency_without_a_super_user_is_flagged_until_one_is_appointed(world):
    dlt = world.session.scalar(select(Agency).where(Agency.code == "DLT"))
    assert dlt not in linkage.agencies_without_super_user(world.session, TODAY)
    world.session.execute(delete(AgencySuperUser).where(AgencySuperUser.agency_id == dlt.id))
    assert dlt in linkage.agencies_without_super_user(world.session, TODAY)
    appointed = AgencySuperUser(agency=dlt, name="นางสาวทดสอบ ระบบ", position="นักวิชาการคอมพิวเตอร์",
                                letter_number="คค 0408/123", valid_from=TODAY + timedelta(days=1),
                                valid_until=TODAY + timedelta(days=30))
    world.session.add(appointed)
    world.session.flush()
    assert dlt in linkage.agencies_without_super_user(world.session, TODAY)  # not in office yet
    assert dlt not in linkage.agencies_without_super_user(world.session, TODAY + timedelta(days=1))
    assert dlt in linkage.agencies_without_super_user(world.session, TODAY + timedelta(days=31))  # ended
    # An agency with no agreement in force needs nobody.
    _end_agreement(world, "vehicles", TODAY + timedelta(days=30))
    assert dlt not in linkage.agencies_without_super_user(world.session, TODAY + timedelta(days=31))


def test_the_audit_flag_is_the_nationwide_readers_and_goes_when_a_super_user_is_registered(app, login):
    from app.extensions import db

    centralit, auditor, commandtech = login("centralit"), login("auditor"), login("commandtech")
    for user in (centralit, auditor):
        page = user.get("/rightsaudit/").get_data(as_text=True)
        assert 'data-agency="DOE"' in page  # the demo's Department of Employment has none
    command_page = commandtech.get("/rightsaudit/").get_data(as_text=True)
    assert 'id="linkage-super-users"' not in command_page  # never a command's finding
    with app.app_context():
        doe = db.session.scalar(select(Agency).where(Agency.code == "DOE"))
        appointed = AgencySuperUser(agency=doe, name="นายทดสอบ จัดหางาน", position="นักวิชาการคอมพิวเตอร์",
                                    letter_number="รง 0304/77", valid_from=TEST_TODAY)
        db.session.add(appointed)
        db.session.commit()
        appointed_id = appointed.id
    try:
        assert 'data-agency="DOE"' not in centralit.get("/rightsaudit/").get_data(as_text=True)
    finally:
        with app.app_context():
            db.session.execute(delete(AgencySuperUser).where(AgencySuperUser.id == appointed_id))
            db.session.commit()
    assert 'data-agency="DOE"' in centralit.get("/rightsaudit/").get_data(as_text=True)


def _super_user_form(user, letter, name="นางทดสอบ ผู้ดูแล", **extra):
    data = {"agency": extra.pop("agency"), "name": name, "position": "นักวิชาการคอมพิวเตอร์ชำนาญการ",
            "phone": "021234567", "email": "su@dopa.example.go.th", "letter_number": "มท 0309/1234",
            "letter_date": "2026-11-01", "valid_from": "2026-11-01", "letter_pdf": letter}
    data.update(extra)
    data["csrf_token"] = user.csrf_token("/agencysuperuserview/add")
    return user.client.post("/agencysuperuserview/add", data=data, content_type="multipart/form-data")


def test_centralit_registers_a_super_user_with_a_checked_letter(app, login):
    from app.extensions import db

    with app.app_context():
        agency_id = db.session.scalar(select(Agency.id).where(Agency.code == "DOPA"))
    centralit = login("centralit")
    refused = _super_user_form(centralit, (BytesIO(JPEG), "letter.jpg"), name="ผู้ถูกปฏิเสธ JPEG", agency=str(agency_id))
    assert refused.status_code == 200 and "หนังสือต้องเป็นไฟล์ PDF" in refused.get_data(as_text=True)
    faked = _super_user_form(centralit, (BytesIO(b"<html>not a pdf</html>"), "letter.pdf"), name="ผู้ถูกปฏิเสธ HTML",
                             agency=str(agency_id))
    assert faked.status_code == 200 and "ไม่ใช่ทั้งสองชนิด" in faked.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(AgencySuperUser.id)).where(
            AgencySuperUser.name.like("ผู้ถูกปฏิเสธ%"))) == 0
    saved = _super_user_form(centralit, (BytesIO(PDF), "คำสั่งแต่งตั้ง.pdf"), name="ผู้ดูแลทดสอบ ลงทะเบียน",
                             agency=str(agency_id))
    assert saved.status_code == 302
    with app.app_context():
        row = db.session.scalar(select(AgencySuperUser).where(AgencySuperUser.name == "ผู้ดูแลทดสอบ ลงทะเบียน"))
        assert row is not None and row.letter is not None and row.letter.filename == "คำสั่งแต่งตั้ง.pdf"
        letter_id = row.letter_id
        row_id = row.id
    try:
        assert centralit.get(f"/linkageletters/file/{letter_id}").data == PDF
        auditor = login("auditor")
        assert auditor.get("/agencysuperuserview/list/").status_code == 200
        assert auditor.get(f"/agencysuperuserview/show/{row_id}").status_code == 200
        assert auditor.get("/agencysuperuserview/add").status_code == 403
        assert auditor.get(f"/agencysuperuserview/edit/{row_id}").status_code == 403
        for username in ("officer", "commandtech", "personnel"):
            assert login(username).get("/agencysuperuserview/list/").status_code == 403, username
    finally:
        with app.app_context():
            db.session.execute(delete(AgencySuperUser).where(AgencySuperUser.id == row_id))
            db.session.commit()


def test_an_agreement_allows_only_its_own_agencys_fields_and_keeps_its_letter(app, login, lab):
    from app.extensions import db

    centralit = login("centralit")
    with app.app_context():
        plate = db.session.scalar(select(DataField.id).join(DataSource).where(
            DataSource.code == "vehicles", DataField.code == "plate"))

    def add(reference, fields, letter):
        data = {"agency": str(lab["agency"]), "reference": reference, "signed_on": "2026-11-01",
                "valid_from": "2026-11-01", "allowed_fields": [str(f) for f in fields], "letter_pdf": letter,
                "csrf_token": centralit.csrf_token("/agreementview/add")}
        return centralit.client.post("/agreementview/add", data=data, content_type="multipart/form-data")

    refused = add("TLNK-2/2569", [lab["fields"][0], plate], (BytesIO(PDF), "letter.pdf"))
    assert refused.status_code == 200 and "เลขทะเบียนรถ" in refused.get_data(as_text=True)
    try:
        assert add("TLNK-3/2569", [lab["fields"][0]], (BytesIO(PDF), "หนังสืออนุญาต.pdf")).status_code == 302
        with app.app_context():
            kept = db.session.scalar(select(DataSharingAgreement).where(DataSharingAgreement.reference == "TLNK-3/2569"))
            assert [f.id for f in kept.allowed_fields] == [lab["fields"][0]]
            assert kept.letter.filename == "หนังสืออนุญาต.pdf"
            assert db.session.scalar(select(func.count(DataSharingAgreement.id)).where(
                DataSharingAgreement.reference == "TLNK-2/2569")) == 0
    finally:
        with app.app_context():
            for kept in db.session.scalars(select(DataSharingAgreement).where(
                    DataSharingAgreement.reference.in_(("TLNK-2/2569", "TLNK-3/2569")))):
                db.session.delete(kept)
            db.session.commit()


# -- the letters: the nationwide roles only, whatever id is guessed ---------------------------------
def test_letters_download_for_the_nationwide_roles_only(app, login):
    from app.extensions import db

    with app.app_context():
        letter_id = db.session.scalar(select(DataSharingAgreement.letter_id).where(
            DataSharingAgreement.letter_id.isnot(None)).limit(1))
        last = db.session.scalar(select(func.max(LinkageLetter.id)))
    for username in ("centralit", "auditor", "admin"):
        user = login(username)
        response = user.get(f"/linkageletters/file/{letter_id}")
        assert response.status_code == 200 and response.data.startswith(b"%PDF-"), username
        assert "attachment" in response.headers["Content-Disposition"]
        assert user.get(f"/linkageletters/file/{last + 1000}").status_code == 404
        assert user.get(f"/linkageletters/file/{2**31}").status_code == 404
    for username in ("officer", "head", "commandtech", "personnel"):
        user = login(username)
        for guess in range(1, last + 2):
            assert user.get(f"/linkageletters/file/{guess}").status_code == 403, (username, guess)


def test_the_demo_agreements_carry_letters_and_fields(db_session):
    for agreement in db_session.scalars(select(DataSharingAgreement).where(
            DataSharingAgreement.reference.startswith("DEMO-"))):
        assert agreement.letter is not None and agreement.letter.content.startswith(b"%PDF-")
        assert agreement.allowed_fields, agreement.reference
    assert date(2025, 1, 15) <= TEST_TODAY
