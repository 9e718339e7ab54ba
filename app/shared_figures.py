"""Figures many readers share (the dashboard of the country or of a command, a command's rights
audit listing): worked out once for all of them, and renewed without a reader waiting.

At national scale working them out costs the database a fifth of a second. Within their time
(`seconds`) readers get the figures as they are. Past it, the next reader still gets them at
once, with the time they were worked out on the page, while new ones are worked out beside the
request: in a thread of the app server, or before the request returns under JOBS_INLINE (tests),
so the order of events is the same either way. One renewal runs at a time for each set of
figures, on every app server when the cache is Redis. Figures older than
SHARED_FIGURES_STALE_SECONDS are not shown: the reader waits for new ones, as the first reader
of a day does.

So that no reader waits, `flask sitthi renew-shared-figures` (cron or --loop, on a job host that
shares the app servers' Redis) works out again the figures someone read within
SHARED_FIGURES_KEEP_WARM_HOURS before they go stale, and the next day's at its start.
Screens name their figures through `family` and read them with `read`, so the job works out the
same figures under the same key as a reader would.
"""
import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask import Flask, current_app

from app.extensions import cache, db
from app.formatting import office_clock
from app.services.clock import Clock

T = TypeVar("T")
log = logging.getLogger(__name__)

# A renewal that has not ended by then (its server stopped) no longer keeps another from starting.
RENEWAL_LOCK_SECONDS = 120
# What was read, for the keep-warm job: {(family, arguments): when last read}.
READ_FIGURES_KEY = "shared-figures:read"
# A reader's figures are noted as read at most this often (one cache write, not one per view).
NOTE_READ_SECONDS = 300

# One set of shared figures: (its key, seconds it is shared, how to work it out).
FigureSet = tuple[str, int, Callable[[Clock], Any]]
_FAMILIES: dict[str, Callable[..., FigureSet]] = {}


def family(name: str):
    """Register how the figures named `name` are keyed and worked out, given their arguments
    (picklable values: they are kept in the cache for the keep-warm job)."""
    def register(figure_set: Callable[..., FigureSet]) -> Callable[..., FigureSet]:
        _FAMILIES[name] = figure_set
        return figure_set
    return register


def read(name: str, *arguments) -> tuple[Any, datetime]:
    """(the figures of family `name` for `arguments`, when they were worked out), noted as read."""
    key, seconds, work_out = _FAMILIES[name](*arguments)
    _note_read(name, arguments)
    return shared(key, seconds, work_out)


def shared(key: str, seconds: int, work_out: Callable[[Clock], T]) -> tuple[T, datetime]:
    """(the figures named `key`, when they were worked out), worked out by `work_out(clock)`."""
    clock = office_clock()
    kept = cache.get(key)
    # Anything else under the key (a value kept by an older release, on a shared Redis) is
    # worked out anew rather than misread.
    if isinstance(kept, tuple) and len(kept) == 2 and isinstance(kept[1], datetime):
        worked_out_at = kept[1]
        age = (clock.now - worked_out_at).total_seconds()
        if age < seconds:
            return kept
        if age < _stale_seconds(seconds):
            _renew(key, seconds, work_out)
            return kept
    return _store(key, seconds, work_out(clock), clock.now)


def _stale_seconds(seconds: int) -> int:
    return max(seconds, current_app.config.get("SHARED_FIGURES_STALE_SECONDS", 600))


def _store(key: str, seconds: int, figures: T, worked_out_at: datetime) -> tuple[T, datetime]:
    kept = (figures, worked_out_at)
    cache.set(key, kept, timeout=_stale_seconds(seconds))
    return kept


def _renew(key: str, seconds: int, work_out: Callable[[Clock], T]) -> None:
    lock = f"{key}:renewing"
    if not cache.add(lock, True, timeout=RENEWAL_LOCK_SECONDS):
        return  # another reader's request started it
    app = current_app._get_current_object()
    if app.config.get("JOBS_INLINE"):
        _renew_now(app, key, seconds, work_out, lock)
        return
    threading.Thread(target=_renew_now, args=(app, key, seconds, work_out, lock),
                     name=f"sitthi-renew-{key}", daemon=True).start()


def _renew_now(app: Flask, key: str, seconds: int, work_out: Callable[[Clock], T], lock: str) -> None:
    # An app context of its own: its own database session, never the reader's.
    with app.app_context():
        try:
            clock = office_clock()
            _store(key, seconds, work_out(clock), clock.now)
        except Exception:  # the figures on hand stay shown; the next reader past their time tries again
            log.exception("renewing the shared figures %s failed", key)
        finally:
            db.session.remove()
            cache.delete(lock)


def _note_read(name: str, arguments: tuple) -> None:
    figures = (name, arguments)
    digest = hashlib.sha256(repr(figures).encode()).hexdigest()[:32]
    if not cache.add(f"shared-figures:noted:{digest}", True, timeout=NOTE_READ_SECONDS):
        return
    # Two servers noting at once may lose one note: that reader's figures are noted again within
    # NOTE_READ_SECONDS, well before the keep-warm window ends.
    noted = _read_figures()
    noted[figures] = office_clock().now
    cache.set(READ_FIGURES_KEY, noted, timeout=0)


def _read_figures() -> dict[tuple, datetime]:
    noted = cache.get(READ_FIGURES_KEY)
    return dict(noted) if isinstance(noted, dict) else {}


@dataclass
class KeepWarmReport:
    renewed: int = 0
    fresh: int = 0
    busy: int = 0
    failed: int = 0
    dropped: int = 0

    def __str__(self) -> str:
        return (f"renewed {self.renewed}, still fresh {self.fresh}, being renewed elsewhere {self.busy}, "
                f"failed {self.failed}, no longer read {self.dropped}")


def keep_warm(keep_hours: float) -> KeepWarmReport:
    """Work out again every set of figures read within `keep_hours` that is half way to stale
    or missing (a new day's key), one at a time, each under the renewal lock readers use, so two
    job hosts or a reader never work out the same figures at once. Figures no longer read are
    forgotten. Run at least every half stale time (5 minutes), and no reader waits."""
    report = KeepWarmReport()
    noted = _read_figures()
    now = office_clock().now
    forgotten = [figures for figures, read_at in noted.items()
                 if now - read_at > timedelta(hours=keep_hours) or figures[0] not in _FAMILIES]
    for name, arguments in noted:
        if (name, arguments) in forgotten:
            continue
        try:
            key, seconds, work_out = _FAMILIES[name](*arguments)
        except TypeError:  # noted by an older release whose figures took other arguments
            forgotten.append((name, arguments))
            continue
        if seconds <= 0:
            continue  # not shared (the setting at 0): every reader works them out
        kept = cache.get(key)
        # Readers renew what they read after `seconds`; the job only keeps figures from going
        # stale, so a set nobody reads now costs the database one working-out per half stale time.
        if isinstance(kept, tuple) and len(kept) == 2 and isinstance(kept[1], datetime) \
                and (now - kept[1]).total_seconds() < max(seconds, _stale_seconds(seconds) / 2):
            report.fresh += 1
            continue
        lock = f"{key}:renewing"
        if not cache.add(lock, True, timeout=RENEWAL_LOCK_SECONDS):
            report.busy += 1
            continue
        try:
            clock = office_clock()
            _store(key, seconds, work_out(clock), clock.now)
            report.renewed += 1
        except Exception:  # one set failing leaves the others to be renewed; the job reports it
            log.exception("keeping the shared figures %s warm failed", key)
            report.failed += 1
        finally:
            db.session.rollback()  # each set reads in a transaction of its own, none held for the pass
            cache.delete(lock)
    if forgotten:
        # Notes made meanwhile are kept: only the forgotten ones are taken out of the latest map.
        latest = _read_figures()
        for figures in forgotten:
            latest.pop(figures, None)
        cache.set(READ_FIGURES_KEY, latest, timeout=0)
        report.dropped = len(forgotten)
    return report
