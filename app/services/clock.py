"""Time as an input: every rule that needs today or now is handed a Clock.

A clock is built once, at the edge (a web request, a CLI command, a test), from one instant, so
the day a rule compares dates with and the moment it stamps on a record always agree. Nothing
in the services reads the real clock.
"""
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

OFFICE_ZONE = ZoneInfo("Asia/Bangkok")
# A morning in the office: a day given without a time is read as this moment of it.
OFFICE_MORNING = time(9, 0)


@dataclass(frozen=True)
class Clock:
    """Today in the office's time zone and now in UTC, of one and the same instant."""

    today: date
    now: datetime

    @classmethod
    def at(cls, instant: datetime, zone: ZoneInfo = OFFICE_ZONE) -> "Clock":
        if instant.tzinfo is None:
            raise ValueError("a Clock needs an aware datetime: which time zone was meant?")
        return cls(today=instant.astimezone(zone).date(), now=instant.astimezone(UTC))

    @classmethod
    def on(cls, day: date, zone: ZoneInfo = OFFICE_ZONE) -> "Clock":
        """The clock of a morning of `day` in the office."""
        return cls.at(datetime.combine(day, OFFICE_MORNING, zone), zone)
