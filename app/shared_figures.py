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
"""
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from flask import Flask, current_app

from app.extensions import cache, db
from app.formatting import office_clock
from app.services.clock import Clock

T = TypeVar("T")
log = logging.getLogger(__name__)

# A renewal that has not ended by then (its server stopped) no longer keeps another from starting.
RENEWAL_LOCK_SECONDS = 120


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
