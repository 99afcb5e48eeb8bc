"""Build the engine for a process: database, calendar, runtime, and the operations models may call.

Entry points (the web app, the CLI, the scheduler) call :func:`create_context` once per
process. This is the one module that knows every room, because it plugs the rooms'
operations into the runtime (BPMN service tasks call them by name).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.bpmn.runtime import Runtime
from engine.config import load_config
from engine.forms import DEFAULT_FORMS_DIR, FormRegistry
from engine.persistence.database import make_database
from engine.persistence.stored_forms import DatabaseForms
from engine.services.calendar import municipal_calendar_from_config
from engine.services.context import EngineContext
from engine.services.screening.process_screening import record_member_inputs_for_process, screen_for_process


def create_context(overrides: Mapping[str, Any] | None = None) -> EngineContext:
    config = load_config(overrides)
    calendar = municipal_calendar_from_config(config)  # NRW holidays + KIM_CLOSING_DAYS + table
    runtime = Runtime(calendar)
    db = make_database(config["KIM_DATABASE_URL"])
    forms = FormRegistry(Path(config.get("KIM_FORMS_PATH") or DEFAULT_FORMS_DIR), stored=DatabaseForms())
    ctx = EngineContext(db, calendar, runtime, config, forms)
    runtime.services.update(_engine_services(ctx))
    return ctx


def _engine_services(ctx: EngineContext) -> dict[str, Any]:
    """Operations that BPMN service tasks may call. Each reads what it needs in its own
    short read-only transaction; none writes, so an engine step stays one transaction.

    ``residence_paths`` notes its answer in the step's outbox; the step stores it in its own
    transaction (:mod:`engine.services.stepping.screening_outbox`); ``household_member_inputs`` notes a
    member's input there the same way."""

    def residence_paths(params: dict[str, Any]) -> Any:
        return screen_for_process(ctx, params)

    return {"residence_paths": residence_paths, "household_member_inputs": record_member_inputs_for_process}
