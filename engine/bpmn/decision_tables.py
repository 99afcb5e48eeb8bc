"""DMN decision tables: compile them safely, evaluate them in the sandbox.

A table is parsed with SpiffWorkflow's DMN parser from bytes the hardened XML parser accepted,
switched to :class:`~engine.bpmn.dmn.KimDMNEngine`, and every cell is compiled under the
sandbox rules before the table may run, so a table deployed without those checks is still
refused before it runs. Evaluation here is exactly what a business rule task in a process
would get. No database: callers hand in the source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.bpmn.dmn import use_kim_dmn_engine
from engine.bpmn.loader import check_spec_expressions
from engine.bpmn.safe_xml import UnsafeXmlError, parse_model_xml
from engine.bpmn.sandbox import SandboxViolation
from engine.bpmn.script_engine import KimScriptEngine
from engine.domain.errors import EngineError, InvalidInput, ModelInvalid
from engine.domain.model import ModelSource, ValidationProblem
from engine.domain.residence import MatchedRule

SINGLE_HIT_POLICIES = frozenset({"UNIQUE", "FIRST", "ANY"})
MULTI_HIT_POLICIES = frozenset({"COLLECT", "RULE ORDER"})
_NAME_ERROR = re.compile(r"NameError: name '([^']+)' is not defined")


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



class DecisionTask:
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
    task = DecisionTask(decision, data, script_engine)
    single = decision.hit_policy in SINGLE_HIT_POLICIES
    matched: list[MatchedRule] = []
    for rule in decision.table.rules:
        if rule_matches(decision, rule, task):
            matched.append(MatchedRule(rule.id, rule_outputs(decision, rule, task)))
            if single:
                break
    return matched


def rule_matches(decision: CompiledDecision, rule: Any, task: DecisionTask) -> bool:
    for entry in rule.inputEntries:
        for lhs in entry.lhs:
            if lhs is None or str(lhs).strip() in ("", "-"):
                continue  # an empty cell matches anything
            try:
                if not decision.engine.evaluate(entry.input.expression, lhs, task):
                    return False
            except (SpiffWorkflowException, SyntaxError) as exc:
                raise cell_failure(decision, rule, exc) from exc
    return True


def rule_outputs(decision: CompiledDecision, rule: Any, task: DecisionTask) -> dict[str, Any]:
    try:
        return dict(rule.output_as_dict(task))
    except (SpiffWorkflowException, SyntaxError) as exc:
        raise cell_failure(decision, rule, exc) from exc


def cell_failure(decision: CompiledDecision, rule: Any, exc: BaseException) -> EngineError:
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


def evaluate_cell(decision: CompiledDecision, rule: Any, text: str, task: DecisionTask) -> Any:
    if not text.strip():
        return ""
    try:
        return task.workflow.script_engine.evaluate(task, text)
    except SpiffWorkflowException as exc:
        raise cell_failure(decision, rule, exc) from exc
