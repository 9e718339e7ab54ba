"""Each gunicorn worker sets its garbage collector for serving once it has built the app."""
import subprocess
import sys
from pathlib import Path

from app.server_tuning import YOUNG_GENERATION_THRESHOLD

ROOT = Path(__file__).resolve().parent.parent

# Run in a process of its own: freezing this one would keep the suite's garbage alive.
WORKER = """
import gc, runpy
config = runpy.run_path("gunicorn.conf.py")
before = gc.get_threshold()
config["post_worker_init"](None)
print(before[0], gc.get_threshold()[0], gc.get_freeze_count())
"""


def test_a_worker_freezes_what_the_app_keeps_and_collects_young_objects_less_often():
    answer = subprocess.run([sys.executable, "-c", WORKER], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert answer.returncode == 0, answer.stderr
    default, tuned, frozen = map(int, answer.stdout.split())
    assert (default, tuned) == (700, YOUNG_GENERATION_THRESHOLD)
    assert frozen > 1000  # the modules gunicorn.conf.py and the collector module loaded
