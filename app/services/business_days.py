"""Due dates in business days: weekends and the days in the Holiday table do not count."""
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Holiday


def add_business_days(start: date, days: int, holidays: set[date]) -> date:
    """The date `days` business days after `start` (start itself never counts)."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in holidays:
            remaining -= 1
    return current


def due_date(session: Session, start: date, days: int) -> date:
    """`add_business_days` with the holidays as an Admin keeps them in the database."""
    # Long holidays (Songkran) can push far: three calendar days per business day is plenty.
    horizon = start + timedelta(days=days * 3 + 21)
    holidays = set(session.scalars(select(Holiday.day).where(Holiday.day.between(start, horizon))))
    return add_business_days(start, days, holidays)


def started_by(session: Session, today: date, days: int) -> date:
    """The last day a wait may have started on and have lasted `days` business days by `today`.

    A wait that started on day e has lasted the business days after e up to today; it has lasted
    `days` of them when e is before the `days`-th business day counted back from today (today
    included). 0 days: any wait started by today.
    """
    horizon = today - timedelta(days=days * 3 + 21)
    holidays = set(session.scalars(select(Holiday.day).where(Holiday.day.between(horizon, today))))
    day, counted = today, 0
    while counted < days:
        if day.weekday() < 5 and day not in holidays:
            counted += 1
            if counted == days:
                break
        day -= timedelta(days=1)
    return day - timedelta(days=1) if days else today
