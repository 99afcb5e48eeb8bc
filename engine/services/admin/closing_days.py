"""Municipal closing days: admins add and remove them (audited); the calendar follows at once.

The calendar that honours them in every process is :class:`engine.services.calendar.MunicipalCalendar`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine import clock
from engine.calendar import CLOSING_DAY_NAME, WorkingDayCalendar
from engine.domain.actors import Actor
from engine.domain.errors import InvalidInput, NotAllowed, NotFound
from engine.persistence import audit_log as audit
from engine.persistence.models import ClosingDay
from engine.services.calendar import MunicipalCalendar
from engine.services.context import EngineContext

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_LABEL = 200
YEARS_AHEAD = 5  # closing days are planned for the next few years, not for decades
ADMIN_ROLES = ("admin",)


def require_admin(actor: Actor) -> None:
    if actor.role not in ADMIN_ROLES:
        raise NotAllowed("the working-day calendar is managed by admins")


def _row(row: ClosingDay) -> dict[str, Any]:
    return {"day": row.day.isoformat(), "label": row.label, "created_by": row.created_by,
            "created_at": row.created_at.isoformat(), "source": "database"}


def list_closing_days(ctx: EngineContext, actor: Actor, year: int | None = None) -> list[dict[str, Any]]:
    """Stored closing days (of ``year``, or all), oldest first."""
    require_admin(actor)
    with ctx.uow(write=False) as uow:
        query = select(ClosingDay).order_by(ClosingDay.day)
        if year is not None:
            query = query.where(ClosingDay.day >= date(year, 1, 1), ClosingDay.day <= date(year, 12, 31))
        return [_row(r) for r in uow.session.scalars(query)]


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


def add_closing_day(ctx: EngineContext, actor: Actor, body: Mapping[str, Any]) -> dict[str, Any]:
    """Add a closing day (422: bad, past, far-future, configured, holiday or duplicate date)."""
    require_admin(actor)
    day = parse_day(body.get("day"))
    label = body.get("label", "")
    if label is None:
        label = ""
    if not isinstance(label, str) or len(label.strip()) > MAX_LABEL:
        raise InvalidInput("the label must be text of at most 200 characters", {"label": "at most 200 characters"})
    _check_new_day(ctx.calendar, day)
    with ctx.uow() as uow:
        if uow.session.get(ClosingDay, day) is not None:
            raise InvalidInput("this day is already a closing day", {"day": "already a closing day"})
        row = ClosingDay(day=day, label=label.strip(), created_by=actor.username, created_at=clock.now())
        uow.session.add(row)
        try:
            uow.session.flush()
        except IntegrityError as exc:  # added by someone else at the same moment
            raise InvalidInput("this day is already a closing day", {"day": "already a closing day"}) from exc
        audit.record(uow.session, actor, "closing_day.add", "closing_day", day.isoformat(),
                     details={"label": row.label})
        uow.commit()
        created = _row(row)
    _reload(ctx)
    return created


def delete_closing_day(ctx: EngineContext, actor: Actor, day: date) -> None:
    require_admin(actor)
    with ctx.uow() as uow:
        row = uow.session.get(ClosingDay, day)
        if row is None:
            raise NotFound(f"{day.isoformat()} is not a stored closing day")
        uow.session.delete(row)
        audit.record(uow.session, actor, "closing_day.delete", "closing_day", day.isoformat(),
                     details={"label": row.label})
        uow.commit()
    _reload(ctx)


def _reload(ctx: EngineContext) -> None:
    if isinstance(ctx.calendar, MunicipalCalendar):
        ctx.calendar.refresh(ctx.db, force=True)


def calendar_year(ctx: EngineContext, actor: Actor, year: int) -> dict[str, Any]:
    """Everything the admin page shows for one year: holidays, configured and stored closing days."""
    require_admin(actor)
    if not 1900 <= year <= 2200:
        raise InvalidInput("the year must lie between 1900 and 2200", {"year": "out of range"})
    calendar = ctx.calendar
    public = WorkingDayCalendar(calendar.region, tz=calendar.tz).holidays_in(year)
    configured = sorted(d for d in calendar.closing_days if d.year == year)
    stored = [{**row, "weekday": date.fromisoformat(row["day"]).weekday()}
              for row in list_closing_days(ctx, actor, year)]
    first = date(year, 1, 1)
    days = (date(year, 12, 31) - first).days + 1
    working = sum(1 for n in range(days) if calendar.is_working_day(first + timedelta(days=n)))
    return {"year": year, "region": calendar.region,
            "holidays": [{"day": d.isoformat(), "name": name, "weekday": d.weekday()} for d, name in public],
            "configured": [{"day": d.isoformat(), "label": CLOSING_DAY_NAME, "source": "configuration",
                            "weekday": d.weekday()} for d in configured],
            "stored": stored, "working_days": working}

