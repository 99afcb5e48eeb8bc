"""One person's residence-path screening through the deployed tables (DOMAIN.md section 5).

Order: the status table (what the person is screened as: §104c running, continued under §81
Abs. 4 or ended), the §25b requirement table (COLLECT), one table per path (FIRST), and - once
derived household rows are known - the ranking table. The legal rules stay in those tables;
Python only derives values (age, counted months) and assembles the rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.bpmn.decision_tables import (
    CompiledDecision,
    DecisionTask,
    evaluate_cell,
    matched_rules,
    rule_matches,
    rule_outputs,
)
from engine.bpmn.script_engine import KimScriptEngine
from engine.domain import residence
from engine.domain.errors import ModelInvalid
from engine.domain.model import ValidationProblem
from engine.domain.residence import MatchedRule, PathStatus, ResidencePath, ResidenceStatus
from engine.domain.residence_results import (
    PathResult,
    PersonScreening,
    RequirementSummary,
    path_result,
    ranking_inputs,
    recommend,
    summarize_requirements,
)
from engine.domain.residence_values import counted_time, derive
from engine.services.screening.tables import Loaded

_PHASES = frozenset({"RUNNING", "FICTION", "ENDED", "NONE"})


def prepare(tables: Loaded, engine: KimScriptEngine, values: Mapping[str, Any]) -> dict[str, Any]:
    """Checked inputs plus derived values, the status table's answer and the counted months."""
    data = derive(values)
    decision = tables[residence.STATUS_DECISION]
    found = matched_rules(decision, data, engine)
    status = found[0].outputs if found else {}
    if status.get("screened_status") not in {s.value for s in ResidenceStatus} or \
            status.get("permit_104c") not in _PHASES or not isinstance(status.get("counts_60b_time"), bool):
        raise _invalid(decision, "the status table must always answer screened_status (a status), permit_104c "
                                 "(RUNNING, FICTION, ENDED or NONE) and counts_60b_time (True/False)")
    data.update(permit_104c=status["permit_104c"], screened_status=status["screened_status"],
                deadline_104c=status.get("deadline_104c") or None, counts_60b_time=status["counts_60b_time"])
    data.update(counted_time(data))
    return data


def own_rows(tables: Loaded, engine: KimScriptEngine, data: Mapping[str, Any]) -> list[PathResult]:
    """One row per path of the person's own (requirement table first, for §25b)."""
    requirements = summarize_requirements(matched_rules(tables[residence.REQUIREMENTS_25B], dict(data), engine))
    with_counts = {**data, **requirements.as_inputs()}
    return [table_row(tables[decision_id], path.value, with_counts, engine,
                      requirements if path is ResidencePath.P25B else None)
            for path, decision_id in residence.PATH_DECISIONS.items()]


def table_row(decision: CompiledDecision, path: str, data: Mapping[str, Any], engine: KimScriptEngine,
              requirements: RequirementSummary | None = None, derived_from: str | None = None) -> PathResult:
    """The first matching rule decides; later rules are only tried if they give the same status."""
    task = DecisionTask(decision, dict(data), engine)
    status_cells = _status_cells(decision)
    matched: list[MatchedRule] = []
    for rule in decision.table.rules:
        if matched and evaluate_cell(decision, rule, status_cells[rule.id], task) != matched[0].outputs["status"]:
            continue
        if rule_matches(decision, rule, task):
            matched.append(MatchedRule(rule.id, rule_outputs(decision, rule, task)))
    try:
        return path_result(path, matched, requirements, derived_from)
    except ValueError as exc:
        raise _invalid(decision, str(exc)) from exc


def _status_cells(decision: CompiledDecision) -> dict[str, str]:
    names = [o.name for o in decision.table.outputs]
    if "status" not in names:
        raise _invalid(decision, "the table has no output named 'status'")
    index = names.index("status")
    return {rule.id: (rule.outputEntries[index].text or "") for rule in decision.table.rules}


def screened_person(tables: Loaded, engine: KimScriptEngine, person_id: str, relation: str | None,
                    data: Mapping[str, Any], rows: Sequence[PathResult]) -> PersonScreening:
    """The person's rows (own, derived, then the legal-review row) with the ranking's recommendation."""
    decision = tables[residence.RANKING]
    ranked = matched_rules(decision, ranking_inputs(rows), engine)
    outputs = ranked[0].outputs if ranked else {}
    path, action, review = outputs.get("recommended"), outputs.get("action"), outputs.get("legal_review")
    if not (isinstance(path, str) and path and isinstance(action, str) and action) or \
            review not in {s.value for s in PathStatus}:
        raise _invalid(decision, "the ranking table gave no recommended path, action and legal-review status; "
                                 "its last rule must always match")
    legal_review = PathResult(ResidencePath.LEGAL_REVIEW.value, PathStatus(review), rules=(ranked[0].rule_id,))
    all_rows = (*rows, legal_review)
    return PersonScreening(person_id, all_rows, recommend(path, action, all_rows), str(data["eval_date"]),
                           str(data["screened_status"]), relation)


def ranked_first(tables: Loaded, engine: KimScriptEngine, statuses: Mapping[str, str]) -> str | None:
    """The path the ranking table puts first for a vector of statuses (used to break household ties)."""
    inputs = ranking_inputs(())
    inputs.update(statuses)
    ranked = matched_rules(tables[residence.RANKING], inputs, engine)
    found = ranked[0].outputs.get("recommended") if ranked else None
    return found if isinstance(found, str) else None


def _invalid(decision: CompiledDecision, reason: str) -> ModelInvalid:
    return ModelInvalid([ValidationProblem(decision.decision_id, reason, decision.filename)])
