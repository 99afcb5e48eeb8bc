"""A report's date range: whole Europe/Berlin days, both ends included.

Reports take days from their users ("01.11. to 30.11.") and compare them with UTC moments in
the database; this is the one place that turns the first into a half-open range of the second.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from engine import clock


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=clock.BERLIN)


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

    @property
    def as_of(self) -> datetime:
        """Stock figures are taken at the end of the range, or now while it is still running."""
        return min(self.end, clock.now())

    def holds(self, day: date | None) -> bool:
        return day is not None and self.first <= day <= self.last

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]
