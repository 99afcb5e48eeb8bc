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

import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser
from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn.dmn import use_kim_dmn_engine
from engine.bpmn.loader import ModelSource, check_spec_expressions
from engine.bpmn.safe_xml import UnsafeXmlError, parse_model_xml
from engine.bpmn.sandbox import SandboxViolation
from engine.bpmn.script_engine import KimScriptEngine
from engine.domain import residence
from engine.domain.errors import EngineError, InvalidInput, ModelInvalid, NotFound
from engine.domain.model import ValidationProblem
from engine.domain.residence import MatchedRule, PathResult, PathStatus, RequirementSummary, ResidencePath
from engine.persistence.models import ModelSourceRow, ProcessDefinition
from engine.services.context import EngineContext

SINGLE_HIT_POLICIES = frozenset({"UNIQUE", "FIRST", "ANY"})
MULTI_HIT_POLICIES = frozenset({"COLLECT", "RULE ORDER"})
_NAME_ERROR = re.compile(r"NameError: name '([^']+)' is not defined")


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


@dataclass(frozen=True)
class CompiledDecision:
    """A parsed, checked decision table; shared between threads, never mutated."""

    decision_id: str
    filename: str
    engine: Any  # SpiffWorkflow DMNEngine

    @property
    def table(self) -> Any:
        return self.engine.decision_table

    @property
    def hit_policy(self) -> str:
        return str(self.table.hit_policy)


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


class _DecisionCache:
    """Compiled tables per (content hash, decision id): parsing costs far more than evaluating."""

    def __init__(self, capacity: int = 128) -> None:
        self._items: OrderedDict[tuple[str, str], CompiledDecision] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> CompiledDecision | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[str, str], value: CompiledDecision) -> CompiledDecision:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
        return value


DECISIONS = _DecisionCache()


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


def compile_decision(source: ModelSource, decision_id: str) -> CompiledDecision:
    """Parse a DMN file safely and check every cell under the sandbox rules; ModelInvalid if not."""
    def refuse(reason: str) -> ModelInvalid:
        return ModelInvalid([ValidationProblem(decision_id, reason, source.filename)])

    try:
        parser = BpmnDmnParser()
        parser.add_dmn_xml(parse_model_xml(source.content), filename=source.filename)
        engine = use_kim_dmn_engine(parser.get_engine(decision_id, None))
    except (UnsafeXmlError, SpiffWorkflowException, KeyError, ValueError, TypeError, AttributeError,
            IndexError) as exc:
        raise refuse(f"the decision cannot be parsed: {exc}") from exc
    compiled = CompiledDecision(decision_id, source.filename, engine)
    if compiled.hit_policy not in SINGLE_HIT_POLICIES | MULTI_HIT_POLICIES:
        raise refuse(f"hit policy {compiled.hit_policy} is not supported")
    for column in compiled.table.inputs:
        if not (column.expression or "").strip():
            raise refuse(f"input column '{column.label or column.id}' has no input expression")
    spec = SimpleNamespace(task_specs={decision_id: SimpleNamespace(bpmn_id=decision_id, name=decision_id,
                                                                    dmnEngine=engine)})
    problems = check_spec_expressions(spec)
    if problems:
        raise ModelInvalid([ValidationProblem(p.element_id, p.reason, source.filename) for p in problems])
    return compiled


# --- evaluating -----------------------------------------------------------------------------------


class _DecisionTask:
    """The little of a SpiffWorkflow task that DMNEngine and its error messages read."""

    def __init__(self, decision: CompiledDecision, data: dict[str, Any], script_engine: KimScriptEngine) -> None:
        self.data = data
        self.task_spec = SimpleNamespace(name=decision.decision_id, bpmn_id=decision.decision_id,
                                         bpmn_name=decision.decision_id)
        self.workflow = SimpleNamespace(script_engine=script_engine, spec=SimpleNamespace(file=decision.filename),
                                        parent_workflow=None)
        self.workflow.top_workflow = self.workflow


def evaluate_table(decision: CompiledDecision, data: dict[str, Any],
                   script_engine: KimScriptEngine) -> list[dict[str, Any]]:
    """Outputs of the matched rules: the first for UNIQUE/FIRST/ANY (as SpiffWorkflow does), all
    in rule order for COLLECT/RULE ORDER. An empty output cell gives "" as in a process."""
    return [dict(m.outputs) for m in matched_rules(decision, data, script_engine)]


def matched_rules(decision: CompiledDecision, data: dict[str, Any],
                  script_engine: KimScriptEngine) -> list[MatchedRule]:
    """Like :func:`evaluate_table`, with the id of each matched rule."""
    task = _DecisionTask(decision, data, script_engine)
    single = decision.hit_policy in SINGLE_HIT_POLICIES
    matched: list[MatchedRule] = []
    for rule in decision.table.rules:
        if _matches(decision, rule, task):
            matched.append(MatchedRule(rule.id, _outputs(decision, rule, task)))
            if single:
                break
    return matched


def _matches(decision: CompiledDecision, rule: Any, task: _DecisionTask) -> bool:
    for entry in rule.inputEntries:
        for lhs in entry.lhs:
            if lhs is None or str(lhs).strip() in ("", "-"):
                continue  # an empty cell matches anything
            try:
                if not decision.engine.evaluate(entry.input.expression, lhs, task):
                    return False
            except (SpiffWorkflowException, SyntaxError) as exc:
                raise _failure(decision, rule, exc) from exc
    return True


def _outputs(decision: CompiledDecision, rule: Any, task: _DecisionTask) -> dict[str, Any]:
    try:
        return dict(rule.output_as_dict(task))
    except (SpiffWorkflowException, SyntaxError) as exc:
        raise _failure(decision, rule, exc) from exc


def _failure(decision: CompiledDecision, rule: Any, exc: BaseException) -> EngineError:
    """A cell failed at run time: a missing input names the field; a forbidden cell is a bad model."""
    cause = exc.__context__ or exc
    reason = getattr(cause, "reason", None) or str(cause)
    where = f"decision '{decision.decision_id}', rule {rule.row_number}"
    if isinstance(cause, SandboxViolation | SyntaxError):
        return ModelInvalid([ValidationProblem(rule.id, f"{where}: {reason}", decision.filename)])
    missing = _NAME_ERROR.search(reason)
    if missing:
        return InvalidInput(f"{where}: input '{missing.group(1)}' is missing", {missing.group(1): "required"})
    return InvalidInput(f"{where}: {reason}", {"inputs": reason})


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
    task = _DecisionTask(decision, data, script_engine)
    status_cells = _status_cells(decision)
    matched: list[MatchedRule] = []
    for rule in decision.table.rules:
        if matched and _evaluate_cell(decision, rule, status_cells[rule.id], task) != matched[0].outputs["status"]:
            continue
        if _matches(decision, rule, task):
            matched.append(MatchedRule(rule.id, _outputs(decision, rule, task)))
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


def _evaluate_cell(decision: CompiledDecision, rule: Any, text: str, task: _DecisionTask) -> Any:
    if not text.strip():
        return ""
    try:
        return task.workflow.script_engine.evaluate(task, text)
    except SpiffWorkflowException as exc:
        raise _failure(decision, rule, exc) from exc


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
