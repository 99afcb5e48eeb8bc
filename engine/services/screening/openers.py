"""Plan-goal proposals for a screening result, with the deployed plan-goal table (DOMAIN.md section 5).

The proposals themselves are computed by the pure :func:`engine.domain.path_openers.what_would_open`;
this module only asks the plan-goal table (``residence_paths_plan_goals``, a [default] each
municipality may edit) which goal, offices and duration belong to each missing item.
"""

from __future__ import annotations

from engine.bpmn.decision_tables import matched_rules
from engine.bpmn.script_engine import KimScriptEngine
from engine.domain import residence
from engine.domain.errors import ModelInvalid
from engine.domain.model import ValidationProblem
from engine.domain.path_openers import GoalTemplate, PathOpener, lookups, what_would_open
from engine.domain.residence_results import ScreeningResult
from engine.services.context import EngineContext
from engine.services.screening.tables import Loaded, load


def propose_plan_goals(ctx: EngineContext, result: ScreeningResult) -> tuple[PathOpener, ...]:
    """What would open each NOT_MET (or §60b-blocked) row of ``result``, as plan-goal proposals.

    Raises NotFound when the plan-goal table is not deployed, ModelInvalid when it does not answer.
    """
    needed = lookups(result)
    if not needed:
        return ()
    tables = load(ctx, [residence.PLAN_GOALS])
    engine = KimScriptEngine(ctx.calendar)
    return what_would_open(result, {key: _template(tables, engine, *key) for key in needed})


def _template(tables: Loaded, engine: KimScriptEngine, screened_status: str, missing: str) -> GoalTemplate:
    decision = tables[residence.PLAN_GOALS]
    found = matched_rules(decision, {"missing": missing, "screened_status": screened_status}, engine)
    if not found:
        raise ModelInvalid([ValidationProblem(decision.decision_id, "the plan-goal table's last rule must always "
                                              "match", decision.filename)])
    cells = found[0].outputs
    return GoalTemplate(str(cells.get("goal") or ""), str(cells.get("title") or ""),
                        tuple(str(cells.get("offices") or "").split()), str(cells.get("duration") or ""))
