"""A command's technology staff assign and change permissions, for their own command only.

Service tests run inside a rolled-back transaction on units and officers made for the test, so
every count is exactly what the test made. Screen tests commit on the shared demo database with
officers of their own under the demo commands (ภ.จว.ขอนแก่น for `commandtech`, บก.น.1 for
`commandtech2`).
"""
import re
from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select

from app.errors import NotAllowed, NotFound, StaleRecord, ValidationFailed
from app.models import (
    AuditEvent,
    CommandFunction,
    DeactivationNotice,
    DutyLine,
    Grant,
    Notification,
    Officer,
    PositionLevel,
    RankGroup,
    SystemFunction,
    Unit,
    User,
)
from app.security.scope import Actor
from app.services import deactivation
from app.services import grants as service
from app.services.clock import Clock
from tests.conftest import TEST_NOW, TEST_TODAY
from tests.factories import make_grant, make_officer, make_unit

TODAY = date(2026, 11, 23)
CLOCK = Clock.on(TODAY)
ALLOWED = ("crimes_account", "crimes_case_search", "crimes_warrant", "crimes_inquiry_desk",
           "iservice_auction_receipt")


def _by_code(session, model, code):
    return session.scalar(select(model).where(model.code == code))


class Command:
    """Two commands with their own technology staff, and officers to give functions to."""

    def __init__(self, session):
        self.session = session
        users = {u.username: u for u in session.scalars(select(User))}
        self.users = users
        self.command = make_unit(session, kind="division", admin_scope=True)
        self.station = make_unit(session, parent=self.command)
        self.other_command = make_unit(session, kind="division", admin_scope=True)
        self.other_station = make_unit(session, parent=self.other_command)
        for code in ALLOWED:
            for unit in (self.command, self.other_command):
                session.add(CommandFunction(unit=unit, function=self.function(code)))
        session.flush()
        sub_inspector = _by_code(session, PositionLevel, "sub_inspector")
        investigation = _by_code(session, DutyLine, "investigation")
        self.officer = make_officer(session, self.station, position_level=sub_inspector,
                                    duty_line=investigation)
        self.tech_officer = make_officer(session, self.command, position_level=sub_inspector)
        self.other_officer = make_officer(session, self.other_station, position_level=sub_inspector)
        self.other_tech_officer = make_officer(session, self.other_command, position_level=sub_inspector)
        self.central_officer = make_officer(session, make_unit(session))
        self.tech = Actor(user_id=users["commandtech"].id, officer_id=self.tech_officer.id,
                          roles=frozenset({"Officer", "CommandTech"}), command_id=self.command.id)
        self.other_tech = Actor(user_id=users["commandtech2"].id, officer_id=self.other_tech_officer.id,
                                roles=frozenset({"Officer", "CommandTech"}), command_id=self.other_command.id)
        self.central = Actor(user_id=users["centralit"].id, officer_id=self.central_officer.id,
                             roles=frozenset({"Officer", "CentralIT"}))

    def function(self, code) -> SystemFunction:
        return _by_code(self.session, SystemFunction, code)

    def assign(self, code="crimes_case_search", officer=None, actor=None, **kwargs) -> Grant:
        officer = officer or self.officer
        return service.assign_function(self.session, actor or self.tech, officer.id,
                                       self.function(code).id, CLOCK, **kwargs)

    def grants_of(self, officer) -> list[tuple]:
        """What the database holds for an officer, to prove a refusal changed nothing."""
        self.session.expire_all()
        return list(self.session.execute(
            select(Grant.id, Grant.state, Grant.valid_until, Grant.reason, Grant.version)
            .where(Grant.officer_id == officer.id).order_by(Grant.id)))

    def events(self, grant, action) -> list[AuditEvent]:
        return list(self.session.scalars(select(AuditEvent).where(
            AuditEvent.object_type == "Grant", AuditEvent.object_id == grant.id,
            AuditEvent.action == action)))


@pytest.fixture()
def cmd(db_session):
    return Command(db_session)


# -- assign -----------------------------------------------------------------------------------------
def test_assign_gives_an_active_grant_of_the_command_with_the_default_validity(cmd):
    grant = cmd.assign("crimes_case_search")
    assert grant.state == "active" and grant.function.code == "crimes_case_search"
    assert grant.command_id == cmd.command.id
    assert grant.granted_by_id == cmd.tech.user_id
    assert grant.valid_from == TODAY
    assert grant.valid_until == TODAY + relativedelta(months=grant.function.default_validity_months)
    [event] = cmd.events(grant, "Grant.assign")
    assert event.after["state"] == "active" and event.after["command_id"] == cmd.command.id
    mail = cmd.session.scalar(select(Notification).where(Notification.recipient_email == cmd.officer.email))
    assert mail is not None and grant.function.name_th in mail.subject
    assert "/mygrantview/list/" in mail.body


def test_assign_reaches_an_officer_on_temporary_assignment_into_the_command(cmd):
    visitor = make_officer(cmd.session, cmd.other_station, acting_unit=cmd.station,
                           position_level=cmd.officer.position_level)
    assert cmd.assign("crimes_case_search", officer=visitor).officer_id == visitor.id


def test_only_command_tech_assigns(cmd):
    personnel = Actor(user_id=cmd.users["personnel"].id, officer_id=cmd.tech_officer.id,
                      roles=frozenset({"Officer", "Personnel"}), command_id=cmd.command.id)
    for actor in (personnel, cmd.central):
        with pytest.raises(NotAllowed) as refused:
            cmd.assign(actor=actor)
        assert refused.value.message == service.MSG_NOT_COMMAND_TECH
    assert cmd.grants_of(cmd.officer) == []


def test_command_tech_of_another_command_cannot_assign(cmd):
    with pytest.raises(NotFound) as refused:
        cmd.assign(actor=cmd.other_tech)
    assert refused.value.message == service.MSG_OFFICER_NOT_FOUND
    assert cmd.grants_of(cmd.officer) == []


def test_command_tech_of_another_command_cannot_suspend_revoke_or_extend(cmd):
    grant = cmd.assign()
    before = cmd.grants_of(cmd.officer)
    session, other = cmd.session, cmd.other_tech
    attempts = [
        lambda: service.suspend(session, other, grant.id, "ย้าย", CLOCK),
        lambda: service.revoke(session, other, grant.id, "ย้าย", CLOCK),
        lambda: service.extend(session, other, grant.id, TODAY + relativedelta(months=18), CLOCK),
        lambda: service.reinstate(session, other, grant.id, CLOCK),
    ]
    for attempt in attempts:
        with pytest.raises(NotFound):
            attempt()
    assert cmd.grants_of(cmd.officer) == before


def test_a_nationwide_command_tech_still_acts_only_inside_own_command(cmd):
    """Seeing a grant (an auditor sees them all) is not administering it: the command decides."""
    grant = cmd.assign()
    auditing_tech = Actor(user_id=cmd.other_tech.user_id, officer_id=cmd.other_tech.officer_id,
                          roles=frozenset({"CommandTech", "Auditor"}), command_id=cmd.other_command.id)
    with pytest.raises(NotAllowed) as refused:
        service.revoke(cmd.session, auditing_tech, grant.id, "ทดสอบ", CLOCK)
    assert refused.value.message == service.MSG_OUTSIDE_COMMAND
    assert grant.state == "active"


def test_nobody_assigns_to_themself(cmd):
    with pytest.raises(NotAllowed) as refused:
        cmd.assign(officer=cmd.tech_officer)
    assert refused.value.message == service.MSG_SELF
    assert cmd.grants_of(cmd.tech_officer) == []


def test_nobody_changes_their_own_grant(cmd):
    own = cmd.assign(actor=Actor(user_id=cmd.users["admin"].id, officer_id=None,
                                 roles=frozenset({"CommandTech"}), command_id=cmd.command.id),
                     officer=cmd.tech_officer)
    with pytest.raises(NotAllowed) as refused:
        service.extend(cmd.session, cmd.tech, own.id, TODAY + relativedelta(months=20), CLOCK)
    assert refused.value.message == service.MSG_SELF


def test_a_function_the_command_may_not_give_is_refused(cmd):
    with pytest.raises(NotAllowed) as refused:
        cmd.assign("crimes_command_tech")
    assert refused.value.message == service.MSG_FUNCTION_NOT_ALLOWED
    assert cmd.grants_of(cmd.officer) == []


def test_a_position_level_below_the_functions_minimum_is_refused(cmd):
    """i-SERVICE: auction receipts only for superintendent level and above."""
    with pytest.raises(ValidationFailed) as refused:
        cmd.assign("iservice_auction_receipt")
    assert refused.value.message == service.MSG_LEVEL_TOO_LOW
    senior = make_officer(cmd.session, cmd.station, rank_abbr="พ.ต.อ.",
                          position_level=_by_code(cmd.session, PositionLevel, "superintendent"))
    assert cmd.assign("iservice_auction_receipt", officer=senior).state == "active"


def test_a_function_of_another_duty_line_is_refused(cmd):
    with pytest.raises(ValidationFailed) as refused:
        cmd.assign("crimes_inquiry_desk")  # the officer is in investigation, not inquiry
    assert refused.value.message == service.MSG_DUTY_LINE


def test_an_officer_who_is_not_active_gets_nothing(cmd):
    cmd.officer.status = "retired"
    with pytest.raises(ValidationFailed) as refused:
        cmd.assign()
    assert refused.value.message == service.MSG_OFFICER_INACTIVE


def test_no_second_grant_of_a_function_held(cmd):
    grant = cmd.assign()
    with pytest.raises(ValidationFailed) as refused:
        cmd.assign()
    assert refused.value.message == service.MSG_ALREADY_HOLDS
    service.suspend(cmd.session, cmd.tech, grant.id, "พักราชการ", CLOCK)
    with pytest.raises(ValidationFailed):
        cmd.assign()  # suspended is still held: reinstate it instead
    service.revoke(cmd.session, cmd.tech, grant.id, "ย้ายหน่วย", CLOCK)
    assert cmd.assign().id != grant.id


@pytest.mark.parametrize("until", [TODAY, TODAY - timedelta(days=1), TODAY + relativedelta(months=24, days=1)])
def test_validity_must_end_after_today_and_within_the_limit(cmd, until):
    with pytest.raises(ValidationFailed) as refused:
        cmd.assign(valid_until=until)
    assert refused.value.message == service.MSG_VALID_UNTIL


# -- suspend, revoke, reinstate, extend -------------------------------------------------------------
@pytest.mark.parametrize("name", ["suspend", "revoke"])
def test_suspend_and_revoke_need_a_reason(cmd, name):
    grant = cmd.assign()
    before = cmd.grants_of(cmd.officer)
    with pytest.raises(ValidationFailed) as refused:
        getattr(service, name)(cmd.session, cmd.tech, grant.id, "   ", CLOCK)
    assert refused.value.message == service.MSG_REASON_REQUIRED
    assert cmd.grants_of(cmd.officer) == before


def test_a_stale_version_changes_nothing(cmd):
    grant = cmd.assign()
    opened = grant.version
    service.extend(cmd.session, cmd.tech, grant.id, TODAY + relativedelta(months=18), CLOCK,
                   expected_version=opened)
    before = cmd.grants_of(cmd.officer)
    with pytest.raises(StaleRecord):
        service.revoke(cmd.session, cmd.tech, grant.id, "ช้าไป", CLOCK, expected_version=opened)
    assert cmd.grants_of(cmd.officer) == before


def test_each_change_is_audited_before_and_after_and_mailed(cmd):
    grant = cmd.assign()
    first_until = grant.valid_until
    mails = lambda: cmd.session.scalar(select(func.count(Notification.id)).where(  # noqa: E731
        Notification.recipient_email == cmd.officer.email))
    sent = mails()
    service.suspend(cmd.session, cmd.tech, grant.id, "อยู่ระหว่างสอบสวนวินัย", CLOCK)
    [event] = cmd.events(grant, "Grant.suspend")
    assert event.before == {"state": "active", "reason": None}
    assert event.after == {"state": "suspended", "reason": "อยู่ระหว่างสอบสวนวินัย"}
    assert event.actor_id == cmd.tech.user_id and event.unit_id == cmd.command.id

    service.reinstate(cmd.session, cmd.tech, grant.id, CLOCK)
    [event] = cmd.events(grant, "Grant.reinstate")
    assert event.before["state"] == "suspended" and event.after["state"] == "active"

    later = TODAY + relativedelta(months=20)
    service.extend(cmd.session, cmd.tech, grant.id, later, CLOCK)
    [event] = cmd.events(grant, "Grant.extend")
    assert event.before == {"valid_until": first_until.isoformat()}
    assert event.after == {"valid_until": later.isoformat()}

    service.revoke(cmd.session, cmd.tech, grant.id, "ย้ายออกนอกสังกัด", CLOCK)
    [event] = cmd.events(grant, "Grant.revoke")
    assert event.before["state"] == "active" and event.after["state"] == "revoked"
    assert event.after["reason"] == "ย้ายออกนอกสังกัด" and event.after["revoked_by_id"] == cmd.tech.user_id
    assert mails() == sent + 4


def test_changes_follow_the_table_of_states(cmd):
    grant = cmd.assign()
    with pytest.raises(ValidationFailed) as refused:
        service.reinstate(cmd.session, cmd.tech, grant.id, CLOCK)  # not suspended
    assert refused.value.message == service.MSG_WRONG_STATE
    service.revoke(cmd.session, cmd.tech, grant.id, "เกษียณ", CLOCK)
    for attempt in (lambda: service.suspend(cmd.session, cmd.tech, grant.id, "x", CLOCK),
                    lambda: service.revoke(cmd.session, cmd.tech, grant.id, "x", CLOCK),
                    lambda: service.extend(cmd.session, cmd.tech, grant.id, TODAY + timedelta(days=400), CLOCK)):
        with pytest.raises(ValidationFailed):
            attempt()
    assert grant.state == "revoked"


def test_extend_must_move_the_end_later_and_stay_within_the_limit(cmd):
    grant = cmd.assign(valid_until=TODAY + relativedelta(months=6))
    for until in (TODAY + relativedelta(months=6), TODAY + relativedelta(months=3)):
        with pytest.raises(ValidationFailed) as refused:
            service.extend(cmd.session, cmd.tech, grant.id, until, CLOCK)
        assert refused.value.message == service.MSG_EXTEND_LATER
    with pytest.raises(ValidationFailed) as refused:
        service.extend(cmd.session, cmd.tech, grant.id, TODAY + relativedelta(months=25), CLOCK)
    assert refused.value.message == service.MSG_VALID_UNTIL
    assert grant.valid_until == TODAY + relativedelta(months=6)


def test_rights_to_agency_data_are_renewed_by_request_not_extended(cmd):
    grant = make_grant(cmd.session, cmd.officer, "vehicles", valid_from=TODAY, valid_until=TODAY + timedelta(days=90))
    with pytest.raises(ValidationFailed) as refused:
        service.extend(cmd.session, cmd.tech, grant.id, TODAY + timedelta(days=300), CLOCK)
    assert refused.value.message == service.MSG_EXTEND_SOURCE
    # ...but the command's staff may still cut them off.
    assert service.suspend(cmd.session, cmd.tech, grant.id, "ย้าย", CLOCK).state == "suspended"


def test_revoking_an_activated_civil_registration_grant_opens_a_deactivation_notice(cmd):
    group = cmd.session.scalar(select(RankGroup).where(RankGroup.number == 2))
    grant = make_grant(cmd.session, cmd.officer, "civil_registration", rank_group=group,
                       valid_from=TODAY - timedelta(days=30), valid_until=TODAY + timedelta(days=300),
                       agency_reference="มท 0309.1/777", activated_on=TODAY - timedelta(days=30))
    service.revoke(cmd.session, cmd.tech, grant.id, "ย้ายไปสายงานอำนวยการ", CLOCK)
    [notice] = cmd.session.scalars(select(DeactivationNotice).where(DeactivationNotice.grant_id == grant.id))
    assert notice.state == "pending" and notice.agency.code == "DOPA"
    assert notice.reason == "ย้ายไปสายงานอำนวยการ"
    with pytest.raises(NotAllowed):
        deactivation.confirm(cmd.session, cmd.tech, notice.id, "มท 0309.1/900", None, TODAY, CLOCK.now)
    assert notice.state == "pending"
    deactivation.confirm(cmd.session, cmd.central, notice.id, "มท 0309.1/900", None, TODAY, CLOCK.now)
    assert notice.state == "confirmed" and notice.confirmed_by_id == cmd.central.user_id


def test_a_grant_the_agency_is_still_activating_is_not_revoked_here(cmd):
    """Recording the activation later would make it active again: CentralIT records a refusal."""
    grant = make_grant(cmd.session, cmd.officer, "civil_registration", state="pending_activation",
                       rank_group=cmd.session.scalar(select(RankGroup).where(RankGroup.number == 2)))
    with pytest.raises(ValidationFailed) as refused:
        service.revoke(cmd.session, cmd.tech, grant.id, "ยกเลิก", CLOCK)
    assert refused.value.message == service.MSG_WRONG_STATE
    assert grant.state == "pending_activation"


def test_revoking_a_function_opens_no_notice(cmd):
    grant = cmd.assign()
    service.revoke(cmd.session, cmd.tech, grant.id, "ไม่ได้ใช้งาน", CLOCK)
    assert cmd.session.scalar(select(DeactivationNotice).where(DeactivationNotice.grant_id == grant.id)) is None


def test_the_pickers_offer_only_the_command(cmd):
    retired = make_officer(cmd.session, cmd.station, status="retired")
    found = {o.id for o in service.assignable_officers(cmd.session, cmd.tech, limit=1000)}
    assert cmd.officer.id in found
    assert not found & {cmd.tech_officer.id, cmd.other_officer.id, retired.id}
    assert service.assignable_officers(cmd.session, cmd.central) == []
    codes = {f.code for f in service.assignable_functions(cmd.session, cmd.tech)}
    assert codes == set(ALLOWED)
    assert service.assignable_functions(cmd.session, cmd.central) == []


# -- through the screens ------------------------------------------------------------------------------
def _unit_id(code):
    from app.extensions import db

    return db.session.scalar(select(Unit.id).where(Unit.code == code))


@pytest.fixture()
def kkn(app):
    """A fresh KKN officer holding a function, and a fresh officer of บก.น.1 (committed)."""
    from app.extensions import db

    with app.app_context():
        level = _by_code(db.session, PositionLevel, "sub_inspector")
        kkn_unit = db.session.get(Unit, _unit_id("KKN-MUEANG"))
        mpd_unit = db.session.get(Unit, _unit_id("MPD1-01"))
        officer = make_officer(db.session, kkn_unit, position_level=level)
        spare = make_officer(db.session, kkn_unit, position_level=level)
        stranger = make_officer(db.session, mpd_unit, position_level=level)
        function = _by_code(db.session, SystemFunction, "crimes_account")
        grant = Grant(officer=officer, function=function, state="active", valid_from=TEST_TODAY,
                      valid_until=TEST_TODAY + timedelta(days=200), command_id=_unit_id("KKN"))
        db.session.add(grant)
        db.session.commit()
        return {"officer": officer.id, "spare": spare.id, "stranger": stranger.id, "grant": grant.id,
                "stranger_name": stranger.first_name_th}


def _grant_row(app, pk):
    from app.extensions import db

    with app.app_context():
        db.session.expire_all()
        grant = db.session.get(Grant, pk)
        return grant.state, grant.valid_until, grant.reason, grant.version


def _act(user, action, rowids, **fields):
    token = user.csrf_token("/assignfunction/")  # the list has no form when it is empty
    return user.client.post("/commandgrantview/action_post", data={
        "action": action, "rowid": [str(pk) for pk in rowids], "csrf_token": token, **fields},
        follow_redirects=True)


def test_another_commands_staff_cannot_act_on_kkn_grants_by_posting_ids(app, login, kkn):
    """FAB loads action rows without the row scope: the service refuses each one."""
    before = _grant_row(app, kkn["grant"])
    outsider = login("commandtech2")
    assert f"/commandgrantview/show/{kkn['grant']}" not in outsider.get("/commandgrantview/list/").get_data(as_text=True)
    until = (TEST_TODAY + timedelta(days=500)).isoformat()
    for action in ("suspend_selected", "revoke_selected", "extend_selected", "reinstate_selected"):
        response = _act(outsider, action, [kkn["grant"]], reason="ย้าย", valid_until=until)
        assert response.status_code == 200
        assert f"#{kkn['grant']}:" in response.get_data(as_text=True)
    assert _grant_row(app, kkn["grant"]) == before
    assert outsider.get(f"/commandgrantview/show/{kkn['grant']}").status_code == 404


def test_command_tech_suspends_extends_and_revokes_in_bulk(app, login, kkn):
    tech = login("commandtech")
    listing = tech.get("/commandgrantview/list/").get_data(as_text=True)
    assert f"/commandgrantview/show/{kkn['grant']}" in listing
    refused = _act(tech, "revoke_selected", [kkn["grant"]], reason="  ")
    assert f"#{kkn['grant']}:" in refused.get_data(as_text=True)
    assert _grant_row(app, kkn["grant"])[0] == "active"
    _act(tech, "suspend_selected", [kkn["grant"]], reason="พักราชการ")
    assert _grant_row(app, kkn["grant"])[:1] == ("suspended",)
    _act(tech, "reinstate_selected", [kkn["grant"]])
    until = TEST_TODAY + timedelta(days=500)
    _act(tech, "extend_selected", [kkn["grant"]], valid_until=until.isoformat())
    assert _grant_row(app, kkn["grant"])[:2] == ("active", until)
    _act(tech, "revoke_selected", [kkn["grant"]], reason="ย้ายออกนอกสังกัด")
    assert _grant_row(app, kkn["grant"])[0] == "revoked"
    assert _grant_row(app, kkn["grant"])[2] == "ย้ายออกนอกสังกัด"


def test_assign_form_refuses_an_officer_of_another_command(app, login, kkn):
    from app.extensions import db

    tech = login("commandtech")
    with app.app_context():
        function = _by_code(db.session, SystemFunction, "crimes_case_search").id
    token = tech.csrf_token("/assignfunction/")
    response = tech.client.post("/assignfunction/assign", data={
        "officer": str(kkn["stranger"]), "function": str(function), "csrf_token": token})
    assert response.status_code == 400
    assert kkn["stranger_name"] not in response.get_data(as_text=True)  # not even shown back
    with app.app_context():
        assert db.session.scalar(select(func.count(Grant.id)).where(Grant.officer_id == kkn["stranger"])) == 0


def test_assign_form_refuses_a_function_the_command_may_not_give(app, login, kkn):
    from app.extensions import db

    tech = login("commandtech")
    with app.app_context():
        function = _by_code(db.session, SystemFunction, "crimes_command_tech").id
    token = tech.csrf_token("/assignfunction/")
    response = tech.client.post("/assignfunction/assign", data={
        "officer": str(kkn["spare"]), "function": str(function), "csrf_token": token})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count(Grant.id)).where(Grant.officer_id == kkn["spare"])) == 0


def test_command_tech_assigns_through_the_form(app, login, kkn):
    from app.extensions import db

    tech = login("commandtech")
    page = tech.get("/assignfunction/").get_data(as_text=True)
    with app.app_context():
        allowed = {f.id for f in db.session.scalars(select(SystemFunction).join(
            CommandFunction, CommandFunction.function_id == SystemFunction.id).where(
            CommandFunction.unit_id == _unit_id("KKN")))}
        command_tech = _by_code(db.session, SystemFunction, "crimes_command_tech").id
    offered = {int(v) for v in re.findall(r'<option value="(\d+)"', page.split('id="function"', 1)[1].split("</select>", 1)[0])}
    assert offered == allowed and command_tech not in offered
    until = TEST_TODAY + timedelta(days=100)
    token = tech.csrf_token("/assignfunction/")
    response = tech.client.post("/assignfunction/assign", data={
        "officer": str(kkn["spare"]), "function": str(min(allowed)), "valid_until": until.isoformat(),
        "csrf_token": token})
    assert response.status_code == 302
    with app.app_context():
        grant = db.session.scalar(select(Grant).where(Grant.officer_id == kkn["spare"]))
        assert grant.state == "active" and grant.valid_until == until
        assert grant.command_id == _unit_id("KKN")
        assert f"/commandgrantview/show/{grant.id}" in tech.get("/commandgrantview/list/").get_data(as_text=True)


def test_the_officer_search_of_the_form_stays_inside_the_command(app, login, kkn):
    from app.extensions import db

    with app.app_context():
        nid = {pk: db.session.get(Officer, pk).national_id for pk in (kkn["spare"], kkn["stranger"])}
    tech = login("commandtech")
    assert [r["id"] for r in tech.get(f"/assignfunction/officers?q={nid[kkn['spare']]}").get_json()["results"]] == [kkn["spare"]]
    assert tech.get(f"/assignfunction/officers?q={nid[kkn['stranger']]}").get_json()["results"] == []
    outsider = login("commandtech2")
    assert outsider.get(f"/assignfunction/officers?q={nid[kkn['spare']]}").get_json()["results"] == []
    assert login("officer").get("/assignfunction/officers?q=1").status_code == 403
    assert login("auditor").get("/assignfunction/").status_code == 403


def test_generic_grant_forms_are_closed_on_the_command_screen(app, login, kkn):
    admin = login("admin")
    assert admin.get("/commandgrantview/add").status_code == 403
    assert admin.get(f"/commandgrantview/edit/{kkn['grant']}").status_code == 403
    assert login("auditor").get("/commandgrantview/list/").status_code == 200
    before = _grant_row(app, kkn["grant"])
    auditor = login("auditor")
    token = auditor.csrf_token("/commandgrantview/list/")
    response = auditor.client.post("/commandgrantview/action_post", data={
        "action": "revoke_selected", "rowid": [str(kkn["grant"])], "reason": "x", "csrf_token": token})
    assert response.status_code == 403
    assert _grant_row(app, kkn["grant"]) == before


def test_central_it_confirms_a_deactivation_notice_on_its_form(app, login):
    from app.extensions import db

    with app.app_context():
        group = db.session.scalar(select(RankGroup).where(RankGroup.number == 2))
        officer = make_officer(db.session, db.session.get(Unit, _unit_id("KKN-MUEANG")))
        grant = make_grant(db.session, officer, "civil_registration", rank_group=group,
                           agency_reference="มท 0309.1/55", activated_on=TEST_TODAY - timedelta(days=5))
        db.session.commit()
        grant_id = grant.id
    tech = login("commandtech")
    _act(tech, "revoke_selected", [grant_id], reason="เกษียณอายุราชการ")
    with app.app_context():
        notice = db.session.scalar(select(DeactivationNotice).where(DeactivationNotice.grant_id == grant_id))
        assert notice.state == "pending"
        notice_id = notice.id
    url = f"/deactivationnoticeview/confirm/{notice_id}"
    assert tech.get(url).status_code == 403
    auditor = login("auditor")
    assert auditor.get("/deactivationnoticeview/list/").status_code == 200
    assert auditor.get(url).status_code == 403
    central = login("centralit")
    listing = central.get("/deactivationnoticeview/list/").get_data(as_text=True)
    assert url in listing
    empty = central.submit(url, {"agency_reference": ""})
    assert empty.status_code == 400
    future = central.submit(url, {"agency_reference": "มท 0309.1/99",
                                  "deactivated_on": (TEST_TODAY + timedelta(days=3)).isoformat()})
    assert future.status_code == 400
    done = central.submit(url, {"agency_reference": "มท 0309.1/99", "deactivated_on": TEST_TODAY.isoformat()})
    assert done.status_code == 302
    with app.app_context():
        notice = db.session.get(DeactivationNotice, notice_id)
        assert notice.state == "confirmed" and notice.agency_reference == "มท 0309.1/99"


def test_the_command_list_runs_as_many_statements_for_30_rows_as_for_10(app, login):
    from app.extensions import db
    from tests.conftest import counted_statements

    with app.app_context():
        unit = make_unit(db.session)
        for _ in range(30):
            make_grant(db.session, make_officer(db.session, unit), "vehicles")
        db.session.commit()
    admin = login("admin")

    def statements(rows):
        url = f"/commandgrantview/list/?psize_CommandGrantView={rows}"
        admin.get(url)
        with counted_statements(app) as seen:
            html = admin.get(url).get_data(as_text=True)
        assert len(set(re.findall(r'href="/commandgrantview/show/(\d+)', html))) == rows
        return seen

    assert len(statements(30)) == len(statements(10))


def test_a_permissions_own_page_suspends_reinstates_extends_and_revokes_it(app, login, kkn):
    tech = login("commandtech")
    url = f"/commandgrantview/show/{kkn['grant']}"
    page = tech.get(url).get_data(as_text=True)
    assert all(f'id="btn-grant-{name}"' in page for name in ("suspend", "revoke", "extend"))
    assert 'id="btn-grant-reinstate"' not in page

    def press(action, **fields):
        token = re.search(r'name="csrf_token" value="([^"]+)"', tech.get(url).get_data(as_text=True)).group(1)
        return tech.client.post("/commandgrantview/action_post", data={
            "csrf_token": token, "rowid": str(kkn["grant"]), "action": action, **fields},
            headers={"Referer": f"http://localhost{url}"})

    assert press("suspend_selected", reason="พักราชการ").headers["Location"].endswith(url)  # back to its page
    assert _grant_row(app, kkn["grant"])[:1] == ("suspended",)
    page = tech.get(url).get_data(as_text=True)
    assert 'id="btn-grant-reinstate"' in page and 'id="btn-grant-suspend"' not in page
    press("reinstate_selected")
    until = TEST_NOW.date() + timedelta(days=400)
    press("extend_selected", valid_until=until.isoformat())
    assert _grant_row(app, kkn["grant"])[:2] == ("active", until)
    press("revoke_selected", reason="ย้ายออกนอกสังกัด")
    assert _grant_row(app, kkn["grant"])[0] == "revoked"
    assert 'id="grant-actions"' not in tech.get(url).get_data(as_text=True)  # nothing left to do


def test_a_reader_sees_no_buttons_on_a_permissions_page(app, login, kkn):
    page = login("auditor").get(f"/commandgrantview/show/{kkn['grant']}").get_data(as_text=True)
    assert 'id="grant-actions"' not in page


def test_the_assign_form_tells_which_functions_the_chosen_officer_cannot_receive(app, login, kkn):
    tech = login("commandtech")
    answer = tech.get(f"/assignfunction/functions?officer={kkn['officer']}")
    assert answer.status_code == 200
    functions = {f["id"]: f for f in answer.get_json()["functions"]}
    form = tech.get("/assignfunction/").get_data(as_text=True)
    function_select = re.search(r'<select[^>]*name="function".*?</select>', form, re.S).group(0)
    offered = re.findall(r'<option value="(\d+)"', function_select)
    assert {str(pk) for pk in functions} == set(offered)  # the same list the form offers
    with app.app_context():
        from app.extensions import db

        account = _by_code(db.session, SystemFunction, "crimes_account").id
    assert functions[account]["allowed"] is False and "อยู่แล้ว" in functions[account]["reason"]  # held already
    assert any(f["allowed"] for f in functions.values())
    # The same rules as assigning: what is greyed out is what assigning would refuse.
    for function in functions.values():
        if not function["allowed"]:
            token = tech.csrf_token("/assignfunction/")
            refused = tech.client.post("/assignfunction/assign", data={
                "csrf_token": token, "officer": str(kkn["officer"]), "function": str(function["id"])})
            assert refused.status_code == 400
    assert tech.get(f"/assignfunction/functions?officer={kkn['stranger']}").status_code == 404  # another command
    assert tech.get("/assignfunction/functions?officer=abc").status_code == 404
    assert login("officer").get(f"/assignfunction/functions?officer={kkn['officer']}").status_code == 403
