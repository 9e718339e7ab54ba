"""Two servers run the same nightly job at the same moment over the same data (PostgreSQL).

Each worker thread has its own connection and loops the way the CLI command does (a batch, a
commit, again until nothing is left). Whatever the interleaving, every grant must change once:
one audit event, one mail, one deactivation notice each. A further test holds the job's
advisory lock and shows that a second run waits for it.
"""
import threading
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AuditEvent, DeactivationNotice, Grant, Notification, PersonnelChange, RankGroup, Unit
from app.services import personnel_rules
from app.services.clock import Clock
from app.services.expiry import ExpiryReport, job_lock, run_expiry
from tests.conftest import POSTGRES_ADMIN_URL, build_app, prepare_database
from tests.factories import make_grant, make_officer

pytestmark = pytest.mark.skipif(not POSTGRES_ADMIN_URL,
                                reason="concurrent writers need PostgreSQL (SITTHI_TEST_POSTGRES)")

DAY = date(2024, 10, 1)  # before the demo data: only what these tests made is due
REMIND = 30
BATCH = 4


@pytest.fixture(scope="module")
def own_app(databases):
    from app.extensions import db

    application = build_app(databases.new_url("jobs"))
    prepare_database(application)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def _station(session) -> Unit:
    return session.scalar(select(Unit).where(Unit.code == "KKN-MUEANG"))


def _in_threads(engine, work, count=2) -> list:
    """Run `work(session)` in `count` threads released together; their results, in any order."""
    results, errors, lock = [], [], threading.Lock()
    start = threading.Barrier(count)

    def worker() -> None:
        try:
            with Session(engine) as own:
                start.wait()
                result = work(own)
            with lock:
                results.append(result)
        except BaseException as error:  # noqa: BLE001 - surfaced by the assertion below
            with lock:
                errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert len(results) == count
    return results


def _expire_like_the_cli(session) -> ExpiryReport:
    total = ExpiryReport()
    while True:
        report = run_expiry(session, DAY, REMIND, limit=BATCH)
        session.commit()
        total += report
        if max(report.expired, report.reminded, report.assignments_ended) < BATCH:
            return total


def _counts(session, column, ids, **where):
    query = select(column, func.count()).group_by(column)
    for name, value in where.items():
        query = query.where(getattr(AuditEvent, name) == value)
    return dict(session.execute(query.where(column.in_(ids))).all())


def test_two_servers_expiring_at_once_expire_and_remind_each_grant_once(own_app):
    from app.extensions import db

    with own_app.app_context():
        session = db.session
        station = _station(session)
        group = session.scalar(select(RankGroup).where(RankGroup.number == 2))
        officers = [make_officer(session, station) for _ in range(24)]
        past = [make_grant(session, o, "vehicles", valid_from=DAY - timedelta(days=400),
                           valid_until=DAY - timedelta(days=1)) for o in officers]
        activated = [make_grant(session, o, "civil_registration", rank_group=group,
                                valid_from=DAY - timedelta(days=400), valid_until=DAY - timedelta(days=3),
                                activated_on=DAY - timedelta(days=390), agency_reference=f"DOPA-{o.id}")
                     for o in officers[:10]]
        soon = [make_grant(session, o, "aliens", valid_from=DAY - timedelta(days=300),
                           valid_until=DAY + timedelta(days=10)) for o in officers]
        session.commit()
        expired_ids = [g.id for g in past + activated]
        soon_ids = [g.id for g in soon]
        activated_ids = [g.id for g in activated]
        emails = [o.email for o in officers]
        engine = db.engine

    reports = _in_threads(engine, _expire_like_the_cli)

    assert sum(r.expired for r in reports) == len(expired_ids)
    assert sum(r.reminded for r in reports) == len(soon_ids)
    assert sum(r.deactivation_notices for r in reports) == len(activated_ids)
    with own_app.app_context():
        session = db.session
        states = dict(session.execute(select(Grant.id, Grant.state).where(Grant.id.in_(expired_ids))).all())
        assert set(states.values()) == {"expired"}
        versions = set(session.scalars(select(Grant.version).where(Grant.id.in_(expired_ids + soon_ids))))
        assert versions == {2}  # changed once, by one run
        assert _counts(session, AuditEvent.object_id, expired_ids, action="Grant.expire") == \
            dict.fromkeys(expired_ids, 1)
        notices = dict(session.execute(select(DeactivationNotice.grant_id, func.count())
                                       .where(DeactivationNotice.grant_id.in_(activated_ids))
                                       .group_by(DeactivationNotice.grant_id)).all())
        assert notices == dict.fromkeys(activated_ids, 1)
        mails = session.execute(select(Notification.recipient_email, Notification.subject)
                                .where(Notification.recipient_email.in_(emails))).all()
        expired_mails = [e for e, s in mails if "has expired" in s]
        reminders = [e for e, s in mails if "expires on" in s]
        # One per grant: each officer lost one vehicles grant, the first ten one more.
        assert sorted(expired_mails) == sorted(emails + emails[:10])
        assert sorted(reminders) == sorted(emails)
        assert set(session.scalars(select(Grant.reminded_on).where(Grant.id.in_(soon_ids)))) == {DAY}


def test_a_second_run_waits_for_the_job_lock_another_server_holds(own_app):
    from app.extensions import db

    with own_app.app_context():
        session = db.session
        officer = make_officer(session, _station(session))
        held = make_grant(session, officer, "prisoners", valid_from=DAY - timedelta(days=400),
                          valid_until=DAY - timedelta(days=2))
        session.commit()
        grant_id = held.id
        engine = db.engine

    finished = threading.Event()
    reports = []

    def second_server() -> None:
        with Session(engine) as own:
            reports.append(_expire_like_the_cli(own))
        finished.set()

    with Session(engine) as first:
        job_lock(first, "expire-grants")  # the first server is in the middle of a batch
        thread = threading.Thread(target=second_server)
        thread.start()
        time.sleep(1.0)
        assert not finished.is_set()  # waiting on the lock, not claiming rows
        first.rollback()  # the batch ends
    thread.join(30)
    assert finished.is_set()
    assert reports[0].expired >= 1
    with own_app.app_context():
        assert db.session.get(Grant, grant_id).state == "expired"


def test_two_servers_sweeping_at_once_revoke_each_grant_once(own_app):
    from app.extensions import db

    day = DAY + timedelta(days=1)
    clock = Clock.on(day)
    with own_app.app_context():
        session = db.session
        station = _station(session)
        leavers = [make_officer(session, station, status="retired") for _ in range(12)]
        grants = [make_grant(session, o, source, valid_from=day - timedelta(days=30),
                             valid_until=day + timedelta(days=300))
                  for o in leavers for source in ("vehicles", "company_registry")]
        session.commit()
        grant_ids = [g.id for g in grants]
        officer_ids = [o.id for o in leavers]
        emails = [o.email for o in leavers]
        engine = db.engine

    def sweep_like_the_cli(session) -> personnel_rules.RulesReport:
        job = personnel_rules.start_job(session, clock)
        session.commit()
        total = personnel_rules.RulesReport()
        while True:
            report = personnel_rules.run(session, clock, job_run=job, limit=BATCH)
            session.commit()
            total += report
            if not report.more:
                return total

    reports = _in_threads(engine, sweep_like_the_cli)

    assert sum(r.revoked for r in reports) >= len(grant_ids)
    with own_app.app_context():
        session = db.session
        states = set(session.scalars(select(Grant.state).where(Grant.id.in_(grant_ids))))
        assert states == {"revoked"}
        assert set(session.scalars(select(Grant.version).where(Grant.id.in_(grant_ids)))) == {2}
        assert _counts(session, AuditEvent.object_id, grant_ids, action="Grant.revoke") == \
            dict.fromkeys(grant_ids, 1)
        changes = dict(session.execute(select(PersonnelChange.officer_id, func.count())
                                       .where(PersonnelChange.officer_id.in_(officer_ids))
                                       .group_by(PersonnelChange.officer_id)).all())
        assert changes == dict.fromkeys(officer_ids, 1)
        told = session.scalars(select(Notification.recipient_email).where(
            Notification.recipient_email.in_(emails), Notification.subject.like("%revoked%"))).all()
        assert sorted(told) == sorted(emails)
