"""Working days: Monday to Friday, minus public holidays and the municipality's closing days.

Deadlines in KIM casework are counted in working days (DOMAIN.md section 6): a referral on
Friday 2026-11-20 plus 10 working days is due on Friday 2026-12-04. Public holidays differ by
German state, so they come from the ``holidays`` package for one state (``KIM_HOLIDAY_REGION``,
North Rhine-Westphalia by default); offices add their own closing days (24 and 31 December, the
day after Ascension, ...) through ``KIM_CLOSING_DAYS``.

Due dates, escalations and timers ask this calendar on hot paths, so the non-working days of a
year are computed once and cached per calendar instance. The calendar works on plain local
``date`` values; converting an aware datetime to a local date is the caller's job and ``tz`` says
which zone "local" means.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

__all__ = [
    "CLOSING_DAY_NAME",
    "DEFAULT_REGION",
    "DEFAULT_TIMEZONE",
    "WorkingDayCalendar",
    "calendar_from_config",
    "parse_closing_days",
]

CLOSING_DAY_NAME = "Schließtag"
DEFAULT_REGION = "NW"
DEFAULT_TIMEZONE = "Europe/Berlin"
_COUNTRY = "DE"
_BERLIN = ZoneInfo(DEFAULT_TIMEZONE)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SEPARATORS = re.compile(r"[,;\s]+")


class WorkingDayCalendar:
    """Answers "is this a working day?" and counts working days forwards and backwards."""

    def __init__(
        self,
        region: str = DEFAULT_REGION,
        closing_days: Iterable[date] = (),
        tz: ZoneInfo = _BERLIN,
    ) -> None:
        self.region = _normalise_region(region)
        self.tz = tz
        self.closing_days: frozenset[date] = frozenset(_require_date(day) for day in closing_days)
        self._lock = threading.Lock()
        self._holidays: dict[int, dict[date, str]] = {}
        self._non_working: dict[int, frozenset[date]] = {}

    def __repr__(self) -> str:
        closing = ", ".join(day.isoformat() for day in sorted(self.closing_days))
        return f"WorkingDayCalendar(region={self.region!r}, closing_days=[{closing}], tz={self.tz.key!r})"

    def is_working_day(self, day: date) -> bool:
        """Monday to Friday, not a public holiday of the region and not a closing day."""
        _require_date(day)
        return day.weekday() < 5 and day not in self._non_working_days(day.year)

    def holiday_name(self, day: date) -> str | None:
        """German name of the public holiday on ``day``, "Schließtag" for a closing day, else None."""
        _require_date(day)
        name = self._public_holidays(day.year).get(day)
        if name is None and day in self.closing_days:
            return CLOSING_DAY_NAME
        return name

    def holidays_in(self, year: int) -> list[tuple[date, str]]:
        """Public holidays and closing days of ``year``, sorted; weekend holidays included.

        A closing day that is also a public holiday appears once, under the holiday's name.
        """
        named = {day: CLOSING_DAY_NAME for day in self.closing_days if day.year == year}
        named.update(self._public_holidays(year))
        return sorted(named.items())

    def add_working_days(self, day: date, n: int) -> date:
        """The ``n``-th working day after ``day`` (before it when ``n`` is negative).

        Counting starts the day after ``day``: Fri 2026-11-20 + 10 = Fri 2026-12-04, and
        Fri 2026-12-04 - 10 = Fri 2026-11-20. ``n == 0`` gives ``day`` itself when it is a working
        day, otherwise the next working day.
        """
        _require_date(day)
        if n == 0:
            return day if self.is_working_day(day) else self.add_working_days(day, 1)
        step = timedelta(days=1 if n > 0 else -1)
        remaining = abs(n)
        current = day
        while remaining:
            current += step
            if self.is_working_day(current):
                remaining -= 1
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in the half-open range (start, end]; negative when ``end`` is before ``start``."""
        _require_date(start)
        _require_date(end)
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        current = start
        while current < end:
            current += timedelta(days=1)
            if self.is_working_day(current):
                count += 1
        return count

    def _public_holidays(self, year: int) -> dict[date, str]:
        cached = self._holidays.get(year)
        if cached is None:
            cached = _load_public_holidays(self.region, year)
            with self._lock:
                self._holidays[year] = cached
        return cached

    def _non_working_days(self, year: int) -> frozenset[date]:
        cached = self._non_working.get(year)
        if cached is None:
            closing = {day for day in self.closing_days if day.year == year}
            cached = frozenset(self._public_holidays(year)) | closing
            with self._lock:
                self._non_working[year] = cached
        return cached


def parse_closing_days(value: str | None) -> list[date]:
    """Parse ``KIM_CLOSING_DAYS``: ISO dates separated by commas and/or whitespace.

    Returns the dates sorted and without duplicates; an empty or missing value gives no closing
    days. A malformed entry raises ValueError naming it.
    """
    if value is None:
        return []
    days: set[date] = set()
    for entry in _SEPARATORS.split(value.strip()):
        if entry:
            days.add(_parse_closing_day(entry))
    return sorted(days)


def calendar_from_config(config: Mapping[str, Any]) -> WorkingDayCalendar:
    """Build the calendar from ``KIM_HOLIDAY_REGION``, ``KIM_CLOSING_DAYS`` and ``KIM_TIMEZONE``.

    Missing or empty settings fall back to NW, no closing days and Europe/Berlin. Besides the
    string form, ``KIM_CLOSING_DAYS`` may be a list of dates or ISO date strings (handy in tests).
    """
    region = _text_setting(config, "KIM_HOLIDAY_REGION") or DEFAULT_REGION
    try:
        calendar = WorkingDayCalendar(
            region=region,
            closing_days=_closing_days_setting(config.get("KIM_CLOSING_DAYS")),
            tz=_timezone_setting(config.get("KIM_TIMEZONE")),
        )
    except ValueError as exc:
        raise ValueError(f"invalid calendar configuration: {exc}") from exc
    return calendar


def _normalise_region(region: str) -> str:
    """Accept "NW", "nw" or "DE-NW"; reject anything the holidays package does not know."""
    known: tuple[str, ...] = tuple(holidays.country_holidays(_COUNTRY).subdivisions)
    wanted = region.strip()
    if wanted.upper().startswith(f"{_COUNTRY}-"):
        wanted = wanted[len(_COUNTRY) + 1 :]
    for code in known:
        if code.casefold() == wanted.casefold():
            return code
    expected = ", ".join(known)
    raise ValueError(f"KIM_HOLIDAY_REGION: unknown German state {region!r}; expected one of {expected}")


def _load_public_holidays(region: str, year: int) -> dict[date, str]:
    """Public holidays of one state and year, with German names where the package has them."""
    try:
        found = holidays.country_holidays(_COUNTRY, subdiv=region, years=year, language="de")
    except (TypeError, NotImplementedError):  # an old holidays release without translations
        found = holidays.country_holidays(_COUNTRY, subdiv=region, years=year)
    return {day: str(name) for day, name in found.items()}


def _require_date(day: date) -> date:
    """Reject datetimes: their local date depends on a timezone the calendar cannot guess."""
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(f"expected a date, got {type(day).__name__}; convert to a local date first")
    return day


def _parse_closing_day(entry: str) -> date:
    if _ISO_DATE.fullmatch(entry):
        try:
            return date.fromisoformat(entry)
        except ValueError:
            pass
    raise ValueError(f"KIM_CLOSING_DAYS: {entry!r} is not a date in the form YYYY-MM-DD")


def _text_setting(config: Mapping[str, Any], key: str) -> str | None:
    value = config.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key} must be text, got {type(value).__name__}")
    return value.strip() or None


def _closing_days_setting(value: object) -> list[date]:
    if value is None or isinstance(value, str):
        return parse_closing_days(value)
    if isinstance(value, Iterable):
        return sorted({_closing_day_item(item) for item in value})
    raise ValueError(f"KIM_CLOSING_DAYS must be text or a list of dates, got {type(value).__name__}")


def _closing_day_item(item: object) -> date:
    if isinstance(item, str):
        return _parse_closing_day(item.strip())
    if isinstance(item, date) and not isinstance(item, datetime):
        return item
    raise ValueError(f"KIM_CLOSING_DAYS: {item!r} is not a date")


def _timezone_setting(value: object) -> ZoneInfo:
    if isinstance(value, ZoneInfo):
        return value
    if value is not None and not isinstance(value, str):
        raise ValueError(f"KIM_TIMEZONE must be a time zone name, got {type(value).__name__}")
    name = (value or "").strip() or DEFAULT_TIMEZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"KIM_TIMEZONE: unknown time zone {name!r}") from exc
