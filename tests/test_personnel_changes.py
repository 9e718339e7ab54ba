"""The personnel rules at work: the daily command, the officer screen and API, and the
CommandTech's "Personnel changes" inbox. These commit, so they run on a database of their own.
"""
import re
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.domain.retirement import latest_birth_date_retired
from app.models import AuditEvent, Grant, JobRun, Officer, PersonnelChange, Unit, User
from app.services import personnel_rules
from app.services.clock import Clock
from tests.conftest import (
    POSTGRES_ADMIN_URL,
    ApiUser,
    Browser,
    api_token,
    build_app,
    counted_statements,
    prepare_database,
)
from tests.factories import make_grant, make_login, make_officer, make_unit

BIRTH = date(1985, 5, 17)


@pytest.fixture(scope="module")
def own_app(databases):
    from app.extensions import db

    application = build_app(databases.new_url("rules"))
    prepare_database(application)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def _login(application, username) -> Browser:
    user = Browser(application.test_client())
    assert user.login(username).status_code == 302
    return user


def _today(application) -> date:
    from app.formatting import local_today

    with application.test_request_context():
        return local_today()


def _unit(session, code) -> Unit:
    return session.scalar(select(Unit).where(Unit.code == code))


def _settle(application) -> None:
    """Bring the demo data in line first (some demo officers are past the retirement date)."""
    from app.extensions import db

    with application.app_context():
        while personnel_rules.run(db.session, Clock.on(_today(application)), limit=500).more:
            db.session.commit()
        db.session.commit()


def _grant(session, officer, source, unit_code, today, **fields):
    return make_grant(session, officer, source, command_id=_unit(session, unit_code).id,
                      valid_from=today - timedelta(days=10), valid_until=today + timedelta(days=200), **fields)


# -- the daily command ------------------------------------------------------------------------------
def test_the_daily_command_records_a_job_run_and_a_second_run_changes_nothing(own_app):
    from app.extensions import db

    _settle(own_app)
    today = _today(own_app)
    with own_app.app_context():
        session = db.session
        kkn, mpd = _unit(session, "KKN-MUEANG"), _unit(session, "MPD1-01")
        retired = make_officer(session, kkn, status="retired", birth_date=BIRTH)
        old = make_officer(session, kkn, birth_date=latest_birth_date_retired(today))
        mover = make_officer(session, mpd, birth_date=BIRTH)  # was in Khon Kaen when given
        for officer in (retired, old):
            _grant(session, officer, "vehicles", "KKN", today)
        moved = _grant(session, mover, "aliens", "KKN", today)
        session.commit()
        ids, moved_id, mover_id = [retired.id, old.id, mover.id], moved.id, mover.id

    runner = own_app.test_cli_runner()
    result = runner.invoke(args=["sitthi", "apply-personnel-rules", "--today", today.isoformat(),
                                 "--batch-size", "1"])
    assert result.exit_code == 0, result.output
    assert (f"{today.isoformat()}: revoked 2, suspended 1, reinstated 0, logins deactivated 0, "
            "deactivation notices 0, leavers 1, retired by age 1, movers 1, flags 0") in result.output
    job_id = int(re.search(r"job run #(\d+)", result.output).group(1))
    with own_app.app_context():
        job = db.session.get(JobRun, job_id)
        assert (job.kind, job.state, job.summary["revoked"]) == ("personnel_rules", "done", 2)
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.in_(("Grant.revoke", "Grant.suspend")),
                                                             AuditEvent.object_id.in_(
                                                                 select(Grant.id).where(Grant.officer_id.in_(ids))))).all()
        assert len(events) == 3 and {e.job_run_id for e in events} == {job_id}
        assert db.session.get(Grant, moved_id).state == "suspended"
        [change] = db.session.scalars(select(PersonnelChange).where(PersonnelChange.officer_id == mover_id))
        assert (change.kind, change.command_id, change.job_run_id) == ("moved", _unit(db.session, "MPD1").id, job_id)

    again = runner.invoke(args=["sitthi", "apply-personnel-rules", "--today", today.isoformat()])
    assert again.exit_code == 0, again.output
    assert ("revoked 0, suspended 0, reinstated 0, logins deactivated 0, deactivation notices 0, "
            "leavers 0, retired by age 0, movers 0, flags 0") in again.output
    assert runner.invoke(args=["sitthi", "apply-personnel-rules"]).exit_code == 0  # today, whatever is due


def _problems(session, today, count: int) -> list[int]:
    """`count` officers of each kind the rules act on: retired, transferred, moved, below a level."""
    kkn, mpd = _unit(session, "KKN-MUEANG"), _unit(session, "MPD1-01")
    from app.models import PositionLevel, SystemFunction

    squad = session.scalar(select(PositionLevel).where(PositionLevel.code == "squad_leader"))
    warrant = session.scalar(select(SystemFunction).where(SystemFunction.code == "crimes_warrant"))
    made = []
    for _ in range(count):
        for status in ("retired", "transferred_out"):
            officer = make_officer(session, kkn, status=status, birth_date=BIRTH)
            make_login(session, officer)
            _grant(session, officer, "vehicles", "KKN", today)
            made.append(officer.id)
        mover = make_officer(session, mpd, birth_date=BIRTH)
        _grant(session, mover, "vehicles", "KKN", today)
        low = make_officer(session, kkn, birth_date=BIRTH, position_level=squad)
        make_grant(session, low, None, data_source=None, function=warrant, command_id=_unit(session, "KKN").id,
                   valid_from=today, valid_until=today + timedelta(days=100))
        made += [mover.id, low.id]
    session.flush()
    return made


def test_the_scheduled_runs_queries_do_not_grow_with_the_number_of_officers(own_app):
    from app.extensions import db

    _settle(own_app)
    today = _today(own_app)
    counts = {}
    for size in (2, 6):
        with own_app.app_context():
            _problems(db.session, today, size)
            with counted_statements(own_app) as statements:
                report = personnel_rules.run(db.session, Clock.on(today))
            assert (report.leavers, report.movers, report.flags) == (2 * size, size, size)
            counts[size] = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
            db.session.rollback()
    assert len(counts[6]) == len(counts[2]), "\n\n".join(counts[6])


@pytest.mark.skipif(not POSTGRES_ADMIN_URL, reason="SKIP LOCKED needs PostgreSQL (SITTHI_TEST_POSTGRES)")
def test_overlapping_scheduled_runs_end_each_right_once(own_app):
    from sqlalchemy.orm import Session

    from app.extensions import db

    _settle(own_app)
    today = _today(own_app)
    with own_app.app_context():
        session = db.session
        officers = [make_officer(session, _unit(session, "KKN-MUEANG"), status="retired", birth_date=BIRTH)
                    for _ in range(12)]
        grants = [_grant(session, o, "vehicles", "KKN", today).id for o in officers]
        session.commit()
        officer_ids = [o.id for o in officers]
        engine = db.engine
    start = threading.Barrier(3)

    def worker() -> None:
        with Session(engine) as own:
            start.wait()
            while personnel_rules.run(own, Clock.on(today), limit=2).more:
                own.commit()
            own.commit()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with own_app.app_context():
        revoked = db.session.scalars(select(AuditEvent.object_id).where(
            AuditEvent.action == "Grant.revoke", AuditEvent.object_id.in_(grants))).all()
        assert sorted(revoked) == sorted(grants)  # each exactly once
        assert db.session.scalar(select(func.count(PersonnelChange.id)).where(
            PersonnelChange.officer_id.in_(officer_ids))) == 12


# -- the officer screen and the API -----------------------------------------------------------------
def _form_of(officer: Officer) -> dict:
    return {
        "national_id": officer.national_id, "rank": str(officer.rank_id),
        "first_name_th": officer.first_name_th, "last_name_th": officer.last_name_th,
        "status": officer.status, "home_unit": str(officer.home_unit_id),
        "birth_date": officer.birth_date.isoformat() if officer.birth_date else "",
        "email": officer.email or "", "mobile": officer.mobile or "",
    }


def test_personnel_marking_an_officer_retired_ends_every_right_at_once(own_app):
    from app.extensions import db

    today = _today(own_app)
    with own_app.app_context():
        session = db.session
        officer = make_officer(session, _unit(session, "KKN-MUEANG"), birth_date=BIRTH)
        user = make_login(session, officer)
        grants = [_grant(session, officer, code, "KKN", today).id for code in ("vehicles", "aliens")]
        session.commit()
        officer_id, user_id, form = officer.id, user.id, _form_of(officer)
    personnel = _login(own_app, "personnel")
    form["status"] = "retired"
    response = personnel.submit(f"/officerview/edit/{officer_id}", form, follow_redirects=True)
    assert response.status_code == 200
    with own_app.app_context():
        states = db.session.scalars(select(Grant.state).where(Grant.id.in_(grants))).all()
        assert states == ["revoked", "revoked"]
        assert db.session.get(User, user_id).active is False
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "Grant.revoke",
                                                             AuditEvent.object_id.in_(grants))).all()
        personnel_id = db.session.scalar(select(User.id).where(User.username == "personnel"))
        assert {e.actor_id for e in events} == {personnel_id}  # the edit that caused it
        [change] = db.session.scalars(select(PersonnelChange).where(PersonnelChange.officer_id == officer_id))
        assert change.kind == "left"


def test_an_api_change_of_status_applies_the_rules_in_the_same_transaction(own_app):
    from app.extensions import db

    today = _today(own_app)
    with own_app.app_context():
        session = db.session
        officer = make_officer(session, _unit(session, "KKN-MUEANG"), birth_date=BIRTH)
        grant = _grant(session, officer, "vehicles", "KKN", today)
        session.commit()
        officer_id, grant_id = officer.id, grant.id
    client = own_app.test_client()
    personnel = ApiUser(client, api_token(client, "personnel"))
    response = personnel.put(f"/api/v1/officers/{officer_id}", json={"status": "transferred_out"})
    assert response.status_code == 200, response.get_data(as_text=True)
    with own_app.app_context():
        grant = db.session.get(Grant, grant_id)
        assert (grant.state, grant.reason) == ("suspended", personnel_rules.REASON_TRANSFERRED_OUT)


# -- the inbox --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def changes(own_app):
    """A mover into each demo command, with a suspended grant."""
    from app.extensions import db

    _settle(own_app)
    today = _today(own_app)
    with own_app.app_context():
        session = db.session
        into_kkn = make_officer(session, _unit(session, "KKN-MUEANG"), first_name_th="ย้ายเข้าขอนแก่น", birth_date=BIRTH)
        into_mpd = make_officer(session, _unit(session, "MPD1-01"), first_name_th="ย้ายเข้านครบาล", birth_date=BIRTH)
        _grant(session, into_kkn, "vehicles", "MPD1", today)
        _grant(session, into_mpd, "vehicles", "KKN", today)
        personnel_rules.run(session, Clock.on(today), officer_ids=[into_kkn.id, into_mpd.id])
        session.commit()
        ids = {}
        for name, officer in (("kkn", into_kkn), ("mpd", into_mpd)):
            ids[name] = session.scalar(select(PersonnelChange.id).where(PersonnelChange.officer_id == officer.id))
        return ids


def test_movers_appear_in_the_new_commands_inbox_and_not_the_old_ones(own_app, changes):
    page = _login(own_app, "commandtech").get("/personnelchangeview/list/?psize_PersonnelChangeView=100")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "ย้ายเข้าขอนแก่น" in html and "ย้ายเข้านครบาล" not in html
    assert "/officerview/show/" in html and "ยานพาหนะ" in html
    other = _login(own_app, "commandtech2").get("/personnelchangeview/list/?psize_PersonnelChangeView=100")
    assert "ย้ายเข้านครบาล" in other.get_data(as_text=True)
    assert "ย้ายเข้าขอนแก่น" not in other.get_data(as_text=True)
    assert _login(own_app, "commandtech2").get(f"/personnelchangeview/show/{changes['kkn']}").status_code == 404

    home = _login(own_app, "commandtech").get("/").get_data(as_text=True)
    assert re.search(r'id="home-personnel_changes"[^>]*>[^<]*<span class="badge">\d+</span>', home)

    for reader in ("personnel", "auditor", "centralit"):
        assert _login(own_app, reader).get("/personnelchangeview/list/").status_code == 200
    assert "ย้ายเข้านครบาล" in _login(own_app, "centralit").get(
        "/personnelchangeview/list/?psize_PersonnelChangeView=100").get_data(as_text=True)
    assert _login(own_app, "officer").get("/personnelchangeview/list/").status_code == 403


def test_mark_handled_needs_a_note_and_reloads_every_row_through_the_scope(own_app, changes):
    from app.extensions import db

    tech = _login(own_app, "commandtech")
    url = "/personnelchangeview/list/"
    token = tech.csrf_token(url)

    def post(ids, note):
        return tech.post("/personnelchangeview/action_post", data={
            "csrf_token": token, "action": "mark_handled", "rowid": [str(i) for i in ids], "note": note})

    assert post([changes["kkn"]], "").status_code == 302
    with own_app.app_context():
        assert db.session.get(PersonnelChange, changes["kkn"]).state == "open"  # no note: nothing

    post([changes["kkn"], changes["mpd"]], "ตรวจสอบแล้ว คืนสิทธิ์ยานพาหนะ")
    with own_app.app_context():
        mine, theirs = db.session.get(PersonnelChange, changes["kkn"]), db.session.get(PersonnelChange, changes["mpd"])
        assert (mine.state, mine.note) == ("done", "ตรวจสอบแล้ว คืนสิทธิ์ยานพาหนะ")
        assert mine.handled_by_id == db.session.scalar(select(User.id).where(User.username == "commandtech"))
        assert theirs.state == "open"  # another command's row, posted by hand: refused
        [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "PersonnelChange.handle",
                                                              AuditEvent.object_id == mine.id))
        assert event.after["note"] == mine.note

    auditor = _login(own_app, "auditor")
    refused = auditor.post("/personnelchangeview/action_post", data={
        "csrf_token": auditor.csrf_token(url), "action": "mark_handled", "rowid": [str(changes["mpd"])],
        "note": "x"})
    assert refused.status_code == 403


def test_the_inbox_list_runs_the_same_statements_for_a_longer_page(own_app, changes):
    from app.extensions import db

    today = _today(own_app)
    with own_app.app_context():
        session = db.session
        station = make_unit(session, parent=_unit(session, "KKN"))
        for _ in range(12):
            officer = make_officer(session, station, birth_date=BIRTH)
            _grant(session, officer, "vehicles", "MPD1", today)
            personnel_rules.run(session, Clock.on(today), officer_ids=[officer.id])
        session.commit()
    tech = _login(own_app, "commandtech")
    counts = []
    for size in (5, 12):
        url = f"/personnelchangeview/list/?psize_PersonnelChangeView={size}"
        tech.get(url)
        with counted_statements(own_app) as statements:
            page = tech.get(url)
        assert page.status_code == 200
        assert len(set(re.findall(r'href="/personnelchangeview/show/(\d+)', page.get_data(as_text=True)))) == size
        counts.append(len(statements))
    assert counts[0] == counts[1]
