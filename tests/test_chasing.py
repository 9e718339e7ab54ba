"""Reminders, escalation and overdue returns per approval stage, and fallback heads (issue 13).

The sweep is handed its clock: each test moves it day by day across a weekend and Thai holidays
(the King's birthday in lieu on Monday 7 December 2026, Constitution Day on Thursday 10 December)
and checks that only business days count. Requests are made and decided through the request
service, in the test's transaction (rolled back afterwards), except where a test says otherwise.
"""
from datetime import date

import pytest
from sqlalchemy import func, select

from app.models import (
    AccessRequest,
    ApprovalChain,
    AuditEvent,
    Decision,
    Holiday,
    Notification,
    StageChase,
)
from app.security.scope import is_visible
from app.services import access_requests as service
from app.services import chasing, inboxes
from app.services.business_days import started_by
from app.services.clock import Clock
from tests.factories import decide, make_head, make_login, make_officer, make_unit
from tests.test_workflow import World

THURSDAY = date(2026, 12, 3)  # the request reaches the head's stage
FRIDAY = date(2026, 12, 4)  # business day 1
KINGS_DAY_IN_LIEU = date(2026, 12, 7)  # Monday, a holiday: still 1
TUESDAY = date(2026, 12, 8)  # 2
WEDNESDAY = date(2026, 12, 9)  # 3
CONSTITUTION_DAY = date(2026, 12, 10)  # Thursday, a holiday: still 3
NEXT_FRIDAY = date(2026, 12, 11)  # 4
NEXT_MONDAY = date(2026, 12, 14)  # 5
REASON = "รอการรับรองเกินกำหนด กรุณาระบุหัวหน้าหน่วยที่ปฏิบัติหน้าที่อยู่"
BATCH = 1000


def _holidays(session) -> None:
    for day, name in ((KINGS_DAY_IN_LIEU, "ชดเชยวันคล้ายวันพระบรมราชสมภพ"), (CONSTITUTION_DAY, "วันรัฐธรรมนูญ")):
        if session.scalar(select(Holiday.id).where(Holiday.day == day)) is None:
            session.add(Holiday(day=day, name_th=name, name_en=name))
    session.flush()


class Chase(World):
    """World of tests/test_workflow, plus a command head above the station's head and rules on
    the head's stage of external search requests."""

    def __init__(self, session):
        super().__init__(session)
        _holidays(session)
        self.superior = make_head(session, self.command)
        make_login(session, self.superior)
        self.head_stage = session.scalar(select(ApprovalChain).where(
            ApprovalChain.request_kind == "external_search")).stages[0]
        self.rules(remind_after_days=2, escalate_after_days=3, escalate_to="superior_head",
                   return_after_days=5, return_reason=REASON)

    def rules(self, **values) -> None:
        for name in ("remind_after_days", "escalate_after_days", "escalate_to", "escalate_to_user_id",
                     "escalate_to_role", "return_after_days", "return_reason"):
            setattr(self.head_stage, name, values.get(name))
        self.session.flush()

    def waiting(self, on: date = THURSDAY, **kwargs) -> AccessRequest:
        request = self.draft(**kwargs)
        return service.submit(self.session, self.officer_actor, request.id, Clock.on(on))

    @property
    def superior_actor(self):
        return self.actor(self.superior, "Officer")


@pytest.fixture()
def chased(db_session):
    return Chase(db_session)


def run(world, day: date) -> chasing.ChaseReport:
    return chasing.chase(world.session, Clock.on(day), BATCH)


def _timeline(session, request) -> list[str]:
    return list(session.scalars(select(Decision.transition).where(Decision.request_id == request.id)
                                .order_by(Decision.decided_at, Decision.id)))


def _events(session, request, action) -> int:
    return session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == action, AuditEvent.object_type == "AccessRequest", AuditEvent.object_id == request.id))


def _mails(session, request, fragment) -> list[str]:
    return list(session.scalars(select(Notification.recipient_email).where(
        Notification.request_id == request.id, Notification.subject.contains(fragment))))


# -- business days ------------------------------------------------------------------------------
def test_business_days_waited_skip_weekends_and_holidays(chased):
    session = chased.session
    # A wait that started on or before the returned day has lasted the days by then.
    assert started_by(session, KINGS_DAY_IN_LIEU, 1) == date(2026, 12, 3)  # Friday was the one day
    assert started_by(session, TUESDAY, 2) == THURSDAY
    assert started_by(session, CONSTITUTION_DAY, 3) == THURSDAY
    assert started_by(session, NEXT_MONDAY, 5) == THURSDAY
    assert started_by(session, TUESDAY, 0) == TUESDAY


# -- each rule, the clock moved day by day --------------------------------------------------------
def test_a_waiting_request_is_reminded_escalated_and_returned_on_business_days(chased):
    session = chased.session
    request = chased.waiting()
    assert request.stage_entered_on == THURSDAY

    for day in (FRIDAY, date(2026, 12, 5), date(2026, 12, 6), KINGS_DAY_IN_LIEU):
        run(chased, day)
    assert _timeline(session, request) == ["submit"]  # one business day only: the holiday is no day

    run(chased, TUESDAY)
    assert _timeline(session, request) == ["submit", "remind"]
    assert _mails(session, request, "Reminder") == [chased.head.email]
    assert _events(session, request, "AccessRequest.remind") == 1
    run(chased, TUESDAY)  # the same day again: nothing new
    assert _timeline(session, request) == ["submit", "remind"]
    assert len(_mails(session, request, "Reminder")) == 1

    run(chased, WEDNESDAY)
    assert _timeline(session, request) == ["submit", "remind", "escalate"]
    wait = session.scalar(select(StageChase).where(StageChase.request_id == request.id))
    assert (wait.reminded_on, wait.escalated_on) == (TUESDAY, WEDNESDAY)
    assert wait.escalated_to_user_id == chased.superior.user_id
    assert _mails(session, request, "escalated") == [chased.superior.email]
    assert _events(session, request, "AccessRequest.escalate") == 1

    for day in (CONSTITUTION_DAY, NEXT_FRIDAY):
        run(chased, day)
    assert request.state == "submitted"
    assert _timeline(session, request) == ["submit", "remind", "escalate"]

    run(chased, NEXT_MONDAY)
    assert request.state == "returned"
    assert request.current_stage_id == chased.head_stage.id  # sent back to this stage once fixed
    last = session.scalars(select(Decision).where(Decision.request_id == request.id)
                           .order_by(Decision.id.desc())).first()
    assert (last.transition, last.comment, last.actor_id) == ("return_overdue", REASON, None)
    assert _mails(session, request, "waited too long") == [request.contact_email]
    assert _events(session, request, "AccessRequest.return_overdue") == 1
    run(chased, NEXT_MONDAY)
    assert _timeline(session, request).count("return_overdue") == 1


def test_no_rule_no_chasing(chased):
    chased.rules()
    request = chased.waiting()
    run(chased, NEXT_MONDAY)
    assert _timeline(chased.session, request) == ["submit"]


def test_a_decision_starts_a_new_wait_at_the_next_stage(chased):
    session = chased.session
    request = chased.waiting()
    run(chased, TUESDAY)
    decide(session, chased.head_actor, request.id, "approve", Clock.on(TUESDAY))
    assert request.stage_entered_on == TUESDAY and request.current_stage.actor == "central_it"
    run(chased, NEXT_MONDAY)  # the head's rules are for the head's stage only
    assert _timeline(session, request) == ["submit", "remind", "approve"]


def test_a_returned_request_sent_again_waits_anew(chased):
    session = chased.session
    request = chased.waiting()
    run(chased, NEXT_MONDAY)
    assert request.state == "returned"
    service.submit(session, chased.officer_actor, request.id, Clock.on(NEXT_MONDAY))
    assert request.stage_entered_on == NEXT_MONDAY
    run(chased, date(2026, 12, 15))
    assert _timeline(session, request)[-1] == "resubmit"
    run(chased, date(2026, 12, 16))  # two business days after the resubmission
    assert _timeline(session, request)[-1] == "remind"


# -- who may see and decide after an escalation -------------------------------------------------
def test_the_fallback_sees_and_decides_and_another_command_cannot(chased):
    session = chased.session
    request = chased.waiting()
    fallback = chased.superior_actor
    assert not is_visible(session, fallback, AccessRequest, request.id)
    with pytest.raises(service.NotFound):
        decide(session, fallback, request.id, "approve", Clock.on(TUESDAY))

    run(chased, WEDNESDAY)
    assert is_visible(session, fallback, AccessRequest, request.id)
    waiting = session.scalars(select(AccessRequest.id).where(inboxes.to_certify(session, fallback))).all()
    assert request.id in waiting
    # The named head still may; someone of another command may neither see nor decide.
    assert "approve" in service.stage_transitions(session, chased.head_actor, request)
    stranger = chased.other_tech_actor
    assert not is_visible(session, stranger, AccessRequest, request.id)
    with pytest.raises(service.NotFound):
        decide(session, stranger, request.id, "approve", Clock.on(WEDNESDAY))

    decide(session, fallback, request.id, "approve", Clock.on(WEDNESDAY))
    assert request.current_stage.actor == "central_it"
    approval = session.scalars(select(Decision).where(Decision.request_id == request.id,
                                                      Decision.transition == "approve")).one()
    assert approval.actor_id == chased.superior.user_id
    # Once the stage moved on, the fallback keeps sight of the request but has nothing to decide.
    assert is_visible(session, fallback, AccessRequest, request.id)
    assert request.id not in session.scalars(select(AccessRequest.id).where(inboxes.to_certify(session, fallback)))


def test_escalation_to_a_named_user(chased):
    session = chased.session
    deputy_chief = make_officer(session, chased.other_station)
    login = make_login(session, deputy_chief)
    chased.rules(escalate_after_days=1, escalate_to="user", escalate_to_user_id=login.id)
    request = chased.waiting()
    run(chased, FRIDAY)
    actor = chased.actor(deputy_chief, "Officer")
    assert is_visible(session, actor, AccessRequest, request.id)
    assert service.stage_transitions(session, actor, request) == list(service.STAGE_DECISIONS)
    assert _mails(session, request, "escalated") == [deputy_chief.email]


def test_escalation_to_a_role_reaches_that_role_of_the_requests_command_only(chased):
    session = chased.session
    chased.rules(escalate_after_days=1, escalate_to="role", escalate_to_role="CommandTech")
    request = chased.waiting()
    run(chased, FRIDAY)
    own, other = chased.tech_actor, chased.other_tech_actor
    assert service.stage_transitions(session, own, request) == list(service.STAGE_DECISIONS)
    assert request.id in session.scalars(select(AccessRequest.id).where(inboxes.account_requests(session, own)))
    assert service.stage_transitions(session, other, request) == []
    assert request.id not in session.scalars(select(AccessRequest.id).where(inboxes.account_requests(session, other)))


def test_escalation_to_the_central_it_center_puts_a_heads_stage_in_to_verify(chased):
    session = chased.session
    chased.rules(escalate_after_days=1, escalate_to="role", escalate_to_role="CentralIT")
    request = chased.waiting()
    central = chased.central_actor
    assert request.id not in session.scalars(select(AccessRequest.id).where(inboxes.to_verify(session, central)))
    run(chased, FRIDAY)
    assert request.id in session.scalars(select(AccessRequest.id).where(inboxes.to_verify(session, central)))
    assert service.stage_transitions(session, central, request) == list(service.STAGE_DECISIONS)
    decide(session, chased.head_actor, request.id, "approve", Clock.on(FRIDAY))  # the head still may
    assert request.current_stage.actor == "central_it"
    assert _mails(session, request, "escalated")  # every CentralIT login was told


# -- the named head gone --------------------------------------------------------------------------
def test_a_head_who_retired_while_the_request_waited_is_replaced_by_the_units_next_head(chased):
    session = chased.session
    request = chased.waiting()
    deputy_head = make_head(session, chased.station, rank_abbr="พ.ต.ท.")
    make_login(session, deputy_head)
    chased.head.status = "retired"
    session.flush()

    report = run(chased, FRIDAY)
    assert report.reassigned >= 1
    assert request.certifying_head_id == deputy_head.id
    assert request.stage_entered_on == FRIDAY  # the new head's wait starts now
    reassign = session.scalars(select(Decision).where(Decision.request_id == request.id,
                                                      Decision.transition == "reassign")).one()
    assert str(deputy_head) in reassign.comment
    assert _events(session, request, "AccessRequest.reassign") == 1
    assert request.contact_email in _mails(session, request, "next head")  # the officer is told
    assert deputy_head.email in _mails(session, request, "waits for your decision")
    new_head = chased.actor(deputy_head, "Officer")
    assert request.id in session.scalars(select(AccessRequest.id).where(inboxes.to_certify(session, new_head)))
    decide(session, new_head, request.id, "approve", Clock.on(FRIDAY))
    run(chased, FRIDAY)
    assert _timeline(session, request).count("reassign") == 1


def test_a_unit_without_any_head_left_goes_to_the_head_above(chased):
    session = chased.session
    request = chased.waiting()
    chased.users["head"].active = False  # the login disabled: no longer certifies
    session.flush()
    run(chased, FRIDAY)
    assert request.certifying_head_id == chased.superior.id


def test_no_head_anywhere_is_tried_again_the_next_day_not_in_a_loop(chased):
    session = chased.session
    lone_command = make_unit(session, kind="division", admin_scope=True)
    station = make_unit(session, parent=lone_command)
    chased.requester.home_unit = station
    head = make_head(session, station)
    make_login(session, head)
    request = chased.waiting(certifying_head_id=head.id)
    head.status = "retired"
    session.flush()
    first = run(chased, FRIDAY)
    assert request.certifying_head_id == head.id and first.no_head >= 1
    again = run(chased, FRIDAY)
    assert again.no_head == 0  # not tried twice the same day
    assert run(chased, KINGS_DAY_IN_LIEU).no_head >= 1


def test_submit_sends_a_request_naming_a_retired_head_to_the_next_head(chased):
    session = chased.session
    deputy_head = make_head(session, chased.station, rank_abbr="พ.ต.ท.")
    make_login(session, deputy_head)
    draft = chased.draft()
    chased.head.status = "retired"
    session.flush()
    request = service.submit(session, chased.officer_actor, draft.id, Clock.on(THURSDAY))
    assert request.state == "submitted" and request.certifying_head_id == deputy_head.id
    assert _timeline(session, request) == ["submit", "reassign"]
    assert request.contact_email in _mails(session, request, "next head")


def test_a_head_never_a_head_is_still_refused_at_submit(chased):
    session = chased.session
    not_a_head = make_officer(session, chased.station)
    make_login(session, not_a_head)
    draft = chased.draft(certifying_head_id=not_a_head.id)
    with pytest.raises(service.Ineligible):
        service.submit(session, chased.officer_actor, draft.id, Clock.on(THURSDAY))


# -- the stage's rules as Admin enters them -------------------------------------------------------
@pytest.mark.parametrize(("rules", "field"), [
    (dict(remind_after_days=-1), "remind_after_days"),
    (dict(remind_after_days=5, escalate_after_days=5, escalate_to="superior_head"), "remind_after_days"),
    (dict(escalate_after_days=3, return_after_days=2, return_reason="x", escalate_to="superior_head"),
     "return_after_days"),
    (dict(escalate_after_days=3), "escalate_to"),
    (dict(escalate_to="superior_head"), "escalate_after_days"),
    (dict(escalate_after_days=3, escalate_to="user"), "escalate_to_user"),
    (dict(escalate_after_days=3, escalate_to="role", escalate_to_role="Auditor"), "escalate_to_role"),
    (dict(escalate_after_days=3, escalate_to="superior_head", escalate_to_role="CentralIT"), "escalate_to_role"),
    (dict(return_after_days=4), "return_reason"),
    (dict(return_reason="ช้าเกินไป"), "return_after_days"),
    (dict(remind_after_days=10**12), "remind_after_days"),
])
def test_bad_rules_are_refused_at_their_field(rules, field):
    assert field in chasing.stage_rule_problems(chasing.StageRules(actor="certifying_head", **rules))


def test_good_rules_pass_and_superior_head_is_only_for_a_heads_stage():
    good = dict(remind_after_days=2, escalate_after_days=4, escalate_to="superior_head", return_after_days=8,
                return_reason="เกินกำหนด")
    assert chasing.stage_rule_problems(chasing.StageRules(actor="certifying_head", **good)) == {}
    assert "escalate_to" in chasing.stage_rule_problems(chasing.StageRules(actor="central_it", **good))
    assert chasing.stage_rule_problems(chasing.StageRules(actor="agency", remind_after_days=1))


# -- Admin's stage form -----------------------------------------------------------------------------
def _stage_form(admin, url) -> dict:
    from tests.test_hostile_input import _Forms

    parser = _Forms()
    parser.feed(admin.get(url).get_data(as_text=True))
    return dict(next(f for f in parser.forms if f.action in ("", url)).values)


def _error_after(page: str, field: str) -> str:
    """The message FAB shows at a field: the error box in the field's own cell."""
    import re

    cell = page[page.index(f'name="{field}"'):]
    cell = cell[:cell.index("</td>")]
    found = re.search(r'<div class="alert alert-danger">\s*([^<]+?)\s*</div>', cell)
    return found.group(1) if found else ""


def test_admin_stage_form_refuses_bad_rules_at_their_fields_and_saves_good_ones(app, login):
    from app.extensions import db
    from app.models import ApprovalStage

    with app.app_context():
        stage = db.session.scalar(select(ApprovalStage).where(ApprovalStage.actor == "central_it")
                                  .order_by(ApprovalStage.id).limit(1))
        stage_id = stage.id
    url = f"/approvalstageview/edit/{stage_id}"
    admin = login("admin")
    form = _stage_form(admin, url)
    bad = {**form, "remind_after_days": "5", "escalate_after_days": "3", "escalate_to": "superior_head",
           "return_after_days": "9", "return_reason": "", "csrf_token": admin.csrf_token(url)}
    page = admin.client.post(url, data=bad).get_data(as_text=True)
    assert _error_after(page, "remind_after_days") == "การแจ้งเตือนต้องมาก่อนการส่งเรื่องต่อ: ระบุจำนวนวันน้อยกว่าของการส่งเรื่องต่อ"
    assert _error_after(page, "escalate_to").startswith("ส่งเรื่องต่อถึงหัวหน้าหน่วยเหนือขึ้นไปได้เฉพาะ")
    assert _error_after(page, "return_reason") == "ระบุเหตุผลที่ผู้ยื่นคำขอจะได้อ่านเมื่อคำขอถูกส่งกลับ"
    page = admin.client.post(url, data={**bad, "remind_after_days": "-2", "escalate_after_days": "400",
                                        "return_after_days": "99999999999"}).get_data(as_text=True)
    assert "0 ถึง 365" in _error_after(page, "remind_after_days")
    assert "0 ถึง 365" in _error_after(page, "escalate_after_days")
    assert _error_after(page, "return_after_days")  # past what the column holds: refused, never a 500
    with app.app_context():
        unchanged = db.session.get(ApprovalStage, stage_id)
        assert (unchanged.remind_after_days, unchanged.escalate_after_days, unchanged.return_after_days) == \
            (None, None, None)

    good = {**form, "remind_after_days": "2", "escalate_after_days": "4", "escalate_to": "role",
            "escalate_to_role": "CentralIT", "return_after_days": "", "return_reason": "",
            "csrf_token": admin.csrf_token(url)}
    assert admin.client.post(url, data=good).status_code == 302
    try:
        with app.app_context():
            saved = db.session.get(ApprovalStage, stage_id)
            assert (saved.remind_after_days, saved.escalate_after_days, saved.escalate_to, saved.escalate_to_role,
                    saved.return_after_days, saved.return_reason) == (2, 4, "role", "CentralIT", None, None)
        shown = admin.get(f"/approvalstageview/show/{stage_id}").get_data(as_text=True)
        assert "ศทก." in shown and "แจ้งเตือนเมื่อครบ (วันทำการ)" in shown
    finally:
        with app.app_context():
            saved = db.session.get(ApprovalStage, stage_id)
            saved.remind_after_days = saved.escalate_after_days = saved.escalate_to = saved.escalate_to_role = None
            db.session.commit()


def test_each_step_of_the_sweep_reads_as_words_in_thai_and_english(app):
    from app.labels import audit_action_label, transition_label
    from app.workflow import machine

    system = sorted(n for n, t in machine.TRANSITIONS.items() if t.fired_by == machine.SYSTEM)
    assert system == ["escalate", "reassign", "remind", "return_overdue"]
    for language in ("th", "en"):
        with app.test_request_context(headers={"Accept-Language": language}):
            from flask import session as web_session

            web_session["locale"] = language
            for name in system:
                assert transition_label(name) not in ("", name)
                assert audit_action_label(f"AccessRequest.{name}") != f"AccessRequest.{name}"
    with app.test_request_context():
        assert transition_label("reassign") == "ส่งให้หัวหน้าหน่วยคนถัดไปพิจารณาแทน"
        assert audit_action_label("AccessRequest.remind") == "แจ้งเตือนการพิจารณา คำขอ"


def test_a_batch_costs_the_same_statements_for_few_or_many_requests(app, chased):
    """No read per request: what a batch needs of its requests, their people and their waits is read
    for all of them at once."""
    from tests.conftest import counted_statements
    from tests.factories import make_request

    session = chased.session
    chased.rules(remind_after_days=1)
    chain = session.get(ApprovalChain, chased.head_stage.chain_id)

    def waiting(count):
        for _ in range(count):
            make_request(session, make_officer(session, chased.station), chain=chain,
                         current_stage=chased.head_stage, certifying_head=chased.head, stage_entered_on=THURSDAY)
        session.flush()

    run(chased, KINGS_DAY_IN_LIEU)  # whatever else waits is reminded first
    waiting(2)
    with counted_statements(app) as few:
        assert run(chased, NEXT_FRIDAY).reminded == 2
    waiting(20)
    with counted_statements(app) as many:
        assert run(chased, NEXT_FRIDAY).reminded == 20

    def reads(statements):
        return [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]

    # The rows it writes go in as the ORM sends them (a batch of each on PostgreSQL).
    assert len(reads(many)) <= len(reads(few)), "\n".join(reads(many))
