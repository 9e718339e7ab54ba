"""Exports run as jobs: the run's page, its progress, a file for the user who asked only, a run
that re-checks the asker's rights when it is carried out, and files emptied after a day."""
import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.models import AuditEvent, JobRun
from tests.conftest import DEMO_PASSWORD
from tests.factories import make_grant, make_login, make_officer, make_unit

PAGE = "/commandgrantview/list/"


@pytest.fixture()
def command(app):
    from app.extensions import db

    with app.app_context():
        session = db.session
        unit = make_unit(session, kind="division", admin_scope=True)
        tech = make_login(session, make_officer(session, unit), role="CommandTech", password=DEMO_PASSWORD)
        other_tech = make_login(session, make_officer(session, unit), role="CommandTech", password=DEMO_PASSWORD)
        holder = make_officer(session, make_unit(session, parent=unit), first_name_th="ไฟล์งานส่งออก")
        make_grant(session, holder, command_id=unit.id)
        session.commit()
        return {"tech": tech.username, "other_tech": other_tech.username, "command": unit.id,
                "tech_id": tech.id}


def _ask(browser, fmt="csv", url="/commandgrantview/export/"):
    response = browser.post(url, data={"format": fmt, "csrf_token": browser.csrf_token(PAGE)})
    assert response.status_code == 302 and "/exports/run/" in response.location, response.status_code
    return int(re.search(r"/exports/run/(\d+)", response.location).group(1)), response.location


def test_the_run_page_shows_the_finished_run_and_downloads_its_file(app, login, command):
    tech = login(command["tech"])
    run_id, location = _ask(tech)
    assert "watch=1" in location  # the page the button leads to downloads the file once it is written
    page = tech.get(location).get_data(as_text=True)
    assert 'id="export-download"' in page and f"/exports/run/{run_id}/file" in page
    assert tech.get(f"/exports/run/{run_id}/progress").get_json() == {
        "state": "done", "state_label": "ดำเนินการแล้ว", "total": 1, "processed": 1, "finished": True}
    file = tech.get(f"/exports/run/{run_id}/file")
    assert file.status_code == 200 and file.headers["Content-Disposition"].startswith("attachment;")
    assert "ไฟล์งานส่งออก" in file.get_data().decode("utf-8-sig")
    listed = tech.get("/exports/").get_data(as_text=True)
    assert f'data-run="{run_id}"' in listed and "สิทธิ์ในหน่วย" in listed


def test_only_the_user_who_asked_sees_the_run_or_its_file(app, login, command):
    run_id, _ = _ask(login(command["tech"]))
    for username in (command["other_tech"], "admin", "centralit"):
        browser = login(username)
        assert browser.get(f"/exports/run/{run_id}").status_code == 404
        assert browser.get(f"/exports/run/{run_id}/progress").status_code == 404
        refused = browser.get(f"/exports/run/{run_id}/file")
        assert refused.status_code == 302 and "attachment" not in refused.headers.get("Content-Disposition", "")
        assert f'data-run="{run_id}"' not in browser.get("/exports/").get_data(as_text=True)
    for beyond in (f"/exports/run/{2**40}/file", f"/exports/run/{2**40}", f"/exports/run/{2**40}/progress"):
        assert login("officer").get(beyond).status_code == 404


def test_the_export_is_recorded_once_as_a_read_when_the_file_is_written(app, login, command):
    from app.extensions import db

    tech = login(command["tech"])
    run_id, _ = _ask(tech, "xlsx")
    tech.get(f"/exports/run/{run_id}/file")
    tech.get(f"/exports/run/{run_id}/file")
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "export", AuditEvent.actor_id == command["tech_id"])).all()
        assert len(events) == 1 and "xlsx" in events[0].summary and events[0].unit_id == command["command"]
        queued = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "JobRun.queue", AuditEvent.object_id == run_id)).all()
        assert len(queued) == 1


def test_a_user_who_lost_the_right_before_the_run_gets_a_failed_run_not_a_file(app, login, command, monkeypatch):
    from app import job_queue
    from app.extensions import db

    held = []
    monkeypatch.setattr(job_queue, "submit", held.append)  # queued, not yet carried out
    tech = login(command["tech"])
    run_id, location = _ask(tech)
    assert held == [run_id]
    assert "export-download" not in tech.get(location).get_data(as_text=True)
    with app.app_context():
        user = db.session.get(app.appbuilder.sm.user_model, command["tech_id"])
        user.roles = [app.appbuilder.sm.find_role("Officer")]
        db.session.commit()
        job_queue.perform(run_id)
        run = db.session.get(JobRun, run_id)
        assert run.state == "failed" and run.output_name is None
        assert db.session.scalar(select(JobRun.output).where(JobRun.id == run_id)) is None
    page = tech.get(f"/exports/run/{run_id}").get_data(as_text=True)
    assert 'id="export-error"' in page and "คุณไม่มีสิทธิ์อ่าน" in page
    assert tech.get(f"/exports/run/{run_id}/file").status_code == 302


def test_a_file_is_emptied_a_day_after_it_was_asked_for(app, login, command):
    from app.extensions import db
    from app.services import jobs

    tech = login(command["tech"])
    old_run, _ = _ask(tech)
    with app.app_context():
        day_ago = db.session.get(JobRun, old_run).created_at - jobs.EXPORT_KEEP - timedelta(minutes=1)
        db.session.execute(update(JobRun).where(JobRun.id == old_run).values(created_at=day_ago,
                                                                             finished_at=day_ago))
        db.session.commit()
    refused = tech.get(f"/exports/run/{old_run}/file", follow_redirects=True).get_data(as_text=True)
    assert "ถูกลบ" in refused and "24" in refused
    assert 'id="export-gone"' in tech.get(f"/exports/run/{old_run}").get_data(as_text=True)
    _ask(tech)  # the next run empties the files past their day
    with app.app_context():
        assert db.session.scalar(select(JobRun.output).where(JobRun.id == old_run)) is None
        assert db.session.get(JobRun, old_run).state == "done"  # the run stays, as the trail's record


def test_a_run_taken_by_another_worker_is_not_written_twice(app, login, command):
    from app import job_queue
    from app.extensions import db

    tech = login(command["tech"])
    run_id, _ = _ask(tech)
    with app.app_context():
        before = db.session.scalar(select(JobRun.finished_at).where(JobRun.id == run_id))
        job_queue.perform(run_id)  # a second worker handed the same run
        assert db.session.scalar(select(JobRun.finished_at).where(JobRun.id == run_id)) == before
        assert len(db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "export", AuditEvent.actor_id == command["tech_id"])).all()) == 1


def test_a_user_with_three_exports_waiting_is_told_to_wait_and_nothing_more_is_queued(app, login, command, monkeypatch):
    from app import job_queue
    from app.services import jobs

    held = []
    monkeypatch.setattr(job_queue, "submit", held.append)  # nobody carries them out yet
    tech = login(command["tech"])
    for _ in range(jobs.EXPORTS_AT_ONCE):
        _ask(tech)
    token = tech.csrf_token(PAGE)
    refused = tech.post("/commandgrantview/export/", data={"format": "csv", "csrf_token": token})
    assert refused.status_code == 302 and refused.location.endswith("/exports/")
    page = tech.get(refused.location).get_data(as_text=True)
    assert "ยังจัดทำไม่เสร็จ" in page and all(f'data-run="{run_id}"' in page for run_id in held)
    assert len(held) == jobs.EXPORTS_AT_ONCE
    waited = list(held)
    with app.app_context():
        for run_id in waited:  # the worker catches up: the user may export again
            job_queue.perform(run_id)
    assert _ask(tech)[0] not in waited and len(held) == len(waited) + 1
    another = login(command["other_tech"])  # the limit is each user's own
    assert _ask(another)



def test_a_run_lost_with_its_worker_is_failed_and_no_longer_counts_as_waiting(app, login, command, monkeypatch):
    from app import job_queue
    from app.extensions import db
    from app.services import jobs

    held = []
    monkeypatch.setattr(job_queue, "submit", held.append)
    tech = login(command["tech"])
    for _ in range(jobs.EXPORTS_AT_ONCE):
        _ask(tech)
    lost, queued_long_ago, waiting = held
    with app.app_context():
        asked = db.session.get(JobRun, lost).created_at
        db.session.execute(update(JobRun).where(JobRun.id == lost).values(
            state="running", started_at=asked - jobs.RUN_LOST_AFTER - timedelta(minutes=1)))
        db.session.execute(update(JobRun).where(JobRun.id == queued_long_ago).values(
            created_at=asked - jobs.QUEUED_LOST_AFTER - timedelta(minutes=1)))
        db.session.commit()
    assert _ask(tech)[0] == held[-1]  # two of the three were lost: room for another
    with app.app_context():
        states = dict(db.session.execute(select(JobRun.id, JobRun.state).where(JobRun.id.in_(held))).all())
    assert (states[lost], states[queued_long_ago], states[waiting]) == ("failed", "failed", "queued")
    page = tech.get(f"/exports/run/{lost}").get_data(as_text=True)
    assert 'id="export-error"' in page and 'data-finished="1"' in page and "หยุดก่อนเสร็จ" in page
    with app.app_context():
        for run_id in (waiting, held[-1]):
            job_queue.perform(run_id)


@pytest.mark.parametrize("referrer, back", [
    ("http://localhost/commandgrantview/list/?_flt_0_state=active", "/commandgrantview/list/?_flt_0_state=active"),
    ("https://elsewhere.example/commandgrantview/list/", None),
    ("http://localhost//elsewhere.example/x", None),
    (None, None),
])
def test_the_run_page_leads_back_to_the_page_of_this_site_it_was_asked_from(app, login, command, referrer, back):
    tech = login(command["tech"])
    headers = {"Referer": referrer} if referrer else {}
    asked = tech.post("/commandgrantview/export/", data={"format": "csv", "csrf_token": tech.csrf_token(PAGE)},
                      headers=headers)
    page = tech.get(asked.location).get_data(as_text=True)
    link = re.search(r'id="export-back" href="([^"]*)"', page)
    assert (html.unescape(link.group(1)) if link else None) == back
