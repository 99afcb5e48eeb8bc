"""Municipal closing days: admins add and remove them (audited); the calendar follows at once.

The calendar that honours them in every process is :class:`engine.services.calendar.MunicipalCalendar`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine import clock
from engine.calendar import CLOSING_DAY_NAME, WorkingDayCalendar
from engine.domain.actors import Actor
from engine.domain.errors import InvalidInput, NotFound
from engine.domain.permissions import Permission, require
from engine.persistence import audit_log as audit
from engine.persistence.models import ClosingDay
from engine.services.calendar import MunicipalCalendar
from engine.services.context import UnitOfWork

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_LABEL = 200
YEARS_AHEAD = 5  # closing days are planned for the next few years, not for decades


@dataclass(frozen=True)
class DayView:
    """A day that is not a working day: a public holiday, or a closing day (configured or stored)."""

    day: date
    label: str
    source: str  # "holiday" | "configuration" | "database"
    weekday: int
    created_by: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class CalendarYear:
    year: int
    region: str
    holidays: tuple[DayView, ...]
    configured: tuple[DayView, ...]
    stored: tuple[DayView, ...]
    working_days: int


def _view(row: ClosingDay) -> DayView:
    return DayView(row.day, row.label, "database", row.day.weekday(), row.created_by, row.created_at)


def list_closing_days(uow: UnitOfWork, actor: Actor, year: int | None = None) -> list[DayView]:
    """Stored closing days (of ``year``, or all), oldest first."""
    require(actor, Permission.MANAGE_CALENDAR)
    query = select(ClosingDay).order_by(ClosingDay.day)
    if year is not None:
        query = query.where(ClosingDay.day >= date(year, 1, 1), ClosingDay.day <= date(year, 12, 31))
    return [_view(r) for r in uow.session.scalars(query)]


def parse_day(value: object, field: str = "day") -> date:
    if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
        raise InvalidInput("the date must have the form YYYY-MM-DD", {field: "a date YYYY-MM-DD is required"})
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput("the date must have the form YYYY-MM-DD", {field: "not a valid date"}) from exc


def _check_new_day(calendar: WorkingDayCalendar, day: date) -> None:
    today = clock.local_now(calendar.tz).date()
    if day < today:
        raise InvalidInput("closing days cannot be added for past days: due dates already counted would not change",
                           {"day": "lies in the past"})
    if day.year > today.year + YEARS_AHEAD:
        raise InvalidInput(f"closing days can be planned at most {YEARS_AHEAD} years ahead",
                           {"day": "too far in the future"})
    if isinstance(calendar, MunicipalCalendar) and day in calendar.configured_closing_days:
        raise InvalidInput("this day is already a closing day in the configuration (KIM_CLOSING_DAYS)",
                           {"day": "already configured"})
    public = WorkingDayCalendar(calendar.region, tz=calendar.tz).holiday_name(day)
    if public is not None:
        raise InvalidInput(f"this day is a public holiday ({public})", {"day": "public holiday"})


def add_closing_day(uow: UnitOfWork, actor: Actor, body: Mapping[str, Any]) -> DayView:
    """Add a closing day (422: bad, past, far-future, configured, holiday or duplicate date)."""
    require(actor, Permission.MANAGE_CALENDAR)
    day = parse_day(body.get("day"))
    label = body.get("label", "")
    if label is None:
        label = ""
    if not isinstance(label, str) or len(label.strip()) > MAX_LABEL:
        raise InvalidInput("the label must be text of at most 200 characters", {"label": "at most 200 characters"})
    _check_new_day(uow.ctx.calendar, day)
    session = uow.session
    if session.get(ClosingDay, day) is not None:
        raise InvalidInput("this day is already a closing day", {"day": "already a closing day"})
    row = ClosingDay(day=day, label=label.strip(), created_by=actor.username, created_at=clock.now())
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as exc:  # added by someone else at the same moment
        raise InvalidInput("this day is already a closing day", {"day": "already a closing day"}) from exc
    audit.record(session, actor, "closing_day.add", "closing_day", day.isoformat(), details={"label": row.label})
    uow.after_commit(lambda: _reload(uow))
    return _view(row)


def delete_closing_day(uow: UnitOfWork, actor: Actor, day: date) -> None:
    require(actor, Permission.MANAGE_CALENDAR)
    row = uow.session.get(ClosingDay, day)
    if row is None:
        raise NotFound(f"{day.isoformat()} is not a stored closing day")
    uow.session.delete(row)
    uow.session.flush()
    audit.record(uow.session, actor, "closing_day.delete", "closing_day", day.isoformat(),
                 details={"label": row.label})
    uow.after_commit(lambda: _reload(uow))


def _reload(uow: UnitOfWork) -> None:
    if isinstance(uow.ctx.calendar, MunicipalCalendar):
        uow.ctx.calendar.refresh(uow.ctx.db, force=True)


def calendar_year(uow: UnitOfWork, actor: Actor, year: int) -> CalendarYear:
    """Everything the admin page shows for one year: holidays, configured and stored closing days."""
    require(actor, Permission.MANAGE_CALENDAR)
    if not 1900 <= year <= 2200:
        raise InvalidInput("the year must lie between 1900 and 2200", {"year": "out of range"})
    calendar = uow.ctx.calendar
    public = WorkingDayCalendar(calendar.region, tz=calendar.tz).holidays_in(year)
    configured = sorted(d for d in calendar.closing_days if d.year == year)
    first = date(year, 1, 1)
    days = (date(year, 12, 31) - first).days + 1
    working = sum(1 for n in range(days) if calendar.is_working_day(first + timedelta(days=n)))
    return CalendarYear(
        year, calendar.region,
        tuple(DayView(d, name, "holiday", d.weekday()) for d, name in public),
        tuple(DayView(d, CLOSING_DAY_NAME, "configuration", d.weekday()) for d in configured),
        tuple(list_closing_days(uow, actor, year)), working)
