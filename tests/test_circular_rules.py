"""What the circulars require, proven through the services, the screens and the API: the
documents each kind of request carries, no approval over a failed check, no duplicate rights,
collision-free numbers, no legal fact made up by code, the pledge, and heads who can certify."""
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from app.domain.named import named
from app.errors import ValidationFailed
from app.models import (
    AccessRequest,
    Attachment,
    CommandFunction,
    DataSharingAgreement,
    DataSource,
    Decision,
    Grant,
    Officer,
    PositionLevel,
    Rank,
    RequestNumberCounter,
    RequiredDocument,
    SystemFunction,
    User,
)
from app.services import access_requests as service
from app.services import eligibility
from app.services import grants as grant_service
from tests.conftest import POSTGRES_ADMIN_URL, TEST_TODAY, build_app, prepare_database
from tests.factories import PDF, SEARCH_DOCUMENTS, decide, make_grant
from tests.test_request_journey import _decide, _ids, _new_request, _request_id
from tests.test_workflow import CLOCK, TODAY, World


@pytest.fixture()
def world(db_session):
    return World(db_session)


def codes(error) -> set[str]:
    return {check.code for check in error.value.checks}


def _end_agreement(world, source_code):
    source = world.source(source_code)
    world.session.execute(DataSharingAgreement.__table__.update().where(
        DataSharingAgreement.agency_id == source.agency_id).values(valid_until=TODAY - timedelta(days=1)))
    world.session.expire_all()


# -- 4. the documents each kind of request must carry ------------------------------------------
def test_a_search_request_without_its_documents_is_saved_but_not_submitted(world):
    request = world.draft(documents=False)
    assert request.state == "draft"  # a draft is kept without them
    with pytest.raises(service.Ineligible) as refused:
        service.submit(world.session, world.officer_actor, request.id, CLOCK)
    missing = {c.params["document"] for c in refused.value.checks if c.code == "documents"}
    assert missing == {eligibility.DOCUMENT_NAMES["memo"], eligibility.DOCUMENT_NAMES["id_card_copy"]}
    assert request.state == "draft" and request.number is None


def test_what_is_required_is_the_admins_data(world):
    world.session.execute(delete(RequiredDocument).where(
        RequiredDocument.request_kind == "external_search", RequiredDocument.attachment_kind == "id_card_copy"))
    world.session.add(RequiredDocument(request_kind="additional_functions", attachment_kind="memo",
                                       condition="always"))
    request = world.draft(documents=False)
    service.save_draft(world.session, world.officer_actor, service.RequestData(
        kind="external_search", contact_email="me@police.example", contact_mobile="0812345678",
        duty_performed="สืบสวน", pledge_accepted=True, certifying_head_id=world.head.id,
        sources=(service.SourceChoice(world.source("vehicles").id),)), CLOCK, request_id=request.id,
        uploads=(service.Upload("memo", "memo.pdf", PDF),))
    service.submit(world.session, world.officer_actor, request.id, CLOCK)  # the memo is enough now

    warrant = world.session.scalar(select(SystemFunction.id).where(SystemFunction.code == "crimes_case_search"))
    functions = world.draft(kind="additional_functions", sources=(), functions=(warrant,))
    with pytest.raises(service.Ineligible) as refused:
        service.submit(world.session, world.officer_actor, functions.id, CLOCK)
    assert codes(refused) == {"documents"}


def test_the_duty_certificate_is_required_when_the_duty_differs(world):
    request = world.draft(duty_mismatch=True)
    with pytest.raises(service.Ineligible) as refused:
        service.submit(world.session, world.officer_actor, request.id, CLOCK)
    assert "duty_line" in codes(refused)
    service.save_draft(world.session, world.officer_actor, service.RequestData(
        kind="external_search", contact_email="me@police.example", contact_mobile="0812345678",
        duty_performed="สืบสวนตามคำสั่ง", duty_mismatch=True, pledge_accepted=True,
        certifying_head_id=world.head.id, sources=(service.SourceChoice(world.source("vehicles").id),)),
        CLOCK, request_id=request.id, uploads=(service.Upload("duty_certificate", "cert.pdf", PDF),))
    service.submit(world.session, world.officer_actor, request.id, CLOCK)


def test_the_form_names_the_required_documents_and_refuses_to_send_without_them(app, requester):
    source, _group, _head = _ids(app)
    with app.app_context():
        from app.extensions import db

        before = db.session.scalar(select(func.count(AccessRequest.id)))
    response = _new_request(requester, app, upload_memo=None, upload_id_card_copy=None,
                            source=[str(source["vehicles"])])
    assert response.status_code == 400  # not sent, and no draft the officer did not ask for
    page = response.get_data(as_text=True)
    assert 'id="required-documents"' in page and "บันทึกข้อความที่หัวหน้าหน่วยลงนาม" in page
    # Each missing document is told at its own upload field.
    memo_field = page[page.index('name="upload_memo"') - 600:page.index('name="upload_memo"') + 600]
    assert "ยังไม่ได้แนบ" in page and "sitthi-error" in memo_field
    with app.app_context():
        assert db.session.scalar(select(func.count(AccessRequest.id))) == before


def test_an_admin_edits_the_requirements_on_a_screen(app, login):
    from app.extensions import db

    admin = login("admin")
    assert admin.get("/requireddocumentview/list/").status_code == 200
    response = admin.submit("/requireddocumentview/add", {
        "request_kind": "new_account", "attachment_kind": "id_card_copy", "condition": "always"})
    assert response.status_code == 302
    with app.app_context():
        row = db.session.scalar(select(RequiredDocument).where(RequiredDocument.request_kind == "new_account"))
        assert (row.attachment_kind, row.condition) == ("id_card_copy", "always")
        db.session.delete(row)
        db.session.commit()
    assert login("officer").get("/requireddocumentview/list/").status_code == 403


def test_the_api_refuses_a_submission_without_the_documents(app, api_tokens):
    from tests.conftest import ApiUser, new_requester

    source, _group, head = _ids(app)
    officer = ApiUser(app.test_client(), api_tokens(new_requester(app)))
    draft = officer.post("/api/v1/requests/?_l_=en", json={
        "kind": "external_search", "contact_email": "a@police.example", "contact_mobile": "0812345678",
        "duty_performed": "สืบสวน", "pledge_accepted": True, "certifying_head_id": head,
        "sources": [{"data_source_id": source["vehicles"]}]}).get_json()
    response = officer.post(f"/api/v1/requests/{draft['id']}/submit?_l_=en", json={"version": draft["version"]})
    assert response.status_code == 400
    assert {c["code"] for c in response.get_json()["checks"]} == {"documents"}
    assert "Missing document" in response.get_json()["message"]


# -- 5. no approval over a failed check ----------------------------------------------------------
def test_an_agreement_that_ended_after_submit_blocks_the_approval_of_its_item(world):
    request = world.at_central_it(sources=("vehicles", "company_registry"))
    _end_agreement(world, "vehicles")
    items = {i.data_source.code: i for i in request.items}
    with pytest.raises(service.Ineligible) as refused:
        decide(world.session, world.central_actor, request.id, "approve", CLOCK)
    assert codes(refused) == {"agreement"}
    assert request.state == "submitted" and world.session.scalar(
        select(func.count(Grant.id)).where(Grant.request_id == request.id)) == 0
    # The failing item can be rejected, with the reason, and the rest approved.
    decide(world.session, world.central_actor, request.id, "approve", CLOCK, item_decisions=(
        service.ItemDecision(items["vehicles"].id, approve=False, comment="ข้อตกลงกับกรมการขนส่งทางบกสิ้นสุดแล้ว"),
        service.ItemDecision(items["company_registry"].id, approve=True)))
    grants = world.session.scalars(select(Grant).where(Grant.request_id == request.id)).all()
    assert [g.data_source.code for g in grants] == ["company_registry"]


def test_an_officer_who_retired_after_submit_cannot_be_certified_or_approved(world):
    request = world.submitted()
    world.requester.status = "retired"
    with pytest.raises(service.Ineligible) as refused:
        decide(world.session, world.head_actor, request.id, "approve", CLOCK)
    assert codes(refused) == {"officer_active"}
    world.requester.status = "active"
    decide(world.session, world.head_actor, request.id, "approve", CLOCK)
    world.requester.status = "retired"
    with pytest.raises(service.Ineligible):
        decide(world.session, world.central_actor, request.id, "approve", CLOCK)
    decide(world.session, world.central_actor, request.id, "reject", CLOCK, comment="พ้นจากราชการแล้ว")
    assert request.state == "rejected"


def test_a_removed_document_blocks_the_approval(world):
    request = world.at_central_it()
    world.session.execute(delete(Attachment).where(Attachment.request_id == request.id, Attachment.kind == "memo"))
    with pytest.raises(service.Ineligible) as refused:
        decide(world.session, world.central_actor, request.id, "approve", CLOCK)
    assert codes(refused) == {"documents"}


def test_a_warning_is_approved_over_only_with_a_comment_recorded_on_the_decision(world):
    world.requester.rank = world.session.scalar(select(Rank).where(Rank.abbr_th == "ด.ต."))  # group 3
    request = world.at_central_it(sources=("civil_registration",))  # asks group 2: above own rank
    [item] = request.items
    with pytest.raises(service.Ineligible) as refused:
        decide(world.session, world.central_actor, request.id, "approve", CLOCK)
    assert codes(refused) == {"rank_group"} and refused.value.field == "comment"
    decide(world.session, world.central_actor, request.id, "approve", CLOCK, item_decisions=(
        service.ItemDecision(item.id, approve=True, comment="ผบก. รับรองความจำเป็นในการสืบสวน"),))
    recorded = world.session.scalar(select(Decision.comment).where(
        Decision.item_id == item.id, Decision.transition == "approve_item"))
    assert recorded == "ผบก. รับรองความจำเป็นในการสืบสวน"


def test_central_it_chooses_every_item_and_gives_the_reason_for_a_rejection(world):
    request = world.at_central_it(sources=("vehicles", "aliens"))
    items = {i.data_source.code: i for i in request.items}
    with pytest.raises(ValidationFailed) as unchosen:
        service.decide(world.session, world.central_actor, request.id, "approve", CLOCK, item_decisions=(
            service.ItemDecision(items["vehicles"].id, approve=True),))
    assert unchosen.value.field == "items"
    with pytest.raises(ValidationFailed) as no_reason:
        service.decide(world.session, world.central_actor, request.id, "approve", CLOCK, item_decisions=(
            service.ItemDecision(items["vehicles"].id, approve=True),
            service.ItemDecision(items["aliens"].id, approve=False, comment="  ")))
    assert no_reason.value.field == f"item_comment_{items['aliens'].id}"
    assert request.state == "submitted" and {i.state for i in request.items} == {"pending"}
    service.decide(world.session, world.central_actor, request.id, "approve", CLOCK, item_decisions=(
        service.ItemDecision(items["vehicles"].id, approve=True),
        service.ItemDecision(items["aliens"].id, approve=False, comment="ไม่เกี่ยวกับงานในหน้าที่")))
    assert items["aliens"].comment == "ไม่เกี่ยวกับงานในหน้าที่"


def test_the_officer_reads_why_an_item_was_rejected(app, login, requester):
    source, _group, _head = _ids(app)
    pk = _request_id(_new_request(requester, app, source=[str(source["vehicles"]), str(source["aliens"])]))
    assert _decide(login("head"), pk, "approve").status_code == 302
    centralit = login("centralit")
    page = centralit.get(f"/requests/show/{pk}").get_data(as_text=True)
    item_ids = re.findall(r'<select name="item_(\d+)"', page)
    assert len(item_ids) == 2
    assert all(re.search(rf'id="decide-item-{i}"[^>]*>\s*<option value="" selected>', page) for i in item_ids)
    _decide(centralit, pk, "approve", **{f"item_{item_ids[1]}": "reject",
                                         f"item_comment_{item_ids[1]}": "งานไม่เกี่ยวกับคนต่างด้าว"})
    assert "งานไม่เกี่ยวกับคนต่างด้าว" in requester.get(f"/requests/show/{pk}").get_data(as_text=True)


def test_a_bulk_approval_skips_and_reports_a_request_whose_check_fails(app, login, requester):
    from app.extensions import db
    from tests.conftest import new_requester

    source, _group, _head = _ids(app)
    good = _request_id(_new_request(requester, app, source=[str(source["aliens"])]))
    bad = _request_id(_new_request(login(new_requester(app)), app, source=[str(source["prisoners"])]))
    head = login("head")
    for pk in (good, bad):
        assert _decide(head, pk, "approve").status_code == 302
    with app.app_context():
        requester_id = db.session.get(AccessRequest, bad).requester_id
        db.session.get(Officer, requester_id).status = "suspended"
        db.session.commit()
    centralit = login("centralit")
    inbox = centralit.get("/toverifyview/list/?psize_ToVerifyView=100").get_data(as_text=True)
    row = inbox.split(f'/requests/show/{bad}"', 1)[1].split("</tr>", 1)[0]
    assert "sitthi-check-fails" in row  # the list flags it before anyone ticks it
    result = centralit.client.post("/toverifyview/action_post", data={
        "action": "approve_selected", "rowid": [str(good), str(bad)],
        "csrf_token": centralit.csrf_token("/toverifyview/list/")}, follow_redirects=True)
    text = result.get_data(as_text=True)
    assert "อนุมัติไม่ได้" in text
    with app.app_context():
        db.session.get(Officer, requester_id).status = "active"
        db.session.commit()
        assert db.session.get(AccessRequest, good).state == "completed"
        assert db.session.get(AccessRequest, bad).state == "submitted"


# -- 6. no duplicate rights -------------------------------------------------------------------------
def test_asking_again_for_a_right_held_is_refused_pointing_to_renewal(world):
    held = make_grant(world.session, world.requester, "vehicles", valid_from=TODAY,
                      valid_until=TODAY + timedelta(days=90))
    request = world.draft()
    with pytest.raises(service.Ineligible) as refused:
        service.submit(world.session, world.officer_actor, request.id, CLOCK)
    [duplicate] = [c for c in refused.value.checks if c.code == "duplicate"]
    assert duplicate.params["until"] == held.valid_until and "renew" in duplicate.message


def test_asking_for_the_same_right_in_two_requests_is_refused(world):
    first = world.submitted()
    second = world.draft()
    with pytest.raises(service.Ineligible) as refused:
        service.submit(world.session, world.officer_actor, second.id, CLOCK)
    assert codes(refused) == {"duplicate"}
    [duplicate] = refused.value.checks
    assert duplicate.params["number"] == first.number and first.number


def test_a_right_granted_meanwhile_blocks_the_approval(world):
    request = world.at_central_it()
    make_grant(world.session, world.requester, "vehicles")
    with pytest.raises(service.Ineligible) as refused:
        decide(world.session, world.central_actor, request.id, "approve", CLOCK)
    assert codes(refused) == {"duplicate"}


def test_another_rank_group_is_a_change_that_replaces_the_old_grant(world):
    group = {n: world.group(n) for n in (1, 2)}
    old = make_grant(world.session, world.requester, "civil_registration", rank_group=group[2],
                     activated_on=TODAY - timedelta(days=100), agency_reference="DOPA-OLD")
    request = world.draft(sources=())
    service.save_draft(world.session, world.officer_actor, service.RequestData(
        kind="external_search", contact_email="me@police.example", contact_mobile="0812345678",
        duty_performed="สืบสวน", pledge_accepted=True, certifying_head_id=world.head.id,
        sources=(service.SourceChoice(world.source("civil_registration").id, group[1].id),)),
        CLOCK, request_id=request.id)
    service.submit(world.session, world.officer_actor, request.id, CLOCK)
    checks = eligibility.check_request(world.session, request, TODAY)
    [change] = [c for c in eligibility.warnings(checks) if c.code == "group_change"]
    assert (change.params["held"], change.params["asked"]) == (named(group[2]), named(group[1]))
    decide(world.session, world.head_actor, request.id, "approve", CLOCK)
    decide(world.session, world.central_actor, request.id, "approve", CLOCK, comment="เปลี่ยนกลุ่มตามตำแหน่งใหม่")
    assert old.state == "active"  # until the agency switches the account
    service.record_activation(world.session, world.central_actor, request.items[0].id, CLOCK, activated=True,
                              reference="DOPA-NEW")
    new = world.session.scalar(select(Grant).where(Grant.request_id == request.id))
    assert (new.state, new.rank_group_id) == ("active", group[1].id)
    assert old.state == "revoked" and "DOPA" not in (old.reason or "") and request.number in old.reason
    live = world.session.scalars(select(Grant).where(
        Grant.officer_id == world.requester.id, Grant.state.in_(("active", "pending_activation")))).all()
    assert live == [new]


def test_the_request_path_and_the_assign_path_share_one_rule(world):
    case_search = world.session.scalar(select(SystemFunction).where(SystemFunction.code == "crimes_case_search"))
    world.session.add(CommandFunction(unit_id=world.command.id, function_id=case_search.id))
    grant_service.assign_function(world.session, world.tech_actor, world.requester.id, case_search.id, CLOCK)
    request = world.draft(kind="additional_functions", sources=(), functions=(case_search.id,))
    with pytest.raises(service.Ineligible) as refused:
        service.submit(world.session, world.officer_actor, request.id, CLOCK)
    assert codes(refused) == {"duplicate"}
    with pytest.raises(ValidationFailed):
        grant_service.assign_function(world.session, world.tech_actor, world.requester.id, case_search.id, CLOCK)


def test_the_database_holds_one_live_grant_of_a_right(world):
    make_grant(world.session, world.requester, "vehicles")
    with pytest.raises(IntegrityError):
        make_grant(world.session, world.requester, "vehicles")
    world.session.rollback()


def test_the_form_and_the_verification_panel_show_the_current_rights(app, login, requester):
    from app.extensions import db

    source, _group, _head = _ids(app)
    pk = _request_id(_new_request(requester, app, source=[str(source["foreign_workers"])]))
    with app.app_context():
        officer = db.session.get(AccessRequest, pk).requester
        make_grant(db.session, officer, "social_security", valid_until=TEST_TODAY + timedelta(days=200))
        db.session.commit()
    form = requester.get("/requests/new/external_search").get_data(as_text=True)
    assert "ผู้ประกันตน" in form.split('id="current-rights"', 1)[1].split('id="request-form"', 1)[0]
    assert _decide(login("head"), pk, "approve").status_code == 302
    page = login("centralit").get(f"/requests/show/{pk}").get_data(as_text=True)
    assert "ผู้ประกันตน" in page.split('id="current-rights"', 1)[1].split('id="eligibility"', 1)[0]


# -- 10. request numbers never collide ---------------------------------------------------------------
def test_numbers_run_on_from_a_counter_per_year(world):
    first, second = world.submitted(sources=("vehicles",)), world.submitted(sources=("aliens",))
    year = TODAY.year + 543
    a, b = (int(r.number.split("/")[1]) for r in (first, second))
    assert first.number.startswith(f"{year}/") and b == a + 1
    assert world.session.get(RequestNumberCounter, year).last_number == b


@pytest.mark.skipif(not POSTGRES_ADMIN_URL, reason="simultaneous writers need PostgreSQL (SITTHI_TEST_POSTGRES)")
def test_ten_simultaneous_submissions_all_get_their_own_number(app):
    from sqlalchemy.orm import Session

    from app.extensions import db
    from app.security.scope import actor_for
    from tests.conftest import new_requester

    drafts = []
    with app.app_context():
        head = db.session.scalar(select(Officer).join(User, Officer.user_id == User.id).where(User.username == "head"))
        vehicles = db.session.scalar(select(DataSource.id).where(DataSource.code == "vehicles"))
        engine = db.engine
    for _ in range(10):
        username = new_requester(app)
        with app.app_context():
            actor = actor_for(db.session, db.session.scalar(select(User).where(User.username == username)))
            draft = service.save_draft(db.session, actor, service.RequestData(
                kind="external_search", contact_email="a@police.example", contact_mobile="0812345678",
                duty_performed="สืบสวน", pledge_accepted=True, certifying_head_id=head.id,
                sources=(service.SourceChoice(vehicles),)), CLOCK, uploads=SEARCH_DOCUMENTS)
            db.session.commit()
            drafts.append((actor, draft.id))
    barrier, errors, numbers = threading.Barrier(10), [], []

    def submit(actor, pk):
        with Session(engine) as session:
            try:
                barrier.wait()
                numbers.append(service.submit(session, actor, pk, CLOCK).number)
                session.commit()
            except Exception as error:  # noqa: BLE001 - any failure is the finding
                errors.append(error)

    threads = [threading.Thread(target=submit, args=pair) for pair in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(set(numbers)) == 10


# -- 11. init states no legal fact ------------------------------------------------------------
def test_init_records_no_agreement_and_nothing_is_requestable_without_one(databases):
    bare = build_app(databases.new_url("no_demo"))
    prepare_database(bare, seed=False)
    with bare.app_context():
        from app.extensions import db

        assert db.session.scalar(select(func.count(DataSharingAgreement.id))) == 0
        agreed = eligibility.agreed_agency_ids(db.session, TODAY)
        refusals = [eligibility.source_requestable(s, agreed) for s in db.session.scalars(select(DataSource))]
        assert all(r is not None for r in refusals)
        assert {r.code for r in refusals} == {"agreement", "source_open"}
        db.session.remove()
        db.engine.dispose()


def test_the_form_shows_a_source_without_agreement_as_not_yet_requestable(login):
    page = login("officer").get("/requests/new/external_search").get_data(as_text=True)
    row = page.split('id="source-released_offenders"', 1)[1].split("</tr>", 1)[0]
    assert "ยังขอไม่ได้" in row and "ข้อตกลงการเชื่อมโยงข้อมูล" in row
    assert re.search(r'id="source-released_offenders"[^>]*disabled', page)


# -- 12. the pledge cites the Official Information Act -------------------------------------------
def test_the_pledge_cites_the_official_information_act_on_the_form_and_the_memo(app, login, requester):
    from io import BytesIO

    from pypdf import PdfReader

    from app.services.memo import recompose_sara_am

    act = "พระราชบัญญัติข้อมูลข่าวสารของราชการ พ.ศ. 2540"
    form = login("officer").get("/requests/new/external_search").get_data(as_text=True)
    assert act in form.split('id="pledge-text"', 1)[1].split("</p>", 1)[0]
    pk = _request_id(_new_request(requester, app))
    pdf = requester.get(f"/requests/memo/{pk}").data
    text = recompose_sara_am("".join(p.extract_text() for p in PdfReader(BytesIO(pdf)).pages))
    assert act.replace(" ", "") in text.replace(" ", "").replace("\n", "")
    english = login("officer")
    english.get("/lang/en")
    assert "Official Information Act B.E. 2540" in english.get("/requests/new/external_search").get_data(as_text=True)


# -- 13. a head who can certify, and certifies with the attestation ---------------------------------
def test_a_head_without_a_unit_head_position_cannot_be_named(world):
    world.head.position_level = world.session.scalar(select(PositionLevel).where(PositionLevel.code == "inspector"))
    request = world.draft()
    with pytest.raises(service.Ineligible) as refused:
        service.submit(world.session, world.officer_actor, request.id, CLOCK)
    assert codes(refused) == {"head"}
    world.head.position_level.is_unit_head = True  # which positions count is data
    service.submit(world.session, world.officer_actor, request.id, CLOCK)


def test_certifying_needs_the_attestation_which_is_recorded(world):
    request = world.submitted()
    with pytest.raises(ValidationFailed) as refused:
        service.decide(world.session, world.head_actor, request.id, "approve", CLOCK)
    assert refused.value.field == "attest" and request.current_stage.actor == "certifying_head"
    service.decide(world.session, world.head_actor, request.id, "approve", CLOCK, attest=True)
    certified = service.head_certification(world.session, request)
    assert certified.attested and certified.actor_id == world.head.user_id


def test_the_head_picker_offers_only_heads_who_can_certify(app, login):
    found = login("officer").get("/requests/heads?q=ประยุทธ").get_json()["results"]
    assert any("ประยุทธ" in r["text"] for r in found)
    # ธงชัย (auditor) holds a ผกก. position, มาลี (personnel) a squad leader's: only one may certify.
    far = {r["text"].split(" –")[0] for r in login("officer").get(
        "/requests/heads?nationwide=1&q=มาลี").get_json()["results"]}
    assert not any("มาลี" in name for name in far)


def test_the_memo_prints_the_certification_made_in_the_app(app, login, requester):
    from io import BytesIO

    from pypdf import PdfReader

    from app.services.memo import recompose_sara_am

    pk = _request_id(_new_request(requester, app))
    assert _decide(login("head"), pk, "approve").status_code == 302
    pdf = requester.get(f"/requests/memo/{pk}").data
    text = recompose_sara_am("".join(p.extract_text() for p in PdfReader(BytesIO(pdf)).pages))
    assert "รับรองในระบบ Sitthi" in text.replace("\n", " ")
    timeline = requester.get(f"/requests/show/{pk}").get_data(as_text=True).split('id="timeline"', 1)[1]
    assert "sitthi-attested" in timeline


def test_demo_heads_can_act_on_every_waiting_demo_request(app):
    """A request never waits for someone who cannot act on it: the demo's certifying heads qualify."""
    from app.extensions import db

    with app.app_context():
        demo = [f"{TEST_TODAY.year + 543}/{n:06d}" for n in range(1, 13)]  # the seed's numbers
        waiting = db.session.scalars(select(AccessRequest).where(
            AccessRequest.state == "submitted", AccessRequest.number.in_(demo))).all()
        assert waiting
        for request in waiting:
            head = eligibility.check_head(request)
            assert head.status == eligibility.PASS, (request.number, head.message % head.params)
