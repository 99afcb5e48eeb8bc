"""The ``residence_paths`` operation BPMN service tasks call (``screen_paths``, ``rescreen_paths``).

Parameters: ``inputs`` (the main person's screening inputs), optionally ``household`` (a list of
members as for ``POST /decisions/residence_paths/evaluate``), ``case_id`` and ``trigger`` (why it
ran, e.g. ``monitoring``; stored with the run). With a ``case_id`` and no ``household`` the members
come from the case as they stand now (:mod:`.members`), so inputs edited after the case was opened
count at the next screening; members whose inputs are incomplete are listed under
``household_waiting`` with what they lack.

The answer is the screening as JSON; it is also noted in the step's outbox, and the step stores
it in its own transaction (:mod:`engine.services.stepping.screening_outbox`) - the operation
itself writes nothing (the transaction rule of :mod:`engine.services.wiring`).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from engine.services.context import EngineContext
from engine.services.screening.household import evaluate_screening
from engine.services.screening.members import household_for_screening, read_household_inputs
from engine.services.stepping.screening_outbox import NotedScreening, note


def screen_for_process(ctx: EngineContext, params: dict[str, Any]) -> dict[str, Any]:
    inputs = params.get("inputs")
    if not isinstance(inputs, dict):
        raise ValueError("the screening needs a parameter 'inputs' holding an object")
    household = params.get("household")
    waiting: list[dict[str, Any]] = []
    case_id = params.get("case_id")
    if household is None and case_id:
        with ctx.uow(write=False) as uow:
            members = read_household_inputs(uow.session, UUID(str(case_id)))
        household, waiting = household_for_screening(members, str(inputs.get("eval_date")))
    result = evaluate_screening(ctx, inputs, household).to_json()
    if household is not None:
        result["household_waiting"] = waiting
    note(NotedScreening(dict(inputs), list(household or ()), result, str(params.get("trigger") or "process")))
    return result
