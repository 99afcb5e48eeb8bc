"""Evaluate deployed DMN decisions, one table at a time or as the residence-path screening.

Decision tables are deployed like processes (``process_definition`` rows of kind "decision")
and evaluated here on their stored XML with SpiffWorkflow's DMN parser and engine, so the
answer of ``POST /decisions/{id}/evaluate`` is exactly what a business rule task in a process
would get. Every cell runs as a restricted expression in the sandbox (through
:class:`KimScriptEngine`); the cells are also compiled under the sandbox rules when a table is
first parsed, so a table deployed without those checks is still refused before it runs.

``residence_paths`` (DOMAIN.md sections 5 and 9) is not one table but a screening built from
several: the status table, the §25b requirement table (COLLECT), one table per path (FIRST), the
household derivation tables and the ranking table (see :mod:`.household` and :mod:`.person`).
The legal rules stay in those tables; Python only checks inputs, derives values such as the age
at ``eval_date``, Duldung months net of §60b time and counts of unmet requirements, and
assembles the rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.bpmn.decision_tables import evaluate_table
from engine.bpmn.script_engine import KimScriptEngine
from engine.domain import residence
from engine.domain.actors import Actor
from engine.domain.errors import InvalidInput
from engine.domain.residence_results import ScreeningResult
from engine.domain.screening_audience import WITHHELD, for_audience, is_conviction_code, view_of_offices
from engine.domain.visibility import CaseView
from engine.services.context import EngineContext
from engine.services.screening.household import evaluate_screening
from engine.services.screening.tables import load


@dataclass(frozen=True)
class DecisionResult:
    """What the evaluation of one plain table answers: the outputs of the matched rules."""

    decision_id: str
    outputs: list[dict[str, Any]]
    recommended: str | None = None
    versions: dict[str, int] = field(default_factory=dict)  # decision id -> version that answered

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"outputs": self.outputs, "versions": dict(self.versions)}
        if self.recommended is not None:
            body["recommended"] = self.recommended
        return body


def evaluate_decision(ctx: EngineContext, decision_id: str, inputs: Mapping[str, Any],
                      household: Sequence[Mapping[str, Any]] | None = None) -> DecisionResult | ScreeningResult:
    """Evaluate the newest version of a deployed decision, or the ``residence_paths`` screening.

    ``household`` (only for ``residence_paths``) lists the household members, see
    :func:`engine.services.screening.household.evaluate_screening`. Raises NotFound for an
    unknown decision, InvalidInput (with ``fields``) for bad inputs and ModelInvalid for a table
    that cannot run.
    """
    if not isinstance(inputs, Mapping) or not all(isinstance(k, str) for k in inputs):
        raise InvalidInput("inputs must be an object", {"inputs": "must be an object"})
    if decision_id == residence.SCREENING_DECISION:
        return evaluate_screening(ctx, inputs, household)
    if household is not None:
        raise InvalidInput("only the residence_paths screening takes a household",
                           {"household": "only for residence_paths"})
    loaded = load(ctx, [decision_id])
    outputs = evaluate_table(loaded[decision_id], dict(inputs), KimScriptEngine(ctx.calendar))
    return DecisionResult(decision_id, outputs, versions=dict(loaded.versions))


def evaluate_for(ctx: EngineContext, actor: Actor, decision_id: str, inputs: Any,
                 household: Any = None) -> dict[str, Any]:
    """``POST /decisions/{id}/evaluate``: the answer as the caller may see it (DOMAIN.md section 7).

    The ABH sees every row with every reason. Any other caller sees the outcome, with reasons
    about convictions replaced by ``reason_held_by_abh`` and no rule ids - in the screening and in
    any single table's output cells, so the tables cannot be asked one by one either.
    """
    if not isinstance(inputs, Mapping):
        raise InvalidInput("the inputs are missing", {"inputs": "required (an object)"})
    if household is not None and not isinstance(household, list):
        raise InvalidInput("the household must be a list of members", {"household": "must be a list"})
    result = evaluate_decision(ctx, decision_id, inputs, household)
    view = view_of_offices(actor.office_codes)
    if view is CaseView.AUTHORITY:
        return result.to_json()
    if isinstance(result, ScreeningResult):
        shown = for_audience(result, view)
        return shown.to_json() if shown is not None else {"outputs": [], "recommended": None}
    return {**result.to_json(), "outputs": [_withheld_cells(o) for o in result.outputs]}


def _withheld_cells(outputs: Mapping[str, Any]) -> dict[str, Any]:
    return {name: WITHHELD if isinstance(value, str) and is_conviction_code(value) else value
            for name, value in outputs.items()}
