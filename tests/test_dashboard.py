"""The approval dashboard: counts, overdue requests, commands, time at each stage, statements,
and every figure within the rows its reader may open.

The database is shared by the whole run, so national counts are checked as differences, and the
tests that look at dates pass a `today` far from the present: no other test's rows are due or
decided around it. Counts of a reader's scope are checked exactly, on commands made for the test.
"""
import re
import statistics
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import delete, select

from app.models import (
    REQUEST_STATES,
    STAGE_ACTORS,
    AccessRequest,
    ApprovalChain,
    ApprovalStage,
    AuditEvent,
    Decision,
    Officer,
    RequestItem,
    Unit,
    User,
)
from app.security.scope import Actor, command_of, scoped
from app.services.dashboard import (
    OVERDUE_LIST_SIZE,
    TIMING_WINDOW_DAYS,
    approval_dashboard,
    shared_reader,
)
from app.services.delegations import actor_on
from app.services.stage_waits import record_waits
from tests.conftest import TEST_NOW, TEST_TODAY, age_shared_figures, counted_statements
from tests.factories import make_officer, make_request, make_unit

FAR_PAST = date(2001, 6, 15)
FAR_FUTURE = date(2099, 3, 1)
# The national figures: any nationwide role reads them.
NATIONWIDE = Actor(user_id=-1, roles=frozenset({"Auditor"}))


def _stages(session, kind="external_search") -> dict[str, object]:
    chain = session.scalar(select(ApprovalChain).where(ApprovalChain.request_kind == kind))
    return {stage.actor: stage for stage in chain.stages}


def _requester(session, parent=None):
    return make_officer(session, make_unit(session, parent=parent))


def test_counts_by_state_include_every_state_and_new_requests(db_session):
    before = approval_dashboard(db_session, NATIONWIDE, TEST_TODAY).by_state
    assert list(before) == list(REQUEST_STATES)
    officer = _requester(db_session)
    added = {"draft": 1, "submitted": 3, "returned": 2, "cancelled": 1}
    for state, count in added.items():
        for _ in range(count):
            make_request(db_session, officer, state=state)

    after = approval_dashboard(db_session, NATIONWIDE, TEST_TODAY).by_state

    assert list(after) == list(REQUEST_STATES)
    for state in REQUEST_STATES:
        assert after[state] - before[state] == added.get(state, 0), state


def test_due_yesterday_is_overdue_and_due_today_is_not(db_session):
    today = FAR_PAST
    yesterday = today - timedelta(days=1)
    stages = _stages(db_session)
    before = approval_dashboard(db_session, NATIONWIDE, today)
    officer = _requester(db_session)
    late = make_request(db_session, officer, current_stage=stages["central_it"], due_on=yesterday)
    on_time = make_request(db_session, officer, current_stage=stages["central_it"], due_on=today)
    # Completed but the agency has not activated it yet: late too.
    activation = make_request(db_session, officer, state="completed",
                              current_stage=stages["agency"], due_on=today - timedelta(days=4))
    # Neither waits at a stage: not overdue whatever the date says.
    returned = make_request(db_session, officer, state="returned",
                            current_stage=stages["certifying_head"], due_on=yesterday)
    done = make_request(db_session, officer, state="completed",
                        current_stage=stages["central_it"], due_on=yesterday)

    dashboard = approval_dashboard(db_session, NATIONWIDE, today)

    assert dashboard.overdue_count - before.overdue_count == 2
    listed = {row.id: row for row in dashboard.overdue}
    assert late.id in listed and activation.id in listed
    assert not {on_time.id, returned.id, done.id} & set(listed)
    assert listed[late.id].days_overdue == 1
    assert listed[late.id].due_on == yesterday
    assert listed[late.id].number == late.number
    assert listed[late.id].stage_actor == "central_it"
    assert listed[late.id].unit_name == str(officer.home_unit)
    assert listed[activation.id].days_overdue == 4
    # The most overdue first.
    order = [row.id for row in dashboard.overdue]
    assert order.index(activation.id) < order.index(late.id)
    assert len(dashboard.overdue) <= OVERDUE_LIST_SIZE


def test_overdue_list_keeps_the_twenty_most_overdue(db_session):
    today = FAR_PAST
    stage = _stages(db_session)["certifying_head"]
    officer = _requester(db_session)
    requests = [
        make_request(db_session, officer, current_stage=stage,
                     due_on=today - timedelta(days=days))
        for days in range(1, OVERDUE_LIST_SIZE + 6)
    ]

    dashboard = approval_dashboard(db_session, NATIONWIDE, today)

    assert dashboard.overdue_count >= len(requests)
    days = [row.days_overdue for row in dashboard.overdue]
    assert len(days) == OVERDUE_LIST_SIZE
    assert days == sorted(days, reverse=True)
    assert requests[0].id not in {row.id for row in dashboard.overdue}  # only 1 day late


def test_open_requests_are_counted_under_their_command(db_session):
    national = make_unit(db_session, kind="national")
    north = make_unit(db_session, kind="command", parent=national, admin_scope=True)
    north_division = make_unit(db_session, kind="division", parent=north)
    south = make_unit(db_session, kind="command", parent=national, admin_scope=True)
    # A division that is its own command, below another command: the nearest one counts.
    south_province = make_unit(db_session, kind="division", parent=south, admin_scope=True)
    north_station = make_officer(db_session, make_unit(db_session, parent=north_division))
    north_head = make_officer(db_session, north)
    south_station = make_officer(db_session, make_unit(db_session, parent=south))
    province_station = make_officer(db_session, make_unit(db_session, parent=south_province))
    for officer, state in [
        (north_station, "submitted"), (north_station, "submitted"), (north_station, "returned"),
        (north_station, "draft"), (north_station, "completed"), (north_head, "submitted"),
        (south_station, "returned"), (south_station, "cancelled"),
        (province_station, "submitted"), (province_station, "submitted"),
    ]:
        make_request(db_session, officer, state=state)

    dashboard = approval_dashboard(db_session, NATIONWIDE, TEST_TODAY)

    counts = {row.command_id: row for row in dashboard.open_by_command}
    assert counts[north.id].count == 4
    assert counts[south.id].count == 1
    assert counts[south_province.id].count == 2
    assert counts[north.id].name == str(north)
    assert national.id not in counts
    assert dashboard.open_total == sum(row.count for row in dashboard.open_by_command)
    # Every open request is counted once: under a command or under "no command".
    assert dashboard.open_total == dashboard.by_state["submitted"] + dashboard.by_state["returned"]


def test_a_command_is_named_as_it_is_now(db_session):
    """The commands' names are kept by the process; a renamed or new command shows as it is."""
    national = make_unit(db_session, kind="national")
    north = make_unit(db_session, kind="command", parent=national, admin_scope=True)
    make_request(db_session, make_officer(db_session, make_unit(db_session, parent=north)), state="submitted")
    names = {row.command_id: row.name for row in approval_dashboard(db_session, NATIONWIDE, TEST_TODAY).open_by_command}
    assert names[north.id] == str(north)

    north.abbr_th = "ภ.ทดสอบ"
    south = make_unit(db_session, kind="command", parent=national, admin_scope=True)
    make_request(db_session, make_officer(db_session, make_unit(db_session, parent=south)), state="returned")
    db_session.flush()

    names = {row.command_id: row.name for row in approval_dashboard(db_session, NATIONWIDE, TEST_TODAY).open_by_command}
    assert names[north.id] == "ภ.ทดสอบ"
    assert names[south.id] == str(south)


def _decide(session, request, transition, at, stage=None, item_id=None):
    session.add(Decision(request_id=request.id, stage_id=stage.id if stage else None,
                         item_id=item_id, transition=transition, from_state="submitted",
                         to_state="submitted", decided_at=at))


def test_median_time_at_each_stage(db_session):
    """Heads: 2, 10 and 5 hours (odd: median 5). Central IT: 1, 3, 8 and 20 (even: 5.5)."""
    stages = _stages(db_session)
    head, central = stages["certifying_head"], stages["central_it"]
    officer = _requester(db_session)
    start = datetime(2099, 2, 1, 8, 0, tzinfo=UTC)
    hour = timedelta(hours=1)
    since = datetime(2099, 3, 1, tzinfo=UTC) - timedelta(days=TIMING_WINDOW_DAYS)

    quick = make_request(db_session, officer, state="completed")
    _decide(db_session, quick, "submit", start)
    _decide(db_session, quick, "approve", start + 2 * hour, head)                    # head 2
    _decide(db_session, quick, "approve_item", start + 2.5 * hour, central,
            item_id=quick.items[0].id)                                               # item-level
    _decide(db_session, quick, "approve", start + 3 * hour, central)                 # central 1

    twice = make_request(db_session, officer, state="rejected")
    _decide(db_session, twice, "submit", start)
    _decide(db_session, twice, "approve", start + 10 * hour, head)                   # head 10
    _decide(db_session, twice, "return", start + 13 * hour, central)                 # central 3
    again = start + timedelta(days=5)
    _decide(db_session, twice, "resubmit", again)
    _decide(db_session, twice, "approve", again + 5 * hour, head)                    # head 5
    _decide(db_session, twice, "reject", again + 13 * hour, central)                 # central 8

    # Entered before the window, decided in it: counts; the head's decision before it does not.
    early = make_request(db_session, officer, state="completed")
    _decide(db_session, early, "submit", since - 30 * hour)
    _decide(db_session, early, "approve", since - 20 * hour, head)                   # outside
    _decide(db_session, early, "approve", since, central)                            # central 20

    cancelled = make_request(db_session, officer, state="cancelled")
    _decide(db_session, cancelled, "submit", start)
    _decide(db_session, cancelled, "cancel", start + hour, head)                     # no sample
    record_waits(db_session)  # as the service does after each decision

    timings = {t.actor: t for t in approval_dashboard(db_session, NATIONWIDE, FAR_FUTURE).stage_timings}

    assert list(timings) == list(STAGE_ACTORS)
    assert timings["certifying_head"].samples == 3
    assert timings["certifying_head"].median_hours == pytest.approx(5)
    assert timings["certifying_head"].median_days == pytest.approx(5 / 24)
    assert timings["central_it"].samples == 4
    assert timings["central_it"].median_hours == pytest.approx(5.5)
    assert timings["central_it"].median_days == pytest.approx(5.5 / 24)
    assert timings["agency"].samples == 0
    assert timings["agency"].median_hours is None


def _add_requests(session, count: int, stages, today: date) -> None:
    """Requests in several commands, some overdue, each with a short timeline of decisions."""
    command = make_unit(session, kind="command", admin_scope=True)
    officers = [_requester(session, parent=command) for _ in range(3)]
    at = datetime(2099, 2, 1, 8, 0, tzinfo=UTC)
    for number in range(count):
        request = make_request(session, officers[number % 3], current_stage=stages["central_it"],
                               state=("submitted", "returned")[number % 2],
                               due_on=today - timedelta(days=number % 4))
        _decide(session, request, "submit", at)
        _decide(session, request, "approve", at + timedelta(hours=number + 1),
                stages["certifying_head"])
    record_waits(session)


def test_statements_do_not_grow_with_the_requests(app, db_session):
    stages = _stages(db_session)
    today = FAR_FUTURE

    _add_requests(db_session, 5, stages, today)
    # Stages and the unit tree are read once per transaction (and after a unit changes): count two
    # warm readings.
    approval_dashboard(db_session, NATIONWIDE, today)
    with counted_statements(app) as few:
        small = approval_dashboard(db_session, NATIONWIDE, today)
    _add_requests(db_session, 45, stages, today)
    approval_dashboard(db_session, NATIONWIDE, today)  # the new command is a change to the unit tree
    with counted_statements(app) as many:
        large = approval_dashboard(db_session, NATIONWIDE, today)

    assert large.overdue_count > small.overdue_count
    assert len(many) == len(few), "\n".join(many)
    assert len(few) <= 8, "\n".join(few)


def test_dashboard_template_renders(app, db_session):
    from app.views.dashboard import DashboardView

    stages = _stages(db_session)
    officer = _requester(db_session)
    late = make_request(db_session, officer, current_stage=stages["central_it"],
                        due_on=FAR_PAST - timedelta(days=3))
    dashboard = approval_dashboard(db_session, NATIONWIDE, FAR_PAST)
    view = DashboardView()
    view.appbuilder = app.appbuilder

    with app.test_request_context("/dashboard/"):
        html = view.render_dashboard(dashboard)

    assert f'href="/requests/show/{late.id}"' in html
    assert 'class="sitthi-overdue"' in html
    assert late.number in html
    assert "2544" in html  # the due date in the Buddhist Era, through fdate


# -- the reader's rows, on the service --------------------------------------------------------

def test_every_figure_counts_only_the_readers_rows(db_session):
    """Two commands made for the test: one's staff, an officer and a head each see their share."""
    today = FAR_PAST
    stages = _stages(db_session)
    at_head, at_central, at_agency = stages["certifying_head"], stages["central_it"], stages["agency"]
    national = make_unit(db_session, kind="national")
    north = make_unit(db_session, kind="command", parent=national, admin_scope=True)
    south = make_unit(db_session, kind="command", parent=national, admin_scope=True)
    north_station = make_unit(db_session, parent=north)
    requester = make_officer(db_session, north_station)
    head = make_officer(db_session, north_station, rank_abbr="พ.ต.อ.")
    colleague = make_officer(db_session, north_station)
    southerner = make_officer(db_session, make_unit(db_session, parent=south))
    late = {"due_on": today - timedelta(days=2)}

    mine_at_head = make_request(db_session, requester, current_stage=at_head, certifying_head=head, **late)
    mine_draft = make_request(db_session, requester, state="draft", certifying_head=head)
    theirs_at_head = make_request(db_session, colleague, current_stage=at_head, certifying_head=head,
                                  due_on=today - timedelta(days=5))
    theirs_draft = make_request(db_session, colleague, state="draft", certifying_head=head)
    north_central = make_request(db_session, colleague, current_stage=at_central, **late)
    north_agency = make_request(db_session, colleague, state="completed", current_stage=at_agency, **late)
    south_central = make_request(db_session, southerner, current_stage=at_central,
                                 due_on=today - timedelta(days=9))
    south_returned = make_request(db_session, southerner, state="returned", current_stage=at_head)

    start = datetime(2099, 2, 1, 8, 0, tzinfo=UTC)
    for request, hours in ((north_central, 4), (south_central, 30)):
        _decide(db_session, request, "submit", start)
        _decide(db_session, request, "approve", start + timedelta(hours=hours), at_head)
    record_waits(db_session)  # as the service does after each decision

    north_tech = Actor(user_id=-2, roles=frozenset({"CommandTech"}), command_id=north.id)
    south_personnel = Actor(user_id=-3, roles=frozenset({"Personnel"}), command_id=south.id)
    officer = Actor(user_id=-4, officer_id=requester.id, roles=frozenset({"Officer"}))
    named_head = Actor(user_id=-5, officer_id=head.id, roles=frozenset({"Officer"}))

    north_view = approval_dashboard(db_session, north_tech, today)
    assert north_view.by_state == {**dict.fromkeys(REQUEST_STATES, 0),
                                   "submitted": 3, "draft": 2, "completed": 1}
    assert [(row.command_id, row.count) for row in north_view.open_by_command] == [(north.id, 3)]
    assert north_view.overdue_count == 4
    assert [row.id for row in north_view.overdue] == [
        theirs_at_head.id, *sorted([mine_at_head.id, north_central.id, north_agency.id])]
    assert north_view.waiting_by_actor == {"certifying_head": 2, "central_it": 1, "command_tech": 0,
                                           "agency": 1}
    north_timings = {t.actor: t for t in approval_dashboard(db_session, north_tech, FAR_FUTURE).stage_timings}
    assert north_timings["certifying_head"].samples == 1
    assert north_timings["certifying_head"].median_hours == pytest.approx(4)

    south_view = approval_dashboard(db_session, south_personnel, today)
    assert south_view.by_state == {**dict.fromkeys(REQUEST_STATES, 0), "submitted": 1, "returned": 1}
    assert [(row.command_id, row.count) for row in south_view.open_by_command] == [(south.id, 2)]
    assert [row.id for row in south_view.overdue] == [south_central.id]
    south_timings = {t.actor: t for t in approval_dashboard(db_session, south_personnel, FAR_FUTURE).stage_timings}
    assert south_timings["certifying_head"].median_hours == pytest.approx(30)

    # An officer: their own requests, drafts included, nothing of a colleague's.
    own = approval_dashboard(db_session, officer, today)
    assert own.by_state == {**dict.fromkeys(REQUEST_STATES, 0), "submitted": 1, "draft": 1}
    assert [row.id for row in own.overdue] == [mine_at_head.id]
    assert own.waiting_by_actor["certifying_head"] == 1 and own.waiting_by_actor["central_it"] == 0
    assert {t.actor: t.samples for t in approval_dashboard(db_session, officer, FAR_FUTURE).stage_timings} \
        == dict.fromkeys(STAGE_ACTORS, 0)

    # A head: the submitted requests that name them, never a draft not yet sent to them.
    certifying = approval_dashboard(db_session, named_head, today)
    assert certifying.by_state == {**dict.fromkeys(REQUEST_STATES, 0), "submitted": 2}
    assert [row.id for row in certifying.overdue] == [theirs_at_head.id, mine_at_head.id]
    assert mine_draft.id not in {row.id for row in certifying.overdue} and theirs_draft.state == "draft"
    assert south_returned.state == "returned"


def test_a_request_seen_in_several_ways_is_counted_once(db_session):
    """A reader's own requests are counted part by part (requester, head, the head stood in for,
    escalated to them): a request in several parts, or with no head named, counts once, as in the
    lists (row_condition)."""
    from sqlalchemy import func

    from app.models import AccessRequest, StageChase
    from app.security.scope import row_condition
    from tests.factories import make_login

    today = FAR_PAST
    stages = _stages(db_session)
    station = make_unit(db_session, parent=make_unit(db_session, kind="command", admin_scope=True))
    head, other_head, officer = (make_officer(db_session, station) for _ in range(3))
    head_user, other_head_user = make_login(db_session, head), make_login(db_session, other_head)
    late = today - timedelta(days=3)
    # Requested by the head and naming them (as head), escalated to them too: three parts, once.
    everywhere = make_request(db_session, head, current_stage=stages["certifying_head"], certifying_head=head,
                              due_on=late)
    named = make_request(db_session, officer, current_stage=stages["certifying_head"], certifying_head=head,
                         due_on=late)
    # Naming no head (null) and escalated to the head: the null must not hide it from its part.
    headless = make_request(db_session, officer, kind="new_account", state="submitted",
                            current_stage=stages["central_it"], due_on=late)
    # Naming the head they stand in for, and them too through an escalation.
    of_the_other = make_request(db_session, officer, current_stage=stages["certifying_head"],
                                certifying_head=other_head, due_on=today + timedelta(days=3))
    deputy_only = make_request(db_session, officer, state="returned", current_stage=stages["certifying_head"],
                               certifying_head=other_head)
    make_request(db_session, officer, state="draft", certifying_head=head)  # a draft: not theirs yet
    for request in (everywhere, headless, of_the_other):
        db_session.add(StageChase(request_id=request.id, stage_id=request.current_stage_id, entered_on=today,
                                  escalated_on=today, escalated_to_user_id=head_user.id))
    db_session.flush()

    as_head = Actor(user_id=head_user.id, officer_id=head.id, roles=frozenset({"Officer"}))
    as_deputy = Actor(user_id=head_user.id, officer_id=head.id, roles=frozenset({"Officer"}),
                      stands_in_for=frozenset({other_head_user.id}))
    for reader, seen in ((as_head, {everywhere, named, headless, of_the_other}),
                         (as_deputy, {everywhere, named, headless, of_the_other, deputy_only})):
        listed = set(db_session.scalars(select(AccessRequest.id).where(
            row_condition(db_session, reader, AccessRequest, counting=True))))
        assert listed == {request.id for request in seen}
        counted = approval_dashboard(db_session, reader, today)
        by_state = dict(db_session.execute(select(AccessRequest.state, func.count()).where(
            AccessRequest.id.in_(listed)).group_by(AccessRequest.state)).all())
        assert {state: n for state, n in counted.by_state.items() if n} == by_state
        assert by_state == ({"submitted": 4, "returned": 1} if reader is as_deputy else {"submitted": 4})
        assert counted.overdue_count == 3 == len(counted.overdue)
        assert counted.waiting_by_actor["certifying_head"] == 3 and counted.waiting_by_actor["central_it"] == 1


def test_a_readers_statements_do_not_grow_with_the_requests(app, db_session):
    stages = _stages(db_session)
    command = make_unit(db_session, kind="command", admin_scope=True)
    reader = Actor(user_id=-2, roles=frozenset({"CommandTech"}), command_id=command.id)
    requester = _requester(db_session, parent=command)
    for _ in range(3):
        make_request(db_session, requester, current_stage=stages["central_it"], due_on=FAR_PAST)
    # The command's subtree is cached after the first look-up; count two warm readings.
    approval_dashboard(db_session, reader, FAR_FUTURE)
    with counted_statements(app) as few:
        small = approval_dashboard(db_session, reader, FAR_FUTURE)
    for _ in range(30):
        make_request(db_session, requester, current_stage=stages["central_it"], due_on=FAR_PAST)
    with counted_statements(app) as many:
        large = approval_dashboard(db_session, reader, FAR_FUTURE)

    assert (small.overdue_count, large.overdue_count) == (3, 33)
    assert len(many) == len(few) <= 8, "\n".join(many)


KINDS = {"central_it": "external_search", "command_tech": "new_account"}


def test_home_page_inbox_counts_statements_do_not_grow_with_the_requests(app, db_session):
    """The home page's inbox counts: one statement per inbox, whatever waits in them."""
    from app.services.inboxes import ACCOUNT_REQUESTS, TO_VERIFY, inbox_counts

    stages = {**_stages(db_session), **_stages(db_session, "new_account")}
    command = make_unit(db_session, kind="command", admin_scope=True)
    reader = Actor(user_id=-3, roles=frozenset({"CommandTech", "CentralIT"}), command_id=command.id)
    requester = _requester(db_session, parent=command)
    for stage in ("central_it", "command_tech"):
        make_request(db_session, requester, current_stage=stages[stage], due_on=FAR_FUTURE)
    inbox_counts(db_session, reader)  # the command's subtree is cached after the first look-up
    with counted_statements(app) as few:
        small = inbox_counts(db_session, reader)
    for _ in range(20):
        for stage in ("central_it", "command_tech"):
            make_request(db_session, requester, kind=KINDS[stage], current_stage=stages[stage],
                         due_on=FAR_FUTURE)
    with counted_statements(app) as many:
        large = inbox_counts(db_session, reader)

    assert large[ACCOUNT_REQUESTS] - small[ACCOUNT_REQUESTS] == 20
    assert large[TO_VERIFY] - small[TO_VERIFY] == 20
    assert len(many) == len(few), "\n".join(many)


# -- the reader's rows, through the screen, for every demo login --------------------------------

DEMO_LOGINS = ("admin", "officer", "head", "commandtech", "commandtech2", "centralit", "personnel", "auditor")
KHON_KAEN_READERS = ("officer", "head", "commandtech", "personnel")
FIGURE = re.compile(r'data-figure="([^"]*)">([^<]*)<')
RECORD_COUNT = re.compile(r"จำนวนรายการ:</strong>\s*([\d,]+)")


def _officer_of(session, username: str) -> Officer:
    return session.scalar(select(Officer).join(User, Officer.user_id == User.id)
                          .where(User.username == username))


def _unit(session, code: str) -> Unit:
    return session.scalar(select(Unit).where(Unit.code == code))


@pytest.fixture(scope="module")
def two_commands(app):
    """Requests in ภ.จว.ขอนแก่น and in บก.น.1, some overdue, some decided lately; removed afterwards."""
    from app.extensions import db
    from app.formatting import local_today

    with app.app_context():
        session = db.session
        today = local_today()
        stages = _stages(session)
        me, head = _officer_of(session, "officer"), _officer_of(session, "head")
        kkn_station = make_unit(session, parent=_unit(session, "KKN"))
        mpd_station = make_unit(session, parent=_unit(session, "MPD1"))
        kkn = [make_officer(session, kkn_station) for _ in range(2)]
        mpd = [make_officer(session, mpd_station) for _ in range(2)]

        def late(days):
            return today - timedelta(days=days)

        def built(officer, stage=None, state="submitted", **fields):
            return make_request(session, officer, state=state,
                                current_stage=stages[stage] if stage else None, **fields)

        completed_at = TEST_NOW.astimezone(UTC) - timedelta(days=6)
        khon_kaen = [
            built(me, "certifying_head", certifying_head=head, due_on=late(2)),
            built(kkn[0], "certifying_head", certifying_head=head, due_on=late(5)),
            built(kkn[0], "central_it", due_on=late(3)),
            built(kkn[1], "certifying_head", state="returned", certifying_head=head),
            built(kkn[1], "agency", state="completed", due_on=late(1), completed_at=completed_at),
            built(kkn[1], state="draft", certifying_head=head),
        ]
        bangkok = [
            built(mpd[0], "certifying_head", certifying_head=mpd[1], due_on=late(4)),
            built(mpd[0], "central_it", due_on=late(6)),
            built(mpd[1], "certifying_head", state="returned", certifying_head=mpd[1]),
            built(mpd[1], "agency", state="completed", due_on=late(2), completed_at=completed_at),
        ]
        # Recent stage times, different in each command, and an agency activation in each.
        start = TEST_NOW.astimezone(UTC) - timedelta(days=10)
        for request, hours in ((khon_kaen[2], 3), (khon_kaen[4], 7), (bangkok[1], 40), (bangkok[3], 50)):
            _decide(session, request, "submit", start)
            _decide(session, request, "approve", start + timedelta(hours=hours), stages["certifying_head"])
        for request in (khon_kaen[4], bangkok[3]):
            _decide(session, request, "activate", TEST_NOW.astimezone(UTC) - timedelta(days=1),
                    stages["agency"], item_id=request.items[0].id)
        record_waits(session)
        session.commit()
        data = {
            "khon_kaen": {r.id: r.number for r in khon_kaen},
            "bangkok": {r.id: r.number for r in bangkok},
            "stations": {"khon_kaen": kkn_station.name_th, "bangkok": mpd_station.name_th},
            "mine": khon_kaen[0].id,
            # What `head` may open of them: the requests sent to them (not a draft, not others').
            "named_head": {khon_kaen[i].id for i in (0, 1, 3)},
        }
        units = [kkn_station.id, mpd_station.id]
        officers = [o.id for o in kkn + mpd]
    yield data
    with app.app_context():
        ids = [*data["khon_kaen"], *data["bangkok"]]
        db.session.execute(delete(Decision).where(Decision.request_id.in_(ids)))
        db.session.execute(delete(RequestItem).where(RequestItem.request_id.in_(ids)))
        db.session.execute(delete(AccessRequest).where(AccessRequest.id.in_(ids)))
        db.session.execute(delete(Officer).where(Officer.id.in_(officers)))
        # A unit the audit trail names (the reads of its requests) stays, empty: the trail is append-only.
        named = select(AuditEvent.unit_id).where(AuditEvent.unit_id.in_(units))
        db.session.execute(delete(Unit).where(Unit.id.in_(units), Unit.id.not_in(named)))
        db.session.commit()


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _expected_timings(session, visible: set[int], today: date) -> dict[str, str]:
    """Stage times of the visible requests, paired here in Python rather than by the service."""
    since = datetime.combine(today - timedelta(days=TIMING_WINDOW_DAYS), time.min, tzinfo=UTC)
    actor_of = dict(session.execute(select(ApprovalStage.id, ApprovalStage.actor)).all())
    completed = dict(session.execute(select(AccessRequest.id, AccessRequest.completed_at)).all())
    moves = {"submit", "resubmit", "approve", "return", "reject", "cancel"}
    timelines = defaultdict(list)
    hours = {actor: [] for actor in STAGE_ACTORS}
    for decision in session.scalars(select(Decision)):
        if decision.request_id not in visible:
            continue
        if decision.item_id is None and decision.transition in moves:
            timelines[decision.request_id].append(decision)
        elif decision.transition in ("activate", "refuse_activation") and completed[decision.request_id] \
                and _as_utc(decision.decided_at) >= since:
            waited = _as_utc(decision.decided_at) - _as_utc(completed[decision.request_id])
            hours["agency"].append(max(waited.total_seconds(), 0) / 3600)
    for timeline in timelines.values():
        timeline.sort(key=lambda d: (_as_utc(d.decided_at), d.id))
        for before, after in zip(timeline, timeline[1:], strict=False):
            if (before.transition in ("submit", "resubmit", "approve")
                    and after.transition in ("approve", "return", "reject") and after.stage_id
                    and _as_utc(after.decided_at) >= since):
                hours[actor_of[after.stage_id]].append(
                    (_as_utc(after.decided_at) - _as_utc(before.decided_at)).total_seconds() / 3600)
    figures = {}
    for actor, samples in hours.items():
        figures[f"samples:{actor}"] = f"{len(samples):,}"
        if samples:
            middle = statistics.median(samples)
            figures[f"hours:{actor}"] = f"{middle:,.1f}"
            figures[f"days:{actor}"] = f"{middle / 24:,.1f}"
    return figures


def _expected(session, actor: Actor, today: date) -> tuple[set[int], dict[str, str], list[int]]:
    """The reader's rows (the one scope rule), then every figure counted from them in Python."""
    visible = set(session.scalars(scoped(session, actor, select(AccessRequest.id), AccessRequest)))
    rows = [row for row in session.execute(
        select(AccessRequest.id, AccessRequest.state, AccessRequest.unit_id, AccessRequest.due_on,
               ApprovalStage.actor)
        .outerjoin(ApprovalStage, AccessRequest.current_stage_id == ApprovalStage.id)
    ) if row.id in visible]
    states = Counter(row.state for row in rows)
    waiting = Counter(row.actor for row in rows if row.actor and (
        row.state == "submitted" or (row.state == "completed" and row.actor == "agency")))
    open_rows = [row for row in rows if row.state in ("submitted", "returned")]
    commands = Counter(command_of(session, row.unit_id) for row in open_rows)
    overdue = sorted(
        (row.due_on, row.id) for row in rows if row.due_on and row.due_on < today and (
            row.state == "submitted" or (row.state == "completed" and row.actor == "agency")))
    figures = {
        **{f"state:{state}": f"{states[state]:,}" for state in REQUEST_STATES},
        **{f"waiting:{actor}": f"{waiting[actor]:,}" for actor in STAGE_ACTORS},
        **{f"command:{command or ''}": f"{count:,}" for command, count in commands.items()},
        "open": f"{len(open_rows):,}",
        "overdue": f"{len(overdue):,}",
        **_expected_timings(session, visible, today),
    }
    return visible, figures, [request_id for _due, request_id in overdue[:OVERDUE_LIST_SIZE]]

@contextmanager
def _a_new_request_for_head(app, two_commands):
    """A request of a Khon Kaen officer naming `head`, there while the block runs; the figures kept
    are forgotten and the request removed after it."""
    from app.extensions import cache, db

    with app.app_context():
        station = db.session.scalar(select(Unit).where(Unit.name_th == two_commands["stations"]["khon_kaen"]))
        extra = make_request(db.session, make_officer(db.session, station), certifying_head=_officer_of(db.session, "head"))
        db.session.commit()
        extra_id, extra_officer = extra.id, extra.requester_id
    try:
        yield
    finally:
        with app.app_context():
            cache.clear()
            db.session.execute(delete(RequestItem).where(RequestItem.request_id == extra_id))
            db.session.execute(delete(AccessRequest).where(AccessRequest.id == extra_id))
            db.session.execute(delete(Officer).where(Officer.id == extra_officer))
            db.session.commit()



def _dashboard(login, username: str) -> str:
    response = login(username).get("/dashboard/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("username", DEMO_LOGINS)
def test_each_login_sees_the_figures_of_its_own_rows(app, login, two_commands, username):
    from app.extensions import db
    from app.formatting import local_today

    html = _dashboard(login, username)

    with app.app_context():
        session = db.session
        user = session.scalar(select(User).where(User.username == username))
        visible, expected, overdue_ids = _expected(session, actor_on(session, user, local_today()), local_today())
        kkn_name, mpd_name = str(_unit(session, "KKN")), str(_unit(session, "MPD1"))
        command_ids = {"khon_kaen": _unit(session, "KKN").id, "bangkok": _unit(session, "MPD1").id}
    khon_kaen, bangkok = set(two_commands["khon_kaen"]), set(two_commands["bangkok"])

    # Whose rows these are, from the data made for the test.
    if username in ("admin", "centralit", "auditor"):
        assert khon_kaen | bangkok <= visible
    elif username == "commandtech2":
        assert bangkok <= visible and not khon_kaen & visible
    elif username in ("commandtech", "personnel"):
        assert khon_kaen <= visible and not bangkok & visible
    elif username == "officer":
        assert khon_kaen & visible == {two_commands["mine"]} and not bangkok & visible
    else:
        assert khon_kaen & visible == two_commands["named_head"] and not bangkok & visible

    assert dict(FIGURE.findall(html)) == expected
    assert [int(pk) for pk in re.findall(r'href="/requests/show/(\d+)"', html)] == overdue_ids

    # Nothing of the other command: not its name, its stations, nor its request numbers.
    others = {"commandtech2": ("khon_kaen", kkn_name)}.get(
        username, ("bangkok", mpd_name) if username in KHON_KAEN_READERS else None)
    if others is not None:
        command, name = others
        # Its name only as the label of rows the reader may open there, which the figures above
        # already match: a temporary assignment into the reader's command, filed by an officer of
        # that one (the delegation tests make one in the shared database).
        if f"command:{command_ids[command]}" not in expected:
            assert name not in html
        assert two_commands["stations"][command] not in html
        assert not [n for n in two_commands[command].values() if n in html]
    if username in ("officer", "head"):
        hidden = set(two_commands["khon_kaen"]) - visible
        assert not [two_commands["khon_kaen"][pk] for pk in hidden if two_commands["khon_kaen"][pk] in html]


class _DashboardLinks(HTMLParser):
    """The links inside the dashboard itself (not the menu around it)."""

    def __init__(self):
        super().__init__()
        self.depth = 0
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and self.depth:
            self.depth += 1
        elif tag == "div" and "sitthi-dashboard" in (attrs.get("class") or "").split():
            self.depth = 1
        elif tag == "a" and self.depth and attrs.get("href"):
            self.links.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "div" and self.depth:
            self.depth -= 1


@pytest.mark.parametrize("username", DEMO_LOGINS)
def test_every_dashboard_link_opens_for_its_reader(app, login, two_commands, username):
    reader = login(username)
    html = reader.get("/dashboard/").get_data(as_text=True)
    parser = _DashboardLinks()
    parser.feed(html)
    figures = dict(FIGURE.findall(html))

    assert parser.links, "every demo login has an overdue request in its rows"
    lists = [link for link in parser.links if link.startswith("/accessrequestview/list/")]
    # The request list is linked only for the roles that have it.
    assert bool(lists) == (username in ("admin", "commandtech", "commandtech2", "centralit", "auditor"))
    for link in dict.fromkeys(parser.links):
        response = reader.get(link)
        assert response.status_code == 200, (username, link, response.status_code)
        state = re.search(r"_flt_0_state=(\w+)", link)
        if state:
            # The list shows exactly the requests the dashboard counted in that state.
            shown = RECORD_COUNT.search(response.get_data(as_text=True))
            assert (shown.group(1) if shown else "0") == figures[f"state:{state.group(1)}"], link


def test_readers_of_the_same_figures_share_them_for_a_while(app, login, two_commands, monkeypatch):
    """With DASHBOARD_CACHE_SECONDS set, the nationwide readers share one working-out of the
    figures and a command's staff another (a neighbouring command never sees it); a head's own
    figures are never shared; past their time the next reader still gets them at once and they are
    renewed for the reader after; with none kept, they are worked out while the reader waits."""
    from app.extensions import cache

    monkeypatch.setitem(app.config, "DASHBOARD_CACHE_SECONDS", 60)
    with app.app_context():
        cache.clear()

    def submitted(username: str) -> int:
        return int(dict(FIGURE.findall(_dashboard(login, username)))["state:submitted"].replace(",", ""))

    before = {username: submitted(username) for username in ("admin", "commandtech", "commandtech2", "head")}
    assert 'id="dashboard-shared"' in _dashboard(login, "auditor")
    assert 'id="dashboard-shared"' not in _dashboard(login, "head")
    with _a_new_request_for_head(app, two_commands):
        assert submitted("auditor") == submitted("centralit") == before["admin"], "shared, not worked out again"
        assert submitted("personnel") == submitted("commandtech") == before["commandtech"]
        assert submitted("head") == before["head"] + 1, "a head's own figures are worked out on each view"
        with app.app_context():
            age_shared_figures(f"dashboard:nation:{TEST_TODAY.isoformat()}", 61)
        assert submitted("auditor") == before["admin"], "past their time, still shown at once"
        assert submitted("auditor") == before["admin"] + 1, "and renewed for the next reader"
        with app.app_context():
            cache.clear()  # as when none are kept: a day's first view, or after a quiet spell
        assert submitted("auditor") == before["admin"] + 1
        assert submitted("commandtech") == before["commandtech"] + 1
        assert submitted("commandtech2") == before["commandtech2"], "another command never counts it"


@pytest.mark.parametrize("username", ("commandtech", "commandtech2", "personnel"))
def test_a_commands_shared_figures_are_those_its_staff_see(app, two_commands, username):
    """Worked out for the command alone, a command's figures equal those of each of its staff."""
    from app.extensions import db
    from app.formatting import local_today

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        actor = actor_on(db.session, user, local_today())
        key, reader = shared_reader(actor)
        assert key == f"command:{actor.command_id}"
        own = approval_dashboard(db.session, actor, local_today())
        shared = approval_dashboard(db.session, reader, local_today())
        assert (shared.by_state, shared.waiting_by_actor, shared.overdue_count, shared.open_by_command) == \
            (own.by_state, own.waiting_by_actor, own.overdue_count, own.open_by_command)


def test_a_heads_own_median_waits_are_kept_for_them_and_their_counts_stay_live(app, login, two_commands,
                                                                                monkeypatch):
    """A head's medians over 90 days cost half their page at national scale: with
    DASHBOARD_TIMINGS_SECONDS set they are kept for that head (for no one else), while the
    counts are worked out on every view, so the head's own work shows at once."""
    from app.extensions import cache

    monkeypatch.setitem(app.config, "DASHBOARD_TIMINGS_SECONDS", 600)
    with app.app_context():
        cache.clear()
    head, officer = login("head"), login("officer")
    first = dict(FIGURE.findall(head.get("/dashboard/").get_data(as_text=True)))
    with counted_statements(app) as statements:
        kept = dict(FIGURE.findall(head.get("/dashboard/").get_data(as_text=True)))
    assert not [s for s in statements if "waited_hours" in s], "the medians were kept, not worked out again"
    assert kept == first
    with counted_statements(app) as statements:
        officer.get("/dashboard/")
    assert [s for s in statements if "waited_hours" in s], "another reader's are their own"
    with _a_new_request_for_head(app, two_commands):
        live = dict(FIGURE.findall(head.get("/dashboard/").get_data(as_text=True)))
        assert int(live["state:submitted"].replace(",", "")) == int(first["state:submitted"].replace(",", "")) + 1
        assert {k: v for k, v in live.items() if k.startswith(("samples:", "hours:"))} == \
            {k: v for k, v in first.items() if k.startswith(("samples:", "hours:"))}
