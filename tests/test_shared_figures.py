"""Shared figures (app.shared_figures): worked out once, renewed past their time while the reader
who finds them old still gets them at once, one renewal at a time, never shown past the stale
limit (the dashboard screen read that way: tests/test_dashboard.py).

Figures are aged by rewriting when they were worked out, not by moving the suite's clock."""
import threading
import uuid

import pytest

from app.extensions import cache
from app.shared_figures import shared
from tests.conftest import age_shared_figures

SECONDS = 60


class Counter:
    """A work-out that hands back how many times it has run."""

    def __init__(self, fail_on: int | None = None):
        self.runs = 0
        self.fail_on = fail_on
        self.threads: list[str] = []

    def __call__(self, clock):
        self.runs += 1
        self.threads.append(threading.current_thread().name)
        if self.runs == self.fail_on:
            raise RuntimeError("the database went away")
        return self.runs


@pytest.fixture()
def key(app):
    name = f"test-figures:{uuid.uuid4().hex}"
    with app.test_request_context():
        yield name
        cache.delete(name)
        cache.delete(f"{name}:renewing")


def test_figures_are_worked_out_once_within_their_time(key):
    work_out = Counter()
    first, at = shared(key, SECONDS, work_out)
    assert (first, work_out.runs) == (1, 1)
    assert shared(key, SECONDS, work_out) == (1, at)
    assert work_out.runs == 1


def test_past_their_time_the_reader_gets_them_at_once_and_new_ones_follow(key):
    work_out = Counter()
    shared(key, SECONDS, work_out)
    age_shared_figures(key, SECONDS + 1)
    old, old_at = shared(key, SECONDS, work_out)
    assert old == 1, "the reader who finds them old is not kept waiting"
    assert work_out.runs == 2, "new figures were worked out beside the request"
    new, new_at = shared(key, SECONDS, work_out)
    assert new == 2 and new_at > old_at
    assert work_out.runs == 2


def test_one_renewal_at_a_time(key):
    work_out = Counter()
    shared(key, SECONDS, work_out)
    age_shared_figures(key, SECONDS + 1)
    cache.set(f"{key}:renewing", True)  # another server's request is renewing them
    assert shared(key, SECONDS, work_out)[0] == 1
    assert work_out.runs == 1
    cache.delete(f"{key}:renewing")
    shared(key, SECONDS, work_out)
    assert work_out.runs == 2
    assert cache.get(f"{key}:renewing") is None, "the renewal let go when it ended"


def test_a_value_of_another_shape_under_the_key_is_worked_out_anew(key):
    """As after an upgrade, when a shared Redis still holds what the last release kept there."""
    cache.set(key, {"by_state": {}})
    work_out = Counter()
    assert shared(key, SECONDS, work_out)[0] == 1
    assert shared(key, SECONDS, work_out)[0] == 1 and work_out.runs == 1


def test_past_the_stale_limit_the_reader_waits_for_new_figures(app, key):
    work_out = Counter()
    shared(key, SECONDS, work_out)
    age_shared_figures(key, app.config["SHARED_FIGURES_STALE_SECONDS"] + 1)
    assert shared(key, SECONDS, work_out)[0] == 2
    assert work_out.runs == 2


def test_a_failed_renewal_keeps_the_figures_shown_and_the_next_reader_tries_again(key):
    work_out = Counter(fail_on=2)
    shared(key, SECONDS, work_out)
    age_shared_figures(key, SECONDS + 1)
    assert shared(key, SECONDS, work_out)[0] == 1
    assert shared(key, SECONDS, work_out)[0] == 1, "still the old figures"
    assert work_out.runs == 3 and shared(key, SECONDS, work_out)[0] == 3


def test_an_app_server_renews_them_in_a_thread_of_its_own(app, key, monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    work_out = Counter()
    shared(key, SECONDS, work_out)
    age_shared_figures(key, SECONDS + 1)
    assert shared(key, SECONDS, work_out)[0] == 1
    for thread in threading.enumerate():
        if thread.name == f"sitthi-renew-{key}":
            thread.join(timeout=30)
    assert work_out.threads == [threading.current_thread().name, f"sitthi-renew-{key}"]
    assert shared(key, SECONDS, work_out)[0] == 2
