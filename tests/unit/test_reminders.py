"""Reminder moments: 08:00 local on the working day before the due day, holidays and closing days
skipped, a calendar duration on the wall clock, switched off by 0/none."""

from __future__ import annotations

from datetime import date, datetime
from uuid import uuid4

import pytest

from engine.calendar import WorkingDayCalendar
from engine.services.stepping.deadlines import check_remind_before, escalation_rows, reminder_disabled, reminder_moment

NRW = WorkingDayCalendar()
DUE = datetime.fromisoformat("2026-12-29T23:59:59+01:00")  # Tuesday after Christmas


@pytest.mark.parametrize(("remind_before", "calendar", "expected"), [
    ("2WD", NRW, "2026-12-24T08:00:00+01:00"),  # Mon 28, then over the Christmas holidays to Thu 24
    ("2WD", WorkingDayCalendar(closing_days=[date(2026, 12, 24)]), "2026-12-23T08:00:00+01:00"),
    (None, NRW, "2026-12-24T08:00:00+01:00"),  # the default
    ("P3D", NRW, "2026-12-26T08:00:00+01:00"),  # calendar days on the wall clock
    ("nonsense", NRW, "2026-12-24T08:00:00+01:00"),  # a damaged value falls back to the default
])
def test_reminder_moment(remind_before: str | None, calendar: WorkingDayCalendar, expected: str) -> None:
    assert reminder_moment(DUE, remind_before, calendar) == datetime.fromisoformat(expected)


@pytest.mark.parametrize("value", ["0", "none", "None", "0WD", "P0D", "'0'", "off"])
def test_zero_or_none_switches_the_reminder_off(value: str) -> None:
    assert reminder_disabled(value)
    assert reminder_moment(DUE, value, NRW) is None
    assert check_remind_before(value) is None


def test_check_names_unusable_values() -> None:
    assert check_remind_before("2WD") is None
    assert "bald" in (check_remind_before("bald") or "")


def test_rows_skip_a_reminder_that_is_already_past() -> None:
    def kinds(now: str) -> list[tuple[str, int]]:
        found = escalation_rows(uuid4(), uuid4(), uuid4(), "step", None, DUE, NRW, datetime.fromisoformat(now))
        return sorted((r["kind"], r["level"]) for r in found)

    assert kinds("2026-12-24T07:59:00+01:00") == [("escalation", 1), ("escalation", 2), ("reminder", 0)]
    assert kinds("2026-12-24T08:00:00+01:00") == [("escalation", 1), ("escalation", 2)]
