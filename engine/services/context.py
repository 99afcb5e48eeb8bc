"""What every use case needs: the database, the working-day calendar and the runtime."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from sqlalchemy.orm import Session

from engine.bpmn.runtime import Runtime
from engine.calendar import WorkingDayCalendar
from engine.persistence.database import Database
from engine.persistence.offices import office_ids
from engine.persistence.uow import UnitOfWork
from engine.services.calendar import MunicipalCalendar


class OfficeIds:
    """Office code -> id, shared by every thread of a process.

    Readers take the current map and keep it: a miss (an office added meanwhile) builds a new
    map and swaps it in with one assignment, so no reader ever sees a map half filled or empty.
    Office ids never change once created, so an old map is never wrong, only incomplete.
    """

    def __init__(self) -> None:
        self._map: Mapping[str, int] = MappingProxyType({})

    def snapshot(self) -> Mapping[str, int]:
        return self._map

    def id_of(self, session: Session, code: str) -> int:
        current = self._map
        if code in current:
            return current[code]
        fresh: Mapping[str, int] = MappingProxyType(office_ids(session))
        self._map = fresh
        if code not in fresh:
            raise LookupError(f"office '{code}' no longer exists")
        return fresh[code]


@dataclass
class EngineContext:
    db: Database
    calendar: WorkingDayCalendar
    runtime: Runtime
    config: Mapping[str, Any]
    offices: OfficeIds = field(default_factory=lambda: OfficeIds())

    def uow(self, write: bool = True) -> UnitOfWork:
        if isinstance(self.calendar, MunicipalCalendar):
            self.calendar.refresh(self.db)  # stored closing days, re-read every few seconds
        return UnitOfWork(self.db, write)
