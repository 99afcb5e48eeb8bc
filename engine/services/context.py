"""What every use case needs: the database, the calendar, the runtime, the forms - and its unit of work.

The transaction rule of the engine:

* **Entry points open the unit of work**: a web request (one per request, authentication and
  the response included), a CLI command, one item of a scheduler batch. They commit it once.
  ``ctx.run(use_case, ...)`` is the shortest way to do that outside the web app.
* **Use cases take it**: ``def complete_task(uow: UnitOfWork, ...)``. They read and write
  through ``uow.session``, find everything else on ``uow.ctx``, and never commit, roll back
  or open another transaction. Audit entries are queued and appended at commit.
* **Helpers take a session** (and what else they need), never a unit of work or a context.

Batch drivers (firing due timers, sending due mail, migrating many cases) are entry-point code:
they open one unit of work per item, so one bad item fails alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy.orm import Session

from engine.bpmn.runtime import Runtime
from engine.calendar import WorkingDayCalendar
from engine.forms import FormRegistry
from engine.persistence import uow as persistence_uow
from engine.persistence.database import Database
from engine.persistence.offices import office_ids
from engine.services.calendar import MunicipalCalendar

P = ParamSpec("P")
R = TypeVar("R")


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
        fresh = self._reload(session)
        if code not in fresh:
            raise LookupError(f"office '{code}' no longer exists")
        return fresh[code]

    def code_of(self, session: Session, office_id: int) -> str:
        """The reverse lookup (a handful of offices: a scan costs less than a second map)."""
        for attempt in (self._map, None):
            current = attempt if attempt is not None else self._reload(session)
            for code, known_id in current.items():
                if known_id == office_id:
                    return code
        raise LookupError(f"no office with id {office_id}")

    def _reload(self, session: Session) -> Mapping[str, int]:
        fresh: Mapping[str, int] = MappingProxyType(office_ids(session))
        self._map = fresh
        return fresh


@dataclass
class EngineContext:
    """One per process (web worker, scheduler, CLI command); shared by its threads."""

    db: Database
    calendar: WorkingDayCalendar
    runtime: Runtime
    config: Mapping[str, Any]
    forms: FormRegistry
    offices: OfficeIds = field(default_factory=OfficeIds)

    def uow(self, write: bool = True) -> UnitOfWork:
        """A new unit of work (not yet open: ``with ctx.uow() as uow``)."""
        if isinstance(self.calendar, MunicipalCalendar):
            self.calendar.refresh(self.db)  # stored closing days, re-read every few seconds
        return UnitOfWork(self, write)

    def run(self, use_case: Callable[Concatenate[UnitOfWork, P], R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Entry-point helper: run one use case in a write unit of work of its own and commit."""
        with self.uow() as uow:
            result = use_case(uow, *args, **kwargs)
            uow.commit()
        return result

    def read(self, use_case: Callable[Concatenate[UnitOfWork, P], R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Like :meth:`run` for use cases that only read (audited reads commit their entries)."""
        with self.uow(write=False) as uow:
            result = use_case(uow, *args, **kwargs)
            uow.commit()
        return result


class UnitOfWork(persistence_uow.UnitOfWork):
    """A unit of work that knows its engine context (calendar, runtime, forms, configuration)."""

    def __init__(self, ctx: EngineContext, write: bool = True) -> None:
        super().__init__(ctx.db, write)
        self.ctx = ctx

    def __enter__(self) -> UnitOfWork:
        super().__enter__()
        return self
