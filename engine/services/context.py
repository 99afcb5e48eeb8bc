"""What every use case needs: the database, the working-day calendar and the runtime."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.bpmn.runtime import Runtime
from engine.calendar import WorkingDayCalendar
from engine.persistence.database import Database
from engine.persistence.uow import UnitOfWork
from engine.services.calendar import MunicipalCalendar


@dataclass
class EngineContext:
    db: Database
    calendar: WorkingDayCalendar
    runtime: Runtime
    config: Mapping[str, Any]
    office_ids: dict[str, int] = field(default_factory=dict)  # office code -> id (ids never change)

    def uow(self, write: bool = True) -> UnitOfWork:
        if isinstance(self.calendar, MunicipalCalendar):
            self.calendar.refresh(self.db)  # stored closing days, re-read every few seconds
        return UnitOfWork(self.db, write)
