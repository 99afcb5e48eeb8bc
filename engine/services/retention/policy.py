"""When a closed case's content is due for deletion.

DOMAIN.md section 10: case content is deleted N years after the end of the year in which the
case was closed (N = ``KIM_RETENTION_YEARS``, default 3). A case closed on 2026-03-01 keeps its
content through 2029 and is due on 2030-01-01. Years are counted in Europe/Berlin, where the
offices file their cases, so a case closed at 00:30 on New Year's Day belongs to the new year.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine import clock
from engine.config import retention_years as config_retention_years

RULE = "{years} Jahre nach Ende des Abschlussjahres (DOMAIN.md Abschnitt 10)"


def retention_years(config: Mapping[str, Any]) -> int:
    """``KIM_RETENTION_YEARS`` as a whole number of years; the same check that
    :func:`engine.config.load_config` makes at start-up (a context's config may be changed later)."""
    return config_retention_years(config.get("KIM_RETENTION_YEARS"))


def closed_before(now: datetime, years: int) -> datetime:
    """Cases closed before this moment are due: 1 January of (this year - N), Berlin time."""
    local = now.astimezone(clock.BERLIN)
    return datetime(local.year - years, 1, 1, tzinfo=clock.BERLIN)


def closure_year(closed_at: datetime) -> int:
    return closed_at.astimezone(clock.BERLIN).year


def due_on(closed_at: datetime, years: int) -> datetime:
    """The first moment the content of a case closed at ``closed_at`` may be deleted."""
    return datetime(closure_year(closed_at) + 1 + years, 1, 1, tzinfo=clock.BERLIN)


def rule_of(years: int) -> str:
    return RULE.format(years=years)
