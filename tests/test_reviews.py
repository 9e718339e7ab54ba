"""Rights reviews: a command's permissions reviewed grant by grant, signed off, closed at the due date.

Service tests run inside a rolled-back transaction on commands, units and officers made for the
test, so every count is what the test made. The screen tests commit, in commands of their own.
"""
import csv
import io
from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.errors import NotAllowed, NotFound, StaleRecord, ValidationFailed, translate
from app.models import (
    AuditEvent,
    DataChangeRequest,
    DeactivationNotice,
    Grant,
    JobRun,
    Notification,
    RankGroup,
    ReviewCampaign,
    ReviewDecision,
    User,
)
from app.security.scope import Actor, scoped
from app.services import jobs, reviews
from app.services.clock import Clock
from tests.conftest import DEMO_PASSWORD, TEST_TODAY
from tests.factories import make_grant, make_head, make_login, make_officer, make_unit


def today() -> date:
    return TEST_TODAY  # the run's frozen day


def clock(days: int = 0) -> Clock:
    return Clock.on(today() + timedelta(days=days))


def started(session, actor, spec) -> ReviewCampaign:
    """A review started and its start run carried out, as the worker does after the request."""
    campaign = reviews.start_campaign(session, actor, spec, clock())
    assert campaign.state == "preparing"
    session.commit()
    run = reviews.prepare(session, clock(), campaign.start_run_id)
    assert run.state == "done", run.error
    return session.get(ReviewCampaign, campaign.id)


class Command:
    """A command with a station (headed) and a post below it (not headed), another command, and
    the people who review: the command's technology staff, the station's head, and others."""

    def __init__(self, session):
        self.session = session
        users = {u.username: u for u in session.scalars(select(User).where(
            User.username.in_(("commandtech", "commandtech2", "centralit"))))}
        self.command = make_unit(session, kind="division", admin_scope=True)
        self.station = make_unit(session, parent=self.command)
        self.post = make_unit(session, parent=self.station)
        self.other_command = make_unit(session, kind="division", admin_scope=True)
        self.other_station = make_unit(session, parent=self.other_command)
        self.head = make_head(session, self.station)
        self.head_user = make_login(session, self.head)
        self.officer = make_officer(session, self.station)
        self.officer_user = make_login(session, self.officer)
        self.deep_officer = make_officer(session, self.post)
        self.tech_officer = make_officer(session, self.command)
        self.other_officer = make_officer(session, self.other_station)
        self.other_head = make_head(session, self.other_station)
        self.other_head_user = make_login(session, self.other_head)
        self.tech = Actor(user_id=users["commandtech"].id, officer_id=self.tech_officer.id,
                          roles=frozenset({"Officer", "CommandTech"}), command_id=self.command.id)
        self.other_tech = Actor(user_id=users["commandtech2"].id, officer_id=make_officer(session, self.other_command).id,
                                roles=frozenset({"Officer", "CommandTech"}), command_id=self.other_command.id)
        self.central = Actor(user_id=users["centralit"].id, officer_id=make_officer(session, make_unit(session)).id,
                             roles=frozenset({"Officer", "CentralIT"}))
        self.head_actor = self.officer_actor_of(self.head, self.head_user)
        self.other_head_actor = Actor(user_id=self.other_head_user.id, officer_id=self.other_head.id,
                                      roles=frozenset({"Officer"}), command_id=self.other_command.id)
        self.officer_actor = self.officer_actor_of(self.officer, self.officer_user)
        group = session.scalar(select(RankGroup).where(RankGroup.number == 2))
        self.keep = make_grant(session, self.officer, "vehicles")
        # Activated by the agency: revoking it asks the agency to close the account.
        self.revoke = make_grant(session, self.officer, "civil_registration", rank_group=group,
                                 activated_on=today() - timedelta(days=30), agency_reference="มท 0309/1")
        self.fix = make_grant(session, self.deep_officer, "vehicles")
        self.suspended = make_grant(session, self.deep_officer, "aliens", state="suspended", reason="พักไว้")
        self.pending = make_grant(session, self.officer, "aliens", state="pending_activation")
        self.tech_own = make_grant(session, self.tech_officer, "vehicles")
        self.head_own = make_grant(session, self.head, "vehicles")
        self.expired = make_grant(session, self.officer, "social_security", state="expired",
                                  valid_until=today() - timedelta(days=1), valid_from=today() - timedelta(days=400))
        self.other = make_grant(session, self.other_officer, "vehicles")

    def officer_actor_of(self, officer, user) -> Actor:
        return Actor(user_id=user.id, officer_id=officer.id, roles=frozenset({"Officer"}), command_id=self.command.id)

    def start(self, actor=None, days=14, **kwargs) -> ReviewCampaign:
        spec = reviews.CampaignSpec(name=kwargs.pop("name", "ทบทวนสิทธิ์ไตรมาส"), command_id=self.command.id,
                                    due_on=today() + timedelta(days=days), **kwargs)
        return started(self.session, actor or self.tech, spec)

    def item(self, campaign, grant) -> ReviewDecision:
        return self.session.scalar(select(ReviewDecision).where(
            ReviewDecision.campaign_id == campaign.id, ReviewDecision.grant_id == grant.id))


@pytest.fixture()
def world(db_session):
    return Command(db_session)


def _events(session, action, object_id=None):
    query = select(AuditEvent).where(AuditEvent.action == action)
    if object_id is not None:
        query = query.where(AuditEvent.object_id == object_id)
    return session.scalars(query).all()


# -- starting ------------------------------------------------------------------------------------
def test_starting_snapshots_every_live_grant_of_the_command(db_session, world):
    campaign = world.start()
    items = db_session.scalars(select(ReviewDecision).where(ReviewDecision.campaign_id == campaign.id)).all()
    assert {i.grant_id for i in items} == {world.keep.id, world.revoke.id, world.fix.id, world.suspended.id,
                                           world.pending.id, world.tech_own.id, world.head_own.id}
    assert {i.outcome for i in items} == {"pending"} and {i.version for i in items} == {1}
    assert all(i.officer_id == i.grant.officer_id for i in items)
    assert campaign.state == "open" and campaign.starts_on == today() and campaign.created_by_id == world.tech.user_id
    event = _events(db_session, "ReviewCampaign.start", campaign.id)[0]
    assert event.after["items"] == 7 and event.unit_id == world.command.id


def _items(session, campaign_id) -> int:
    return session.scalar(select(func.count(ReviewDecision.id)).where(ReviewDecision.campaign_id == campaign_id))


def _preparing(session, world, actor=None, on: Clock | None = None) -> ReviewCampaign:
    on = on or clock()
    spec = reviews.CampaignSpec(name="ทบทวนสิทธิ์", command_id=world.command.id, due_on=on.today + timedelta(days=14))
    campaign = reviews.start_campaign(session, actor or world.tech, spec, on)
    session.commit()
    return campaign


def test_a_review_is_listed_by_its_run_once_and_holds_its_command_meanwhile(db_session, world):
    campaign = _preparing(db_session, world)
    run = db_session.get(JobRun, campaign.start_run_id)
    assert campaign.state == "preparing" and _items(db_session, campaign.id) == 0
    assert (run.kind, run.state, run.command_id, run.started_by_id) == (
        "review_start", "queued", world.command.id, world.tech.user_id)
    assert _events(db_session, "JobRun.queue", run.id)[0].actor_id == world.tech.user_id
    with pytest.raises(ValidationFailed) as refused:  # the command's review is under way already
        _preparing(db_session, world, actor=world.central)
    assert refused.value.field == "command"
    inbox = reviews.waiting_for_review(db_session, world.tech)
    assert db_session.scalar(select(func.count(ReviewDecision.id)).where(inbox)) == 0

    first = reviews.prepare(db_session, clock(), run.id)
    second = reviews.prepare(db_session, clock(), run.id)  # a second worker given the same run
    assert (first.state, first.created_count, second.state) == ("done", 7, "done")
    assert db_session.get(ReviewCampaign, campaign.id).state == "open" and _items(db_session, campaign.id) == 7
    started_event = _events(db_session, "ReviewCampaign.start", campaign.id)
    assert len(started_event) == 1 and started_event[0].job_run_id == run.id
    assert started_event[0].actor_id == world.tech.user_id


def test_a_review_whose_listing_fails_lists_nothing_and_frees_its_command(db_session, world, monkeypatch):
    campaign = _preparing(db_session, world)

    def mail_server_gone(*args, **kwargs):  # fails after the items were inserted
        raise ConnectionError("smtp gone")

    monkeypatch.setattr(reviews, "_mail_reviewers", mail_server_gone)
    with pytest.raises(ConnectionError):  # on to the worker's log, after the run is marked failed
        reviews.prepare(db_session, clock(), campaign.start_run_id)
    db_session.expire_all()
    run = db_session.get(JobRun, campaign.start_run_id)
    assert run.state == "failed" and run.error == "ConnectionError: smtp gone"
    assert db_session.get(ReviewCampaign, campaign.id).state == "failed" and _items(db_session, campaign.id) == 0
    assert reviews.start_error(db_session, db_session.get(ReviewCampaign, campaign.id)) == run.error
    assert _events(db_session, "ReviewCampaign.start", campaign.id) == []
    monkeypatch.undo()
    again = world.start()
    assert again.state == "open" and _items(db_session, again.id) == 7


def test_a_review_lost_with_its_worker_is_failed_when_the_next_one_is_asked(db_session, world):
    lost = _preparing(db_session, world)
    next_day = clock(days=2)
    again = _preparing(db_session, world, actor=world.central, on=next_day)
    db_session.expire_all()
    assert db_session.get(ReviewCampaign, lost.id).state == "failed"
    assert reviews.start_error(db_session, db_session.get(ReviewCampaign, lost.id)) == translate(jobs.MSG_RUN_LOST)
    assert reviews.prepare(db_session, next_day, again.start_run_id).state == "done"
    assert _items(db_session, again.id) == 7 and _items(db_session, lost.id) == 0


def test_central_it_starts_a_review_of_any_command_and_heads_are_told(db_session, world):
    campaign = world.start(actor=world.central, heads_review=True, undecided_rule="suspend", recurrence="yearly")
    assert (campaign.heads_review, campaign.undecided_rule, campaign.recurrence) == (True, "suspend", "yearly")
    mailed = db_session.scalars(select(Notification.recipient_user_id).where(
        Notification.subject.contains(campaign.name))).all()
    assert world.head_user.id in mailed


@pytest.mark.parametrize("change, error", [
    ({"actor": "other_tech"}, NotAllowed),
    ({"actor": "officer_actor"}, NotAllowed),
    ({"actor": "head_actor"}, NotAllowed),
    ({"days": 0}, ValidationFailed),
    ({"days": 400}, ValidationFailed),
    ({"name": "   "}, ValidationFailed),
    ({"undecided_rule": "revoke"}, ValidationFailed),
    ({"recurrence": "weekly"}, ValidationFailed),
])
def test_a_review_is_started_only_by_those_who_may_and_with_a_sound_rule(db_session, world, change, error):
    kwargs = dict(change)
    if "actor" in kwargs:
        kwargs["actor"] = getattr(world, kwargs["actor"])
    with pytest.raises(error):
        world.start(**kwargs)
    assert db_session.scalar(select(func.count()).select_from(ReviewCampaign)
                             .where(ReviewCampaign.unit_id == world.command.id)) == 0


def test_a_station_is_not_a_command_and_one_review_of_a_command_runs_at_a_time(db_session, world):
    spec = reviews.CampaignSpec(name="x", command_id=world.station.id, due_on=today() + timedelta(days=3))
    with pytest.raises(ValidationFailed) as refused:
        reviews.start_campaign(db_session, world.central, spec, clock())
    assert refused.value.field == "command"
    world.start()
    with pytest.raises(ValidationFailed) as refused:
        world.start(actor=world.central)
    assert refused.value.field == "command"


# -- deciding and signing off -------------------------------------------------------------------
def test_a_review_from_start_to_sign_off(db_session, world):
    campaign = world.start()
    keep, revoke, fix = (world.item(campaign, g) for g in (world.keep, world.revoke, world.fix))
    reviews.decide(db_session, world.tech, keep.id, "keep", "", clock())
    with pytest.raises(ValidationFailed) as refused:
        reviews.decide(db_session, world.tech, revoke.id, "revoke", "  ", clock())
    assert refused.value.field == "comment"
    reviews.decide(db_session, world.tech, revoke.id, "revoke", "ย้ายไปสายงานอำนวยการ ไม่ต้องใช้ทะเบียนราษฎร", clock(),
                   expected_version=revoke.version)
    with pytest.raises(ValidationFailed):
        reviews.decide(db_session, world.tech, fix.id, "fix_data", "", clock())
    reviews.decide(db_session, world.tech, fix.id, "fix_data", "ยศในระบบยังเป็น ส.ต.อ. ที่ถูกคือ จ.ส.ต.", clock())
    # Nothing takes effect before the sign-off.
    assert world.revoke.state == "active"
    assert db_session.scalar(select(func.count()).select_from(DataChangeRequest)
                             .where(DataChangeRequest.officer_id == world.deep_officer.id)) == 0
    assert reviews.waiting_sign_off(db_session, world.tech) == {campaign.id: 3}

    done = reviews.sign_off(db_session, world.tech, campaign.id, clock())
    assert (done.kept, done.revoked, done.corrections) == (1, 1, 1)
    db_session.expire_all()
    assert world.keep.state == "active"
    assert world.revoke.state == "revoked" and world.revoke.reason == "ย้ายไปสายงานอำนวยการ ไม่ต้องใช้ทะเบียนราษฎร"
    assert world.revoke.revoked_by_id == world.tech.user_id
    notice = db_session.scalar(select(DeactivationNotice).where(DeactivationNotice.grant_id == world.revoke.id))
    assert notice is not None and notice.state == "pending"
    change = db_session.scalar(select(DataChangeRequest).where(DataChangeRequest.officer_id == world.deep_officer.id))
    assert (change.field, change.state, change.requested_value) == ("other", "open", "ยศในระบบยังเป็น ส.ต.อ. ที่ถูกคือ จ.ส.ต.")
    assert change.command_id == world.command.id and campaign.name in change.reason
    for item in (keep, revoke, fix):
        assert item.signed_off_at is not None and item.applied_at is not None
        assert item.reviewer_id == world.tech.user_id and item.decided_at is not None
    assert len(_events(db_session, "ReviewDecision.decide")) >= 3
    applied = {e.object_id: e.after for e in _events(db_session, "ReviewDecision.apply")}
    assert applied[revoke.id]["grant_state"] == "revoked" and applied[fix.id]["data_change_request_id"] == change.id
    assert _events(db_session, "Grant.revoke", world.revoke.id)
    assert _events(db_session, "ReviewCampaign.sign_off", campaign.id)[0].after["revoked"] == 1
    holder_mail = db_session.scalars(select(Notification.subject).where(
        Notification.recipient_user_id == world.officer_user.id)).all()
    assert any("เพิกถอน" in subject for subject in holder_mail)

    # Signed off is final; a second sign-off has nothing left.
    with pytest.raises(ValidationFailed):
        reviews.decide(db_session, world.tech, keep.id, "revoke", "เปลี่ยนใจ", clock())
    with pytest.raises(ValidationFailed):
        reviews.sign_off(db_session, world.tech, campaign.id, clock())
    assert reviews.progress(db_session, campaign.id).signed_off == 3


def test_a_decision_can_change_until_signed_off_and_a_grant_waiting_for_the_agency_is_not_revoked(db_session, world):
    campaign = world.start()
    item = world.item(campaign, world.keep)
    reviews.decide(db_session, world.tech, item.id, "revoke", "ไม่ใช้แล้ว", clock())
    reviews.decide(db_session, world.tech, item.id, "keep", "", clock())
    assert item.outcome == "keep" and item.comment is None
    with pytest.raises(ValidationFailed) as refused:
        reviews.decide(db_session, world.tech, world.item(campaign, world.pending).id, "revoke", "x", clock())
    assert refused.value.field == "outcome"
    with pytest.raises(ValidationFailed):
        reviews.decide(db_session, world.tech, item.id, "delete", "", clock())


def test_a_stale_form_changes_nothing(db_session, world):
    campaign = world.start()
    item = world.item(campaign, world.keep)
    opened = item.version
    reviews.decide(db_session, world.tech, item.id, "keep", "", clock(), expected_version=opened)
    with pytest.raises(StaleRecord):
        reviews.decide(db_session, world.tech, item.id, "revoke", "ช้าไป", clock(), expected_version=opened)
    assert item.outcome == "keep" and item.version == opened + 1


def test_reviewers_outside_the_rule_are_refused_and_nothing_changes(db_session, world):
    campaign = world.start()  # heads do not review this one
    item = world.item(campaign, world.keep)
    for actor, error in ((world.other_tech, NotFound), (world.other_head_actor, NotFound),
                         (world.head_actor, NotFound), (world.central, NotAllowed),
                         (world.officer_actor, NotAllowed)):
        with pytest.raises(error):
            reviews.decide(db_session, actor, item.id, "revoke", "ไม่ควรได้", clock())
    with pytest.raises(NotAllowed) as own:
        reviews.decide(db_session, world.tech, world.item(campaign, world.tech_own).id, "keep", "", clock())
    assert own.value.message == reviews.MSG_OWN
    db_session.refresh(item)
    assert (item.outcome, item.version, item.reviewer_id) == ("pending", 1, None)
    for actor in (world.other_tech, world.other_head_actor, world.officer_actor, world.central):
        with pytest.raises((NotFound, ValidationFailed)):
            reviews.sign_off(db_session, actor, campaign.id, clock())


def test_unit_heads_review_the_officers_of_their_unit_and_below(db_session, world):
    campaign = world.start(heads_review=True)
    mine = db_session.scalars(scoped(db_session, world.head_actor, select(ReviewDecision.grant_id), ReviewDecision)
                              .where(ReviewDecision.campaign_id == campaign.id)).all()
    # The station's officer, the officer of the post below (no head of its own), and the head's
    # own grant (seen, never reviewed); not the command's own staff nor the other command.
    assert set(mine) == {world.keep.id, world.revoke.id, world.pending.id, world.fix.id, world.suspended.id,
                         world.head_own.id}
    waiting = db_session.scalars(select(ReviewDecision.grant_id).where(
        reviews.waiting_for_review(db_session, world.head_actor))).all()
    assert set(waiting) == set(mine) - {world.head_own.id}
    reviews.decide(db_session, world.head_actor, world.item(campaign, world.fix).id, "keep", "", clock())
    with pytest.raises(NotAllowed):
        reviews.decide(db_session, world.head_actor, world.item(campaign, world.head_own).id, "keep", "", clock())
    with pytest.raises(NotFound):
        reviews.decide(db_session, world.head_actor, world.item(campaign, world.tech_own).id, "keep", "", clock())
    # A head of another unit of the command sees nothing of the station's officers.
    sibling = make_unit(db_session, parent=world.command)
    sibling_head = make_head(db_session, sibling)
    sibling_actor = world.officer_actor_of(sibling_head, make_login(db_session, sibling_head))
    with pytest.raises(NotFound):
        reviews.decide(db_session, sibling_actor, world.item(campaign, world.keep).id, "keep", "", clock())
    # A head posted to the post below takes its officers over; the station head reviews that head.
    post_head = make_head(db_session, world.post)
    post_actor = world.officer_actor_of(post_head, make_login(db_session, post_head))
    assert set(db_session.scalars(select(ReviewDecision.grant_id).where(
        reviews.waiting_for_review(db_session, post_actor)))) == {world.fix.id, world.suspended.id}
    with pytest.raises(NotFound):
        reviews.decide(db_session, world.head_actor, world.item(campaign, world.suspended).id, "keep", "", clock())


def test_a_head_signs_off_a_revocation_of_an_officer_they_head(db_session, world):
    campaign = world.start(heads_review=True)
    item = world.item(campaign, world.keep)
    reviews.decide(db_session, world.head_actor, item.id, "revoke", "ไม่ได้ปฏิบัติงานจราจรแล้ว", clock())
    done = reviews.sign_off(db_session, world.head_actor, campaign.id, clock())
    assert done.revoked == 1
    db_session.refresh(world.keep)
    assert world.keep.state == "revoked" and world.keep.revoked_by_id == world.head_user.id


def test_signing_off_a_revocation_of_a_grant_that_ended_meanwhile_changes_nothing_more(db_session, world):
    campaign = world.start()
    item = world.item(campaign, world.keep)
    reviews.decide(db_session, world.tech, item.id, "revoke", "ไม่ใช้แล้ว", clock())
    world.keep.state = "expired"
    db_session.flush()
    done = reviews.sign_off(db_session, world.tech, campaign.id, clock())
    assert (done.revoked, done.already_ended) == (0, 1)
    assert world.keep.state == "expired" and item.applied_at is not None


# -- the due date --------------------------------------------------------------------------------
def _close_all(session, on: Clock):
    """What `flask sitthi close-campaigns` does, in this test's transaction."""
    total = reviews.CloseReport()
    while True:
        report = reviews.close_due_campaigns(session, on, limit=2, job_run=total.job_run)
        total += report
        if not report.worked:
            return total


@pytest.mark.parametrize("rule", ["keep", "suspend"])
def test_at_the_due_date_undecided_items_follow_the_rule(db_session, world, rule):
    campaign = world.start(days=5, undecided_rule=rule)
    kept = world.item(campaign, world.keep)
    reviews.decide(db_session, world.tech, kept.id, "keep", "", clock())
    reviews.sign_off(db_session, world.tech, campaign.id, clock())
    decided_unsigned = world.item(campaign, world.fix)
    reviews.decide(db_session, world.tech, decided_unsigned.id, "fix_data", "ชื่อสะกดผิด", clock())

    on_due_day = _close_all(db_session, clock(5))  # the due date is the last day to review
    assert campaign.state == "open"
    closing = _close_all(db_session, clock(6))
    db_session.expire_all()
    assert campaign.state == "closed" and campaign.closed_at is not None
    run = db_session.get(JobRun, campaign.job_run_id)
    assert run.kind == "close_campaigns" and closing.job_run.id == run.id
    assert on_due_day.job_run is None or on_due_day.job_run.id != run.id
    states = {g: db_session.get(Grant, g.id).state for g in (world.keep, world.revoke, world.fix, world.suspended,
                                                             world.pending, world.tech_own)}
    assert states[world.keep] == "active"  # signed off: keep
    assert states[world.suspended] == "suspended" and states[world.pending] == "pending_activation"
    expected = "suspended" if rule == "suspend" else "active"
    assert states[world.revoke] == states[world.fix] == states[world.tech_own] == expected
    if rule == "suspend":
        assert db_session.get(Grant, world.fix.id).reason == reviews.not_reviewed_reason(campaign.due_on)
        assert str(campaign.due_on.year + 543) in world.fix.reason and campaign.due_on.isoformat() in world.fix.reason
        suspensions = _events(db_session, "Grant.suspend", world.fix.id)
        assert suspensions and suspensions[-1].job_run_id == run.id
    # The unsigned decision never took effect: no data-change request, still not signed off.
    assert decided_unsigned.signed_off_at is None and decided_unsigned.applied_at is not None
    assert db_session.scalar(select(func.count()).select_from(DataChangeRequest)
                             .where(DataChangeRequest.officer_id == world.deep_officer.id)) == 0
    closed = _events(db_session, "ReviewCampaign.close", campaign.id)[0]
    assert closed.job_run_id == run.id and closed.after["not_reviewed"] == 6 and closed.after["signed_off"] == 1

    # Idempotent: the next run finds nothing and writes nothing, not even a job run.
    runs = db_session.scalar(select(func.count(JobRun.id)))
    again = _close_all(db_session, clock(7))
    assert again.job_run is None and db_session.scalar(select(func.count(JobRun.id))) == runs
    assert len(_events(db_session, "ReviewCampaign.close", campaign.id)) == 1


@pytest.mark.parametrize("recurrence, step", [("quarterly", relativedelta(months=3)),
                                              ("yearly", relativedelta(years=1))])
def test_a_repeating_review_starts_its_next_one_when_it_closes(db_session, world, recurrence, step):
    campaign = world.start(days=3, recurrence=recurrence, heads_review=True, undecided_rule="suspend")
    report = _close_all(db_session, clock(4))
    following = db_session.scalar(select(ReviewCampaign).where(ReviewCampaign.previous_id == campaign.id))
    assert following is not None and report.started >= 1
    assert (following.state, following.unit_id, following.name) == ("open", world.command.id, campaign.name)
    assert following.due_on == campaign.due_on + step and following.starts_on == today() + timedelta(days=4)
    assert (following.recurrence, following.undecided_rule, following.heads_review) == (recurrence, "suspend", True)
    # Its snapshot is taken when it starts: the grants the rule just suspended are in it.
    items = db_session.scalars(select(ReviewDecision.grant_id).where(ReviewDecision.campaign_id == following.id)).all()
    assert world.fix.id in items and world.keep.id in items and world.expired.id not in items
    assert _events(db_session, "ReviewCampaign.start", following.id)[0].job_run_id == report.job_run.id
    # A run long after the due date skips the periods already past.
    assert reviews.next_due_date(campaign, campaign.due_on + step * 2) == campaign.due_on + step * 3


# -- progress ------------------------------------------------------------------------------------
def test_progress_counts_by_outcome_and_by_reviewer(db_session, world):
    campaign = world.start(heads_review=True)
    reviews.decide(db_session, world.tech, world.item(campaign, world.keep).id, "keep", "", clock())
    reviews.decide(db_session, world.head_actor, world.item(campaign, world.fix).id, "fix_data", "ชื่อผิด", clock())
    reviews.sign_off(db_session, world.tech, campaign.id, clock())
    progress = reviews.progress(db_session, campaign.id)
    assert (progress.total, progress.pending, progress.decided, progress.signed_off) == (7, 5, 2, 1)
    assert progress.outcomes == {"pending": 5, "keep": 1, "fix_data": 1}
    by_user = {r.user_id: (r.decided, r.signed_off) for r in progress.reviewers}
    assert by_user == {world.tech.user_id: (1, 1), world.head_user.id: (1, 0)}
    assert {r.name for r in progress.reviewers} >= {str(world.head)}


@pytest.mark.skipif(not __import__("os").environ.get("SITTHI_TEST_POSTGRES"),
                    reason="FOR UPDATE SKIP LOCKED: PostgreSQL only (SQLite serialises writers)")
def test_two_servers_closing_at_once_never_close_one_review_twice(app):
    """A review held by one run is skipped by the other, then closed once."""
    from app.extensions import db

    with app.app_context():
        world = Command(db.session)
        campaign = world.start(days=1)
        db.session.commit()
        campaign_id = campaign.id
        other = db.engine.connect()
        try:
            holder = other.begin()
            other.execute(select(ReviewCampaign.id).where(ReviewCampaign.id == campaign_id).with_for_update())
            _close_all(db.session, clock(2))
            assert db.session.get(ReviewCampaign, campaign_id).state == "open"  # held by the other run
            db.session.rollback()
            holder.rollback()
        finally:
            other.close()
        _close_all(db.session, clock(2))
        db.session.commit()
        assert db.session.get(ReviewCampaign, campaign_id).state == "closed"
        assert len(_events(db.session, "ReviewCampaign.close", campaign_id)) == 1


# -- the command ----------------------------------------------------------------------------------
def test_close_campaigns_command_is_idempotent(app):
    from app.extensions import db

    with app.app_context():
        world = Command(db.session)
        campaign = world.start(days=2, undecided_rule="suspend")
        db.session.commit()
        campaign_id, fix_id = campaign.id, world.fix.id
    runner = app.test_cli_runner()
    day = (today() + timedelta(days=3)).isoformat()
    first = runner.invoke(args=["sitthi", "close-campaigns", "--today", day, "--batch-size", "2"])
    assert first.exit_code == 0, first.output
    assert "campaigns closed" in first.output
    second = runner.invoke(args=["sitthi", "close-campaigns", "--today", day])
    assert second.exit_code == 0 and "campaigns closed 0, items not reviewed 0" in second.output
    with app.app_context():
        campaign = db.session.get(ReviewCampaign, campaign_id)
        run = db.session.get(JobRun, campaign.job_run_id)
        assert campaign.state == "closed" and run.state == "done" and run.finished_at is not None
        assert run.summary["closed"] >= 1
        assert db.session.get(Grant, fix_id).state == "suspended"


# -- the screens -----------------------------------------------------------------------------------
@pytest.fixture()
def screen_world(app):
    """A command of its own with a technology-staff login, a head login, and grants (committed)."""
    from app.extensions import db

    with app.app_context():
        world = Command(db.session)
        tech_user = make_login(db.session, world.tech_officer, role="CommandTech", password=DEMO_PASSWORD)
        world.head_user.password = world.officer_user.password = tech_user.password
        db.session.commit()
        return {"command": world.command.id, "tech": tech_user.username, "head": world.head_user.username,
                "officer": world.officer_user.username, "keep": world.keep.id, "revoke": world.revoke.id,
                "fix": world.fix.id, "tech_own": world.tech_own.id}


def _start_on_screen(user, command_id, **extra):
    data = {"name": "ทบทวนสิทธิ์ประจำปี", "command": str(command_id),
            "due_on": (today() + timedelta(days=10)).isoformat(), "undecided_rule": "keep", "recurrence": "none",
            **extra}
    return user.submit("/reviewcampaignview/start", data)


def _campaign_of(app, command_id):
    from app.extensions import db

    with app.app_context():
        return db.session.scalar(select(ReviewCampaign.id).where(ReviewCampaign.unit_id == command_id,
                                                                 ReviewCampaign.state == "open"))


def _item_of(app, campaign_id, grant_id):
    from app.extensions import db

    with app.app_context():
        # The officer comes with the item: the tests read it after the session has closed.
        return db.session.scalar(select(ReviewDecision).where(ReviewDecision.campaign_id == campaign_id,
                                                              ReviewDecision.grant_id == grant_id)
                                 .options(joinedload(ReviewDecision.officer)))


def test_the_review_screens_from_start_to_sign_off(app, login, screen_world):
    from app.extensions import db

    tech = login(screen_world["tech"])
    refused = _start_on_screen(tech, screen_world["command"], due_on=today().isoformat())
    assert refused.status_code == 400 and "sitthi-error" in refused.get_data(as_text=True)
    response = _start_on_screen(tech, screen_world["command"], heads_review="y")
    assert response.status_code == 302
    campaign_id = _campaign_of(app, screen_world["command"])
    page = tech.get(f"/reviewcampaignview/show/{campaign_id}").get_data(as_text=True)
    assert 'id="progress-total">7<' in page

    inbox = tech.get("/toreviewview/list/?psize_ToReviewView=100").get_data(as_text=True)
    keep, revoke, fix, own = (_item_of(app, campaign_id, screen_world[k]) for k in ("keep", "revoke", "fix", "tech_own"))
    assert f'value="{keep.id}"' in inbox and f'value="{own.id}"' not in inbox  # never one's own
    home = tech.get("/").get_data(as_text=True)
    assert 'id="home-to_review"' in home

    token = tech.csrf_token("/requests/new/external_search")
    bulk = tech.post("/toreviewview/action_post", data={"action": "keep_selected", "rowid": [str(keep.id)],
                                                         "comment": "", "csrf_token": token})
    assert bulk.status_code == 302
    no_comment = tech.submit(f"/toreviewview/decide/{revoke.id}", {"outcome": "revoke", "comment": "",
                                                                   "version": revoke.version})
    assert no_comment.status_code == 400
    stale = tech.submit(f"/toreviewview/decide/{revoke.id}", {"outcome": "revoke", "comment": "x",
                                                              "version": revoke.version + 5})
    assert stale.status_code == 409
    done = tech.submit(f"/toreviewview/decide/{revoke.id}", {"outcome": "revoke", "version": revoke.version,
                                                             "comment": "=HYPERLINK(\"x\") ไม่ได้ใช้งานเกิน 1 ปี"})
    assert done.status_code == 302
    signed = tech.post("/toreviewview/sign_off", data={"campaign": str(campaign_id), "csrf_token": token})
    assert signed.status_code == 302
    with app.app_context():
        assert db.session.get(Grant, screen_world["revoke"]).state == "revoked"
        assert db.session.get(Grant, screen_world["keep"]).state == "active"
        assert db.session.get(ReviewDecision, keep.id).signed_off_at is not None

    # The results, exported; the formula in the comment stays text.
    shown = f"/reviewcampaignview/show/{campaign_id}"
    export = tech.export(f"/reviewcampaignview/export/{campaign_id}", shown, "csv")
    assert export.status_code == 200 and export.headers["Content-Disposition"].endswith(".csv")
    rows = list(csv.reader(io.StringIO(export.get_data().decode("utf-8-sig"))))
    assert len(rows) == 1 + 7
    assert any(cell.startswith("'=HYPERLINK") for row in rows for cell in row)
    xlsx = tech.export(f"/reviewcampaignview/export/{campaign_id}", shown, "xlsx")
    assert xlsx.status_code == 200 and xlsx.get_data()[:2] == b"PK"
    assert tech.export(f"/reviewcampaignview/export/{campaign_id}", shown, "pdf").status_code == 404
    with app.app_context():
        exports = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export",
                                                              AuditEvent.object_type == "ReviewCampaign")).all()
        assert any("8 rows" not in e.summary and "7 rows" in e.summary for e in exports)


def test_other_commands_and_officers_never_reach_a_review(app, login, screen_world):
    tech = login(screen_world["tech"])
    _start_on_screen(tech, screen_world["command"])
    campaign_id = _campaign_of(app, screen_world["command"])
    keep = _item_of(app, campaign_id, screen_world["keep"])
    other = login("commandtech2")
    assert other.get(f"/reviewcampaignview/show/{campaign_id}").status_code == 404
    assert other.export(f"/reviewcampaignview/export/{campaign_id}", "/myrecord/", "csv").status_code == 404
    assert other.get(f"/toreviewview/decide/{keep.id}").status_code == 404
    answer = other.post(
        f"/toreviewview/decide/{keep.id}",
        data={"outcome": "revoke", "comment": "x", "csrf_token": other.csrf_token("/requests/new/external_search")})
    assert answer.status_code == 404
    # The officer sees their own item, never decides it; the campaign screen is not theirs.
    officer = login(screen_world["officer"])
    assert officer.get(f"/reviewcampaignview/show/{campaign_id}").status_code == 403
    own = officer.get(f"/toreviewview/decide/{keep.id}").get_data(as_text=True)
    assert 'id="review-refused"' in own and 'id="review-form"' not in own
    assert _item_of(app, campaign_id, screen_world["keep"]).outcome == "pending"
    # Auditors read every review and its results.
    auditor = login("auditor")
    assert auditor.get(f"/reviewcampaignview/show/{campaign_id}").status_code == 200
    exported = auditor.export(f"/reviewcampaignview/export/{campaign_id}", f"/reviewcampaignview/show/{campaign_id}",
                              "xlsx")
    assert exported.status_code == 200 and exported.get_data()[:2] == b"PK"
    assert auditor.get("/reviewcampaignview/start").status_code == 403
    item_page = auditor.get(f"/reviewdecisionview/show/{keep.id}")
    assert item_page.status_code == 200 and str(keep.officer.first_name_th) in item_page.get_data(as_text=True)


def test_a_head_reaches_their_items_from_the_menu_and_home_page(app, login, screen_world):
    central = login("centralit")
    assert _start_on_screen(central, screen_world["command"], heads_review="y").status_code == 302
    campaign_id = _campaign_of(app, screen_world["command"])
    head = login(screen_world["head"])
    home = head.get("/").get_data(as_text=True)
    assert 'id="home-to_review"' in home
    inbox = head.get("/toreviewview/list/?psize_ToReviewView=100").get_data(as_text=True)
    fix = _item_of(app, campaign_id, screen_world["fix"])
    tech_own = _item_of(app, campaign_id, screen_world["tech_own"])
    assert f'value="{fix.id}"' in inbox and f'value="{tech_own.id}"' not in inbox
    response = head.submit(f"/toreviewview/decide/{fix.id}", {"outcome": "keep", "comment": "", "version": fix.version})
    assert response.status_code == 302
    assert _item_of(app, campaign_id, screen_world["fix"]).outcome == "keep"


def test_review_lists_run_as_many_statements_for_100_items_as_for_25(app, login):
    """Flags, reviewers' names, permissions and officers of a page are read once per page."""
    import re

    from app.extensions import db
    from tests.conftest import counted_statements

    with app.app_context():
        command = make_unit(db.session, kind="division", admin_scope=True)
        station = make_unit(db.session, parent=command)
        for _ in range(105):
            make_grant(db.session, make_officer(db.session, station), "vehicles")
        tech_officer = make_officer(db.session, command)
        tech_user = make_login(db.session, tech_officer, role="CommandTech", password=DEMO_PASSWORD)
        actor = Actor(user_id=tech_user.id, officer_id=tech_officer.id, roles=frozenset({"CommandTech"}),
                      command_id=command.id)
        spec = reviews.CampaignSpec(name="นับคำสั่ง", command_id=command.id, due_on=today() + timedelta(days=5))
        campaign = started(db.session, actor, spec)
        some = db.session.scalars(select(ReviewDecision.id).where(ReviewDecision.campaign_id == campaign.id)
                                  .limit(30)).all()
        for pk in some:
            reviews.decide(db.session, actor, pk, "revoke", "ไม่ได้ใช้", clock())
        db.session.commit()
        campaign_id, username = campaign.id, tech_user.username

    def statements(user, url, route, rows):
        user.get(url)
        with counted_statements(app) as seen:
            response = user.get(url)
        assert response.status_code == 200
        assert len(set(re.findall(rf'{route}(\d+)', response.get_data(as_text=True)))) == rows, url
        return seen

    tech = login(username)
    for view, url, route in (("ToReviewView", "/toreviewview/list/?", "/toreviewview/decide/"),
                             ("ReviewDecisionView", f"/reviewdecisionview/list/?_flt_0_campaign={campaign_id}&",
                              "/reviewdecisionview/show/")):
        small = statements(tech, f"{url}psize_{view}=25", route, 25)
        large = statements(tech, f"{url}psize_{view}=100", route, 100)
        assert len(large) == len(small), "\n".join(large)
        # The rights-audit flags of a page read the unit tree, the five reference tables their
        # rules compare (ranks, rank groups, duty lines, position levels, functions) and the
        # judged grants once, then what the flags name (officers, sources, rank groups,
        # functions, duty orders) by one IN statement each; every page also counts the reader's
        # unread notifications for the bell (one statement).
        assert len(small) <= 38, "\n".join(small)
