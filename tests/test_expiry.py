"""Permissions over time: expiry, reminders, one-click renewal, the end of a temporary assignment.

Service tests run on the shared database inside a rolled-back transaction, on a day long before
the demo data (2024), so every count is exactly what the test made. Screen and CLI tests commit,
so they run on a database of their own.
"""
import re
import threading
from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select

from app.errors import NotAllowed, NotFound
from app.models import (
    AccessRequest,
    AuditEvent,
    DataSource,
    DeactivationNotice,
    Grant,
    Notification,
    Officer,
    RankGroup,
    SystemFunction,
    Unit,
    User,
)
from app.security.scope import is_visible
from app.services import access_requests as service
from app.services import renewal
from app.services.clock import Clock
from app.services.expiry import REASON_ASSIGNMENT_ENDED, ExpiryReport, run_expiry
from app.services.notifications import APP_URL_MARK
from tests.conftest import POSTGRES_ADMIN_URL, Browser, build_app, prepare_database
from tests.factories import SEARCH_DOCUMENTS, decide, make_grant, make_officer
from tests.test_workflow import World

DAY = date(2024, 6, 3)  # a Monday, before any demo grant begins
CLOCK = Clock.on(DAY)
REMIND = 30


@pytest.fixture()
def world(db_session):
    return World(db_session)


def grant(session, officer, source="vehicles", until=DAY + timedelta(days=200), **fields):
    return make_grant(session, officer, source, valid_from=until - timedelta(days=365), valid_until=until,
                      **fields)


def function(session, code) -> SystemFunction:
    return session.scalar(select(SystemFunction).where(SystemFunction.code == code))


def mails_to(session, email) -> list[Notification]:
    return list(session.scalars(select(Notification).where(Notification.recipient_email == email)
                                .order_by(Notification.id)))


def events(session, action, obj) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.object_id == obj.id).order_by(AuditEvent.id)))


def through_the_chain(world, request, clock, deciders):
    """Submit a draft as the requester, then approve it at each stage with the given actors."""
    service.submit(world.session, world.officer_actor, request.id, clock)
    for actor in deciders:
        decide(world.session, actor, request.id, "approve", clock)
    assert request.state == "completed"
    return request


def request_data(world, kind, **fields):
    values = dict(kind=kind, contact_email="me@police.example", contact_mobile="0812345678",
                  duty_performed="สืบสวน", pledge_accepted=True, certifying_head_id=world.head.id)
    values.update(fields)
    return service.RequestData(**values)


# -- (a) expiry and (b) reminders -------------------------------------------------------------------
def test_expiry_is_idempotent_a_second_run_changes_nothing(world):
    session, officer = world.session, world.requester
    past = grant(session, officer, "vehicles", until=DAY - timedelta(days=1))
    last_day = grant(session, officer, "aliens", until=DAY)
    far = grant(session, officer, "company_registry", until=DAY + timedelta(days=200))

    first = run_expiry(session, DAY, REMIND)

    assert (first.expired, first.reminded, first.assignments_ended) == (1, 1, 0)
    assert (past.state, last_day.state, far.state) == ("expired", "active", "active")
    [event] = events(session, "Grant.expire", past)
    assert (event.before, event.after["state"]) == ({"state": "active"}, "expired")
    subjects = [m.subject for m in mails_to(session, officer.email)]
    assert any("หมดอายุแล้ว" in s and "has expired" in s for s in subjects)
    versions = (past.version, last_day.version, far.version)
    mail_count = session.scalar(select(func.count(Notification.id)))

    second = run_expiry(session, DAY, REMIND)

    assert second == ExpiryReport()
    assert (past.version, last_day.version, far.version) == versions
    assert session.scalar(select(func.count(Notification.id))) == mail_count
    assert len(events(session, "Grant.expire", past)) == 1


def test_a_reminder_is_sent_once_in_thai_and_english_with_the_link(world):
    session, officer = world.session, world.requester
    soon = grant(session, officer, "vehicles", until=DAY + timedelta(days=20))
    later = grant(session, officer, "aliens", until=DAY + timedelta(days=REMIND + 1))

    assert run_expiry(session, DAY, REMIND).reminded == 1
    assert (soon.reminded_on, later.reminded_on) == (DAY, None)
    [mail] = mails_to(session, officer.email)
    assert "ยานพาหนะ" in mail.subject and "Vehicles expires on 2024-06-23" in mail.subject
    assert "อีก 20 วัน" in mail.body and "(20 days left)" in mail.body
    assert f"{APP_URL_MARK}/mygrantview/list/" in mail.body
    assert mail.recipient_user_id == officer.user_id

    # The next hour, the next day: the first grant is not reminded again; the second enters the window.
    assert run_expiry(session, DAY, REMIND).reminded == 0
    assert run_expiry(session, DAY + timedelta(days=1), REMIND).reminded == 1
    assert run_expiry(session, DAY + timedelta(days=1), REMIND).reminded == 0
    assert later.reminded_on == DAY + timedelta(days=1)
    assert len(mails_to(session, officer.email)) == 2


def test_expiry_of_an_activated_civil_registration_grant_asks_the_agency_to_deactivate(world):
    session, officer = world.session, world.requester
    group = session.scalar(select(RankGroup).where(RankGroup.number == 2))
    activated = grant(session, officer, "civil_registration", until=DAY - timedelta(days=2), rank_group=group,
                      activated_on=DAY - timedelta(days=300), agency_reference="DOPA-2566-7")
    plain = grant(session, officer, "vehicles", until=DAY - timedelta(days=2))

    report = run_expiry(session, DAY, REMIND)

    assert (report.expired, report.deactivation_notices) == (2, 1)
    [notice] = session.scalars(select(DeactivationNotice).where(DeactivationNotice.grant_id == activated.id))
    assert notice.state == "pending" and "expired" in notice.reason
    assert notice.agency.code == "DOPA"
    assert session.scalar(select(DeactivationNotice).where(DeactivationNotice.grant_id == plain.id)) is None
    if notice.agency.contact_email:
        assert any(officer.national_id_full in m.body for m in mails_to(session, notice.agency.contact_email))
    assert run_expiry(session, DAY, REMIND).deactivation_notices == 0


def test_the_set_based_run_bumps_each_version_once_and_mails_the_login_when_the_record_has_no_address(world):
    """What the ORM did per grant, the set-based UPDATE must do too: a new version (a form opened
    before the run fails as stale) and the holder's mail, to the login's address when the
    personnel record has none."""
    session, officer = world.session, world.requester
    officer.email = None
    login_email = world.users["officer"].email
    past = grant(session, officer, "vehicles", until=DAY - timedelta(days=1))
    soon = grant(session, officer, "aliens", until=DAY + timedelta(days=5))
    function_grant = make_grant(session, officer, None, data_source=None, function=function(session, "crimes_account"),
                                valid_from=DAY - timedelta(days=365), valid_until=DAY - timedelta(days=1))
    before = {g.id: (g.version, g.updated_at) for g in (past, soon, function_grant)}
    earlier = {m.id for m in mails_to(session, login_email)}  # the demo login's, from other tests

    report = run_expiry(session, DAY, REMIND)

    assert (report.expired, report.reminded) == (2, 1)
    for held in (past, soon, function_grant):
        version, updated_at = before[held.id]
        assert held.version == version + 1 and held.updated_at != updated_at
    [event] = events(session, "Grant.expire", function_grant)
    assert event.summary == str(function_grant) and event.unit_id == officer.home_unit_id
    assert event.after == {"state": "expired", "valid_until": (DAY - timedelta(days=1)).isoformat()}
    mails = [m for m in mails_to(session, login_email) if m.id not in earlier]
    assert len(mails) == 3 and {m.recipient_user_id for m in mails} == {officer.user_id}
    assert any(function_grant.function.name_th in m.subject and "has expired" in m.subject for m in mails)


# -- renewal -------------------------------------------------------------------------------------
def test_renewal_is_prefilled_from_the_grant(world):
    session, officer, actor = world.session, world.requester, world.officer_actor
    group = session.scalar(select(RankGroup).where(RankGroup.number == 2))
    search = grant(session, officer, "civil_registration", until=DAY + timedelta(days=9), rank_group=group)
    account = make_grant(session, officer, None, function=function(session, "crimes_account"), data_source=None,
                         valid_from=DAY - timedelta(days=300), valid_until=DAY + timedelta(days=9))
    other = make_grant(session, officer, None, function=function(session, "crimes_case_search"),
                       data_source=None, state="expired", valid_from=DAY - timedelta(days=400),
                       valid_until=DAY - timedelta(days=30))

    started = renewal.start_renewal(session, actor, search.id, CLOCK)
    request = started.request
    assert started.created and request.state == "draft" and request.kind == "external_search_renewal"
    assert [(i.data_source_id, i.rank_group_id) for i in request.items] == [(search.data_source_id, group.id)]
    assert (request.contact_email, request.contact_mobile) == (officer.email, officer.mobile)
    assert request.certifying_head_id is None and not request.pledge_accepted  # the officer's own acts

    again = renewal.start_renewal(session, actor, search.id, CLOCK)
    assert not again.created and again.request.id == request.id  # no second draft

    assert renewal.start_renewal(session, actor, account.id, CLOCK).request.kind == "account_renewal"
    functions = renewal.start_renewal(session, actor, other.id, CLOCK).request
    assert functions.kind == "additional_functions"
    assert [i.function_id for i in functions.items] == [other.function_id]


def test_only_ones_own_active_or_expired_grant_is_renewed(world):
    session = world.session
    revoked = grant(session, world.requester, state="revoked")
    someone_elses = grant(session, world.bystander)
    with pytest.raises(NotAllowed):
        renewal.start_renewal(session, world.officer_actor, revoked.id, CLOCK)
    with pytest.raises(NotFound):
        renewal.start_renewal(session, world.officer_actor, someone_elses.id, CLOCK)
    assert session.scalar(select(func.count(AccessRequest.id)).where(
        AccessRequest.requester_id == world.requester.id)) == 0


def test_a_completed_renewal_extends_the_same_grant(world):
    session, officer = world.session, world.requester
    held = grant(session, officer, "vehicles", until=DAY + timedelta(days=10), reminded_on=DAY - timedelta(days=20))

    request = renewal.start_renewal(session, world.officer_actor, held.id, CLOCK).request
    # The officer names the head and accepts the pledge on the form, then submits.
    service.save_draft(session, world.officer_actor, request_data(
        world, request.kind, contact_email=request.contact_email,
        sources=(service.SourceChoice(held.data_source_id),)), CLOCK, request_id=request.id,
        uploads=SEARCH_DOCUMENTS)
    through_the_chain(world, request, CLOCK, [world.head_actor, world.central_actor])

    vehicles = session.get(DataSource, held.data_source_id)
    grants = session.scalars(select(Grant).where(
        Grant.officer_id == officer.id, Grant.data_source_id == held.data_source_id)).all()
    assert grants == [held]
    assert held.state == "active"
    assert held.valid_until == DAY + relativedelta(months=vehicles.default_validity_months)
    assert held.request_id == request.id and held.reminded_on is None  # reminded again next time
    [extended] = events(session, "Grant.extend", held)
    assert extended.before == {"valid_until": (DAY + timedelta(days=10)).isoformat()}


def test_a_renewal_the_agency_refuses_leaves_the_grant_to_run_out(world):
    session, officer = world.session, world.requester
    group = session.scalar(select(RankGroup).where(RankGroup.number == 2))
    held = grant(session, officer, "civil_registration", until=DAY + timedelta(days=10), rank_group=group,
                 activated_on=DAY - timedelta(days=300), agency_reference="DOPA-1")
    request = renewal.start_renewal(session, world.officer_actor, held.id, CLOCK).request
    service.save_draft(session, world.officer_actor, request_data(
        world, request.kind, sources=(service.SourceChoice(held.data_source_id, group.id),)),
        CLOCK, request_id=request.id, uploads=SEARCH_DOCUMENTS)
    through_the_chain(world, request, CLOCK, [world.head_actor, world.central_actor])
    assert request.current_stage.actor == "agency"
    assert session.scalar(select(func.count(Grant.id)).where(
        Grant.officer_id == officer.id, Grant.data_source_id == held.data_source_id)) == 1
    assert (held.state, held.valid_until) == ("active", DAY + timedelta(days=10))

    service.record_activation(session, world.central_actor, request.items[0].id, CLOCK, activated=False,
                              comment="ไม่ต่ออายุ")
    assert (held.state, held.valid_until) == ("active", DAY + timedelta(days=10))


def test_a_renewal_the_agency_activates_extends_the_same_grant(world):
    session, officer = world.session, world.requester
    group = session.scalar(select(RankGroup).where(RankGroup.number == 2))
    held = grant(session, officer, "civil_registration", until=DAY + timedelta(days=10), rank_group=group,
                 activated_on=DAY - timedelta(days=300), agency_reference="DOPA-1", reminded_on=DAY)
    request = renewal.start_renewal(session, world.officer_actor, held.id, CLOCK).request
    service.save_draft(session, world.officer_actor, request_data(
        world, request.kind, sources=(service.SourceChoice(held.data_source_id, group.id),)),
        CLOCK, request_id=request.id, uploads=SEARCH_DOCUMENTS)
    through_the_chain(world, request, CLOCK, [world.head_actor, world.central_actor])
    service.record_activation(session, world.central_actor, request.items[0].id, CLOCK, activated=True,
                              reference="DOPA-2", activated_on=DAY)
    grants = session.scalars(select(Grant).where(
        Grant.officer_id == officer.id, Grant.data_source_id == held.data_source_id)).all()
    assert grants == [held]
    assert held.state == "active" and held.agency_reference == "DOPA-2" and held.reminded_on is None
    assert held.valid_until == DAY + relativedelta(months=held.data_source.default_validity_months)


# -- user accounts -------------------------------------------------------------------------------
def test_a_completed_account_request_leaves_an_active_account_grant(world):
    session, officer = world.session, world.requester
    account = function(session, "crimes_account")

    new = service.save_draft(session, world.officer_actor, request_data(world, "new_account"), CLOCK)
    assert new.items == []
    through_the_chain(world, new, CLOCK, [world.head_actor, world.tech_actor])
    [held] = session.scalars(select(Grant).where(Grant.officer_id == officer.id, Grant.function_id == account.id))
    assert held.state == "active" and held.request_id == new.id
    assert held.valid_until == DAY + relativedelta(months=account.default_validity_months)
    assert held.command_id == world.command.id  # administered by the command that gave it

    later = Clock.on(DAY + timedelta(days=300))
    renewed = service.save_draft(session, world.officer_actor, request_data(world, "account_renewal"), later)
    through_the_chain(world, renewed, later, [world.head_actor, world.tech_actor])
    assert session.scalars(select(Grant).where(
        Grant.officer_id == officer.id, Grant.function_id == account.id)).all() == [held]
    assert held.valid_until == later.today + relativedelta(months=account.default_validity_months)


# -- (c) and (d) temporary assignments -------------------------------------------------------------
def test_an_assignment_ends_on_its_date_and_the_acting_commands_grants_stop(world):
    session, officer = world.session, world.requester
    # Lend commandtech2 to the acting command, so its technology staff can be told.
    acting_tech = make_officer(session, world.other_command, user_id=world.users["commandtech2"].id)
    start = service.save_draft(session, world.officer_actor, request_data(
        world, "temporary_assignment", target_unit_id=world.other_station.id,
        assignment_until=DAY + timedelta(days=30)), CLOCK)
    through_the_chain(world, start, CLOCK, [world.head_actor, world.other_tech_actor])
    assert officer.acting_unit_id == world.other_station.id
    assert is_visible(session, world.other_tech_actor, Officer, officer.id)
    assert is_visible(session, world.tech_actor, Officer, officer.id)

    # A right asked for while acting is administered by the acting command.
    while_acting = service.save_draft(session, world.officer_actor, request_data(
        world, "external_search", sources=(service.SourceChoice(world.source("aliens").id),)), CLOCK,
        uploads=SEARCH_DOCUMENTS)
    through_the_chain(world, while_acting, CLOCK, [world.head_actor, world.central_actor])
    acting_grant = session.scalar(select(Grant).where(Grant.request_id == while_acting.id))
    assert acting_grant.command_id == world.other_command.id
    home_grant = grant(session, officer, "vehicles", command_id=world.command.id)
    unbound = grant(session, officer, "company_registry")

    assert run_expiry(session, DAY + timedelta(days=30), REMIND).assignments_ended == 0  # the last day
    report = run_expiry(session, DAY + timedelta(days=31), REMIND)

    assert (report.assignments_ended, report.suspended) == (1, 1)
    assert (officer.acting_unit_id, officer.acting_until) == (None, None)
    assert acting_grant.state == "suspended" and "assignment ended" in acting_grant.reason
    assert (home_grant.state, unbound.state) == ("active", "active")
    assert not is_visible(session, world.other_tech_actor, Officer, officer.id)
    assert is_visible(session, world.tech_actor, Officer, officer.id)
    [ended] = events(session, "Officer.assignment_end", officer)
    assert ended.before["acting_unit_id"] == world.other_station.id
    [suspended] = events(session, "Grant.suspend", acting_grant)
    assert suspended.unit_id == world.other_station.id  # filed where the acting command reads it
    told = {m.recipient_email for m in session.scalars(select(Notification).where(
        Notification.subject.contains("สิ้นสุดการช่วยราชการ")))}
    assert {officer.email, world.users["commandtech"].email, world.users["commandtech2"].email} <= told
    assert acting_tech.user_id == world.users["commandtech2"].id

    assert run_expiry(session, DAY + timedelta(days=31), REMIND) == ExpiryReport()


def test_a_completed_return_home_request_suspends_the_acting_commands_grants(world):
    session, officer = world.session, world.requester
    officer.acting_unit_id, officer.acting_until = world.other_station.id, DAY + timedelta(days=60)
    session.flush()
    acting_grant = grant(session, officer, "aliens", command_id=world.other_command.id)
    waiting = grant(session, officer, "civil_registration", command_id=world.other_command.id,
                    state="pending_activation",
                    rank_group=session.scalar(select(RankGroup).where(RankGroup.number == 2)))
    home_grant = grant(session, officer, "vehicles", command_id=world.command.id)

    back = service.save_draft(session, world.officer_actor, request_data(world, "return_home_unit"), CLOCK)
    through_the_chain(world, back, CLOCK, [world.head_actor, world.other_tech_actor])

    assert (officer.acting_unit_id, officer.acting_until) == (None, None)
    assert (acting_grant.state, waiting.state, home_grant.state) == ("suspended", "suspended", "active")
    assert acting_grant.reason == REASON_ASSIGNMENT_ENDED
    assert events(session, "Grant.suspend", acting_grant)[0].actor_id == world.other_tech.user_id
    assert run_expiry(session, DAY, REMIND) == ExpiryReport()


def test_an_assignment_inside_the_home_command_takes_nothing_away(world):
    session, officer = world.session, world.requester
    sibling = Unit(code="T-SIBLING", name_th="หน่วยพี่น้อง", kind="station", parent=world.command)
    session.add(sibling)
    session.flush()
    officer.acting_unit_id, officer.acting_until = sibling.id, DAY - timedelta(days=1)
    same_command = grant(session, officer, "vehicles", command_id=world.command.id)
    report = run_expiry(session, DAY, REMIND)
    assert (report.assignments_ended, report.suspended, same_command.state) == (1, 0, "active")


# -- screens and the CLI, on a database of their own -----------------------------------------------
@pytest.fixture(scope="module")
def own_app(databases):
    from app.extensions import db

    application = build_app(databases.new_url("expiry"))
    prepare_database(application)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def _login(application, username) -> Browser:
    user = Browser(application.test_client())
    assert user.login(username).status_code == 302
    return user


def _officer_of(session, username) -> Officer:
    return session.scalar(select(Officer).join(User, Officer.user_id == User.id).where(User.username == username))


def _unit(session, code) -> Unit:
    return session.scalar(select(Unit).where(Unit.code == code))


def _today(application) -> date:
    from app.formatting import local_today

    with application.test_request_context():
        return local_today()


def test_my_permissions_show_days_left_and_renew_only_what_may_be_renewed(own_app):
    from app.extensions import db

    today = _today(own_app)
    with own_app.app_context():
        officer = _officer_of(db.session, "officer")
        soon = make_grant(db.session, officer, "prisoners", valid_until=today + timedelta(days=10))
        lapsed = make_grant(db.session, officer, "foreign_workers", state="expired",
                            valid_from=today - timedelta(days=400), valid_until=today - timedelta(days=5))
        revoked = make_grant(db.session, officer, "released_offenders", state="revoked")
        db.session.commit()
        ids = soon.id, lapsed.id, revoked.id
    user = _login(own_app, "officer")
    user.get("/lang/en")
    page = user.get("/mygrantview/list/").get_data(as_text=True)

    assert 'data-days="10"' in page and "10 days" in page
    assert 'data-days="-5"' in page and "expired 5 days ago" in page
    actions = set(re.findall(r'action="/grants/renew/(\d+)"', page))
    assert {str(ids[0]), str(ids[1])} <= actions and str(ids[2]) not in actions


def renewals(session, officer_id) -> int:
    return session.scalar(select(func.count(AccessRequest.id)).where(
        AccessRequest.requester_id == officer_id, AccessRequest.kind == "external_search_renewal"))


def test_renew_opens_a_prefilled_draft_on_the_request_form(own_app):
    from app.extensions import db

    today = _today(own_app)
    with own_app.app_context():
        officer = _officer_of(db.session, "officer")
        held = make_grant(db.session, officer, "health_insurance", valid_until=today + timedelta(days=12))
        theirs = make_grant(db.session, _officer_of(db.session, "head"), "health_insurance")
        db.session.commit()
        held_id, theirs_id, officer_id, email = held.id, theirs.id, officer.id, officer.email
        before = renewals(db.session, officer_id)
    user = _login(own_app, "officer")
    url = f"/grants/renew/{held_id}"

    assert user.post(url).status_code == 400  # no CSRF token, nothing made
    token = user.csrf_token("/mygrantview/list/")
    response = user.post(url, data={"csrf_token": token})
    assert response.status_code == 302
    pk = int(re.search(r"/requests/edit/(\d+)$", response.headers["Location"]).group(1))
    with own_app.app_context():
        draft = db.session.get(AccessRequest, pk)
        assert (draft.kind, draft.state, draft.requester_id) == ("external_search_renewal", "draft", officer_id)
        assert [i.data_source.code for i in draft.items] == ["health_insurance"]
        assert draft.contact_email == email
    form = user.get(f"/requests/edit/{pk}")
    assert form.status_code == 200 and email in form.get_data(as_text=True)

    again = user.post(url, data={"csrf_token": token})
    assert again.headers["Location"].endswith(f"/requests/edit/{pk}")  # the same draft, not a second
    refused = user.post(f"/grants/renew/{theirs_id}", data={"csrf_token": token})
    assert refused.headers["Location"].endswith("/mygrantview/list/")
    with own_app.app_context():
        assert renewals(db.session, officer_id) == before + 1


def test_expiring_soon_lists_only_the_users_own_command_soonest_first(own_app):
    from app.extensions import db

    today = _today(own_app)
    with own_app.app_context():
        session = db.session
        khon_kaen = make_officer(session, _unit(session, "KKN-MUEANG"), first_name_th="ใกล้หมดขอนแก่น")
        sooner = make_officer(session, _unit(session, "KKN-MUEANG"), first_name_th="หมดก่อนขอนแก่น")
        bangkok = make_officer(session, _unit(session, "MPD1"), first_name_th="ใกล้หมดนครบาล")
        relaxed = make_officer(session, _unit(session, "KKN-MUEANG"), first_name_th="ยังอีกนานขอนแก่น")
        make_grant(session, khon_kaen, "vehicles", valid_until=today + timedelta(days=20))
        make_grant(session, sooner, "vehicles", valid_until=today + timedelta(days=3))
        make_grant(session, bangkok, "vehicles", valid_until=today + timedelta(days=6))
        make_grant(session, relaxed, "vehicles", valid_until=today + timedelta(days=200))
        session.commit()

    kkn = _login(own_app, "commandtech").get("/expiringgrantview/list/?psize_ExpiringGrantView=100")
    assert kkn.status_code == 200
    page = kkn.get_data(as_text=True)
    assert "ใกล้หมดขอนแก่น" in page and "หมดก่อนขอนแก่น" in page
    assert "ใกล้หมดนครบาล" not in page and "ยังอีกนานขอนแก่น" not in page
    assert page.index("หมดก่อนขอนแก่น") < page.index("ใกล้หมดขอนแก่น")
    assert 'data-days="3"' in page

    mpd = _login(own_app, "commandtech2").get("/expiringgrantview/list/?psize_ExpiringGrantView=100")
    page = mpd.get_data(as_text=True)
    assert "ใกล้หมดนครบาล" in page and "ใกล้หมดขอนแก่น" not in page

    assert _login(own_app, "auditor").get("/expiringgrantview/list/").status_code == 200
    assert _login(own_app, "officer").get("/expiringgrantview/list/").status_code == 403


def test_the_cli_expires_reminds_and_ends_assignments_then_finds_nothing_left(own_app):
    from app.extensions import db

    day = date(2024, 9, 2)  # before the demo data: only what this test made is due
    with own_app.app_context():
        session = db.session
        station, other = _unit(session, "KKN-MUEANG"), _unit(session, "MPD1")
        officer = make_officer(session, station, acting_unit=other, acting_until=day - timedelta(days=1))
        for source in ("vehicles", "aliens"):
            make_grant(session, officer, source, valid_from=day - timedelta(days=400),
                       valid_until=day - timedelta(days=1))
        make_grant(session, officer, "prisoners", valid_from=day - timedelta(days=300),
                   valid_until=day + timedelta(days=5))
        make_grant(session, officer, "company_registry", valid_from=day - timedelta(days=300),
                   valid_until=day + timedelta(days=100), command_id=other.id)
        session.commit()
        officer_id = officer.id

    runner = own_app.test_cli_runner()
    result = runner.invoke(args=["sitthi", "expire-grants", "--today", day.isoformat(), "--batch-size", "1"])
    assert result.exit_code == 0, result.output
    assert ("2024-09-02: expired 2, reminded 1, assignments ended 1, grants suspended 1, "
            "deactivation notices 0") in result.output
    again = runner.invoke(args=["sitthi", "expire-grants", "--today", day.isoformat()])
    assert again.exit_code == 0, again.output
    assert "expired 0, reminded 0, assignments ended 0, grants suspended 0" in again.output
    with own_app.app_context():
        states = sorted(g.state for g in db.session.scalars(select(Grant).where(Grant.officer_id == officer_id)))
        assert states == ["active", "expired", "expired", "suspended"]
    assert runner.invoke(args=["sitthi", "expire-grants"]).exit_code == 0  # today, whatever is due


@pytest.mark.skipif(not POSTGRES_ADMIN_URL, reason="SKIP LOCKED needs PostgreSQL (SITTHI_TEST_POSTGRES)")
def test_concurrent_runs_expire_each_grant_once(own_app):
    from sqlalchemy.orm import Session

    from app.extensions import db

    day = date(2024, 10, 1)
    with own_app.app_context():
        session = db.session
        station = _unit(session, "KKN-MUEANG")
        # One officer each: an officer holds one live grant of a source.
        grants = [make_grant(session, make_officer(session, station), "vehicles",
                             valid_from=day - timedelta(days=400), valid_until=day - timedelta(days=1))
                  for _ in range(20)]
        session.commit()
        ids = [g.id for g in grants]
        engine = db.engine
    reports: list[ExpiryReport] = []
    lock = threading.Lock()
    start = threading.Barrier(3)

    def worker() -> None:
        with Session(engine) as own:
            start.wait()
            for _ in range(10):
                report = run_expiry(own, day, REMIND, limit=3)
                own.commit()
                with lock:
                    reports.append(report)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(r.expired for r in reports) == 20
    with own_app.app_context():
        expired = db.session.scalars(select(AuditEvent.object_id).where(
            AuditEvent.action == "Grant.expire", AuditEvent.object_id.in_(ids))).all()
        assert sorted(expired) == sorted(ids)  # each exactly once


def test_an_active_grant_is_renewed_only_inside_the_reminder_window(world):
    session = world.session
    early = grant(session, world.requester, "vehicles", until=DAY + timedelta(days=365))
    with pytest.raises(NotAllowed) as refused:
        renewal.start_renewal(session, world.officer_actor, early.id, CLOCK, window_days=30)
    assert (DAY + timedelta(days=335)).isoformat() in str(refused.value.params["from"])
    assert not renewal.renewable(early, DAY, 30)
    due = grant(session, world.requester, "company_registry", until=DAY + timedelta(days=30))
    assert renewal.renewable(due, DAY, 30)
    assert renewal.start_renewal(session, world.officer_actor, due.id, CLOCK, window_days=30).created
