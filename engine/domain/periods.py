"""A report's date range: whole Europe/Berlin days, both ends included.

Reports take days from their users ("01.11. to 30.11.") and compare them with UTC moments in
the database; this is the one place that turns the first into a half-open range of the second.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")  # the users' days (ZoneInfo returns one shared instance per key)


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=BERLIN)


@dataclass(frozen=True)
class LocalDays:
    first: date
    last: date

    @property
    def start(self) -> datetime:
        return start_of_day(self.first)

    @property
    def end(self) -> datetime:
        """Exclusive: the start of the day after ``last``."""
        return start_of_day(self.last + timedelta(days=1))

    def as_of(self, now: datetime) -> datetime:
        """Stock figures are taken at the end of the range, or ``now`` while it is still running."""
        return min(self.end, now)

    def holds(self, day: date | None) -> bool:
        return day is not None and self.first <= day <= self.last

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]
