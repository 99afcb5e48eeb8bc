"""What every use case needs: the database, the working-day calendar and the runtime."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.bpmn.runtime import Runtime
from engine.calendar import WorkingDayCalendar
from engine.config import load_config
from engine.persistence.database import Database, make_database
from engine.persistence.uow import UnitOfWork
from engine.services.closing_days import MunicipalCalendar, municipal_calendar_from_config


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


def create_context(overrides: Mapping[str, Any] | None = None) -> EngineContext:
    config = load_config(overrides)
    calendar = municipal_calendar_from_config(config)  # NRW holidays + KIM_CLOSING_DAYS + table
    runtime = Runtime(calendar)
    ctx = EngineContext(make_database(config["KIM_DATABASE_URL"]), calendar, runtime, config)
    runtime.services.update(_engine_services(ctx))
    return ctx


def _engine_services(ctx: EngineContext) -> dict[str, Any]:
    """Operations that BPMN service tasks may call. Each reads what it needs in its own
    short read-only transaction; none writes, so an engine step stays one transaction."""

    def residence_paths(params: dict[str, Any]) -> Any:
        from engine.services.decisions import evaluate_decision

        inputs = params.get("inputs")
        if not isinstance(inputs, dict):
            raise ValueError("the screening needs a parameter 'inputs' holding an object")
        return evaluate_decision(ctx, "residence_paths", inputs).to_json()

    return {"residence_paths": residence_paths}
