"""Derived values the residence-path tables compare against, and the date arithmetic behind them.

A decision-table cell should be one simple comparison. So before the tables run, dates become
the numbers and dates the cells need: the age at ``eval_date``, the months until a training
starts, the day the Duldung reaches *n* months. Values that depend on a threshold are offered as
lists indexed by that threshold (``birthdays[27]``, ``duldung_months_reached_on[12]``,
``training_start_minus_months[7]``) so that the threshold itself stays in the table, next to the
rule that uses it. Whether §60b time counts is decided by the status table
(``counts_60b_time``); this module only subtracts. Pure: no I/O, no clock.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, Final

from engine.domain.residence import MAX_AGE, parse_iso_date

MAX_MONTHS_INDEX: Final = 120


# --- date arithmetic (BGB §§ 187, 188) ----------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months; a missing day becomes the month's last (§188 Abs. 3 BGB)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, monthrange(year, month + 1)[1]))


def birthday(born: date, years: int) -> date:
    """The day the person turns ``years``; born on 29 February: 1 March in common years."""
    year = born.year + years
    if born.month == 2 and born.day == 29 and monthrange(year, 2)[1] == 28:
        return date(year, 3, 1)
    return date(year, born.month, born.day)


def age_on(born: date, day: date) -> int:
    """Completed years of life on ``day`` (the birthday itself counts, §187 Abs. 2 BGB)."""
    years = day.year - born.year
    return years if birthday(born, years) <= day else years - 1


def months_before(start: date, day: date) -> float:
    """How many months ``day`` lies before ``start`` (negative after it), counted back from ``start``.

    Exactly seven months before gives 7.0, one day earlier a little more than 7, so a table cell
    ``> 7`` separates "7 months + 1 day" from "exactly 7 months".
    """
    if day > start:
        return -_months_after(start, day)
    whole = (start.year - day.year) * 12 + start.month - day.month
    while add_months(start, -whole) < day:
        whole -= 1
    base, previous = add_months(start, -whole), add_months(start, -whole - 1)
    return whole + (base - day).days / (base - previous).days


def _months_after(start: date, day: date) -> float:
    whole = (day.year - start.year) * 12 + day.month - start.month
    while add_months(start, whole) > day:
        whole -= 1
    base, following = add_months(start, whole), add_months(start, whole + 1)
    return whole + (day - base).days / (following - base).days


# --- derived values ------------------------------------------------------------------------------


def derive(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validated inputs plus the date-derived values of the person (all JSON values)."""
    eval_date = date.fromisoformat(values["eval_date"])
    born = date.fromisoformat(values["date_of_birth"])
    start = parse_iso_date(values["training_start"])
    derived = dict(values)
    derived.update(
        age=age_on(born, eval_date),
        birthdays=[birthday(born, n).isoformat() for n in range(MAX_AGE + 1)],
        last_day_before_birthday=[(birthday(born, n) - timedelta(days=1)).isoformat() for n in range(MAX_AGE + 1)],
        months_until_training_start=round(months_before(start, eval_date), 6) if start else None,
        training_start_minus_months=([add_months(start, -n).isoformat() for n in range(MAX_MONTHS_INDEX + 1)]
                                     if start else None),
    )
    return derived


def counted_time(data: Mapping[str, Any]) -> dict[str, Any]:
    """Duldung months and years of stay as the tables count them, and when the Duldung reaches n months.

    ``months_60b`` (months with a §60b status inside the stated ``duldung_months`` and
    ``stay_years``) is taken off unless the status table says §60b time counts
    (``counts_60b_time``, §104c holders), DOMAIN.md section 5.
    """
    eval_date = date.fromisoformat(data["eval_date"])
    taken_off = 0 if data["counts_60b_time"] else int(data["months_60b"])
    months = max(0, int(data["duldung_months"]) - taken_off)
    years = max(0.0, float(data["stay_years"]) - taken_off / 12)
    return {
        "duldung_months_counted": months,
        "stay_years_counted": round(years, 6),
        "duldung_months_reached_on": [add_months(eval_date, max(0, n - months)).isoformat()
                                      for n in range(MAX_MONTHS_INDEX + 1)],
    }
