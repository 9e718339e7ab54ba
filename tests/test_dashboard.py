"""The approval dashboard: counts, overdue requests, commands, time at each stage, statements.

The database is shared by the whole run, so counts are checked as differences, and the tests
that look at dates pass a `today` far from the present: no other test's rows are due or decided
around it.
"""
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.models import REQUEST_STATES, STAGE_ACTORS, ApprovalChain, Decision, Unit
from app.security.scope import command_of
from app.services.dashboard import (
    OVERDUE_LIST_SIZE,
    TIMING_WINDOW_DAYS,
    approval_dashboard,
    unit_commands,
)
from tests.conftest import counted_statements
from tests.factories import make_officer, make_request, make_unit

FAR_PAST = date(2001, 6, 15)
FAR_FUTURE = date(2099, 3, 1)


def _stages(session, kind="external_search") -> dict[str, object]:
    chain = session.scalar(select(ApprovalChain).where(ApprovalChain.request_kind == kind))
    return {stage.actor: stage for stage in chain.stages}


def _requester(session, parent=None):
    return make_officer(session, make_unit(session, parent=parent))


def test_counts_by_state_include_every_state_and_new_requests(db_session):
    before = approval_dashboard(db_session, date.today()).by_state
    assert list(before) == list(REQUEST_STATES)
    officer = _requester(db_session)
    added = {"draft": 1, "submitted": 3, "returned": 2, "cancelled": 1}
    for state, count in added.items():
        for _ in range(count):
            make_request(db_session, officer, state=state)

    after = approval_dashboard(db_session, date.today()).by_state

    assert list(after) == list(REQUEST_STATES)
    for state in REQUEST_STATES:
        assert after[state] - before[state] == added.get(state, 0), state


def test_due_yesterday_is_overdue_and_due_today_is_not(db_session):
    today = FAR_PAST
    yesterday = today - timedelta(days=1)
    stages = _stages(db_session)
    before = approval_dashboard(db_session, today)
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

    dashboard = approval_dashboard(db_session, today)

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

    dashboard = approval_dashboard(db_session, today)

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

    dashboard = approval_dashboard(db_session, date.today())

    counts = {row.command_id: row for row in dashboard.open_by_command}
    assert counts[north.id].count == 4
    assert counts[south.id].count == 1
    assert counts[south_province.id].count == 2
    assert counts[north.id].name == str(north)
    assert national.id not in counts
    assert dashboard.open_total == sum(row.count for row in dashboard.open_by_command)
    # Every open request is counted once: under a command or under "no command".
    assert dashboard.open_total == dashboard.by_state["submitted"] + dashboard.by_state["returned"]


def test_unit_commands_agree_with_command_of(db_session):
    top = make_unit(db_session, kind="command", admin_scope=True)
    make_unit(db_session, parent=make_unit(db_session, kind="division", parent=top))
    make_unit(db_session, parent=make_unit(db_session, kind="other"))  # under no command

    commands, _names = unit_commands(db_session)

    unit_ids = db_session.scalars(select(Unit.id)).all()
    assert set(commands) == set(unit_ids)
    for unit_id in unit_ids:
        assert commands[unit_id] == command_of(db_session, unit_id), unit_id


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
    db_session.flush()

    timings = {t.actor: t for t in approval_dashboard(db_session, FAR_FUTURE).stage_timings}

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
    session.flush()


def test_statements_do_not_grow_with_the_requests(app, db_session):
    stages = _stages(db_session)
    today = FAR_FUTURE

    _add_requests(db_session, 5, stages, today)
    with counted_statements(app) as few:
        small = approval_dashboard(db_session, today)
    _add_requests(db_session, 45, stages, today)
    with counted_statements(app) as many:
        large = approval_dashboard(db_session, today)

    assert large.overdue_count > small.overdue_count
    assert len(many) == len(few), "\n".join(many)
    assert len(few) <= 8, "\n".join(few)


def test_dashboard_template_renders(app, db_session):
    from app.views.dashboard import DashboardView

    stages = _stages(db_session)
    officer = _requester(db_session)
    late = make_request(db_session, officer, current_stage=stages["central_it"],
                        due_on=FAR_PAST - timedelta(days=3))
    dashboard = approval_dashboard(db_session, FAR_PAST)
    view = DashboardView()
    view.appbuilder = app.appbuilder

    with app.test_request_context("/dashboard/"):
        html = view.render_dashboard(dashboard)

    assert f'href="/requests/show/{late.id}"' in html
    assert 'class="sitthi-overdue"' in html
    assert late.number in html
    assert "2544" in html  # the due date in the Buddhist Era, through fdate
