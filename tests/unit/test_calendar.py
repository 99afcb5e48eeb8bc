"""Working-day calendar: NRW holidays, closing days, counting forwards and backwards."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest

from engine.calendar import (
    CLOSING_DAY_NAME,
    WorkingDayCalendar,
    calendar_from_config,
    parse_closing_days,
)

BERLIN = ZoneInfo("Europe/Berlin")
NRW = WorkingDayCalendar()
NRW_CLOSED_24TH = WorkingDayCalendar(closing_days=[date(2026, 12, 24)])


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # DOMAIN.md section 6 example: counting starts the day after.
        (date(2026, 11, 20), 10, date(2026, 12, 4)),
        (date(2026, 11, 20), 1, date(2026, 11, 23)),  # over the weekend
        (date(2026, 11, 21), 1, date(2026, 11, 23)),  # from a Saturday
        (date(2026, 11, 23), 0, date(2026, 11, 23)),  # 0 on a working day: that day
        (date(2026, 11, 21), 0, date(2026, 11, 23)),  # 0 on a Saturday: next working day
        (date(2027, 5, 26), 1, date(2027, 5, 28)),  # Fronleichnam Thu 2027-05-27
        (date(2027, 10, 29), 1, date(2027, 11, 2)),  # Allerheiligen Mon 2027-11-01
        (date(2027, 3, 25), 1, date(2027, 3, 30)),  # Karfreitag 03-26, Ostermontag 03-29
        (date(2027, 5, 5), 1, date(2027, 5, 7)),  # Christi Himmelfahrt Thu 2027-05-06
        (date(2027, 5, 14), 1, date(2027, 5, 18)),  # Pfingstmontag 2027-05-17
        (date(2026, 4, 30), 1, date(2026, 5, 4)),  # 1 May 2026 is a Friday
        (date(2025, 10, 2), 1, date(2025, 10, 6)),  # 3 October 2025 is a Friday
        (date(2026, 12, 23), 1, date(2026, 12, 24)),  # 24 December is a working day by default
        (date(2026, 12, 24), 1, date(2026, 12, 28)),  # Christmas Fri 25th, Sat 26th
        (date(2026, 12, 31), 1, date(2027, 1, 4)),  # New Year Fri 2027-01-01, then weekend
        (date(2026, 12, 21), 10, date(2027, 1, 6)),  # 6 January is not a holiday in NRW
        # Backwards: counting starts the day before.
        (date(2026, 12, 4), -10, date(2026, 11, 20)),
        (date(2027, 3, 30), -1, date(2027, 3, 25)),  # back over Easter
        (date(2027, 1, 4), -1, date(2026, 12, 31)),  # back over New Year
        (date(2026, 11, 22), -1, date(2026, 11, 20)),  # from a Sunday
        (date(2027, 5, 28), -1, date(2027, 5, 26)),  # back over Fronleichnam
    ],
)
def test_add_working_days(start: date, n: int, expected: date) -> None:
    assert NRW.add_working_days(start, n) == expected


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2026, 12, 23), 1, date(2026, 12, 28)),
        (date(2026, 12, 24), 0, date(2026, 12, 28)),
        (date(2026, 12, 28), -1, date(2026, 12, 23)),
        (date(2026, 12, 14), 10, date(2026, 12, 30)),
    ],
)
def test_closing_day_is_skipped(start: date, n: int, expected: date) -> None:
    assert NRW_CLOSED_24TH.add_working_days(start, n) == expected


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 11, 20), True),  # Friday
        (date(2026, 11, 21), False),  # Saturday
        (date(2026, 11, 22), False),  # Sunday
        (date(2027, 5, 27), False),  # Fronleichnam
        (date(2027, 11, 1), False),  # Allerheiligen
        (date(2027, 1, 6), True),  # Heilige Drei Koenige: not in NRW
        (date(2027, 10, 31), False),  # Reformationstag: Sunday anyway
        (date(2027, 11, 17), True),  # Buss- und Bettag: Saxony only
    ],
)
def test_is_working_day(day: date, working: bool) -> None:
    assert NRW.is_working_day(day) is working


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2027, 5, 27), "Fronleichnam"),
        (date(2027, 11, 1), "Allerheiligen"),
        (date(2027, 3, 26), "Karfreitag"),
        (date(2027, 3, 29), "Ostermontag"),
        (date(2026, 12, 25), "Erster Weihnachtstag"),
        (date(2026, 12, 24), None),
        (date(2026, 11, 21), None),  # an ordinary Saturday has no name
    ],
)
def test_holiday_name(day: date, name: str | None) -> None:
    assert NRW.holiday_name(day) == name


def test_closing_day_has_a_name_and_is_not_a_working_day() -> None:
    assert NRW_CLOSED_24TH.holiday_name(date(2026, 12, 24)) == CLOSING_DAY_NAME == "Schließtag"
    assert not NRW_CLOSED_24TH.is_working_day(date(2026, 12, 24))
    assert NRW_CLOSED_24TH.is_working_day(date(2026, 12, 23))


def test_holidays_in_2027_are_the_nrw_holidays_sorted() -> None:
    assert NRW.holidays_in(2027) == [
        (date(2027, 1, 1), "Neujahr"),
        (date(2027, 3, 26), "Karfreitag"),
        (date(2027, 3, 29), "Ostermontag"),
        (date(2027, 5, 1), "Erster Mai"),
        (date(2027, 5, 6), "Christi Himmelfahrt"),
        (date(2027, 5, 17), "Pfingstmontag"),
        (date(2027, 5, 27), "Fronleichnam"),
        (date(2027, 10, 3), "Tag der Deutschen Einheit"),
        (date(2027, 11, 1), "Allerheiligen"),
        (date(2027, 12, 25), "Erster Weihnachtstag"),
        (date(2027, 12, 26), "Zweiter Weihnachtstag"),
    ]


def test_holidays_in_merges_closing_days_of_that_year_only() -> None:
    calendar = WorkingDayCalendar(
        closing_days=[date(2026, 12, 31), date(2026, 12, 24), date(2026, 12, 25), date(2027, 5, 7)]
    )
    assert calendar.holidays_in(2026)[-4:] == [
        (date(2026, 12, 24), "Schließtag"),
        (date(2026, 12, 25), "Erster Weihnachtstag"),  # a holiday keeps its own name
        (date(2026, 12, 26), "Zweiter Weihnachtstag"),
        (date(2026, 12, 31), "Schließtag"),
    ]
    assert (date(2027, 5, 7), "Schließtag") not in calendar.holidays_in(2026)
    assert (date(2027, 5, 7), "Schließtag") in calendar.holidays_in(2027)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2026, 11, 20), date(2026, 12, 4), 10),
        (date(2026, 12, 4), date(2026, 11, 20), -10),
        (date(2026, 11, 20), date(2026, 11, 20), 0),
        (date(2026, 11, 20), date(2026, 11, 22), 0),  # Fri -> Sun
        (date(2026, 11, 21), date(2026, 11, 23), 1),  # Sat -> Mon
        (date(2026, 12, 23), date(2027, 1, 4), 6),  # 24, 28, 29, 30, 31 Dec and 4 Jan
        (date(2027, 3, 25), date(2027, 3, 30), 1),  # Easter
    ],
)
def test_working_days_between(start: date, end: date, expected: int) -> None:
    assert NRW.working_days_between(start, end) == expected


@pytest.mark.parametrize("n", range(-40, 41))
def test_add_and_count_are_inverse_from_a_working_day(n: int) -> None:
    start = date(2026, 12, 17)
    assert NRW.working_days_between(start, NRW.add_working_days(start, n)) == n


def test_datetimes_are_rejected_because_their_local_date_is_ambiguous() -> None:
    with pytest.raises(TypeError, match="expected a date"):
        NRW.is_working_day(datetime(2026, 11, 20, 23, 30, tzinfo=BERLIN))


@pytest.mark.parametrize("region", ["NW", "nw", " DE-NW ", "de-nw"])
def test_region_spellings(region: str) -> None:
    assert WorkingDayCalendar(region=region).region == "NW"


def test_other_region_has_other_holidays() -> None:
    bavaria = WorkingDayCalendar(region="BY")
    assert not bavaria.is_working_day(date(2027, 1, 6))
    assert bavaria.holiday_name(date(2027, 1, 6)) == "Heilige Drei Könige"


def test_unknown_region() -> None:
    with pytest.raises(ValueError, match="unknown German state 'XX'"):
        WorkingDayCalendar(region="XX")


def test_holidays_are_loaded_once_per_year(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    original = holidays.country_holidays

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("years"))
        return original(*args, **kwargs)

    monkeypatch.setattr(holidays, "country_holidays", counting)
    calendar = WorkingDayCalendar()
    calls.clear()
    for _ in range(3):
        calendar.add_working_days(date(2026, 12, 21), 10)
    assert sorted(calls) == [2026, 2027]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),
        ("", []),
        ("   ", []),
        ("2026-12-24", [date(2026, 12, 24)]),
        ("2026-12-24,2026-12-31", [date(2026, 12, 24), date(2026, 12, 31)]),
        (" 2026-12-31 2026-12-24, 2026-12-24,\n", [date(2026, 12, 24), date(2026, 12, 31)]),
    ],
)
def test_parse_closing_days(value: str | None, expected: list[date]) -> None:
    assert parse_closing_days(value) == expected


@pytest.mark.parametrize(
    ("value", "bad"),
    [
        ("2026-12-24,24.12.2026", "24.12.2026"),
        ("2026-02-30", "2026-02-30"),
        ("2026-12-24T00:00", "2026-12-24T00:00"),
        ("20261224", "20261224"),
    ],
)
def test_parse_closing_days_names_the_bad_entry(value: str, bad: str) -> None:
    with pytest.raises(ValueError, match=f"'{bad}'"):
        parse_closing_days(value)


def test_calendar_from_empty_config_uses_defaults() -> None:
    calendar = calendar_from_config({})
    assert calendar.region == "NW"
    assert calendar.tz == BERLIN
    assert calendar.closing_days == frozenset()


def test_calendar_from_config() -> None:
    calendar = calendar_from_config(
        {
            "KIM_HOLIDAY_REGION": "BY",
            "KIM_CLOSING_DAYS": "2026-12-24, 2026-12-31",
            "KIM_TIMEZONE": "Europe/Vienna",
        }
    )
    assert calendar.region == "BY"
    assert calendar.tz == ZoneInfo("Europe/Vienna")
    assert calendar.closing_days == {date(2026, 12, 24), date(2026, 12, 31)}


def test_calendar_from_config_accepts_a_list_of_closing_days() -> None:
    config = {"KIM_CLOSING_DAYS": [date(2026, 12, 24), "2026-12-31"], "KIM_TIMEZONE": ""}
    calendar = calendar_from_config(config)
    assert calendar.closing_days == {date(2026, 12, 24), date(2026, 12, 31)}
    assert calendar.tz == BERLIN


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"KIM_TIMEZONE": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"KIM_HOLIDAY_REGION": "Bavaria"}, "unknown German state 'Bavaria'"),
        ({"KIM_CLOSING_DAYS": "2026-12-24;tomorrow"}, "'tomorrow'"),
        ({"KIM_CLOSING_DAYS": 20261224}, "KIM_CLOSING_DAYS must be text"),
    ],
)
def test_calendar_from_bad_config(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        calendar_from_config(config)
