"""Joiner-mover-leaver: each rule, its audit events and job run, idempotence, and a day-1/day-2 story.

Service tests run inside a rolled-back transaction on the shared database and name the officers
they made (`officer_ids`), so nothing else is judged. The scheduled command, the screens and the
API commit, so they run on a database of their own (tests/test_personnel_changes.py).
"""
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.domain.retirement import latest_birth_date_retired
from app.models import (
    AuditEvent,
    DataSharingAgreement,
    DeactivationNotice,
    Grant,
    JobRun,
    Notification,
    PersonnelChange,
    PositionLevel,
    RankGroup,
    SystemFunction,
)
from app.security.scope import Actor, is_visible, scoped
from app.services import grants as grant_service
from app.services import personnel_rules
from app.services.clock import Clock
from app.services.personnel_rules import (
    REASON_AGREEMENT_ENDED,
    REASON_RETIRED,
    REASON_TRANSFERRED_OUT,
    RulesReport,
)
from tests.conftest import TEST_TODAY
from tests.factories import make_grant, make_login, make_officer, make_unit

TODAY = TEST_TODAY  # the run's frozen day
CLOCK = Clock.on(TODAY)
RETIRED_BIRTH = latest_birth_date_retired(TODAY)  # born on this day: out of service today
YOUNG_BIRTH = date(TODAY.year - 35, 5, 17)


class Force:
    """Two commands with a station each, a CommandTech per command, and helpers."""

    def __init__(self, session):
        self.session = session
        self.command_a = make_unit(session, kind="division", admin_scope=True)
        self.station_a = make_unit(session, parent=self.command_a)
        self.command_b = make_unit(session, kind="division", admin_scope=True)
        self.station_b = make_unit(session, parent=self.command_b)
        self.tech_a = make_officer(session, self.command_a, birth_date=YOUNG_BIRTH)
        self.tech_b = make_officer(session, self.command_b, birth_date=YOUNG_BIRTH)
        make_login(session, self.tech_a, role="CommandTech")
        make_login(session, self.tech_b, role="CommandTech")
        self.officers = []

    def officer(self, unit=None, **fields):
        fields.setdefault("birth_date", YOUNG_BIRTH)
        officer = make_officer(self.session, unit or self.station_a, **fields)
        self.officers.append(officer)
        return officer

    def actor(self, tech, command) -> Actor:
        return Actor(user_id=tech.user_id, officer_id=tech.id, roles=frozenset({"Officer", "CommandTech"}),
                     command_id=command.id)

    def run(self, clock=CLOCK, **kwargs) -> RulesReport:
        kwargs.setdefault("officer_ids", [o.id for o in self.officers])
        return personnel_rules.run(self.session, clock, **kwargs)

    def source_grant(self, officer, code="vehicles", command=None, **fields):
        return make_grant(self.session, officer, code, command_id=(command or self.command_a).id,
                          valid_from=TODAY - timedelta(days=30), valid_until=TODAY + timedelta(days=300),
                          **fields)

    def function_grant(self, officer, code, command=None, **fields):
        function = self.session.scalar(select(SystemFunction).where(SystemFunction.code == code))
        return make_grant(self.session, officer, None, data_source=None, function=function,
                          command_id=(command or self.command_a).id, valid_from=TODAY - timedelta(days=30),
                          valid_until=TODAY + timedelta(days=300), **fields)

    def civil_registration(self, officer, group=2, **fields):
        rank_group = self.session.scalar(select(RankGroup).where(RankGroup.number == group))
        return self.source_grant(officer, "civil_registration", rank_group=rank_group, **fields)

    def changes(self, officer, kind=None) -> list[PersonnelChange]:
        query = select(PersonnelChange).where(PersonnelChange.officer_id == officer.id)
        if kind:
            query = query.where(PersonnelChange.kind == kind)
        return list(self.session.scalars(query.order_by(PersonnelChange.id)))

    def events(self, action, obj) -> list[AuditEvent]:
        return list(self.session.scalars(select(AuditEvent).where(
            AuditEvent.action == action, AuditEvent.object_id == obj.id).order_by(AuditEvent.id)))

    def mails_to(self, email) -> list[Notification]:
        return list(self.session.scalars(select(Notification).where(
            Notification.recipient_email == email).order_by(Notification.id)))

    def level(self, code) -> PositionLevel:
        return self.session.scalar(select(PositionLevel).where(PositionLevel.code == code))


@pytest.fixture()
def force(db_session):
    return Force(db_session)


def job_run(session) -> JobRun:
    run = JobRun(kind="personnel_rules", state="running")
    session.add(run)
    session.flush()
    return run


# -- leavers ----------------------------------------------------------------------------------------
def test_a_retired_officer_loses_every_right_and_the_login_and_everyone_is_told(force):
    session = force.session
    officer = force.officer(status="retired")
    user = make_login(session, officer)
    active = force.source_grant(officer, "vehicles")
    suspended = force.source_grant(officer, "aliens", state="suspended", reason="ตรวจสอบ")
    waiting = force.civil_registration(officer, state="pending_activation")
    activated = force.source_grant(officer, "company_registry")
    activated.data_source.needs_external_activation = True  # rolled back with the test
    activated.activated_on, activated.agency_reference = TODAY - timedelta(days=20), "DBD-1"
    expired = force.source_grant(officer, "prisoners", state="expired")
    run = job_run(session)

    report = force.run(job_run=run)

    assert (report.revoked, report.logins_deactivated, report.leavers, report.deactivation_notices) == (4, 1, 1, 1)
    for grant in (active, suspended, waiting, activated):
        assert (grant.state, grant.reason) == ("revoked", REASON_RETIRED)
        [event] = force.events("Grant.revoke", grant)
        assert event.job_run_id == run.id and event.after["reason"] == REASON_RETIRED
    assert expired.state == "expired"
    assert user.active is False
    [closed] = session.scalars(select(AuditEvent).where(AuditEvent.action == "User.deactivate",
                                                        AuditEvent.object_id == user.id))
    assert closed.job_run_id == run.id and closed.before == {"active": True}
    [notice] = session.scalars(select(DeactivationNotice).where(DeactivationNotice.grant_id == activated.id))
    assert notice.reason == REASON_RETIRED
    assert force.events("DeactivationNotice.open", notice)[0].job_run_id == run.id
    [change] = force.changes(officer)
    assert (change.kind, change.command_id, change.state, change.job_run_id) == ("left", force.command_a.id, "open", run.id)
    assert {g["id"] for g in change.after["grants"]} == {active.id, suspended.id, waiting.id, activated.id}
    assert any("เพิกถอน" in m.subject and "revoked" in m.subject for m in force.mails_to(officer.email))
    [told] = force.mails_to(force.tech_a.user.email)
    assert str(officer) in told.body and "personnelchangeview" in told.body
    assert force.mails_to(force.tech_b.user.email) == []

    assert force.run(job_run=run) == RulesReport()  # a second run changes nothing


def test_the_bulk_writes_reach_the_database_once_each(force):
    """The rules change grants with one UPDATE per kind of change and show the loaded grants the
    new values without the ORM: read back from the database, not from the identity map."""
    session = force.session
    officer = force.officer(status="transferred_out")
    first, second = force.source_grant(officer, "vehicles"), force.source_grant(officer, "aliens")
    activated = force.source_grant(officer, "company_registry")
    activated.data_source.needs_external_activation = True  # rolled back with the test
    activated.activated_on, activated.agency_reference = TODAY - timedelta(days=20), "DBD-2"
    session.flush()
    ids = [first.id, second.id, activated.id]
    versions = dict(session.execute(select(Grant.id, Grant.version).where(Grant.id.in_(ids))).all())

    assert force.run().suspended == 3

    session.expire_all()
    rows = session.execute(select(Grant.id, Grant.state, Grant.reason, Grant.version)
                           .where(Grant.id.in_(ids)).execution_options(populate_existing=True)).all()
    assert {(r.state, r.reason) for r in rows} == {("suspended", REASON_TRANSFERRED_OUT)}
    assert {r.id: r.version for r in rows} == {i: v + 1 for i, v in versions.items()}
    [change] = force.changes(officer)
    assert len(force.events("PersonnelChange.open", change)) == 1
    [notice] = session.scalars(select(DeactivationNotice).where(DeactivationNotice.grant_id == activated.id))
    [opened] = force.events("DeactivationNotice.open", notice)
    assert opened.after == {"grant_id": activated.id, "reason": REASON_TRANSFERRED_OUT}
    agency = activated.data_source.agency
    if agency.contact_email:
        assert any(officer.national_id_full in m.body and "DBD-2" in m.body
                   for m in force.mails_to(agency.contact_email))
    assert force.run() == RulesReport()


def test_a_deceased_officer_is_not_written_to(force):
    officer = force.officer(status="deceased")
    grant = force.source_grant(officer)
    report = force.run()
    assert (report.revoked, grant.state, grant.reason) == (1, "revoked", personnel_rules.REASON_DECEASED)
    assert force.mails_to(officer.email) == []
    assert len(force.mails_to(force.tech_a.user.email)) == 1


def test_retirement_by_age_needs_no_import_and_leaves_the_status_to_polis(force):
    leaving = force.officer(birth_date=RETIRED_BIRTH)
    staying = force.officer(birth_date=RETIRED_BIRTH + timedelta(days=1))
    user = make_login(force.session, leaving)
    gone, kept = force.source_grant(leaving), force.source_grant(staying)

    report = force.run()

    assert (report.retired_by_date, report.revoked, report.logins_deactivated) == (1, 1, 1)
    assert leaving.status == "active"  # POLIS owns the status
    assert gone.state == "revoked" and "retired by age" in gone.reason and user.active is False
    assert kept.state == "active"
    [change] = force.changes(leaving)
    assert change.kind == "retired_by_date" and change.after["retire_on"] <= TODAY.isoformat()
    assert force.changes(staying) == []
    # The day before that 1 October the same officer still served.
    earlier = force.officer(birth_date=RETIRED_BIRTH)
    early_grant = force.source_grant(earlier)
    day_before = Clock.on(date(TODAY.year if TODAY.month >= 10 else TODAY.year - 1, 9, 30))
    assert personnel_rules.run(force.session, day_before, officer_ids=[earlier.id]) == RulesReport()
    assert early_grant.state == "active"
    again = force.run()  # today: only `earlier` is left to retire
    assert (again.retired_by_date, again.revoked, early_grant.state) == (1, 1, "revoked")


def test_a_transferred_officer_is_suspended_not_revoked_and_nothing_comes_back_by_itself(force):
    session = force.session
    officer = force.officer(status="transferred_out")
    user = make_login(session, officer)
    vehicles = force.source_grant(officer, "vehicles")
    account = force.function_grant(officer, "crimes_account")
    civil = force.civil_registration(officer, activated_on=TODAY - timedelta(days=10), agency_reference="DOPA-9")

    report = force.run()

    assert (report.suspended, report.revoked, report.logins_deactivated, report.deactivation_notices) == (3, 0, 1, 1)
    assert {vehicles.state, account.state, civil.state} == {"suspended"}
    assert vehicles.reason == REASON_TRANSFERRED_OUT and user.active is False
    assert session.scalar(select(DeactivationNotice).where(DeactivationNotice.grant_id == civil.id)) is not None
    assert [c.kind for c in force.changes(officer)] == ["left"]
    assert force.run() == RulesReport()

    officer.status = "active"  # the transfer was cancelled: a person judges what comes back
    session.flush()
    assert force.run() == RulesReport()
    assert (vehicles.state, user.active) == ("suspended", False)


def test_an_officer_with_nothing_left_to_end_is_not_reported(force):
    officer = force.officer(status="retired")
    force.source_grant(officer, state="revoked")
    assert force.run() == RulesReport()
    assert force.changes(officer) == []


# -- movers -----------------------------------------------------------------------------------------
def test_a_mover_is_suspended_and_appears_in_the_new_commands_inbox_only(force):
    session = force.session
    officer = force.officer(force.station_a)
    vehicles = force.source_grant(officer, "vehicles", command=force.command_a)
    account = force.function_grant(officer, "crimes_account", command=force.command_a)
    officer.home_unit = force.station_b  # Personnel of the new command, or an import
    session.flush()
    run = job_run(session)

    report = force.run(job_run=run)

    assert (report.movers, report.suspended) == (1, 2)
    assert vehicles.state == account.state == "suspended"
    assert vehicles.reason.startswith("ย้ายไป ") and "moved to" in vehicles.reason
    [event] = force.events("Grant.suspend", vehicles)
    assert event.job_run_id == run.id and event.unit_id == force.command_a.id  # the old command reads it
    [change] = force.changes(officer)
    assert (change.kind, change.command_id, change.from_command_id) == ("moved", force.command_b.id, force.command_a.id)
    new_tech = force.actor(force.tech_b, force.command_b)
    old_tech = force.actor(force.tech_a, force.command_a)
    assert is_visible(session, new_tech, PersonnelChange, change.id)
    assert not is_visible(session, old_tech, PersonnelChange, change.id)
    assert len(force.mails_to(force.tech_b.user.email)) == 1
    assert force.mails_to(force.tech_a.user.email) == []
    assert force.run() == RulesReport()

    # The new command's technology staff bring one back: theirs from now on, no move any more.
    grant_service.reinstate(session, new_tech, vehicles.id, CLOCK)
    assert (vehicles.state, vehicles.command_id) == ("active", force.command_b.id)
    assert force.run() == RulesReport()


def test_a_temporary_assignment_is_not_a_move(force):
    officer = force.officer(force.station_a, acting_unit=force.station_b, acting_until=TODAY + timedelta(days=30))
    home = force.source_grant(officer, "vehicles", command=force.command_a)
    acting = force.source_grant(officer, "aliens", command=force.command_b)
    assert force.run() == RulesReport()
    assert home.state == acting.state == "active"


def test_a_grant_without_a_command_is_judged_by_its_request_or_the_home_unit_it_was_given_in(force):
    from tests.factories import make_request

    session = force.session
    officer = force.officer(force.station_a)
    request = make_request(session, officer, state="completed")
    by_request = make_grant(session, officer, "vehicles", request=request)
    legacy = make_grant(session, officer, "aliens")
    assert force.run() == RulesReport()

    officer.home_unit = force.station_b
    session.flush()
    # The change as the officer screen records it: the audit trail keeps the home unit before.
    from app.services import audit

    audit.record(session, "Officer.update", obj=officer, before={"home_unit_id": force.station_a.id},
                 after={"home_unit_id": force.station_b.id})
    report = force.run()

    assert (report.movers, by_request.state, legacy.state) == (1, "suspended", "suspended")
    [change] = force.changes(officer, "moved")
    assert (change.from_command_id, change.command_id) == (force.command_a.id, force.command_b.id)
    assert {g["id"] for g in change.after["grants"]} == {by_request.id, legacy.id}


# -- flags ------------------------------------------------------------------------------------------
def test_a_position_level_below_a_functions_minimum_is_flagged_once_per_change(force):
    session = force.session
    officer = force.officer(position_level=force.level("inspector"))
    warrant = force.function_grant(officer, "crimes_warrant")  # sub_inspector and above
    assert force.run() == RulesReport()

    officer.position_level = force.level("squad_leader")
    session.flush()
    report = force.run()
    assert report.flags == 1 and warrant.state == "active"  # flagged, not revoked
    [flag] = force.changes(officer, "position_level")
    assert flag.command_id == force.command_a.id and flag.after["grants"][0]["id"] == warrant.id
    assert force.run() == RulesReport()

    flag.state = "done"  # handled: still not flagged again while nothing changes
    session.flush()
    assert force.run() == RulesReport()
    officer.position_level = None  # another change, still below
    session.flush()
    assert force.run().flags == 1


def test_a_rank_group_above_the_officers_own_is_flagged(force):
    officer = force.officer(rank_abbr="ร.ต.อ.")  # group 2
    high = force.civil_registration(officer, group=1)
    report = force.run()
    assert report.flags == 1 and high.state == "active"
    [flag] = force.changes(officer, "rank")
    assert flag.after["rank"] == "ร.ต.อ." and flag.after["grants"][0]["id"] == high.id
    assert force.run() == RulesReport()


# -- data-sharing agreements -----------------------------------------------------------------------
def end_agreements(session, agency_id, day):
    for agreement in session.scalars(select(DataSharingAgreement).where(DataSharingAgreement.agency_id == agency_id)):
        agreement.valid_until = day
    session.flush()


def test_an_ended_agreement_suspends_that_agencys_grants_until_a_new_one(force):
    session = force.session
    officer, other, third = force.officer(), force.officer(), force.officer()
    aliens = force.source_grant(officer, "aliens")  # DOPA
    activated = force.civil_registration(other, activated_on=TODAY - timedelta(days=40), agency_reference="DOPA-7")
    waiting = force.civil_registration(third, state="pending_activation")
    vehicles = force.source_grant(officer, "vehicles")  # another agency
    end_agreements(session, aliens.data_source.agency_id, TODAY - timedelta(days=1))
    run = job_run(session)

    report = force.run(job_run=run)

    assert (report.suspended, report.deactivation_notices) == (3, 1)
    assert {aliens.state, activated.state, waiting.state} == {"suspended"}
    assert aliens.reason == REASON_AGREEMENT_ENDED and force.events("Grant.suspend", aliens)[0].job_run_id == run.id
    assert session.scalar(select(DeactivationNotice).where(DeactivationNotice.grant_id == activated.id)) is not None
    assert vehicles.state == "active"
    assert force.run() == RulesReport()

    # An Admin records the new agreement: the next run brings back what the agency did not close.
    session.add(DataSharingAgreement(agency_id=aliens.data_source.agency_id, reference="NEW-1", valid_from=TODAY))
    session.flush()
    report = force.run()
    assert report.reinstated == 2
    assert (aliens.state, aliens.reason) == ("active", None)
    assert waiting.state == "pending_activation"  # still waits for the agency, as before
    assert activated.state == "suspended"  # the agency closed it: the officer asks again
    [event] = force.events("Grant.reinstate", aliens)
    assert event.before["reason"] == REASON_AGREEMENT_ENDED
    assert force.run() == RulesReport()


# -- the whole story --------------------------------------------------------------------------------
def test_day_one_day_two(force):
    """Officers retire, move and join between two states of the records; the rules follow."""
    session = force.session
    staying = force.officer(force.station_a)
    retiring = force.officer(force.station_a)
    moving = force.officer(force.station_a)
    demoted = force.officer(force.station_a, position_level=force.level("inspector"))
    make_login(session, retiring)
    grants = {
        "staying": force.source_grant(staying),
        "retiring": force.source_grant(retiring),
        "moving": force.source_grant(moving),
        "demoted": force.function_grant(demoted, "crimes_warrant"),
    }
    day_one = force.run()
    assert day_one == RulesReport()

    # Day two's records: one retired, one moved to the other command, one joined, one demoted.
    retiring.status = "retired"
    moving.home_unit = force.station_b
    joining = force.officer(force.station_b)
    demoted.position_level = force.level("squad_leader")
    session.flush()
    day_two = force.run(clock=Clock.on(TODAY + timedelta(days=1)))

    assert (day_two.leavers, day_two.revoked, day_two.logins_deactivated) == (1, 1, 1)
    assert (day_two.movers, day_two.suspended, day_two.flags) == (1, 1, 1)
    assert {k: g.state for k, g in grants.items()} == {
        "staying": "active", "retiring": "revoked", "moving": "suspended", "demoted": "active"}
    assert force.changes(joining) == [] and force.changes(staying) == []
    queue_b = scoped(session, force.actor(force.tech_b, force.command_b), select(PersonnelChange.officer_id)
                     .where(PersonnelChange.officer_id.in_([o.id for o in force.officers])), PersonnelChange)
    assert set(session.scalars(queue_b)) == {moving.id}
    queue_a = scoped(session, force.actor(force.tech_a, force.command_a), select(PersonnelChange.officer_id)
                     .where(PersonnelChange.officer_id.in_([o.id for o in force.officers])), PersonnelChange)
    assert set(session.scalars(queue_a)) == {retiring.id, demoted.id}
    assert force.run(clock=Clock.on(TODAY + timedelta(days=1))) == RulesReport()


def test_apply_returns_the_counts_the_import_reads(force):
    officer = force.officer(status="retired")
    force.source_grant(officer)
    counts = personnel_rules.apply(force.session, CLOCK, officer_ids=[officer.id])
    assert counts["revoked"] == 1 and set(counts) == set(RulesReport.COUNTS)
    assert personnel_rules.apply(force.session, CLOCK, officer_ids=[officer.id]) == dict.fromkeys(RulesReport.COUNTS, 0)
    assert personnel_rules.apply(force.session, CLOCK, officer_ids=[]) == dict.fromkeys(RulesReport.COUNTS, 0)
    assert force.session.scalar(select(func.count(Grant.id)).where(Grant.officer_id == officer.id)) == 1


# -- a grant ended while the agency was activating it ------------------------------------------------
@pytest.mark.parametrize("change, state, notice", [("retired", "revoked", True), ("moved", "suspended", False)])
def test_the_agencys_activation_never_revives_a_grant_the_rules_ended(db_session, change, state, notice):
    from app.services import access_requests
    from tests.factories import decide
    from tests.test_workflow import CLOCK as DECISION_CLOCK
    from tests.test_workflow import TODAY as DECISION_DAY
    from tests.test_workflow import World

    world = World(db_session)
    session = world.session
    request = world.at_central_it(sources=("civil_registration",))
    decide(session, world.central_actor, request.id, "approve", DECISION_CLOCK)
    item = request.items[0]
    grant = session.scalar(select(Grant).where(Grant.request_item_id == item.id))
    assert grant.state == "pending_activation"
    if change == "retired":
        world.requester.status = "retired"
    else:
        world.requester.home_unit = world.other_station
    session.flush()
    personnel_rules.run(session, DECISION_CLOCK, officer_ids=[world.requester.id])
    assert grant.state == state

    access_requests.record_activation(session, world.central_actor, item.id, DECISION_CLOCK, activated=True,
                                      reference="DOPA-5", activated_on=DECISION_DAY)

    assert (grant.state, grant.agency_reference, item.state) == (state, "DOPA-5", "activated")
    opened = session.scalar(select(DeactivationNotice).where(DeactivationNotice.grant_id == grant.id))
    assert (opened is not None) == notice  # the account just opened is closed again for a leaver
