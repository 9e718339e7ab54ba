"""Shared figures (app.shared_figures): worked out once, renewed past their time while the reader
who finds them old still gets them at once, one renewal at a time, never shown past the stale
limit (the dashboard screen read that way: tests/test_dashboard.py).

Figures are aged by rewriting when they were worked out, not by moving the suite's clock."""
import threading
import uuid
from datetime import timedelta

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


# -- kept warm by `flask sitthi renew-shared-figures` -----------------------------------------------

KEEP_HOURS = 24


@pytest.fixture()
def warm(app):
    """A family of figures of this test alone, read through app.shared_figures.read: (its name,
    the work-out counting its runs, the key of argument "x"). The notes of what was read are
    cleared before and after, so only this test's figures are kept warm."""
    from app.shared_figures import _FAMILIES, READ_FIGURES_KEY, family

    name = f"test-family-{uuid.uuid4().hex}"
    work_out = Counter()

    @family(name)
    def figure_set(argument: str):
        return f"{name}:{argument}", SECONDS, work_out

    with app.test_request_context():
        cache.delete(READ_FIGURES_KEY)
        yield name, work_out, f"{name}:x"
        cache.delete(READ_FIGURES_KEY)
        for argument in ("x", "y"):
            cache.delete(f"{name}:{argument}")
    del _FAMILIES[name]


def test_figures_read_are_renewed_half_way_to_stale_before_a_reader_comes(app, warm):
    from app.shared_figures import keep_warm, read

    name, work_out, key = warm
    half_stale = app.config["SHARED_FIGURES_STALE_SECONDS"] // 2
    assert read(name, "x")[0] == 1
    assert str(keep_warm(KEEP_HOURS)).startswith("renewed 0, still fresh 1"), "within their time: left alone"
    age_shared_figures(key, half_stale - 1)
    assert keep_warm(KEEP_HOURS).fresh == 1, "past their time: the next reader renews them, not the job"
    age_shared_figures(key, 2)
    report = keep_warm(KEEP_HOURS)
    assert (report.renewed, report.fresh, work_out.runs) == (1, 0, 2)
    assert read(name, "x")[0] == 2, "the reader gets the renewed figures"
    assert work_out.runs == 2, "and waits for nothing: no renewal beside the request"


def test_past_the_stale_limit_the_job_has_them_ready_when_a_reader_would_have_waited(app, warm):
    from app.shared_figures import keep_warm, read

    name, work_out, key = warm
    read(name, "x")
    age_shared_figures(key, app.config["SHARED_FIGURES_STALE_SECONDS"] + 1)
    keep_warm(KEEP_HOURS)
    figures, worked_out_at = read(name, "x")
    assert (figures, work_out.runs) == (2, 2)


def test_a_new_days_figures_are_worked_out_before_its_first_reader(warm):
    """A day's figures have a key of their own: at its start none are kept (here: deleted)."""
    from app.shared_figures import keep_warm, read

    name, work_out, key = warm
    read(name, "x")
    cache.delete(key)
    assert keep_warm(KEEP_HOURS).renewed == 1
    assert read(name, "x")[0] == 2 and work_out.runs == 2


def test_figures_nobody_read_within_the_hours_are_forgotten(warm):
    from app.shared_figures import READ_FIGURES_KEY, keep_warm, read

    name, work_out, key = warm
    read(name, "x")
    read(name, "y")
    noted = cache.get(READ_FIGURES_KEY)
    noted[(name, ("x",))] -= timedelta(hours=KEEP_HOURS, minutes=1)
    cache.set(READ_FIGURES_KEY, noted)
    cache.delete(key)
    cache.delete(f"{name}:y")
    report = keep_warm(KEEP_HOURS)
    assert (report.renewed, report.dropped) == (1, 1)
    assert work_out.runs == 3, "only y's were worked out again"
    assert set(cache.get(READ_FIGURES_KEY)) == {(name, ("y",))}


def test_figures_a_reader_is_renewing_are_not_worked_out_twice(warm):
    from app.shared_figures import keep_warm, read

    name, work_out, key = warm
    read(name, "x")
    age_shared_figures(key, SECONDS * 10)
    cache.add(f"{key}:renewing", True)
    try:
        report = keep_warm(KEEP_HOURS)
    finally:
        cache.delete(f"{key}:renewing")
    assert (report.busy, report.renewed, work_out.runs) == (1, 0, 1)


def test_one_set_failing_leaves_the_others_renewed_and_is_reported(warm):
    from app.shared_figures import keep_warm, read

    name, work_out, key = warm
    read(name, "x")
    read(name, "y")
    for argument in ("x", "y"):
        cache.delete(f"{name}:{argument}")
    work_out.fail_on = 3  # the first of the two renewals
    report = keep_warm(KEEP_HOURS)
    assert (report.failed, report.renewed) == (1, 1)


def test_a_reader_is_noted_once_for_a_while_not_on_every_view(warm, monkeypatch):
    from app import shared_figures

    name, _work_out, _key = warm
    writes = []
    original = cache.set
    monkeypatch.setattr(cache, "set", lambda key, *args, **kw: (writes.append(key), original(key, *args, **kw))[1])
    for _ in range(5):
        shared_figures.read(name, "x")
    assert writes.count(shared_figures.READ_FIGURES_KEY) == 1


def test_the_job_says_so_when_each_server_keeps_its_own_figures(app):
    result = app.test_cli_runner().invoke(args=["sitthi", "renew-shared-figures"])
    assert result.exit_code == 0, result.output
    assert "nothing to renew" in result.output
