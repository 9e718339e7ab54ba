"""The approval chain's rules, proven against the real database through the request service."""
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.errors import NotAllowed, StaleRecord, ValidationFailed
from app.models import (
    AccessRequest,
    ApprovalChain,
    AuditEvent,
    DataSharingAgreement,
    DataSource,
    Decision,
    DutyLine,
    Grant,
    Notification,
    Officer,
    RankGroup,
    User,
)
from app.security.scope import Actor, actor_for
from app.services import access_requests as service
from app.services.business_days import add_business_days
from app.services.clock import Clock
from app.workflow import machine
from tests.factories import PDF, SEARCH_DOCUMENTS, decide, make_head, make_officer, make_unit

TODAY = date(2026, 11, 23)  # a Monday
CLOCK = Clock.on(TODAY)


# -- the people of one test: two commands, each with its own staff ------------------------
class World:
    def __init__(self, session):
        self.session = session
        self.users = {u.username: u for u in session.scalars(select(User))}
        # Demo officers hold these logins: lend the logins to this test's officers instead.
        for officer in session.scalars(select(Officer).where(Officer.user_id.isnot(None))):
            officer.user_id = None
        session.flush()
        self.command = make_unit(session, kind="division", admin_scope=True)
        self.station = make_unit(session, parent=self.command)
        self.other_command = make_unit(session, kind="division", admin_scope=True)
        self.other_station = make_unit(session, parent=self.other_command)
        investigation = session.scalar(select(DutyLine).where(DutyLine.code == "investigation"))
        self.requester = make_officer(session, self.station, duty_line=investigation,
                                      user_id=self.users["officer"].id)
        self.head = make_head(session, self.station, user_id=self.users["head"].id)
        self.tech = make_officer(session, self.command, user_id=self.users["commandtech"].id)
        self.other_tech = make_officer(session, self.other_command, user_id=self.users["personnel"].id)
        self.central = make_officer(session, make_unit(session), user_id=self.users["centralit"].id)
        self.bystander = make_officer(session, self.station, user_id=self.users["auditor"].id)

    def actor(self, officer, *roles, command=None) -> Actor:
        return Actor(user_id=officer.user_id, officer_id=officer.id, roles=frozenset(roles),
                     command_id=command.id if command else None)

    @property
    def officer_actor(self):
        return self.actor(self.requester, "Officer")

    @property
    def head_actor(self):
        return self.actor(self.head, "Officer")

    @property
    def central_actor(self):
        return self.actor(self.central, "Officer", "CentralIT")

    @property
    def tech_actor(self):
        return self.actor(self.tech, "Officer", "CommandTech", command=self.command)

    @property
    def other_tech_actor(self):
        return self.actor(self.other_tech, "Officer", "CommandTech", command=self.other_command)

    def source(self, code):
        return self.session.scalar(select(DataSource).where(DataSource.code == code))

    def group(self, number):
        return self.session.scalar(select(RankGroup).where(RankGroup.number == number))

    def draft(self, kind="external_search", sources=("vehicles",), functions=(), documents=True, **fields):
        choices = tuple(service.SourceChoice(self.source(code).id,
                                             self.group(2).id if self.source(code).needs_rank_group else None)
                        for code in sources)
        values = dict(kind=kind, contact_email="me@police.example", contact_mobile="0812345678",
                      duty_performed="สืบสวน", pledge_accepted=True, certifying_head_id=self.head.id,
                      sources=choices, function_ids=tuple(functions))
        values.update(fields)
        uploads = SEARCH_DOCUMENTS if documents and kind in service.SEARCH_KINDS else ()
        return service.save_draft(self.session, self.officer_actor, service.RequestData(**values), CLOCK,
                                  uploads=uploads)

    def submitted(self, **kwargs):
        request = self.draft(**kwargs)
        return service.submit(self.session, self.officer_actor, request.id, CLOCK)

    def at_central_it(self, **kwargs):
        request = self.submitted(**kwargs)
        return decide(self.session, self.head_actor, request.id, "approve", CLOCK)


@pytest.fixture()
def world(db_session):
    return World(db_session)


# -- the table --------------------------------------------------------------------------------
PERMISSIVE = dict(comment="why", pledge_accepted=True, item_count=1, has_certifying_head=True, at_stage=True)


@pytest.mark.parametrize("state", ["draft", "submitted", "returned", "rejected", "completed", "cancelled"])
@pytest.mark.parametrize("name", sorted(machine.TRANSITIONS))
def test_every_state_and_transition_pair_follows_the_table(state, name):
    allowed = state in machine.TRANSITIONS[name].sources
    context = machine.Context(state=state, **PERMISSIVE)
    if allowed:
        assert machine.check(name, context).name == name
    else:
        with pytest.raises(machine.TransitionRefused):
            machine.check(name, context)


def _in_state(world, state, source="vehicles"):
    """A request brought to `state` through the service itself."""
    if state == "draft":
        return world.draft(sources=(source,))
    request = world.submitted(sources=(source,))
    if state == "returned":
        decide(world.session, world.head_actor, request.id, "return", CLOCK, comment="แก้ไข")
    elif state == "rejected":
        decide(world.session, world.head_actor, request.id, "reject", CLOCK, comment="ไม่ผ่าน")
    elif state == "cancelled":
        service.cancel(world.session, world.officer_actor, request.id, CLOCK)
    elif state == "completed":
        decide(world.session, world.head_actor, request.id, "approve", CLOCK)
        decide(world.session, world.central_actor, request.id, "approve", CLOCK)
    assert request.state == state
    return request


@pytest.mark.parametrize("state", ["draft", "submitted", "returned", "rejected", "completed", "cancelled"])
def test_the_service_fires_exactly_what_the_table_allows(world, state):
    # One source per transition: a request for a right already held or asked for is refused.
    sources = ("vehicles", "aliens", "company_registry", "social_security", "health_insurance",
               "prisoners", "foreign_workers")
    # The system's transitions are fired by the chasing sweep alone (tests/test_chasing.py).
    by_people = sorted(n for n, t in machine.TRANSITIONS.items() if t.fired_by != machine.SYSTEM)
    for name, source in zip(by_people, sources, strict=False):
        request = _in_state(world, state, source)
        allowed = state in machine.TRANSITIONS[name].sources
        try:
            if name in ("submit", "resubmit"):
                service.submit(world.session, world.officer_actor, request.id, CLOCK)
                fired = {"draft": "submit", "returned": "resubmit"}.get(state) == name
                assert allowed == fired or not allowed
            elif name == "cancel":
                service.cancel(world.session, world.officer_actor, request.id, CLOCK)
            else:
                decide(world.session, world.head_actor, request.id, name, CLOCK, comment="เหตุผล")
            succeeded = True
        except (machine.TransitionRefused, service.NotFound):
            succeeded = False  # a head never sees a draft: refused before the table is asked
        if name in ("submit", "resubmit") and succeeded:
            continue  # submit of a returned request is a resubmit and vice versa: one button
        assert succeeded == allowed, (state, name)


# -- guards -----------------------------------------------------------------------------------
def test_return_and_reject_need_a_comment(world):
    request = world.submitted()
    for name in ("return", "reject"):
        with pytest.raises(machine.TransitionRefused) as refused:
            decide(world.session, world.head_actor, request.id, name, CLOCK, comment="  ")
        assert refused.value.message == machine.MSG_COMMENT_REQUIRED
    assert request.state == "submitted"


def test_submit_needs_the_pledge(world):
    request = world.draft(pledge_accepted=False)
    with pytest.raises(machine.TransitionRefused) as refused:
        service.submit(world.session, world.officer_actor, request.id, CLOCK)
    assert refused.value.message == machine.MSG_PLEDGE


def test_submit_needs_an_item(world):
    request = world.draft(sources=())
    with pytest.raises(machine.TransitionRefused) as refused:
        service.submit(world.session, world.officer_actor, request.id, CLOCK)
    assert refused.value.message == machine.MSG_NO_ITEMS


def test_submit_needs_a_head(world):
    request = world.draft(certifying_head_id=None)
    with pytest.raises(machine.TransitionRefused) as refused:
        service.submit(world.session, world.officer_actor, request.id, CLOCK)
    assert refused.value.message == machine.MSG_NO_HEAD


def test_a_completed_request_waits_at_no_deciding_stage(world):
    request = _in_state(world, "completed")
    with pytest.raises(machine.TransitionRefused):
        decide(world.session, world.central_actor, request.id, "approve", CLOCK)


# -- who may act --------------------------------------------------------------------------------
def test_nobody_decides_their_own_request(world):
    # The requester is also CentralIT: they still cannot approve their own request.
    request = world.at_central_it()
    own = world.actor(world.requester, "Officer", "CentralIT")
    with pytest.raises(NotAllowed) as refused:
        decide(world.session, own, request.id, "approve", CLOCK)
    assert refused.value.message == service.MSG_OWN_REQUEST


def test_nobody_acts_at_two_stages_of_one_request(world):
    request = world.submitted()
    head_with_central_it = world.actor(world.head, "Officer", "CentralIT")
    decide(world.session, head_with_central_it, request.id, "approve", CLOCK)
    with pytest.raises(NotAllowed) as refused:
        decide(world.session, head_with_central_it, request.id, "approve", CLOCK)
    assert refused.value.message == service.MSG_TWO_STAGES
    assert request.current_stage.actor == "central_it"


@pytest.mark.parametrize("who", ["bystander", "central", "tech"])
def test_only_the_named_head_certifies(world, who):
    request = world.submitted()
    roles = {"bystander": ("Officer",), "central": ("Officer", "CentralIT"), "tech": ("Officer", "CommandTech")}[who]
    with pytest.raises((NotAllowed, service.NotFound)):
        decide(world.session, world.actor(getattr(world, who), *roles, command=world.command),
                       request.id, "approve", CLOCK)
    assert request.current_stage.actor == "certifying_head"


def test_only_central_it_decides_at_its_stage(world):
    request = world.at_central_it()
    for actor in (world.tech_actor, world.actor(world.bystander, "Officer", "Auditor", "Admin")):
        with pytest.raises(NotAllowed):
            decide(world.session, actor, request.id, "approve", CLOCK)
    decide(world.session, world.central_actor, request.id, "approve", CLOCK)
    assert request.state == "completed"


def test_only_command_tech_of_the_requesters_command_handles_an_account(world):
    request = world.submitted(kind="new_account", sources=())
    decide(world.session, world.head_actor, request.id, "approve", CLOCK)
    assert request.current_stage.actor == "command_tech"
    told = set(world.session.scalars(select(Notification.recipient_user_id).where(
        Notification.request_id == request.id)))
    assert world.users["commandtech"].id in told           # the staff of the requester's command
    assert world.users["commandtech2"].id not in told      # not another command's
    with pytest.raises((NotAllowed, service.NotFound)):
        decide(world.session, world.other_tech_actor, request.id, "approve", CLOCK)
    decide(world.session, world.tech_actor, request.id, "approve", CLOCK)
    assert request.state == "completed"


def test_temporary_assignment_goes_to_the_target_units_command(world):
    request = world.submitted(kind="temporary_assignment", sources=(),
                              target_unit_id=world.other_station.id,
                              assignment_until=TODAY + timedelta(days=90))
    decide(world.session, world.head_actor, request.id, "approve", CLOCK)
    with pytest.raises(NotAllowed):
        decide(world.session, world.tech_actor, request.id, "approve", CLOCK)
    decide(world.session, world.other_tech_actor, request.id, "approve", CLOCK)
    assert request.state == "completed"
    assert world.requester.acting_unit_id == world.other_station.id


def test_a_user_outside_the_request_cannot_even_load_it(world):
    request = world.submitted()
    with pytest.raises(service.NotFound):
        service.load_request(world.session, world.actor(world.other_tech, "Officer", "CommandTech",
                                                        command=world.other_command), request.id)


# -- stale forms and concurrent clicks ---------------------------------------------------------
def test_a_stale_form_changes_nothing(world):
    request = world.submitted()
    old_version = request.version
    decide(world.session, world.head_actor, request.id, "approve", CLOCK)
    decisions = world.session.scalar(select(func.count(Decision.id)).where(Decision.request_id == request.id))
    with pytest.raises(StaleRecord):
        decide(world.session, world.central_actor, request.id, "approve", CLOCK,
                       expected_version=old_version)
    assert request.state == "submitted"
    assert world.session.scalar(select(func.count(Decision.id)).where(Decision.request_id == request.id)) == decisions


# -- items, returns, completion --------------------------------------------------------------------
def test_central_it_decides_item_by_item(world):
    request = world.at_central_it(sources=("civil_registration", "company_registry"))
    items = {i.data_source.code: i for i in request.items}
    decide(world.session, world.central_actor, request.id, "approve", CLOCK, item_decisions=(
        service.ItemDecision(items["company_registry"].id, approve=False, comment="ไม่เกี่ยวกับงาน"),))
    assert items["civil_registration"].state == "approved"
    assert items["company_registry"].state == "rejected"
    grants = world.session.scalars(select(Grant).where(Grant.request_id == request.id)).all()
    assert [(g.data_source.code, g.state) for g in grants] == [("civil_registration", "pending_activation")]
    assert request.state == "completed" and request.current_stage.actor == "agency"
    # 15 business days to activate: three working weeks at least.
    assert request.due_on >= TODAY + timedelta(days=21)


def test_rejecting_every_item_means_rejecting_the_request(world):
    request = world.at_central_it()
    with pytest.raises(ValidationFailed):
        decide(world.session, world.central_actor, request.id, "approve", CLOCK, item_decisions=(
            service.ItemDecision(request.items[0].id, approve=False),))


def test_items_are_decided_only_at_central_it(world):
    request = world.submitted()
    with pytest.raises(ValidationFailed):
        decide(world.session, world.head_actor, request.id, "approve", CLOCK, item_decisions=(
            service.ItemDecision(request.items[0].id, approve=False),))


def test_a_returned_request_restarts_at_the_stage_that_returned_it(world):
    request = world.at_central_it()
    decide(world.session, world.central_actor, request.id, "return", CLOCK, comment="แนบบัตรใหม่")
    assert request.state == "returned"
    told = world.session.scalars(select(Notification.body).where(
        Notification.request_id == request.id, Notification.recipient_email == "me@police.example")).all()
    assert any("แนบบัตรใหม่" in body for body in told)  # the requester learns what to fix
    service.save_draft(world.session, world.officer_actor, service.RequestData(
        kind="external_search", contact_email="me@police.example", contact_mobile="0812345678",
        duty_performed="สืบสวน (แก้ไข)", pledge_accepted=True, certifying_head_id=world.head.id,
        sources=(service.SourceChoice(world.source("vehicles").id),)), CLOCK, request_id=request.id)
    service.submit(world.session, world.officer_actor, request.id, CLOCK)
    assert request.state == "submitted" and request.current_stage.actor == "central_it"
    transitions = [d.transition for d in world.session.scalars(
        select(Decision).where(Decision.request_id == request.id).order_by(Decision.id))]
    assert transitions == ["submit", "approve", "return", "resubmit"]


def test_completion_is_atomic_with_the_last_decision(app, monkeypatch):
    """A failure after the grants were written leaves the request exactly as it was."""
    from app.extensions import db
    from tests.test_concurrency import _request_at_central_it

    request_id = _request_at_central_it(app)

    def broken(*_args, **_kwargs):
        raise RuntimeError("connection lost")

    monkeypatch.setattr(service, "_apply_assignment", broken)
    with app.app_context():
        central = actor_for(db.session, db.session.scalar(select(User).where(User.username == "centralit")))
        with pytest.raises(RuntimeError):
            decide(db.session, central, request_id, "approve", CLOCK)
        db.session.rollback()
        request = db.session.get(AccessRequest, request_id)
        assert request.state == "submitted" and request.current_stage.actor == "central_it"
        assert db.session.scalar(select(func.count(Grant.id)).where(Grant.request_id == request_id)) == 0
        assert db.session.scalar(select(func.count(Decision.id)).where(Decision.request_id == request_id)) == 2


def test_every_transition_writes_a_decision_an_audit_event_and_mail(world):
    request = world.submitted()
    decide(world.session, world.head_actor, request.id, "approve", CLOCK)
    events = world.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "AccessRequest", AuditEvent.object_id == request.id)).all()
    assert {"AccessRequest.submit", "AccessRequest.approve"} <= set(events)
    mail = world.session.scalars(select(Notification).where(Notification.request_id == request.id)).all()
    recipients = {m.recipient_email for m in mail}
    assert world.head.email in recipients           # told to certify
    assert "me@police.example" in recipients         # the requester, at each step
    assert world.users["centralit"].email in recipients  # the next stage


def test_agency_activation_turns_the_grant_on(world):
    request = world.at_central_it(sources=("civil_registration",))
    decide(world.session, world.central_actor, request.id, "approve", CLOCK)
    item = request.items[0]
    with pytest.raises(ValidationFailed):
        service.record_activation(world.session, world.central_actor, item.id, CLOCK, activated=True, reference=" ")
    with pytest.raises(NotAllowed):
        service.record_activation(world.session, world.tech_actor, item.id, CLOCK, activated=True, reference="X")
    service.record_activation(world.session, world.central_actor, item.id, CLOCK, activated=True,
                              reference="DOPA-1", activated_on=TODAY)
    grant = world.session.scalar(select(Grant).where(Grant.request_item_id == item.id))
    assert grant.state == "active" and grant.valid_from == TODAY and grant.agency_reference == "DOPA-1"
    assert request.current_stage is None
    from app.services.dashboard import approval_dashboard

    timings = {t.actor: t for t in approval_dashboard(world.session, world.central_actor, TODAY).stage_timings}
    assert timings["agency"].samples >= 1  # the agency's wait shows on the dashboard


# -- eligibility --------------------------------------------------------------------------------
def test_an_inactive_officer_cannot_submit(world):
    request = world.draft()
    world.requester.status = "retired"
    with pytest.raises(service.Ineligible) as refused:
        service.submit(world.session, world.officer_actor, request.id, CLOCK)
    assert "officer_active" in {c.code for c in refused.value.checks}


def test_a_duty_line_outside_search_needs_a_certificate(world):
    world.requester.duty_line = world.session.scalar(select(DutyLine).where(DutyLine.code == "traffic"))
    request = world.draft()
    with pytest.raises(service.Ineligible):
        service.submit(world.session, world.officer_actor, request.id, CLOCK)
    service.save_draft(world.session, world.officer_actor, service.RequestData(
        kind="external_search", contact_email="me@police.example", contact_mobile="0812345678",
        duty_performed="สืบสวนตามคำสั่ง", duty_mismatch=True, pledge_accepted=True,
        certifying_head_id=world.head.id, sources=(service.SourceChoice(world.source("vehicles").id),)),
        CLOCK, request_id=request.id, uploads=(service.Upload("duty_certificate", "cert.pdf", PDF),))
    service.submit(world.session, world.officer_actor, request.id, CLOCK)
    assert request.state == "submitted"


def _end_agreements(world, source_code):
    source = world.source(source_code)
    for agreement in world.session.scalars(select(DataSharingAgreement).where(
            DataSharingAgreement.agency_id == source.agency_id)):
        agreement.valid_until = TODAY - timedelta(days=1)


def test_an_agreement_that_ended_after_the_draft_blocks_the_submission(world):
    request = world.draft()
    _end_agreements(world, "vehicles")
    with pytest.raises(service.Ineligible) as refused:
        service.submit(world.session, world.officer_actor, request.id, CLOCK)
    assert "agreement" in {c.code for c in refused.value.checks}


def test_a_source_without_a_valid_agreement_cannot_be_chosen(world):
    _end_agreements(world, "vehicles")
    with pytest.raises(ValidationFailed) as refused:
        world.draft()
    assert refused.value.field == "sources"


def test_a_closed_source_cannot_be_chosen(world):
    with pytest.raises(ValidationFailed) as refused:
        world.draft(sources=("firearms",))
    assert refused.value.field == "sources"


def test_a_higher_rank_group_is_allowed_and_marked(world):
    request = world.draft(sources=("civil_registration",))
    service.save_draft(world.session, world.officer_actor, service.RequestData(
        kind="external_search", contact_email="me@police.example", contact_mobile="0812345678",
        duty_performed="สืบสวน", pledge_accepted=True, certifying_head_id=world.head.id,
        sources=(service.SourceChoice(world.source("civil_registration").id, world.group(1).id),)),
        CLOCK, request_id=request.id)
    assert request.items[0].above_own_rank is True
    service.submit(world.session, world.officer_actor, request.id, CLOCK)


def test_a_head_without_a_login_is_refused(world):
    lonely = make_officer(world.session, world.station, rank_abbr="พ.ต.อ.")
    request = world.draft(certifying_head_id=lonely.id)
    with pytest.raises(service.Ineligible) as refused:
        service.submit(world.session, world.officer_actor, request.id, CLOCK)
    assert "head" in {c.code for c in refused.value.checks}


# -- bad input -------------------------------------------------------------------------------------
@pytest.mark.parametrize("field_name, value", [
    ("contact_email", "not-an-address"),
    ("contact_email", "<script>@x"),
    ("contact_mobile", "12345"),
    ("duty_performed", "ก" * 2001),
])
def test_bad_fields_are_refused_with_the_field_named(world, field_name, value):
    before = world.session.scalar(select(func.count(AccessRequest.id)))
    with pytest.raises(ValidationFailed) as refused:
        world.draft(**{field_name: value})
    assert refused.value.field == field_name
    assert world.session.scalar(select(func.count(AccessRequest.id))) == before


@pytest.mark.parametrize("name, content", [
    ("fake.pdf", b"MZ\x90\x00 not a pdf"),
    ("big.pdf", b"%PDF-" + b"0" * (5 * 1024 * 1024)),
    ("empty.pdf", b""),
])
def test_bad_files_are_refused(world, name, content):
    with pytest.raises(ValidationFailed):
        service.save_draft(world.session, world.officer_actor, service.RequestData(
            kind="external_search", contact_email="me@police.example"), CLOCK,
            uploads=(service.Upload("memo", name, content),))


def test_a_hostile_file_name_is_made_harmless(world):
    request = service.save_draft(world.session, world.officer_actor, service.RequestData(
        kind="external_search"), CLOCK, uploads=(service.Upload("memo", "passwd<script>.pdf", PDF),))
    from app.models import Attachment

    name = world.session.scalar(select(Attachment.filename).where(Attachment.request_id == request.id))
    assert "<" not in name and name.endswith(".pdf")


def test_a_file_name_with_a_path_is_refused(world):
    with pytest.raises(ValidationFailed):
        service.save_draft(world.session, world.officer_actor, service.RequestData(
            kind="external_search"), CLOCK, uploads=(service.Upload("memo", "../../etc/passwd.pdf", PDF),))


# -- business days -----------------------------------------------------------------------------
def test_business_days_skip_weekends_and_holidays():
    friday = date(2026, 11, 20)
    assert add_business_days(friday, 1, set()) == date(2026, 11, 23)
    assert add_business_days(friday, 3, {date(2026, 11, 24)}) == date(2026, 11, 26)
    assert add_business_days(friday, 0, set()) == friday


def test_due_dates_use_the_holiday_table(world):
    from app.models import Holiday

    world.session.add(Holiday(day=date(2026, 11, 24), name_th="วันหยุดทดสอบ"))
    request = world.submitted()
    # Monday 23rd + 3 business days, Tuesday 24th a holiday -> Friday 27th.
    assert request.due_on == date(2026, 11, 27)


def test_an_admins_change_to_a_chain_changes_the_route(world):
    """Chains are data: a stage added through the screens is a stage requests go through."""
    from app.models import ApprovalStage, SystemFunction

    chain = world.session.scalar(select(ApprovalChain).where(ApprovalChain.request_kind == "additional_functions"))
    world.session.add(ApprovalStage(chain=chain, position=3, name_th="จนท. เทคโนโลยีเปิดสิทธิ์",
                                    name_en="Command technology staff enable it", actor="command_tech",
                                    due_business_days=2))
    world.session.flush()
    world.session.refresh(chain)
    function = world.session.scalar(select(SystemFunction.id).where(SystemFunction.code == "crimes_case_search"))
    request = world.submitted(kind="additional_functions", sources=(), functions=(function,))
    decide(world.session, world.head_actor, request.id, "approve", CLOCK)
    decide(world.session, world.central_actor, request.id, "approve", CLOCK)
    assert request.state == "submitted" and request.current_stage.actor == "command_tech"
    assert request.due_on == add_business_days(TODAY, 2, set())
    decide(world.session, world.tech_actor, request.id, "approve", CLOCK)
    assert request.state == "completed"


def test_chains_are_data(world):
    chain = world.session.scalar(select(ApprovalChain).where(ApprovalChain.request_kind == "additional_functions"))
    assert [s.actor for s in chain.stages] == ["certifying_head", "central_it"]
