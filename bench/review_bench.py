"""Time the start of a rights review at national scale, on PostgreSQL: the request, then its job.

    .venv/bin/python bench/review_bench.py        # after `make bench-data` (database bench_1m)
    BENCH_REVIEW_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_1m  (the default)
    BENCH_REVIEW_RUNS=3

`commandtech` starts a review of their command (the demo command: every live permission of its
officers becomes an item) as the Start button does, a POST through the Flask test client with the
job held back, so the request's figure is the request alone; the run is then carried out in this
process (app.job_queue.perform, as a worker does). Prints, per start: the request's ms, the run's
seconds and the items it listed. Afterwards the review's items are deleted and the review marked
closed, so the next start (and the next bench run) finds the command free; the trail keeps its
rows.
"""
import os
import re
import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

URL = os.environ.get("BENCH_REVIEW_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_1m")
RUNS = int(os.environ.get("BENCH_REVIEW_RUNS", "3"))


def main() -> None:
    from sqlalchemy import delete, update

    from app.extensions import db
    from app.formatting import local_today
    from app.models import JobRun, ReviewCampaign, ReviewDecision
    from bench.held_jobs import HeldJobs
    from tests.conftest import Browser, build_app

    app = build_app(URL, JOBS_INLINE=False, JOB_QUEUE_URL=None)
    jobs = HeldJobs()
    tech = Browser(app.test_client())
    assert tech.login("commandtech").status_code == 302
    with app.test_request_context():
        due_on = (local_today() + timedelta(days=30)).isoformat()
    print(f"{'start':8} {'request ms':>10} {'run s':>7} {'items':>8}  state")
    for number in range(1, RUNS + 1):
        form = tech.client.get("/reviewcampaignview/start").get_data(as_text=True)
        command = re.search(r'<select[^>]*name="command"[^>]*>\s*<option[^>]*value="(\d+)"', form).group(1)
        data = {"name": f"bench {number}", "command": command, "due_on": due_on, "undecided_rule": "keep",
                "recurrence": "none", "csrf_token": tech.csrf_token("/reviewcampaignview/start")}
        asked, request_ms, run_id = jobs.ask(tech.post, "/reviewcampaignview/start", data=data)
        if run_id is None:
            print(f"{number:<8} {request_ms:10.1f} refused ({asked.status_code})")
            break
        run_seconds = jobs.carry_out(app, run_id)
        with app.app_context():
            run = db.session.get(JobRun, run_id)
            print(f"{number:<8} {request_ms:10.1f} {run_seconds:7.2f} {run.total:8,}  {run.state}"
                  f"{': ' + run.error if run.error else ''}")
            campaign_id = db.session.scalar(
                db.select(ReviewCampaign.id).where(ReviewCampaign.start_run_id == run.id))
            db.session.execute(delete(ReviewDecision).where(ReviewDecision.campaign_id == campaign_id))
            db.session.execute(update(ReviewCampaign).where(ReviewCampaign.id == campaign_id)
                               .values(state="closed"))
            db.session.commit()
            db.session.remove()


if __name__ == "__main__":
    main()
