"""Where an import or an export runs: on RQ with JOB_QUEUE_URL (a real redis-server), else in a thread."""
import re
import shutil
import socket
import subprocess
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.models import JobRun, Officer
from app.services import jobs
from app.services.clock import Clock
from tests.conftest import TEST_TODAY
from tests.import_files import csv_bytes, person
from tests.test_reviews import screen_world  # noqa: F401  (a command of its own, with its logins)

REDIS = shutil.which("redis-server")


def _queued(app, rows) -> int:
    from app.extensions import db

    with app.app_context():
        run = jobs.create(db.session, Clock.on(TEST_TODAY), "import_personnel",
                          filename="polis.csv", content=csv_bytes(rows))
        db.session.commit()
        return run.id


def _jobs_go_to(app, monkeypatch, queue_url) -> None:
    """Runs go where a deployment sends them: to RQ at `queue_url`, or to a thread when it is None."""
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    monkeypatch.setitem(app.config, "JOB_QUEUE_URL", queue_url)


def _state(app, run_id):
    from app.extensions import db

    with app.app_context():
        db.session.expire_all()
        return db.session.scalar(select(JobRun.state).where(JobRun.id == run_id))


@pytest.fixture()
def redis_url(tmp_path):
    if REDIS is None:
        pytest.skip("no redis-server")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                               "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    from redis import Redis

    for _ in range(50):
        try:
            Redis.from_url(url).ping()
            break
        except Exception:  # not listening yet
            time.sleep(0.1)
    yield url
    server.terminate()
    server.wait(timeout=10)


def test_with_a_queue_url_the_run_waits_for_the_worker(app, redis_url, monkeypatch):
    from app import job_queue

    _jobs_go_to(app, monkeypatch, redis_url)
    rows = [person("KKN-MUEANG") for _ in range(3)]
    run_id = _queued(app, rows)
    with app.test_request_context():
        assert job_queue.submit(run_id) == "rq"
    assert _state(app, run_id) == "queued"
    result = app.test_cli_runner().invoke(args=["sitthi", "worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert _state(app, run_id) == "done"
    from app.extensions import db

    with app.app_context():
        run = db.session.get(JobRun, run_id)
        assert run.created_count == 3 and run.queue_job_id == f"sitthi-run-{run_id}"


def test_without_a_queue_the_run_goes_to_a_thread(app, monkeypatch):
    from app import job_queue

    _jobs_go_to(app, monkeypatch, None)
    rows = [person("KKN-MUEANG") for _ in range(3)]
    run_id = _queued(app, rows)
    with app.test_request_context():
        assert job_queue.submit(run_id) == "thread"
    for _ in range(100):
        if _state(app, run_id) in ("done", "failed"):
            break
        time.sleep(0.1)
    assert _state(app, run_id) == "done"
    from app.extensions import db

    with app.app_context():
        assert db.session.scalar(select(Officer.id).where(Officer.national_id == rows[0][0])) is not None


def test_a_run_is_carried_out_once(app):
    from app.extensions import db

    run_id = _queued(app, [person("KKN-MUEANG")])
    clock = Clock.on(TEST_TODAY)
    with app.app_context():
        first = jobs.execute(db.session, clock, run_id)
        second = jobs.execute(db.session, clock, run_id)
        assert (first.state, second.state, second.created_count) == ("done", "done", 1)


def test_the_worker_needs_a_queue_url(app, monkeypatch):
    monkeypatch.setitem(app.config, "JOB_QUEUE_URL", None)
    result = app.test_cli_runner().invoke(args=["sitthi", "worker", "--burst"])
    assert result.exit_code != 0 and "JOB_QUEUE_URL" in result.output


def _ask_for_an_export(tech) -> int:
    asked = tech.post("/commandgrantview/export/",
                      data={"format": "csv", "csrf_token": tech.csrf_token("/commandgrantview/list/")})
    assert asked.status_code == 302 and "/exports/run/" in asked.location
    return int(re.search(r"/exports/run/(\d+)", asked.location).group(1))


def test_an_export_waits_for_the_worker_and_is_written_for_who_asked(app, login, redis_url, monkeypatch):
    _jobs_go_to(app, monkeypatch, redis_url)
    tech = login("commandtech")
    run_id = _ask_for_an_export(tech)
    assert _state(app, run_id) == "queued"
    waiting = tech.get(f"/exports/run/{run_id}").get_data(as_text=True)
    assert 'data-finished="0"' in waiting and 'id="export-download"' not in waiting
    result = app.test_cli_runner().invoke(args=["sitthi", "worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert _state(app, run_id) == "done"
    file = tech.get(f"/exports/run/{run_id}/file")
    assert file.status_code == 200 and file.get_data().decode("utf-8-sig").count("\r\n") >= 1


def test_without_a_queue_an_export_goes_to_a_thread(app, login, monkeypatch):
    _jobs_go_to(app, monkeypatch, None)
    tech = login("commandtech")
    run_id = _ask_for_an_export(tech)
    for _ in range(100):
        if _state(app, run_id) in ("done", "failed"):
            break
        time.sleep(0.1)
    assert _state(app, run_id) == "done"
    assert tech.get(f"/exports/run/{run_id}/file").status_code == 200


def _start_a_review(tech, command_id: int) -> int:
    started = tech.submit("/reviewcampaignview/start", {
        "name": "ทบทวนสิทธิ์ประจำปี", "command": str(command_id),
        "due_on": (TEST_TODAY + timedelta(days=10)).isoformat(), "undecided_rule": "keep", "recurrence": "none"})
    assert started.status_code == 302, started.get_data(as_text=True)
    return int(re.search(r"/reviewcampaignview/show/(\d+)", started.location).group(1))


def test_a_review_is_listed_by_the_worker_while_its_page_waits(app, login, redis_url, monkeypatch,
                                                                screen_world):  # noqa: F811
    _jobs_go_to(app, monkeypatch, redis_url)
    tech = login(screen_world["tech"])
    campaign_id = _start_a_review(tech, screen_world["command"])
    page = tech.get(f"/reviewcampaignview/show/{campaign_id}").get_data(as_text=True)
    assert 'id="campaign-preparing"' in page and 'id="progress-total">0<' in page
    assert f'data-progress-url="/reviewcampaignview/show/{campaign_id}/preparing"' in page
    assert "/export/" not in page  # nothing to export yet
    waiting = tech.get(f"/reviewcampaignview/show/{campaign_id}/preparing?_l_=en").get_json()
    assert waiting == {"state": "preparing", "state_label": "Being prepared", "processed": 0, "total": 0,
                       "finished": False}
    assert login("commandtech").get(f"/reviewcampaignview/show/{campaign_id}/preparing").status_code == 404
    assert login("officer").get(f"/reviewcampaignview/show/{campaign_id}/preparing").status_code in (302, 403)

    result = app.test_cli_runner().invoke(args=["sitthi", "worker", "--burst"])
    assert result.exit_code == 0, result.output
    done = tech.get(f"/reviewcampaignview/show/{campaign_id}/preparing").get_json()
    assert done == {"state": "open", "state_label": "เปิดอยู่", "processed": 7, "total": 7, "finished": True}
    page = tech.get(f"/reviewcampaignview/show/{campaign_id}").get_data(as_text=True)
    assert 'id="campaign-preparing"' not in page and f'id="progress-total">{done["total"]}<' in page


def test_without_a_queue_a_review_is_listed_in_a_thread(app, login, monkeypatch, screen_world):  # noqa: F811
    _jobs_go_to(app, monkeypatch, None)
    tech = login(screen_world["tech"])
    campaign_id = _start_a_review(tech, screen_world["command"])
    for _ in range(100):
        if tech.get(f"/reviewcampaignview/show/{campaign_id}/preparing").get_json()["finished"]:
            break
        time.sleep(0.1)
    assert tech.get(f"/reviewcampaignview/show/{campaign_id}/preparing").get_json()["state"] == "open"


@pytest.fixture()
def unreachable_queue_url():
    with socket.socket() as probe:  # a port nobody listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def test_a_queue_that_cannot_be_reached_fails_the_run_with_its_reason(app, login, unreachable_queue_url,
                                                                       monkeypatch):
    _jobs_go_to(app, monkeypatch, unreachable_queue_url)
    tech = login("commandtech")
    run_id = _ask_for_an_export(tech)  # led to the run's page, not an error page
    assert _state(app, run_id) == "failed"
    page = tech.get(f"/exports/run/{run_id}?_l_=en").get_data(as_text=True)
    assert "The job queue could not be reached" in page and 'data-finished="1"' in page
    assert "ติดต่อคิวงานไม่ได้" in tech.get(f"/exports/run/{run_id}?_l_=th").get_data(as_text=True)


def test_a_review_the_queue_could_not_take_fails_and_frees_its_command(app, login, unreachable_queue_url,
                                                                        monkeypatch, screen_world):  # noqa: F811
    _jobs_go_to(app, monkeypatch, unreachable_queue_url)
    tech = login(screen_world["tech"])
    campaign_id = _start_a_review(tech, screen_world["command"])
    page = tech.get(f"/reviewcampaignview/show/{campaign_id}?_l_=en").get_data(as_text=True)
    assert 'id="campaign-failed"' in page and "The job queue could not be reached" in page
    assert 'id="campaign-preparing"' not in page
    monkeypatch.setitem(app.config, "JOBS_INLINE", True)  # the queue is back: the command starts another
    again = _start_a_review(tech, screen_world["command"])
    assert tech.get(f"/reviewcampaignview/show/{again}/preparing").get_json()["state"] == "open"
