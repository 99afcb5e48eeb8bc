"""Deadline and timer values: parsing every accepted form, and the date arithmetic on them."""

from __future__ import annotations

import pickle
import re
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from engine.calendar import WorkingDayCalendar
from engine.domain.durations import (
    Cycle,
    Duration,
    DurationError,
    TimerValue,
    WorkingDays,
    add_duration,
    due_moment,
    end_of_day,
    is_literal_timer_value,
    next_cycle_fire_at,
    parse_deadline,
    parse_timer_value,
    subtract,
    timer_fire_at,
)

BERLIN = ZoneInfo("Europe/Berlin")
NRW = WorkingDayCalendar()
NRW_CLOSED_24TH = WorkingDayCalendar(closing_days=[date(2026, 12, 24)])


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=BERLIN)


# --- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("P14D", Duration(days=14)),
        ("PT48H", Duration(hours=48)),
        ("P3M", Duration(months=3)),
        ("P2W", Duration(weeks=2)),
        ("P1Y2M10DT2H30M", Duration(years=1, months=2, days=10, hours=2, minutes=30)),
        ("PT5S", Duration(seconds=5)),
        ("PT1M", Duration(minutes=1)),  # M after T is minutes
        ("PT0.5S", Duration(seconds=0.5)),
        ("PT1,5H", Duration(hours=1.5)),
        ("P0D", Duration()),
        ("p14d", Duration(days=14)),
        ("10WD", WorkingDays(10)),
        ("10wd", WorkingDays(10)),
        ("0WD", WorkingDays(0)),
        ('"P14D"', Duration(days=14)),
        ("'P14D'", Duration(days=14)),
        (' " 5WD " ', WorkingDays(5)),
        ("  PT48H\n", Duration(hours=48)),
    ],
)
def test_parse_deadline(value: str, expected: Duration | WorkingDays) -> None:
    assert parse_deadline(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("P14D", Duration(days=14)),
        ('"PT48H"', Duration(hours=48)),
        ("10WD", WorkingDays(10)),
        ("2027-01-01T00:00:00+01:00", datetime(2027, 1, 1, tzinfo=timezone(timedelta(hours=1)))),
        ("'2027-01-01T00:00:00Z'", datetime(2027, 1, 1, tzinfo=UTC)),
        ("2027-07-01T08:00:00", berlin(2027, 7, 1, 8)),  # naive means the calendar's timezone
        ("R/P28D", Cycle(None, None, Duration(days=28))),
        ("R3/PT1H", Cycle(3, None, Duration(hours=1))),
        ('"R/P28D"', Cycle(None, None, Duration(days=28))),
        ("R/10WD", Cycle(None, None, WorkingDays(10))),
        ("R2/5wd", Cycle(2, None, WorkingDays(5))),
        ("R5/2027-01-01T00:00:00+01:00/P1D", Cycle(5, berlin(2027, 1, 1), Duration(days=1))),
        ("R/2027-01-01T09:00:00/P1W", Cycle(None, berlin(2027, 1, 1, 9), Duration(weeks=1))),
    ],
)
def test_parse_timer_value(value: str, expected: TimerValue) -> None:
    assert parse_timer_value(value, BERLIN) == expected


def test_naive_timer_date_gets_the_given_timezone() -> None:
    parsed = parse_timer_value("2027-07-01T08:00:00", BERLIN)
    assert isinstance(parsed, datetime)
    assert parsed.utcoffset() == timedelta(hours=2)


BAD_VALUES = [
    ("P", "names no amount"),
    ("PT", "names no amount"),
    ("P1DT", "'T' must be followed"),
    ("PXD", "not an ISO 8601 duration"),
    ("P1D2Y", "not an ISO 8601 duration"),
    ("P1.5D", "days must be a whole number"),
    ("PT1.5H30M", "only the smallest unit"),
    ("-P1D", "negative durations"),
    ("10 WD", "without spaces, like 10WD"),
    ("-5WD", "negative working days"),
    ("1.5WD", "whole number followed by WD"),
    ("WD", "expected an ISO 8601 duration"),
    ("20000WD", "more than 10000 working days"),
    ("", "empty"),
    ('""', "empty"),
    ("   ", "empty"),
    ("R/", "names no interval"),
    ("R/P0D", "longer than zero"),
    ("R/0WD", "longer than zero"),
    ("R/P1D/2027-01-01T00:00:00+01:00", "supported cycles"),
    ("Rx/P1D", "a cycle starts with R or R<n>"),
    ("2027-01-01", "needs a time of day"),
    ("2027-13-01T00:00:00", "not a valid ISO 8601 date-time"),
    ("garbage", "expected an ISO 8601 duration"),
    ("14", "expected an ISO 8601 duration"),
    ("due_date", "expected an ISO 8601 duration"),
    ("'P14D\"", "expected an ISO 8601 duration"),  # quotes do not match
]


@pytest.mark.parametrize(("value", "reason"), BAD_VALUES)
def test_bad_timer_values_name_the_value_and_the_reason(value: str, reason: str) -> None:
    with pytest.raises(DurationError, match=re.escape(repr(value))) as info:
        parse_timer_value(value, BERLIN)
    assert reason in str(info.value)
    assert info.value.value == value


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("P", "names no amount"),
        ("PXD", "not an ISO 8601 duration"),
        ("10 WD", "without spaces, like 10WD"),
        ("-5WD", "negative working days"),
        ("WD", "whole number followed by WD"),
        ("", "empty"),
        ("garbage", "expected an ISO 8601 duration (P14D, PT48H, P3M) or working days (10WD)"),
        ("due_in_days", "expected an ISO 8601 duration (P14D, PT48H, P3M) or working days (10WD)"),
        ("R/P28D", "a deadline cannot repeat"),
        ("R/", "a deadline cannot repeat"),
        ("2027-01-01T00:00:00+01:00", "not a date-time"),
    ],
)
def test_bad_deadlines(value: str, reason: str) -> None:
    with pytest.raises(DurationError, match=re.escape(repr(value))) as info:
        parse_deadline(value)
    assert reason in str(info.value)


def test_duration_error_is_a_value_error_and_pickles() -> None:
    error = DurationError("PXD", "why")
    assert isinstance(error, ValueError)
    restored = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert (restored.value, restored.reason, str(restored)) == ("PXD", "why", str(error))


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("P14D", True),
        ('"P14D"', True),
        ("'R/P28D'", True),
        ("10WD", True),
        ("2027-01-01T00:00:00+01:00", True),
        ("due_date", False),
        ('"P" + str(n) + "D"', False),
        ("'P%dD' % days", False),
        ("timedelta(days=14)", False),
        ("reminder_at.isoformat()", False),
        ("14", False),
        ("", False),
    ],
)
def test_is_literal_timer_value(value: str, literal: bool) -> None:
    assert is_literal_timer_value(value) is literal


@pytest.mark.parametrize(
    "value",
    ["P14D", "PT48H", "P3M", "P2W", "P1Y2M10DT2H30M", "PT0.5S", "P0D", "10WD", "R/P28D", "R3/PT1H", "R/10WD"],
)
def test_str_gives_back_the_iso_form(value: str) -> None:
    assert str(parse_timer_value(value, BERLIN)) == value


@pytest.mark.parametrize(
    "fields",
    [{"days": -1}, {"days": 1.5}, {"months": 0.5}, {"hours": -2}, {"days": True}],
)
def test_duration_rejects_bad_fields(fields: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="Duration"):
        Duration(**fields)  # type: ignore[arg-type]


# --- add_duration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        (berlin(2026, 11, 20, 10), "P14D", berlin(2026, 12, 4, 10)),
        (berlin(2026, 11, 20, 10), "P2W", berlin(2026, 12, 4, 10)),
        (berlin(2026, 11, 20, 10), "PT5S", berlin(2026, 11, 20, 10, 0, 5)),
        (berlin(2026, 11, 20, 10), "P1Y2M10DT2H30M", berlin(2028, 1, 30, 12, 30)),
        # Month-end clamping.
        (berlin(2027, 1, 31, 9), "P1M", berlin(2027, 2, 28, 9)),
        (berlin(2028, 1, 31, 9), "P1M", berlin(2028, 2, 29, 9)),  # leap year
        (berlin(2027, 3, 31, 9), "P1M", berlin(2027, 4, 30, 9)),
        (berlin(2028, 2, 29, 9), "P1Y", berlin(2029, 2, 28, 9)),
        (berlin(2026, 11, 30, 9), "P3M", berlin(2027, 2, 28, 9)),
        (berlin(2026, 12, 15, 9), "P1M", berlin(2027, 1, 15, 9)),  # across the year
        # Spring forward 2027-03-28: P1D keeps the wall clock, PT24H is 24 real hours.
        (berlin(2027, 3, 27, 12), "P1D", berlin(2027, 3, 28, 12)),
        (berlin(2027, 3, 27, 12), "PT24H", berlin(2027, 3, 28, 13)),
        (berlin(2027, 3, 27, 2, 30), "P1D", berlin(2027, 3, 28, 3, 30)),  # 02:30 does not exist
        # Fall back 2026-10-25.
        (berlin(2026, 10, 24, 12), "P1D", berlin(2026, 10, 25, 12)),
        (berlin(2026, 10, 24, 12), "PT24H", berlin(2026, 10, 25, 11)),
        (berlin(2026, 10, 24, 12), "P1DT1H", berlin(2026, 10, 25, 13)),
    ],
)
def test_add_duration(start: datetime, duration: str, expected: datetime) -> None:
    parsed = parse_deadline(duration)
    assert isinstance(parsed, Duration)
    result = add_duration(start, parsed, BERLIN)
    assert result == expected
    assert result.utcoffset() == expected.utcoffset()  # same wall clock, not just the same instant
    assert result.tzinfo is BERLIN


def test_add_duration_converts_utc_input_to_local_calendar_days() -> None:
    # 2027-03-27 23:30 UTC is already Sunday 2027-03-28 00:30 in Berlin (before the switch).
    result = add_duration(datetime(2027, 3, 27, 23, 30, tzinfo=UTC), Duration(days=1), BERLIN)
    assert result == berlin(2027, 3, 29, 0, 30)


def test_add_duration_needs_an_aware_start() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_duration(datetime(2027, 1, 1), Duration(days=1), BERLIN)  # noqa: DTZ001 - the point of the test


def test_add_duration_out_of_range() -> None:
    with pytest.raises(DurationError, match=r"'P9000Y'.*supported date range"):
        add_duration(berlin(2027, 1, 1), Duration(years=9000), BERLIN)


@pytest.mark.parametrize(
    ("day", "utc"),
    [
        (date(2026, 12, 4), datetime(2026, 12, 4, 22, 59, 59, tzinfo=UTC)),
        (date(2027, 6, 1), datetime(2027, 6, 1, 21, 59, 59, tzinfo=UTC)),
        (date(2027, 3, 28), datetime(2027, 3, 28, 21, 59, 59, tzinfo=UTC)),  # the DST day itself
    ],
)
def test_end_of_day(day: date, utc: datetime) -> None:
    assert end_of_day(day, BERLIN) == utc


# --- due_moment ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "deadline", "calendar", "due_day"),
    [
        (berlin(2026, 11, 20, 10), "10WD", NRW, date(2026, 12, 4)),  # DOMAIN.md example
        (datetime(2026, 11, 19, 23, 30, tzinfo=UTC), "10WD", NRW, date(2026, 12, 4)),  # Fri 00:30 local
        (berlin(2026, 11, 20, 10), "P14D", NRW, date(2026, 12, 4)),
        (berlin(2026, 11, 20, 23), "PT48H", NRW, date(2026, 11, 22)),
        (berlin(2026, 11, 20, 23), "PT1H", NRW, date(2026, 11, 21)),  # crosses midnight
        (berlin(2026, 11, 30, 10), "P3M", NRW, date(2027, 2, 28)),
        (berlin(2026, 12, 14, 10), "10WD", NRW, date(2026, 12, 29)),  # over Christmas
        (berlin(2026, 12, 14, 10), "10WD", NRW_CLOSED_24TH, date(2026, 12, 30)),  # plus closing day
        (berlin(2026, 12, 29, 10), "3WD", NRW, date(2027, 1, 4)),  # over New Year
        (berlin(2027, 3, 22, 10), "5WD", NRW, date(2027, 3, 31)),  # Good Friday, Easter Monday
        (berlin(2027, 5, 24, 10), "5WD", NRW, date(2027, 6, 1)),  # Fronleichnam 2027-05-27
        (berlin(2027, 10, 27, 10), "3WD", NRW, date(2027, 11, 2)),  # Allerheiligen 2027-11-01
        (berlin(2027, 3, 26, 10), "1WD", NRW, date(2027, 3, 30)),  # ready on Good Friday
        (berlin(2026, 11, 21, 10), "0WD", NRW, date(2026, 11, 23)),  # Saturday, due Monday
        (berlin(2026, 11, 20, 10), "0WD", NRW, date(2026, 11, 20)),
    ],
)
def test_due_moment(start: datetime, deadline: str, calendar: WorkingDayCalendar, due_day: date) -> None:
    due = due_moment(start, parse_deadline(deadline), calendar)
    assert due == datetime.combine(due_day, datetime.min.time(), tzinfo=BERLIN).replace(
        hour=23, minute=59, second=59
    )
    assert due.tzinfo is BERLIN


def test_due_moment_of_the_domain_example_in_utc() -> None:
    due = due_moment(berlin(2026, 11, 20, 10), WorkingDays(10), NRW)
    assert due.astimezone(UTC) == datetime(2026, 12, 4, 22, 59, 59, tzinfo=UTC)


# --- timers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "value", "expected"),
    [
        (berlin(2026, 11, 20, 10), "PT5S", berlin(2026, 11, 20, 10, 0, 5)),
        (berlin(2026, 11, 20, 10), "P14D", berlin(2026, 12, 4, 10)),
        (berlin(2027, 3, 27, 12), "P1D", berlin(2027, 3, 28, 12)),
        (berlin(2027, 3, 27, 12), "PT24H", berlin(2027, 3, 28, 13)),
        (berlin(2026, 11, 20, 10), "10WD", berlin(2026, 12, 4, 23, 59, 59)),
        (berlin(2026, 11, 20, 10), "2027-01-01T00:00:00+01:00", berlin(2027, 1, 1)),
    ],
)
def test_timer_fire_at(start: datetime, value: str, expected: datetime) -> None:
    parsed = parse_timer_value(value, BERLIN)
    assert not isinstance(parsed, Cycle)
    assert timer_fire_at(start, parsed, NRW) == expected


def test_timer_fire_at_refuses_cycles() -> None:
    cycle = Cycle(None, None, Duration(days=1))
    with pytest.raises(TypeError, match="next_cycle_fire_at"):
        timer_fire_at(berlin(2027, 1, 1), cycle, NRW)  # type: ignore[arg-type]


def _fires(cycle: Cycle, started_at: datetime, limit: int = 10) -> list[datetime]:
    fires: list[datetime] = []
    previous: datetime | None = None
    while len(fires) < limit:
        previous = next_cycle_fire_at(cycle, previous, started_at, NRW, fired=len(fires))
        if previous is None:
            break
        fires.append(previous)
    return fires


@pytest.mark.parametrize(
    ("value", "started_at", "expected"),
    [
        (
            "R3/PT1H",
            berlin(2027, 1, 4, 9),
            [berlin(2027, 1, 4, 10), berlin(2027, 1, 4, 11), berlin(2027, 1, 4, 12)],
        ),
        (
            "R3/2027-01-01T00:00:00+01:00/P1D",
            berlin(2026, 12, 20, 9),
            [berlin(2027, 1, 1), berlin(2027, 1, 2), berlin(2027, 1, 3)],
        ),
        (
            "R2/2027-03-27T12:00:00/P1D",  # naive start: Berlin; P1D keeps 12:00 over the DST change
            berlin(2027, 3, 1),
            [berlin(2027, 3, 27, 12), berlin(2027, 3, 28, 12)],
        ),
        (
            "R3/10WD",
            berlin(2026, 11, 20, 10),
            [
                berlin(2026, 12, 4, 23, 59, 59),
                berlin(2026, 12, 18, 23, 59, 59),
                berlin(2027, 1, 5, 23, 59, 59),  # over Christmas and New Year
            ],
        ),
        ("R0/P1D", berlin(2027, 1, 1), []),
    ],
)
def test_bounded_cycles_fire_n_times(value: str, started_at: datetime, expected: list[datetime]) -> None:
    cycle = parse_timer_value(value, BERLIN)
    assert isinstance(cycle, Cycle)
    assert _fires(cycle, started_at) == expected


def test_unbounded_cycle_keeps_firing_without_a_count() -> None:
    cycle = Cycle(None, None, Duration(days=28))
    first = next_cycle_fire_at(cycle, None, berlin(2027, 1, 1, 8), NRW)
    assert first == berlin(2027, 1, 29, 8)
    assert next_cycle_fire_at(cycle, first, berlin(2027, 1, 1, 8), NRW) == berlin(2027, 2, 26, 8)
    assert len(_fires(cycle, berlin(2027, 1, 1, 8), limit=30)) == 30


def test_bounded_cycle_needs_the_fire_count_after_the_first_fire() -> None:
    cycle = Cycle(3, None, Duration(hours=1))
    with pytest.raises(ValueError, match="pass fired="):
        next_cycle_fire_at(cycle, berlin(2027, 1, 1, 10), berlin(2027, 1, 1, 9), NRW)


@pytest.mark.parametrize(("previous", "fired"), [(None, 1), (berlin(2027, 1, 1, 10), 0), (None, -1)])
def test_inconsistent_fire_count(previous: datetime | None, fired: int) -> None:
    cycle = Cycle(3, None, Duration(hours=1))
    with pytest.raises(ValueError, match="does not match"):
        next_cycle_fire_at(cycle, previous, berlin(2027, 1, 1, 9), NRW, fired=fired)


# --- subtract --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "value", "calendar", "expected"),
    [
        (berlin(2027, 6, 30, 23, 59, 59), "P6M", NRW, berlin(2026, 12, 30, 23, 59, 59)),
        (berlin(2027, 8, 31, 9), "P6M", NRW, berlin(2027, 2, 28, 9)),  # clamps to month end
        (berlin(2027, 3, 28, 12), "P1D", NRW, berlin(2027, 3, 27, 12)),  # wall clock over DST
        (berlin(2027, 3, 28, 12), "PT24H", NRW, berlin(2027, 3, 27, 11)),  # exact hours over DST
        (berlin(2026, 12, 4, 23, 59, 59), "2WD", NRW, berlin(2026, 12, 2, 23, 59, 59)),
        (berlin(2026, 12, 4, 23, 59, 59), "10WD", NRW, berlin(2026, 11, 20, 23, 59, 59)),
        (berlin(2027, 3, 30, 12), "1WD", NRW, berlin(2027, 3, 25, 12)),  # back over Easter
        (berlin(2026, 12, 28, 8), "1WD", NRW_CLOSED_24TH, berlin(2026, 12, 23, 8)),
        (berlin(2027, 3, 29, 2, 30), "1WD", NRW, berlin(2027, 3, 25, 2, 30)),
        (berlin(2026, 11, 21, 10), "0WD", NRW, berlin(2026, 11, 21, 10)),
    ],
)
def test_subtract(moment: datetime, value: str, calendar: WorkingDayCalendar, expected: datetime) -> None:
    result = subtract(moment, parse_deadline(value), calendar)
    assert result == expected
    assert result.utcoffset() == expected.utcoffset()


def test_subtract_needs_an_aware_moment() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        subtract(datetime(2027, 1, 1), WorkingDays(1), NRW)  # noqa: DTZ001 - the point of the test
