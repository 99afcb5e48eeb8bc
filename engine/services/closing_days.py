"""Municipal closing days kept in the database, and the working-day calendar that honours them.

The NRW public holidays come from the ``holidays`` package and ``KIM_CLOSING_DAYS`` from the
configuration; both are fixed for the life of a process. Closing days that an admin adds in
the browser (table ``closing_day``) change at run time and must count everywhere the engine
counts working days - due dates, ``escalateAfter``, working-day timers - in every web worker
and every scheduler process.

How a change reaches all processes: :class:`MunicipalCalendar` wraps the configured calendar
and answers "working day?" with the stored days on top. ``EngineContext.uow()`` calls
:meth:`MunicipalCalendar.refresh` before each unit of work; the refresh re-reads the (tiny)
table at most every :data:`REFRESH_SECONDS` seconds, so an engine step pays nothing extra
almost always, and another process sees an admin's change within a few seconds, before its
next transaction. The process that made the change reloads at once. The whole table is read
(a few dozen rows), so deleting one day and adding another can never look like "no change",
which a count or ``max(created_at)`` signature could.

Due dates already computed stay as they are: a closing day moves the deadlines of tasks that
become ready afterwards.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from engine import clock
from engine.calendar import CLOSING_DAY_NAME, WorkingDayCalendar, calendar_from_config
from engine.domain.actors import Actor
from engine.domain.errors import InvalidInput, NotAllowed, NotFound
from engine.persistence.database import Database
from engine.persistence.models import ClosingDay
from engine.services import audit

if TYPE_CHECKING:
    from engine.services.context import EngineContext

log = logging.getLogger(__name__)

REFRESH_SECONDS = 5.0
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_LABEL = 200
YEARS_AHEAD = 5  # closing days are planned for the next few years, not for decades
ADMIN_ROLES = ("admin",)


class MunicipalCalendar(WorkingDayCalendar):
    """The configured calendar plus the closing days stored in the database.

    Only :meth:`is_working_day`, :meth:`holiday_name` and :meth:`holidays_in` know the stored
    days; counting (``add_working_days``, ``working_days_between``) goes through
    ``is_working_day``, so it follows. The parent's per-year cache holds only what never
    changes (holidays and configured days); the stored days are one frozenset that a refresh
    swaps in a single assignment, so readers never see half an update.
    """

    def __init__(self, base: WorkingDayCalendar) -> None:
        super().__init__(base.region, base.closing_days, base.tz)
        self.stored_closing_days: frozenset[date] = frozenset()
        self._checked_at: float | None = None
        self._refresh_lock = threading.Lock()

    @property
    def configured_closing_days(self) -> frozenset[date]:
        return self.closing_days

    def is_working_day(self, day: date) -> bool:
        return super().is_working_day(day) and day not in self.stored_closing_days

    def holiday_name(self, day: date) -> str | None:
        name = super().holiday_name(day)
        if name is None and day in self.stored_closing_days:
            return CLOSING_DAY_NAME
        return name

    def holidays_in(self, year: int) -> list[tuple[date, str]]:
        named = {day: CLOSING_DAY_NAME for day in self.stored_closing_days if day.year == year}
        named.update(super().holidays_in(year))
        return sorted(named.items())

    def set_stored_closing_days(self, days: Iterable[date]) -> None:
        self.stored_closing_days = frozenset(days)
        self._checked_at = time.monotonic()

    def refresh(self, db: Database, force: bool = False) -> None:
        """Re-read the table when the last read is older than REFRESH_SECONDS (or ``force``).

        Runs before a unit of work opens, in its own short read transaction. A failure (e.g. a
        database not yet migrated) keeps the days known so far and is retried next time.
        """
        checked = self._checked_at
        if not force and checked is not None and time.monotonic() - checked < REFRESH_SECONDS:
            return
        if not self._refresh_lock.acquire(blocking=force):
            return  # another thread is reading right now; its result is as fresh as ours
        try:
            with db.session(write=False) as session:
                days = session.scalars(select(ClosingDay.day)).all()
            self.set_stored_closing_days(days)
        except SQLAlchemyError:
            log.warning("closing days could not be read; keeping the %d known", len(self.stored_closing_days))
            self._checked_at = time.monotonic()
        finally:
            self._refresh_lock.release()


def municipal_calendar_from_config(config: Mapping[str, Any]) -> MunicipalCalendar:
    return MunicipalCalendar(calendar_from_config(config))


# --- use cases (admins) ------------------------------------------------------------------------


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

