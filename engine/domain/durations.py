"""Deadline and timer values from BPMN models, and the date arithmetic on them.

Models carry time as text (INTERFACES.md section 4): ISO 8601 durations (``P14D``, ``PT48H``,
``P3M``), working days (``10WD``, DOMAIN.md section 6), absolute date-times
(``2027-01-01T00:00:00+01:00``) and ISO 8601 cycles (``R/P28D``, ``R3/PT1H``,
``R5/2027-01-01T00:00:00+01:00/P1D``, ``R/10WD``). SpiffWorkflow writes them as quoted Python
expressions (``"P14D"``), Camunda Modeler as plain text; both are accepted.

The arithmetic follows what caseworkers expect rather than what a stopwatch measures:

* calendar parts (years, months, weeks, days) move the local wall clock, so ``P1D`` across a
  daylight-saving change keeps the time of day and ``P1M`` from 31 January lands on the last day
  of February;
* time parts (hours, minutes, seconds) are exact elapsed time, so ``PT24H`` across a
  daylight-saving change does not keep the time of day;
* a *due moment* is the end of the day (23:59:59 local) the deadline lands on, while a *timer*
  fires at the exact moment (a ``PT5S`` timer fires five seconds later).

This module is pure: no clock and no I/O. Working days need a calendar of holidays, which comes
in through the :class:`WorkingCalendar` protocol so the domain layer does not depend on
``engine.calendar`` or the ``holidays`` package. Every datetime going in or coming out is
timezone-aware; results are in the calendar's timezone.
"""

from __future__ import annotations

import calendar as _gregorian
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol

__all__ = [
    "MAX_WORKING_DAYS",
    "Cycle",
    "Deadline",
    "Duration",
    "DurationError",
    "TimerValue",
    "WorkingCalendar",
    "WorkingDays",
    "add_duration",
    "due_moment",
    "end_of_day",
    "is_literal_timer_value",
    "next_cycle_fire_at",
    "parse_deadline",
    "parse_timer_value",
    "subtract",
    "timer_fire_at",
]

MAX_WORKING_DAYS = 10_000
"""Upper bound for ``<n>WD`` (about 40 years): larger values are typos and would stall the scheduler."""

_END_OF_DAY = time(23, 59, 59)
_NUMBER = r"\d+(?:[.,]\d+)?"
_DURATION_RE = re.compile(
    rf"P(?:(?P<years>{_NUMBER})Y)?(?:(?P<months>{_NUMBER})M)?(?:(?P<weeks>{_NUMBER})W)?"
    rf"(?:(?P<days>{_NUMBER})D)?"
    rf"(?P<time>T(?:(?P<hours>{_NUMBER})H)?(?:(?P<minutes>{_NUMBER})M)?(?:(?P<seconds>{_NUMBER})S)?)?",
    re.IGNORECASE,
)
_DURATION_FIELDS = ("years", "months", "weeks", "days", "hours", "minutes", "seconds")
_CALENDAR_FIELDS = ("years", "months", "weeks", "days")
_WORKING_DAYS_RE = re.compile(r"(\d+)WD", re.IGNORECASE)
_WORKING_DAYS_LOOSE_RE = re.compile(r"([+-]?)\s*(\S*?)\s*WD", re.IGNORECASE)
_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}", re.IGNORECASE)
_DATE_ONLY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CYCLE_RE = re.compile(r"R(\d*)", re.IGNORECASE)

_FORMS = (
    "an ISO 8601 duration (P14D, PT48H, P3M), working days (10WD), a date-time "
    "(2027-01-01T00:00:00+01:00) or a cycle (R/P28D, R3/PT1H)"
)


class DurationError(ValueError):
    """A deadline or timer value that cannot be used; the message names the value and the reason."""

    def __init__(self, value: object, reason: str) -> None:
        self.value = value
        self.reason = reason
        super().__init__(f"invalid duration value {value!r}: {reason}")

    def __reduce__(self) -> tuple[type[DurationError], tuple[object, str]]:
        return (type(self), (self.value, self.reason))


@dataclass(frozen=True)
class Duration:
    """An ISO 8601 duration. Calendar parts are whole numbers; time parts may be fractional."""

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: float = 0
    minutes: float = 0
    seconds: float = 0

    def __post_init__(self) -> None:
        for name in _DURATION_FIELDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"Duration.{name} must be a number >= 0, got {value!r}")
            if name in _CALENDAR_FIELDS and not isinstance(value, int):
                raise ValueError(f"Duration.{name} must be a whole number, got {value!r}")

    def __str__(self) -> str:
        date_part = "".join(
            f"{_format_number(value)}{unit}"
            for value, unit in ((self.years, "Y"), (self.months, "M"), (self.weeks, "W"), (self.days, "D"))
            if value
        )
        time_part = "".join(
            f"{_format_number(value)}{unit}"
            for value, unit in ((self.hours, "H"), (self.minutes, "M"), (self.seconds, "S"))
            if value
        )
        if not date_part and not time_part:
            return "P0D"
        return f"P{date_part}" + (f"T{time_part}" if time_part else "")

    @property
    def is_zero(self) -> bool:
        return not any(getattr(self, name) for name in _DURATION_FIELDS)

    @property
    def calendar_months(self) -> int:
        return self.years * 12 + self.months

    @property
    def calendar_days(self) -> int:
        return self.weeks * 7 + self.days

    @property
    def elapsed(self) -> timedelta:
        """The exact-time part (hours, minutes, seconds)."""
        return timedelta(hours=self.hours, minutes=self.minutes, seconds=self.seconds)


@dataclass(frozen=True)
class WorkingDays:
    """``<n>WD``: n working days (Monday to Friday without holidays and closing days)."""

    count: int

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 0:
            raise ValueError(f"WorkingDays.count must be a whole number >= 0, got {self.count!r}")

    def __str__(self) -> str:
        return f"{self.count}WD"


@dataclass(frozen=True)
class Cycle:
    """An ISO 8601 repeating interval. ``repetitions`` is the total number of fires (None: unbounded)."""

    repetitions: int | None
    start: datetime | None
    interval: Duration | WorkingDays

    def __post_init__(self) -> None:
        if self.repetitions is not None and self.repetitions < 0:
            raise ValueError(f"Cycle.repetitions must be >= 0 or None, got {self.repetitions!r}")
        if self.start is not None:
            _require_aware(self.start, "Cycle.start")

    def __str__(self) -> str:
        head = "R" if self.repetitions is None else f"R{self.repetitions}"
        start = "" if self.start is None else f"/{self.start.isoformat()}"
        return f"{head}{start}/{self.interval}"


Deadline = Duration | WorkingDays
TimerValue = Duration | WorkingDays | datetime | Cycle


class WorkingCalendar(Protocol):
    """What the arithmetic needs from a working-day calendar (``engine.calendar.WorkingDayCalendar``)."""

    @property
    def tz(self) -> tzinfo: ...

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day after ``day``, counting from the next day; before it when n < 0.

        ``n == 0`` gives ``day`` if it is a working day, else the next working day.
        """
        ...


# --- parsing ---------------------------------------------------------------------------------


def parse_deadline(value: str) -> Duration | WorkingDays:
    """Parse a ``dueIn`` / ``escalateAfter`` value: an ISO 8601 duration or ``<n>WD``."""
    text = _unquote(value)
    if _CYCLE_RE.match(text) and "/" in text:
        raise DurationError(value, "a deadline cannot repeat; use a duration (P14D) or working days (10WD)")
    if _DATETIME_RE.match(text):
        raise DurationError(value, "a deadline is a duration (P14D) or working days (10WD), not a date-time")
    return _parse_interval(value, text)


def parse_timer_value(value: str, tz: tzinfo) -> TimerValue:
    """Parse a BPMN timer definition; a date-time without offset is local time in ``tz``."""
    text = _unquote(value)
    if _CYCLE_RE.match(text) and "/" in text:
        return _parse_cycle(value, text, tz)
    if _DATETIME_RE.match(text):
        return _parse_datetime(value, text, tz)
    if _DATE_ONLY_RE.fullmatch(text):
        raise DurationError(value, "a timer date-time needs a time of day, like 2027-01-01T00:00:00+01:00")
    if text[:1] in {"P", "p", "-", "+"} or text[:1].isdigit():
        return _parse_interval(value, text)
    raise DurationError(value, f"expected {_FORMS}")


def is_literal_timer_value(value: str) -> bool:
    """True if ``value`` (after unquoting) is a timer value, False for an expression like ``due_date``."""
    try:
        parse_timer_value(value, UTC)
    except DurationError:
        return False
    return True


def _unquote(value: object) -> str:
    """Strip surrounding whitespace and one pair of matching quotes, as SpiffWorkflow writes them."""
    if not isinstance(value, str):
        raise DurationError(value, f"expected text, got {type(value).__name__}")
    text = value.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in {'"', "'"}:
        text = text[1:-1].strip()
    if not text:
        raise DurationError(value, f"the value is empty; expected {_FORMS}")
    return text


def _parse_interval(value: str, text: str) -> Duration | WorkingDays:
    if text.upper().endswith("WD"):
        return _parse_working_days(value, text)
    if text.startswith("-"):
        raise DurationError(value, "negative durations are not supported")
    if text.startswith("+"):
        text = text[1:]
    if text[:1] not in {"P", "p"}:
        raise DurationError(value, "expected an ISO 8601 duration (P14D, PT48H, P3M) or working days (10WD)")
    return _parse_duration(value, text)


def _parse_working_days(value: str, text: str) -> WorkingDays:
    match = _WORKING_DAYS_RE.fullmatch(text)
    if match is not None:
        count = int(match.group(1))
        if count > MAX_WORKING_DAYS:
            raise DurationError(value, f"more than {MAX_WORKING_DAYS} working days is not a plausible value")
        return WorkingDays(count)
    loose = _WORKING_DAYS_LOOSE_RE.fullmatch(text)
    if loose is not None and loose.group(1) == "-":
        raise DurationError(value, "negative working days are not supported")
    if loose is not None and loose.group(2).isdigit():
        raise DurationError(value, f"write working days without spaces, like {int(loose.group(2))}WD")
    raise DurationError(value, "working days are written as a whole number followed by WD, like 10WD")


def _parse_duration(value: str, text: str) -> Duration:
    match = _DURATION_RE.fullmatch(text)
    if match is None:
        raise DurationError(value, "not an ISO 8601 duration; expected e.g. P14D, PT48H, P3M, P1Y2M10DT2H30M")
    found = {name: match.group(name) for name in _DURATION_FIELDS if match.group(name) is not None}
    if not found:
        raise DurationError(value, "the duration names no amount; expected e.g. P14D or PT48H")
    if match.group("time") and not any(name in found for name in ("hours", "minutes", "seconds")):
        raise DurationError(value, "a 'T' must be followed by hours, minutes or seconds, like PT48H")
    _check_fractions(value, found)

    def whole(name: str) -> int:
        return int(found.get(name, "0"))

    def amount(name: str) -> float:
        raw = found.get(name, "0")
        return int(raw) if raw.isdigit() else float(raw.replace(",", "."))

    return Duration(
        years=whole("years"),
        months=whole("months"),
        weeks=whole("weeks"),
        days=whole("days"),
        hours=amount("hours"),
        minutes=amount("minutes"),
        seconds=amount("seconds"),
    )


def _check_fractions(value: str, found: dict[str, str]) -> None:
    """ISO 8601 allows a fraction on the smallest unit only; calendar units must stay whole here."""
    last = list(found)[-1]
    for name, raw in found.items():
        if raw.isdigit():
            continue
        if name in _CALENDAR_FIELDS:
            raise DurationError(value, f"{name} must be a whole number; use a smaller unit for fractions")
        if name != last:
            raise DurationError(value, "only the smallest unit of a duration may have a fraction")


def _parse_datetime(value: str, text: str, tz: tzinfo) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise DurationError(value, f"not a valid ISO 8601 date-time ({exc})") from None
    if moment.tzinfo is None:
        return _normalise(moment.replace(tzinfo=tz), tz)
    return moment


def _parse_cycle(value: str, text: str, tz: tzinfo) -> Cycle:
    head, *parts = text.split("/")
    match = _CYCLE_RE.fullmatch(head)
    if match is None:
        raise DurationError(value, "a cycle starts with R or R<n>, like R/P28D or R3/PT1H")
    repetitions = int(match.group(1)) if match.group(1) else None
    if len(parts) == 1:
        start, interval_text = None, parts[0]
    elif len(parts) == 2 and _DATETIME_RE.match(parts[0]) and not _DATETIME_RE.match(parts[1]):
        start, interval_text = _parse_datetime(value, parts[0], tz), parts[1]
    else:
        raise DurationError(value, "supported cycles are R<n>/<interval> and R<n>/<start>/<interval>")
    if not interval_text.strip():
        raise DurationError(value, "the cycle names no interval, like R/P28D")
    interval = _parse_interval(value, interval_text.strip())
    if _is_zero(interval):
        raise DurationError(value, "a cycle interval must be longer than zero")
    return Cycle(repetitions=repetitions, start=start, interval=interval)


def _format_number(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return format(value, "f").rstrip("0")


def _is_zero(interval: Duration | WorkingDays) -> bool:
    return interval.count == 0 if isinstance(interval, WorkingDays) else interval.is_zero


# --- arithmetic ------------------------------------------------------------------------------


def add_duration(start: datetime, d: Duration, tz: tzinfo) -> datetime:
    """``start + d``: calendar parts on the local wall clock in ``tz``, then time parts exactly.

    Months clamp to the month's end (31 Jan + P1M = 28/29 Feb). A wall-clock time that does not
    exist (inside a spring-forward gap) moves forward by the gap. Returns an aware datetime in ``tz``.
    """
    _require_aware(start, "start")
    try:
        local = _shift_calendar(start.astimezone(tz), d.calendar_months, d.calendar_days, tz)
        return (local.astimezone(UTC) + d.elapsed).astimezone(tz)
    except (OverflowError, ValueError) as exc:
        raise _out_of_range(d, start) from exc


def end_of_day(day: date, tz: tzinfo) -> datetime:
    """23:59:59 local time on ``day``, aware."""
    if isinstance(day, datetime):
        raise TypeError("end_of_day takes a date; convert the datetime to a local date first")
    return datetime.combine(day, _END_OF_DAY, tzinfo=tz)


def due_moment(start: datetime, deadline: Deadline, calendar: WorkingCalendar) -> datetime:
    """The end (23:59:59 local) of the day on which ``start + deadline`` falls (INTERFACES.md section 4).

    Working days count from the day after ``start``'s local date: a task ready on Fri 2026-11-20
    with ``10WD`` is due 2026-12-04 23:59:59 Europe/Berlin.
    """
    _require_aware(start, "start")
    tz = calendar.tz
    if isinstance(deadline, WorkingDays):
        day = calendar.add_working_days(start.astimezone(tz).date(), deadline.count)
    elif isinstance(deadline, Duration):
        day = add_duration(start, deadline, tz).date()
    else:
        raise TypeError(f"expected Duration or WorkingDays, got {type(deadline).__name__}")
    return end_of_day(day, tz)


def timer_fire_at(
    start: datetime, value: Duration | WorkingDays | datetime, calendar: WorkingCalendar
) -> datetime:
    """When a (non-cycle) timer started at ``start`` fires.

    A duration fires at the exact moment (``add_duration``), a date-time at itself, working days
    at the end of the n-th working day (like :func:`due_moment`).
    """
    _require_aware(start, "start")
    if isinstance(value, datetime):
        return _require_aware(value, "timer date-time")
    if isinstance(value, Duration):
        return add_duration(start, value, calendar.tz)
    if isinstance(value, WorkingDays):
        return due_moment(start, value, calendar)
    kind = type(value).__name__
    raise TypeError(f"expected Duration, WorkingDays or datetime, got {kind}; cycles use next_cycle_fire_at")


def next_cycle_fire_at(
    cycle: Cycle,
    previous_fire_at: datetime | None,
    started_at: datetime,
    calendar: WorkingCalendar,
    *,
    fired: int | None = None,
) -> datetime | None:
    """The next fire time of a cycle, or None when its repetitions are used up.

    ``previous_fire_at`` is the scheduled time of the last fire (None before the first one),
    ``started_at`` when the timer event was entered, ``fired`` how many times the cycle has fired so
    far. The first fire is ``cycle.start`` if given, else ``started_at + interval``; each later
    fire is ``previous_fire_at + interval`` (so a P1M cycle started on the 31st drifts to the 28th
    after February). ``fired`` may be omitted for unbounded cycles and for the first fire; a
    bounded cycle (``R<n>``) needs it after the first fire, and it stops after n fires in total.
    """
    _require_aware(started_at, "started_at")
    count = _fired_so_far(cycle, previous_fire_at, fired)
    if cycle.repetitions is not None and count >= cycle.repetitions:
        return None
    if previous_fire_at is None:
        return cycle.start if cycle.start is not None else timer_fire_at(started_at, cycle.interval, calendar)
    return timer_fire_at(previous_fire_at, cycle.interval, calendar)


def subtract(moment: datetime, d: Deadline, calendar: WorkingCalendar) -> datetime:
    """``moment - d``, for reminders like "warn 6 months before" or "2 working days before".

    The mirror of :func:`add_duration` (time parts exactly, then calendar parts on the wall clock,
    months clamping to the month's end). Working days count back from the day before ``moment``'s
    local date and keep its local time of day; ``0WD`` returns the same moment.
    """
    _require_aware(moment, "moment")
    tz = calendar.tz
    if isinstance(d, WorkingDays):
        local = moment.astimezone(tz)
        if d.count == 0:
            return local
        day = calendar.add_working_days(local.date(), -d.count)
        return _normalise(datetime.combine(day, local.time(), tzinfo=tz), tz)
    if not isinstance(d, Duration):
        raise TypeError(f"expected Duration or WorkingDays, got {type(d).__name__}")
    try:
        local = (moment.astimezone(UTC) - d.elapsed).astimezone(tz)
        return _shift_calendar(local, -d.calendar_months, -d.calendar_days, tz)
    except (OverflowError, ValueError) as exc:
        raise _out_of_range(d, moment) from exc


def _fired_so_far(cycle: Cycle, previous_fire_at: datetime | None, fired: int | None) -> int:
    if fired is None:
        if previous_fire_at is None:
            return 0
        if cycle.repetitions is not None:
            raise ValueError(f"cycle {cycle} is bounded: pass fired= (how many times it has fired)")
        return 1
    if fired < 0 or (fired == 0) != (previous_fire_at is None):
        raise ValueError(f"fired={fired} does not match previous_fire_at={previous_fire_at!r}")
    return fired


def _out_of_range(d: Duration, moment: datetime) -> DurationError:
    return DurationError(str(d), f"applied to {moment.isoformat()} it leaves the supported date range")


def _shift_calendar(local: datetime, months: int, days: int, tz: tzinfo) -> datetime:
    """Move the wall clock of ``local`` (already in ``tz``) by whole months, then whole days."""
    if months:
        index = local.year * 12 + local.month - 1 + months
        year, month = index // 12, index % 12 + 1
        day = min(local.day, _gregorian.monthrange(year, month)[1])
        local = local.replace(year=year, month=month, day=day)
    if days:
        local = local + timedelta(days=days)
    return _normalise(local, tz)


def _normalise(moment: datetime, tz: tzinfo) -> datetime:
    """Round-trip through UTC so a wall-clock time inside a DST gap becomes a real moment."""
    return moment.astimezone(UTC).astimezone(tz)


def _require_aware(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
    return moment
