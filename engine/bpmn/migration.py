"""Move a running workflow to another version of its process (pure: no database, no clock).

SpiffWorkflow's snapshot names every task's spec by its BPMN id, so a running instance can be
re-pointed to a new version whenever every element it *stands on* still exists there with the
same type and the same surroundings that SpiffWorkflow looks at while the token waits:

* the element itself (user task, timer event, call activity, join ...) and its type;
* its boundary events (SpiffWorkflow wraps the element in a split/join pair; a changed set of
  boundary events would leave a join waiting for a branch that does not exist);
* the inputs of a waiting join;
* the called process of a running call activity, checked the same way one level down.

Predicted tasks (the FUTURE/MAYBE path ahead of a waiting token) are dropped and predicted again
from the new spec, so a step added after the current position is taken. Waiting tokens keep
their ids (our task rows stay attached) and their internal data - a timer keeps its
``event_value``, i.e. its original fire moment. SpiffWorkflow's own ``migrate_workflow`` resets
waiting branches instead, which would restart every timer; that is why this module exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import spiff_compat
from engine.bpmn.loader import SpecBundle
from engine.bpmn.runtime import FinishedStep

LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
PREDICTED = TaskState.PREDICTED_MASK | TaskState.FUTURE
INTERNAL_TYPES = frozenset({"BpmnStartTask", "_EndJoin", "BoundaryEventSplit", "BoundaryEventJoin",
                            "StartEventSplit", "StartEventJoin", "SimpleBpmnTask"})


@dataclass(frozen=True)
class Position:
    """One place where the instance stands: a waiting, ready or running element."""

    spiff_id: UUID
    bpmn_id: str
    name: str
    kind: str  # the SpiffWorkflow spec type, e.g. UserTask, BoundaryEvent, CallActivity
    state: str
    process_chain: tuple[str, ...]  # spec names from the innermost (sub)process outwards
    exists_in_target: bool
    internal: bool  # an engine-internal helper (end join, boundary split); not shown to people


@dataclass
class MigrationCheck:
    positions: list[Position] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # German, one per blocking problem
    target_elements: dict[str, set[str]] = field(default_factory=dict)  # process -> bpmn ids in the target

    @property
    def compatible(self) -> bool:
        return not self.reasons


def _workflows(workflow: Any) -> Iterator[Any]:
    yield workflow
    yield from workflow.subprocesses.values()


def _chain(wf: Any) -> tuple[str, ...]:
    chain = []
    while wf is not None:
        chain.append(wf.spec.name)
        wf = wf.parent_workflow
    return tuple(chain)


def _label(spec: Any) -> str:
    return str(getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None) or spec.name)


def _target_spec(wf: Any, new: SpecBundle) -> Any:
    if wf.parent_workflow is None:
        return new.spec
    return new.subprocess_specs.get(wf.spec.name)


def _is_live(task: Any) -> bool:
    if task.has_state(LIVE):
        return True
    # a token that has not become ready yet: a FUTURE task right after a finished one
    parent = task.parent
    return bool(task.has_state(TaskState.FUTURE) and parent is not None and parent.has_state(TaskState.FINISHED_MASK))


def _boundary_outputs(spec: Any, name: str) -> list[str] | None:
    split = spec.task_specs.get(f"{name}.BoundaryEventSplit")
    return sorted(o.name for o in split.outputs) if split is not None else None


def _owner_name(task: Any) -> str:
    """The element whose boundary events matter: the task itself, or the task a boundary event sits on."""
    spec = task.task_spec
    attached = getattr(spec, "attached_to", None) or getattr(spec, "_attached_to", None)
    if attached is not None:
        return str(getattr(attached, "name", attached))
    parent = task.parent
    if parent is not None and parent.task_spec.name.endswith(".BoundaryEventSplit"):
        return str(parent.task_spec.name[: -len(".BoundaryEventSplit")])
    return str(spec.name)


def _problems(task: Any, old_spec: Any, new_spec: Any, version: str) -> list[str]:
    spec = task.task_spec
    label = f"„{_label(spec)}“ ({getattr(spec, 'bpmn_id', None) or spec.name})"
    target = new_spec.task_specs.get(spec.name) if new_spec is not None else None
    if target is None:
        return [f"Der Fall steht auf {label}; dieses Element gibt es in {version} nicht mehr."]
    if type(target).__name__ != type(spec).__name__:
        return [f"{label} ist in {version} ein anderer Elementtyp "
                f"({type(spec).__name__} → {type(target).__name__})."]
    problems = []
    owner = _owner_name(task)
    if _boundary_outputs(old_spec, owner) != _boundary_outputs(new_spec, owner):
        problems.append(f"Die Randereignisse an „{owner}“ sind in {version} anders; der Fall steht dort.")
    if isinstance(spec, Join) and sorted(i.name for i in spec.inputs) != sorted(i.name for i in target.inputs):
        problems.append(f"Die Zusammenführung {label} hat in {version} andere Eingänge.")
    if isinstance(spec, SubWorkflowTask) and getattr(spec, "spec", None) != getattr(target, "spec", None):
        problems.append(f"{label} ruft in {version} einen anderen Prozess auf.")
    return problems


def check_migration(workflow: Any, new: SpecBundle, version: str = "der Zielversion") -> MigrationCheck:
    """Where ``workflow`` (restored with its current bundle) stands, and whether ``new`` can take it."""
    check = MigrationCheck()
    for wf in _workflows(workflow):
        new_spec = _target_spec(wf, new)
        if new_spec is not None:
            check.target_elements[wf.spec.name] = {getattr(s, "bpmn_id", None) or s.name
                                                   for s in new_spec.task_specs.values()}
        elif wf.parent_workflow is not None:
            check.reasons.append(f"Der aufgerufene Prozess „{wf.spec.name}“ fehlt in {version}.")
        for task in wf.tasks.values():
            if not _is_live(task):
                continue
            problems = _problems(task, wf.spec, new_spec, version)
            check.reasons.extend(p for p in problems if p not in check.reasons)
            spec = task.task_spec
            check.positions.append(Position(
                spiff_id=task.id, bpmn_id=getattr(spec, "bpmn_id", None) or spec.name, name=_label(spec),
                kind=type(spec).__name__, state=TaskState.get_name(task.state), process_chain=_chain(wf),
                exists_in_target=new_spec is not None and spec.name in new_spec.task_specs,
                internal=type(spec).__name__ in INTERNAL_TYPES))
    return check


def _drop_predicted_children(task: Any) -> None:
    definition = getattr(task.task_spec, "event_definition", None)
    if isinstance(definition, CycleTimerEventDefinition):
        return  # a cycle timer's children are tokens it spawned, never predictions
    for child in list(task.children):
        if child.has_state(PREDICTED) and not _is_live(child):
            for node in list(child):
                node.workflow.tasks.pop(node.id, None)
            spiff_compat.child_ids(task).remove(child.id)


def migrate_workflow(workflow: Any, new: SpecBundle) -> list[FinishedStep]:
    """Re-point ``workflow`` (in place) to ``new``; call only when :func:`check_migration` found no reason.

    Finished tasks kept in the pruned tree whose element was removed stand in as the new
    spec's start task: nothing runs them again, and they only anchor the live tasks below.
    They are returned, so the caller can keep them in the step history now (later pruning
    would only see the stand-in).
    """
    replaced: list[FinishedStep] = []
    workflow.subprocess_specs = new.subprocess_specs
    for wf in _workflows(workflow):
        new_spec = _target_spec(wf, new)
        if new_spec is None:
            raise ValueError(f"no spec for subprocess {wf.spec.name}")
        live = [t for t in wf.tasks.values() if _is_live(t)]
        for task in live:
            _drop_predicted_children(task)
        wf.spec = new_spec
        for task in wf.tasks.values():
            target = new_spec.task_specs.get(task.task_spec.name)
            if target is None:
                if not task.has_state(TaskState.FINISHED_MASK):
                    raise ValueError(f"element {task.task_spec.name} is missing in the new version")
                old = task.task_spec
                replaced.append(FinishedStep(task.id, getattr(old, "bpmn_id", None) or old.name, _label(old),
                                         type(old).__name__, TaskState.get_name(task.state), task.last_state_change))
                target = new_spec.start
            task.task_spec = target
        for task in live:
            if task.id in wf.tasks and task.has_state(TaskState.DEFINITE_MASK):
                spiff_compat.predict(task, TaskState.NOT_FINISHED_MASK)
    return replaced
