"""A head away names a deputy: the deputy certifies in their place, for the days named only.

Service tests use the `World` of test_workflow (its own commands and officers, rolled back);
screen tests use the demo logins, with `commandtech2` (another command, who otherwise sees
nothing of Khon Kaen) as the deputy of `head`, and remove every delegation they made.
"""
import re
from dataclasses import replace
from datetime import date, timedelta

import pytest
from markupsafe import escape
from sqlalchemy import delete, select

from app.domain.thai_dates import thai_date
from app.errors import NotAllowed, NotFound, ValidationFailed
from app.models import AccessRequest, AuditEvent, Decision, Delegation, Officer, User
from app.security.scope import actor_for, is_visible
from app.services import access_requests as service
from app.services import delegations, inboxes
from tests.factories import decide
from tests.test_request_journey import _decide, _new_request, _request_id
from tests.test_workflow import CLOCK, TODAY, World

FIRST, LAST = TODAY + timedelta(days=1), TODAY + timedelta(days=5)


@pytest.fixture()
def world(db_session):
    return World(db_session)


def _name(world, deputy, starts=FIRST, ends=LAST, principal=None, today=TODAY, actor=None):
    principal = principal or world.head
    actor = actor or world.actor(principal, "Officer")
    return delegations.name_deputy(world.session, actor, deputy.user_id, starts, ends, "ลาพักผ่อน", today)


def _as_deputy(world, day, officer=None, *roles):
    """`officer` (the bystander by default) as the services see them on `day`."""
    officer = officer or world.bystander
    base = world.actor(officer, "Officer", *roles)
    return replace(base, stands_in_for=delegations.principal_ids(world.session, base.user_id, day))


def _in_to_certify(world, actor, request) -> bool:
    condition = inboxes.to_certify(world.session, actor)
    return condition is not None and world.session.scalar(
        select(AccessRequest.id).where(AccessRequest.id == request.id, condition)) is not None


def _stage_decision(world, request, stage_actor="certifying_head") -> Decision:
    return world.session.scalar(select(Decision).where(
        Decision.request_id == request.id, Decision.item_id.is_(None), Decision.transition == "approve",
        Decision.stage.has(actor=stage_actor)))


# -- the workflow ------------------------------------------------------------------------------
def test_a_deputy_certifies_for_the_head_during_the_delegation(world):
    _name(world, world.bystander)
    request = world.submitted()
    deputy = _as_deputy(world, FIRST + timedelta(days=1))
    assert deputy.stands_in_for == {world.head.user_id}
    assert service.stage_transitions(world.session, deputy, request) == ["approve", "return", "reject"]
    assert _in_to_certify(world, deputy, request)
    decide(world.session, deputy, request.id, "approve", CLOCK)
    assert request.current_stage.actor == "central_it"
    decision = _stage_decision(world, request)
    assert decision.actor_id == world.bystander.user_id
    assert decision.on_behalf_of_id == world.head.user_id
    event = world.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "AccessRequest.approve", AuditEvent.object_id == request.id))
    assert (event.actor_id, event.on_behalf_of_id) == (world.bystander.user_id, world.head.user_id)


def test_the_head_in_person_is_recorded_without_on_behalf(world):
    _name(world, world.bystander)
    request = world.submitted()
    decide(world.session, world.head_actor, request.id, "approve", CLOCK)
    assert _stage_decision(world, request).on_behalf_of_id is None


@pytest.mark.parametrize("day", [TODAY, LAST + timedelta(days=1), LAST + timedelta(days=30)])
def test_a_deputy_has_no_authority_before_or_after_the_days_named(world, day):
    _name(world, world.bystander)
    request = world.submitted()
    deputy = _as_deputy(world, day)
    assert deputy.stands_in_for == frozenset()
    assert service.stage_transitions(world.session, deputy, request) == []
    assert not _in_to_certify(world, deputy, request)
    assert not is_visible(world.session, deputy, AccessRequest, request.id)
    with pytest.raises(NotFound):
        decide(world.session, deputy, request.id, "approve", CLOCK)
    assert request.current_stage.actor == "certifying_head"


@pytest.mark.parametrize("day", [FIRST, LAST])
def test_both_ends_of_the_delegation_count(world, day):
    _name(world, world.bystander)
    request = world.submitted()
    decide(world.session, _as_deputy(world, day), request.id, "return", CLOCK, comment="แนบบันทึก")
    assert request.state == "returned"


def test_a_deputy_cannot_certify_their_own_request(world):
    _name(world, world.requester)
    request = world.submitted()
    deputy = _as_deputy(world, FIRST, world.requester)
    assert deputy.stands_in_for == {world.head.user_id}
    assert not _in_to_certify(world, deputy, request)
    assert service.stage_transitions(world.session, deputy, request) == []
    with pytest.raises(NotAllowed) as refused:
        decide(world.session, deputy, request.id, "approve", CLOCK)
    assert refused.value.message == service.MSG_OWN_REQUEST


def test_the_head_cannot_act_again_once_the_deputy_certified(world):
    _name(world, world.bystander)
    request = world.submitted()
    decide(world.session, _as_deputy(world, FIRST), request.id, "approve", CLOCK)
    # The head stage is over, and the deputy's decision, made with the head's authority, counts
    # as the head's: the head may not act again, not even at a stage their roles would open.
    assert service.stage_transitions(world.session, world.head_actor, request) == []
    with pytest.raises(NotAllowed) as refused:
        decide(world.session, world.head_actor, request.id, "approve", CLOCK)
    assert refused.value.message == service.MSG_TWO_STAGES
    head_in_central_it = world.actor(world.head, "Officer", "CentralIT")
    assert service.stage_transitions(world.session, head_in_central_it, request) == []
    with pytest.raises(NotAllowed) as refused:
        decide(world.session, head_in_central_it, request.id, "approve", CLOCK)
    assert refused.value.message == service.MSG_TWO_STAGES
    decide(world.session, world.central_actor, request.id, "approve", CLOCK)
    assert request.state == "completed"


def test_a_deputy_who_is_central_it_cannot_also_decide_the_central_it_stage(world):
    _name(world, world.bystander)
    request = world.submitted()
    deputy = _as_deputy(world, FIRST, world.bystander, "CentralIT")
    decide(world.session, deputy, request.id, "approve", CLOCK)
    assert service.stage_transitions(world.session, deputy, request) == []
    with pytest.raises(NotAllowed) as refused:
        decide(world.session, deputy, request.id, "approve", CLOCK)
    assert refused.value.message == service.MSG_TWO_STAGES


def test_a_delegation_lends_nothing_at_a_central_it_stage(world):
    """The deputy of a CentralIT user, not CentralIT themselves, still cannot decide that stage."""
    _name(world, world.bystander, principal=world.central)
    request = world.at_central_it()
    deputy = _as_deputy(world, FIRST, world.bystander, "Auditor")  # an auditor reads every request
    assert deputy.stands_in_for == {world.central.user_id}
    assert service.stage_transitions(world.session, deputy, request) == []
    with pytest.raises(NotAllowed) as refused:
        decide(world.session, deputy, request.id, "approve", CLOCK)
    assert refused.value.message == service.MSG_NOT_CENTRAL_IT


def test_the_deputy_sees_the_heads_requests_only_while_standing_in(world):
    _name(world, world.bystander)
    request = world.submitted()
    assert is_visible(world.session, _as_deputy(world, FIRST), AccessRequest, request.id)
    draft = world.draft()
    assert not is_visible(world.session, _as_deputy(world, FIRST), AccessRequest, draft.id)


def test_actor_for_knows_whom_a_user_stands_in_for_on_the_day_given(world):
    _name(world, world.bystander)
    user = world.session.get(User, world.bystander.user_id)
    assert delegations.actor_on(world.session, user, FIRST).stands_in_for == {world.head.user_id}
    assert delegations.actor_on(world.session, user, TODAY).stands_in_for == frozenset()
    assert actor_for(world.session, user).stands_in_for == frozenset()  # no day: own right only
    assert [u.id for u in delegations.principals_of(world.session, user.id, LAST)] == [world.head.user_id]
    assert delegations.principals_of(world.session, user.id, LAST + timedelta(days=1)) == []


# -- naming a deputy: what is refused ----------------------------------------------------------
def test_overlapping_delegations_of_one_principal_are_refused(world):
    first = _name(world, world.bystander)
    for starts, ends in [(FIRST, LAST), (LAST, LAST + timedelta(days=3)),
                         (FIRST - timedelta(days=1), FIRST), (FIRST + timedelta(days=1), LAST - timedelta(days=1))]:
        with pytest.raises(ValidationFailed) as refused:
            _name(world, world.tech, starts=starts, ends=ends)
        assert refused.value.message == delegations.MSG_OVERLAP
        assert refused.value.params["starts"] == first.starts_on
        assert thai_date(first.starts_on) in refused.value.translated()
    # The day after the last day is free; another principal's days never clash.
    _name(world, world.tech, starts=LAST + timedelta(days=1), ends=LAST + timedelta(days=2))
    _name(world, world.bystander, principal=world.tech)


@pytest.mark.parametrize(("starts", "ends", "message"), [
    (TODAY - timedelta(days=1), LAST, delegations.MSG_DATES_PAST),
    (LAST, FIRST, delegations.MSG_DATES_ORDER),
    (FIRST, FIRST + timedelta(days=90), delegations.MSG_TOO_LONG),
    (None, LAST, delegations.MSG_DATES_REQUIRED),
])
def test_days_out_of_range_are_refused(world, starts, ends, message):
    with pytest.raises(ValidationFailed) as refused:
        _name(world, world.bystander, starts=starts, ends=ends)
    assert refused.value.message == message


def test_ninety_days_starting_today_are_allowed(world):
    delegation = _name(world, world.bystander, starts=TODAY, ends=TODAY + timedelta(days=89))
    assert delegation.id is not None


def test_one_cannot_be_ones_own_deputy(world):
    with pytest.raises(ValidationFailed) as refused:
        _name(world, world.head)
    assert refused.value.message == delegations.MSG_DEPUTY_SELF


def test_the_deputy_is_an_active_officer_with_a_login(world):
    retired = world.tech
    retired.status = "retired"
    with pytest.raises(ValidationFailed) as refused:
        _name(world, retired)
    assert refused.value.message == delegations.MSG_DEPUTY_NOT_OFFICER
    no_officer = world.users["admin"]  # World lends the demo officers' logins away: admin has none
    with pytest.raises(ValidationFailed) as refused:
        delegations.name_deputy(world.session, world.head_actor, no_officer.id, FIRST, LAST, "", TODAY)
    assert refused.value.message == delegations.MSG_DEPUTY_NOT_OFFICER


def test_only_for_oneself_unless_admin(world):
    with pytest.raises(NotAllowed) as refused:
        delegations.name_deputy(world.session, world.officer_actor, world.bystander.user_id, FIRST, LAST,
                                "", TODAY, principal_user_id=world.head.user_id)
    assert refused.value.message == delegations.MSG_ONLY_FOR_YOURSELF
    admin = world.users["admin"]
    admin_actor = service.Actor(user_id=admin.id, roles=frozenset({"Admin"}))
    made = delegations.name_deputy(world.session, admin_actor, world.bystander.user_id, FIRST, LAST,
                                   "", TODAY, principal_user_id=world.head.user_id)
    assert (made.principal_user_id, made.created_by_id) == (world.head.user_id, admin.id)


def test_a_principal_is_a_head_capable_officer_or_central_it(world):
    tech2 = world.users["commandtech2"]  # CommandTech, and no officer record in this World
    actor = service.Actor(user_id=tech2.id, roles=frozenset({"Officer", "CommandTech"}))
    with pytest.raises(ValidationFailed) as refused:
        delegations.name_deputy(world.session, actor, world.bystander.user_id, FIRST, LAST, "", TODAY)
    assert refused.value.message == delegations.MSG_PRINCIPAL_NOT_HEAD


def test_a_central_it_user_without_an_officer_record_is_covered_only_by_central_it(world):
    central_user = world.session.get(User, world.central.user_id)
    world.central.user_id = None
    world.session.flush()
    actor = service.Actor(user_id=central_user.id, roles=frozenset({"Officer", "CentralIT"}))
    with pytest.raises(ValidationFailed) as refused:
        delegations.name_deputy(world.session, actor, world.bystander.user_id, FIRST, LAST, "", TODAY)
    assert refused.value.message == delegations.MSG_DEPUTY_NOT_CENTRAL_IT


def test_naming_and_cancelling_are_audited(world):
    upcoming = _name(world, world.bystander)
    created = world.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "Delegation.create", AuditEvent.object_id == upcoming.id))
    assert created.actor_id == world.head.user_id
    assert created.after["deputy_user_id"] == world.bystander.user_id
    assert created.unit_id == world.head.home_unit_id
    upcoming_id = upcoming.id
    # Not yet begun: removed (the trail keeps it).
    assert delegations.cancel_delegation(world.session, world.head_actor, upcoming_id, TODAY) is None
    assert world.session.get(Delegation, upcoming_id) is None
    cancelled = world.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "Delegation.cancel", AuditEvent.object_id == upcoming_id))
    assert cancelled.before["starts_on"] == FIRST.isoformat()


def test_a_running_delegation_cancelled_ends_yesterday(world):
    running = _name(world, world.bystander)
    day = FIRST + timedelta(days=2)
    request = world.submitted()
    delegations.cancel_delegation(world.session, world.head_actor, running.id, day)
    assert running.ends_on == day - timedelta(days=1)
    with pytest.raises(NotFound):
        decide(world.session, _as_deputy(world, day), request.id, "approve", CLOCK)
    with pytest.raises(ValidationFailed) as refused:
        delegations.cancel_delegation(world.session, world.head_actor, running.id, day)
    assert refused.value.message == delegations.MSG_ENDED


def test_only_the_principal_or_an_admin_cancels(world):
    made = _name(world, world.bystander)
    for actor in (world.officer_actor, _as_deputy(world, FIRST)):
        with pytest.raises(NotFound):
            delegations.cancel_delegation(world.session, actor, made.id, TODAY)
    assert world.session.get(Delegation, made.id) is not None


# -- the screens ---------------------------------------------------------------------------------
def _user_id(db, username: str) -> int:
    return db.session.scalar(select(User.id).where(User.username == username))


@pytest.fixture()
def head_away(app):
    """set(starts, ends): commandtech2 is head's deputy for those days (written as is)."""
    from app.extensions import db

    def set_days(starts: date, ends: date) -> int:
        with app.app_context():
            head, deputy = _user_id(db, "head"), _user_id(db, "commandtech2")
            db.session.execute(delete(Delegation).where(Delegation.principal_user_id == head))
            row = Delegation(principal_user_id=head, deputy_user_id=deputy, starts_on=starts, ends_on=ends)
            db.session.add(row)
            db.session.commit()
            return row.id

    yield set_days
    with app.app_context():
        ids = [_user_id(db, name) for name in ("head", "commandtech2")]
        db.session.execute(delete(Delegation).where(
            (Delegation.principal_user_id.in_(ids)) | (Delegation.deputy_user_id.in_(ids))))
        db.session.commit()


def _local_today(app) -> date:
    from app.formatting import local_today

    with app.app_context():
        return local_today()


def test_the_deputy_finds_and_certifies_the_heads_request_only_during_the_delegation(app, login, head_away, requester):
    from app.extensions import db

    today = _local_today(app)
    pk = _request_id(_new_request(requester, app))
    link = f"/requests/show/{pk}"
    for starts, ends in [(today + timedelta(days=1), today + timedelta(days=3)),
                         (today - timedelta(days=5), today - timedelta(days=1))]:
        head_away(starts, ends)
        deputy = login("commandtech2")
        assert link not in deputy.get("/tocertifyview/list/").get_data(as_text=True)
        assert deputy.get(link).status_code == 404
    head_away(today, today + timedelta(days=3))
    deputy = login("commandtech2")
    assert link in deputy.get("/tocertifyview/list/").get_data(as_text=True)
    page = deputy.get(link).get_data(as_text=True)
    assert 'id="btn-approve"' in page and 'id="deputy-note"' in page
    assert _decide(deputy, pk, "approve").status_code == 302
    with app.app_context():
        decision = db.session.scalar(select(Decision).where(
            Decision.request_id == pk, Decision.transition == "approve", Decision.item_id.is_(None)))
        assert decision.actor_id == _user_id(db, "commandtech2")
        assert decision.on_behalf_of_id == _user_id(db, "head")
        assert db.session.get(AccessRequest, pk).current_stage.actor == "central_it"
        head_name = db.session.scalar(select(Officer).join(User, Officer.user_id == User.id)
                                      .where(User.username == "head")).first_name_th
    timeline = requester.get(link).get_data(as_text=True).split('id="timeline"', 1)[1]
    on_behalf = re.search(r'<span class="sitthi-on-behalf">([^<]*)</span>', timeline)
    assert on_behalf and head_name in on_behalf.group(1)


def _add_form(user, **fields):
    url = "/mydeputyview/add"
    data = {"csrf_token": user.csrf_token(url), "reason": "ไปราชการต่างจังหวัด", **fields}
    return user.client.post(url, data=data)


def test_a_head_names_a_deputy_on_my_deputies_and_sees_only_their_own(app, login, head_away):
    from app.extensions import db
    from app.services.delegations import MSG_OVERLAP

    today = _local_today(app)
    head = login("head")
    assert head.get("/mydeputyview/add").status_code == 200
    found = head.get("/mydeputyview/candidates?q=ปิยะ").get_json()["results"]
    with app.app_context():
        deputy_id = _user_id(db, "commandtech2")
        head_id = _user_id(db, "head")
        unit_name = str(db.session.scalar(select(Officer).where(Officer.user_id == deputy_id)).home_unit)
    assert deputy_id in [r["id"] for r in found]
    text = next(r["text"] for r in found if r["id"] == deputy_id)
    assert "ร.ต.อ.ปิยะ นครบาลดี" in text and unit_name in text  # rank, name and unit
    assert all(r["id"] != head_id for r in head.get("/mydeputyview/candidates?q=ประยุทธ").get_json()["results"])
    days = {"starts_on": today.isoformat(), "ends_on": (today + timedelta(days=2)).isoformat()}
    _add_form(head, deputy=str(deputy_id), **days)
    with app.app_context():
        made = db.session.scalars(select(Delegation).where(Delegation.principal_user_id == head_id)).all()
        assert [(d.deputy_user_id, d.starts_on, d.created_by_id) for d in made] == [(deputy_id, today, head_id)]
        delegation_id = made[0].id
    # The same days again: refused with the reason, nothing added.
    again = _add_form(head, deputy=str(deputy_id), **days).get_data(as_text=True)
    with app.app_context():
        from flask_babel import gettext

        assert db.session.scalar(select(Delegation.id).where(
            Delegation.principal_user_id == head_id, Delegation.id != delegation_id)) is None
        with app.test_request_context():
            deputy_name = str(db.session.get(User, deputy_id))
            # the dates as a Thai reader reads them (24 ก.ค. 2569), not ISO
            message = gettext(MSG_OVERLAP, starts=thai_date(today),
                              ends=thai_date(today + timedelta(days=2)), deputy=deputy_name)
    assert str(escape(message)) in again
    # Only one's own delegations are listed (an Admin sees all); another's cannot be opened.
    show = f"/mydeputyview/show/{delegation_id}"
    assert show in head.get("/mydeputyview/list/").get_data(as_text=True)
    assert show in login("admin").get("/mydeputyview/list/").get_data(as_text=True)
    officer = login("officer")
    assert show not in officer.get("/mydeputyview/list/").get_data(as_text=True)
    assert officer.get(show).status_code == 404
    # Cancel from the list: refused to someone else (FAB loads action rows unscoped), done for the principal.
    cancel = {"action": "cancel_delegation", "rowid": str(delegation_id)}
    officer.client.post("/mydeputyview/action_post", data={**cancel, "csrf_token": officer.csrf_token("/mydeputyview/add")})
    with app.app_context():
        assert db.session.get(Delegation, delegation_id) is not None
    head.client.post("/mydeputyview/action_post", data={**cancel, "csrf_token": head.csrf_token("/mydeputyview/list/")})
    with app.app_context():
        assert db.session.get(Delegation, delegation_id) is None


def test_an_officer_cannot_name_a_deputy_for_someone_else_through_the_form(app, login, head_away):
    from app.extensions import db

    today = _local_today(app)
    officer = login("officer")
    with app.app_context():
        head_id, deputy_id = _user_id(db, "head"), _user_id(db, "commandtech2")
    # The form has no principal field for an officer: a smuggled one is ignored (own delegation).
    _add_form(officer, principal=str(head_id), deputy=str(deputy_id), starts_on=today.isoformat(),
              ends_on=today.isoformat())
    with app.app_context():
        assert db.session.scalar(select(Delegation.id).where(Delegation.principal_user_id == head_id)) is None
        assert db.session.scalar(select(Delegation.principal_user_id).where(
            Delegation.deputy_user_id == deputy_id)) == _user_id(db, "officer")
        db.session.execute(delete(Delegation).where(Delegation.deputy_user_id == deputy_id))
        db.session.commit()
    admin = login("admin")
    _add_form(admin, principal=str(head_id), deputy=str(deputy_id), starts_on=today.isoformat(),
              ends_on=today.isoformat())
    with app.app_context():
        assert db.session.scalar(select(Delegation.principal_user_id).where(
            Delegation.deputy_user_id == deputy_id)) == head_id
