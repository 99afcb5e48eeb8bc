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
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from engine.calendar import CLOSING_DAY_NAME, WorkingDayCalendar, calendar_from_config
from engine.persistence.database import Database
from engine.persistence.models import ClosingDay

log = logging.getLogger(__name__)

REFRESH_SECONDS = 5.0


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
