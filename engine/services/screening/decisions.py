"""Evaluate deployed DMN decisions, one table at a time or as the residence-path screening.

Decision tables are deployed like processes (``process_definition`` rows of kind "decision")
and evaluated here on their stored XML with SpiffWorkflow's DMN parser and engine, so the
answer of ``POST /decisions/{id}/evaluate`` is exactly what a business rule task in a process
would get. Every cell runs as a restricted expression in the sandbox (through
:class:`KimScriptEngine`); the cells are also compiled under the sandbox rules when a table is
first parsed, so a table deployed without those checks is still refused before it runs.

``residence_paths`` (DOMAIN.md section 5) is not one table but a screening built from several:
the §25b requirement table (COLLECT), one table per path (FIRST) and the ranking table. The
legal rules stay in those tables; Python only checks inputs, derives values such as the age at
``eval_date`` and assembles the rows (see :mod:`engine.domain.residence`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn.decision_tables import (
    CompiledDecision,
    DecisionTask,
    compile_decision,
    evaluate_cell,
    evaluate_table,
    matched_rules,
    rule_matches,
    rule_outputs,
)
from engine.bpmn.script_engine import KimScriptEngine
from engine.caching import LruCache
from engine.domain import residence
from engine.domain.errors import InvalidInput, ModelInvalid, NotFound
from engine.domain.model import ModelSource, ValidationProblem
from engine.domain.residence import MatchedRule, PathResult, PathStatus, RequirementSummary, ResidencePath
from engine.persistence.models import ModelSourceRow, ProcessDefinition
from engine.services.context import EngineContext


@dataclass(frozen=True)
class DecisionResult:
    """What an evaluation answers: the outputs of the matched rules (or the screening's rows)."""

    decision_id: str
    outputs: list[dict[str, Any]]
    recommended: str | None = None
    versions: dict[str, int] = field(default_factory=dict)  # decision id -> version that answered

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"outputs": self.outputs, "versions": dict(self.versions)}
        if self.recommended is not None:
            body["recommended"] = self.recommended
        return body


def evaluate_decision(ctx: EngineContext, decision_id: str, inputs: Mapping[str, Any]) -> DecisionResult:
    """Evaluate the newest version of a deployed decision, or the ``residence_paths`` screening.

    Raises NotFound for an unknown decision, InvalidInput (with ``fields``) for bad inputs and
    ModelInvalid for a table that cannot run.
    """
    if not isinstance(inputs, Mapping) or not all(isinstance(k, str) for k in inputs):
        raise InvalidInput("inputs must be an object", {"inputs": "must be an object"})
    if decision_id == residence.SCREENING_DECISION:
        return _screen(ctx, inputs)
    (loaded,) = _load(ctx, [decision_id]).values()
    decision, version = loaded
    outputs = evaluate_table(decision, dict(inputs), KimScriptEngine(ctx.calendar))
    return DecisionResult(decision_id, outputs, versions={decision_id: version})


# --- loading and compiling ------------------------------------------------------------------------


DECISIONS: LruCache[tuple[str, str], CompiledDecision] = LruCache(128)
"""Compiled tables per (content hash, decision id): parsing costs far more than evaluating."""


def _load(ctx: EngineContext, decision_ids: Sequence[str]) -> dict[str, tuple[CompiledDecision, int]]:
    """Newest deployed version of each decision, compiled: two queries, plus one per uncached file."""
    with ctx.uow(write=False) as uow:
        latest = _latest_versions(uow.session, decision_ids)
        absent = [d for d in decision_ids if d not in latest]
        if absent:
            raise NotFound(f"no deployed decision {', '.join(repr(d[:200]) for d in absent)}")
        result: dict[str, tuple[CompiledDecision, int]] = {}
        for key, (version, sha) in latest.items():
            compiled = DECISIONS.get((sha, key))
            if compiled is None:
                compiled = DECISIONS.put((sha, key), compile_decision(_source(uow.session, sha), key))
            result[key] = (compiled, version)
    return result


def _latest_versions(session: Session, decision_ids: Sequence[str]) -> dict[str, tuple[int, str]]:
    rows = session.execute(select(ProcessDefinition.key, ProcessDefinition.version, ProcessDefinition.source_sha256)
                           .where(ProcessDefinition.kind == "decision",
                                  ProcessDefinition.key.in_([d[:200] for d in decision_ids])))
    latest: dict[str, tuple[int, str]] = {}
    for key, version, sha in rows:
        if key not in latest or version > latest[key][0]:
            latest[key] = (version, sha)
    return latest


def _source(session: Session, sha: str) -> ModelSource:
    row = session.get(ModelSourceRow, sha)
    if row is None:  # the foreign key makes this impossible short of manual tampering
        raise NotFound(f"the model source {sha} is missing")
    return ModelSource(row.filename, row.content)


# --- the residence-path screening -----------------------------------------------------------------


def _screen(ctx: EngineContext, raw: Mapping[str, Any]) -> DecisionResult:
    """DOMAIN.md section 5: requirement table, one table per path, then the ranking table."""
    data = residence.derive(residence.validate_screening_inputs(raw))
    loaded = _load(ctx, residence.ALL_DECISIONS)
    script_engine = KimScriptEngine(ctx.calendar)
    requirements = residence.summarize_requirements(
        matched_rules(loaded[residence.REQUIREMENTS_25B][0], data, script_engine))
    data.update(requirements.as_inputs())
    rows: list[PathResult] = []
    for path, decision_id in residence.PATH_DECISIONS.items():
        found = requirements if path is ResidencePath.P25B else None
        rows.append(_path_row(loaded[decision_id][0], path, data, script_engine, found))
    recommended, legal_review = _rank(loaded[residence.RANKING][0], rows, script_engine)
    rows.append(legal_review)
    versions = {key: version for key, (_decision, version) in loaded.items()}
    return DecisionResult(residence.SCREENING_DECISION, [r.to_json() for r in rows], recommended, versions)


def _path_row(decision: CompiledDecision, path: ResidencePath, data: dict[str, Any],
              script_engine: KimScriptEngine, requirements: RequirementSummary | None) -> PathResult:
    """The first matching rule decides; later rules are only tried if they give the same status."""
    task = DecisionTask(decision, data, script_engine)
    status_cells = _status_cells(decision)
    matched: list[MatchedRule] = []
    for rule in decision.table.rules:
        if matched and evaluate_cell(decision, rule, status_cells[rule.id], task) != matched[0].outputs["status"]:
            continue
        if rule_matches(decision, rule, task):
            matched.append(MatchedRule(rule.id, rule_outputs(decision, rule, task)))
    try:
        return residence.path_result(path.value, matched, requirements)
    except ValueError as exc:
        raise ModelInvalid([ValidationProblem(decision.decision_id, str(exc), decision.filename)]) from exc


def _status_cells(decision: CompiledDecision) -> dict[str, str]:
    names = [o.name for o in decision.table.outputs]
    if "status" not in names:
        raise ModelInvalid([ValidationProblem(decision.decision_id, "the table has no output named 'status'",
                                              decision.filename)])
    index = names.index("status")
    return {rule.id: (rule.outputEntries[index].text or "") for rule in decision.table.rules}


def _rank(decision: CompiledDecision, rows: Sequence[PathResult],
          script_engine: KimScriptEngine) -> tuple[str, PathResult]:
    """Recommended path and the legal-review row, from the ranking table's first match."""
    data: dict[str, Any] = {f"status_{row.path}": row.status.value for row in rows}
    data[f"status_{ResidencePath.P60A_2B.value}"] = PathStatus.NOT_APPLICABLE.value  # not screened yet
    ranked = matched_rules(decision, data, script_engine)
    recommended = ranked[0].outputs.get("recommended") if ranked else None
    legal_review = (ranked[0].outputs.get("legal_review") or PathStatus.NOT_APPLICABLE.value) if ranked else None
    if not isinstance(recommended, str) or not recommended or legal_review not in {s.value for s in PathStatus}:
        raise ModelInvalid([ValidationProblem(decision.decision_id, "the ranking table gave no recommended path "
                                              "and legal-review status; its last rule must always match",
                                              decision.filename)])
    row = PathResult(ResidencePath.LEGAL_REVIEW.value, PathStatus(legal_review), rules=(ranked[0].rule_id,))
    return recommended, row
