"""Turn untrusted BPMN/DMN bytes into checked, runnable SpiffWorkflow specs.

Order matters: the hardened XML parser sees the bytes first, then SpiffWorkflow's parser,
then every expression is compiled under the sandbox's restrictions. A model that fails any
step is refused with the element id and the reason; nothing of it is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.bpmn import metadata
from engine.bpmn.dmn import cell_expression, use_kim_dmn_engine
from engine.bpmn.safe_xml import UnsafeXmlError, parse_model_xml
from engine.bpmn.sandbox import SandboxViolation, check_expression, check_script
from engine.bpmn.timers import check_timer_expression as check_timer_value
from engine.bpmn.timers import install_clocked_timers
from engine.caching import LruCache
from engine.domain.durations import is_literal_timer_value
from engine.domain.errors import ModelInvalid
from engine.domain.model import ModelSource, ProcessMeta, ValidationProblem


@dataclass
class InspectedFile:
    """What a file contains, before it is compiled against its dependencies."""

    source: ModelSource
    kind: str  # "bpmn" | "dmn"
    root: etree._Element
    processes: list[ProcessMeta] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SpecBundle:
    """A runnable process: its spec and every spec it calls, with timers on the engine clock."""

    process_id: str
    spec: Any
    subprocess_specs: dict[str, Any]


def inspect_file(source: ModelSource, resolve_office: metadata.OfficeResolver) -> InspectedFile:
    """Parse safely and read metadata; raises ModelInvalid with every problem found."""
    try:
        root = parse_model_xml(source.content)
    except UnsafeXmlError as exc:
        raise ModelInvalid([ValidationProblem(None, str(exc), source.filename)]) from exc
    if metadata.is_dmn(root):
        ids = metadata.decision_ids(root)
        if not ids:
            raise ModelInvalid([ValidationProblem(None, "the DMN file defines no decision", source.filename)])
        return InspectedFile(source, "dmn", root, decisions=ids)
    if etree.QName(root).localname != "definitions" or etree.QName(root).namespace != metadata.BPMN_NS:
        raise ModelInvalid([ValidationProblem(None, "not a BPMN 2.0 or DMN file", source.filename)])
    problems: list[ValidationProblem] = []
    processes = [metadata.process_meta(p, resolve_office, problems) for p in metadata.executable_processes(root)]
    if not processes:
        problems.append(ValidationProblem(None, "the file contains no executable process", source.filename))
    if problems:
        raise ModelInvalid([_in_file(p, source.filename) for p in problems])
    return InspectedFile(source, "bpmn", root, processes=processes)


def checked_file(source: ModelSource) -> InspectedFile:
    """A file that was checked at deploy time: parse it again (safely), skip the metadata."""
    root = parse_model_xml(source.content)
    return InspectedFile(source, "dmn" if metadata.is_dmn(root) else "bpmn", root)


def _in_file(problem: ValidationProblem, filename: str) -> ValidationProblem:
    return ValidationProblem(problem.element_id, problem.reason, problem.file or filename)


def _new_parser(files: Iterable[InspectedFile]) -> SpiffBpmnParser:
    parser = SpiffBpmnParser()
    for f in files:
        if f.kind == "dmn":
            parser.add_dmn_xml(f.root, filename=f.source.filename)
        else:
            parser.add_bpmn_xml(f.root, filename=f.source.filename)
    return parser


def _spiff_problem(exc: Exception, filename: str | None) -> ValidationProblem:
    if isinstance(exc, ValidationException):
        return ValidationProblem(exc.id or None, str(exc).split("\n")[0], exc.file_name or filename)
    return ValidationProblem(None, f"{type(exc).__name__}: {exc}", filename)


def build_bundle(process_id: str, files: Sequence[InspectedFile]) -> SpecBundle:
    """Compile ``process_id`` from ``files`` (its own file plus dependencies); check everything."""
    main_file = next((f for f in files if any(p.process_id == process_id for p in f.processes)), None)
    filename = main_file.source.filename if main_file else None
    try:
        parser = _new_parser(files)
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except (SpiffWorkflowException, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise ModelInvalid([_spiff_problem(exc, filename)]) from exc
    problems: list[ValidationProblem] = []
    for s in (spec, *subprocess_specs.values()):
        problems.extend(install_clocked_timers(s))
        problems.extend(check_spec_expressions(s))
    if problems:
        raise ModelInvalid([_in_file(p, filename or "") for p in problems])
    return SpecBundle(process_id, spec, subprocess_specs)


def _expressions(task_spec: Any) -> Iterator[tuple[str, str, str]]:
    """(kind, label, source) of every piece of code attached to a task spec."""
    for condition, _target in getattr(task_spec, "cond_task_specs", []) or []:
        # SpiffWorkflow wraps gateway conditions in an operator holding the source text.
        source = condition.args[0] if hasattr(condition, "args") and condition.args else condition
        if isinstance(source, str):
            yield "eval", "condition", source
    script = getattr(task_spec, "script", None)
    if isinstance(script, str):
        yield "exec", "script", script
    for attr in ("prescript", "postscript"):
        value = getattr(task_spec, attr, None)
        if isinstance(value, str) and value.strip():
            yield "exec", attr, value
    for attr in ("condition", "cardinality"):
        value = getattr(task_spec, attr, None)
        if isinstance(value, str) and value.strip():
            yield "eval", attr, value
    definition = getattr(task_spec, "event_definition", None)
    expression = getattr(definition, "expression", None)
    if isinstance(expression, str) and expression.strip():
        yield "eval", "event expression", expression
    for name, param in (getattr(task_spec, "operation_params", None) or {}).items():
        if isinstance(param, dict) and isinstance(param.get("value"), str):
            yield "eval", f"service parameter '{name}'", param["value"]
    engine = getattr(task_spec, "dmnEngine", None)
    if engine is not None:
        use_kim_dmn_engine(engine)
        yield from _dmn_expressions(engine.decision_table)


def _dmn_expressions(table: Any) -> Iterator[tuple[str, str, str]]:
    """DMN cells become Python the way SpiffWorkflow's DMNEngine builds them at run time."""
    for rule in table.rules:
        for entry in rule.inputEntries:
            input_expr = entry.input.expression or entry.input.label or "None"
            for lhs in entry.lhs:
                if lhs is None or not str(lhs).strip() or str(lhs).strip() == "-":
                    continue
                yield "dmn", f"rule {rule.row_number} input", f"{input_expr}\x00{lhs}"
        for out in rule.outputEntries:
            if out.text and str(out.text).strip():
                yield "eval", f"rule {rule.row_number} output", str(out.text)


def _check_dmn_cell(source: str) -> None:
    input_expr, lhs = source.split("\x00", 1)
    check_expression(input_expr)
    check_expression(cell_expression(input_expr, lhs))


# Operations service tasks may call (engine.services.wiring).
ENGINE_SERVICES = frozenset({"residence_paths", "household_member_inputs"})


def check_spec_expressions(spec: Any) -> list[ValidationProblem]:
    problems: list[ValidationProblem] = []
    for task_spec in spec.task_specs.values():
        bpmn_id = getattr(task_spec, "bpmn_id", None) or task_spec.name
        operation = getattr(task_spec, "operation_name", None)
        if operation is not None and operation not in ENGINE_SERVICES:
            problems.append(ValidationProblem(bpmn_id, f"service task calls '{operation}', which the engine does "
                                                       f"not offer (available: {', '.join(sorted(ENGINE_SERVICES))})"))
        for kind, label, source in _expressions(task_spec):
            reason = _check_one(kind, label, source, task_spec)
            if reason:
                problems.append(ValidationProblem(bpmn_id, reason))
    return problems


def _check_one(kind: str, label: str, source: str, task_spec: Any) -> str | None:
    if label == "event expression":
        is_cycle = type(task_spec.event_definition).__name__ == "ClockedCycle"
        reason = check_timer_value(source, cycle=is_cycle)
        if reason:
            return f"timer: {reason}"
        if is_literal_timer_value(source):
            return None
    checker: Callable[[str], None] = {"eval": check_expression, "exec": check_script, "dmn": _check_dmn_cell}[kind]
    try:
        checker(source)
    except SandboxViolation as exc:
        shown = source.replace("\x00", " ")
        return f"{label} '{shown}' is not allowed: {exc}"  # whole: a cut-off expression cannot be found
    return None


class BundleCache:
    """Compiled specs per (process id, source hashes); parsing is far costlier than a step."""

    def __init__(self, capacity: int = 64) -> None:
        self._items: LruCache[tuple[str, tuple[str, ...]], SpecBundle] = LruCache(capacity)

    def get(self, process_id: str, sources: Sequence[ModelSource]) -> SpecBundle:
        key = (process_id, tuple(sorted(s.sha256 for s in sources)))
        found = self._items.get(key)
        if found is not None:
            return found
        return self._items.put(key, build_bundle(process_id, [checked_file(s) for s in sources]))


BUNDLES = BundleCache()
