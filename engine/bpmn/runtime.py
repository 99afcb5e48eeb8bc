"""Drive SpiffWorkflow one step at a time and describe the result in plain values.

The runtime never touches the database: it takes a workflow, applies one action (start,
complete a human task, fire due timers), advances the engine, prunes the task tree and
returns a :class:`StepResult` from which ``engine.services`` updates our tables in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import spiff_compat
from engine.bpmn.loader import SpecBundle
from engine.bpmn.pruning import prune_workflow
from engine.bpmn.sandbox import ScriptError
from engine.bpmn.script_engine import EngineService, KimScriptEngine
from engine.bpmn.state import dump_state, load_state
from engine.domain.durations import DurationError
from engine.domain.errors import Conflict, NotFound

INTERNAL_SPEC_TYPES = {"BpmnStartTask", "_EndJoin", "BoundaryEventSplit", "BoundaryEventJoin",
                       "StartEventSplit", "StartEventJoin", "SimpleBpmnTask"}


@dataclass(frozen=True)
class ReadyHumanTask:
    spiff_id: UUID
    bpmn_id: str
    name: str
    process_chain: tuple[str, ...]  # spec names from the innermost (sub)process outwards
    data: dict[str, Any]


@dataclass(frozen=True)
class PendingTimer:
    spiff_id: UUID
    bpmn_id: str
    fire_at: datetime


@dataclass(frozen=True)
class FinishedStep:
    """A finished BPMN element leaving the live tree; kept as history in our tables."""

    spiff_id: UUID
    bpmn_id: str
    name: str
    kind: str
    state: str
    finished_at: float


@dataclass(frozen=True)
class Incident:
    element_id: str | None
    message: str


@dataclass(frozen=True)
class Waiting:
    """What a workflow waits for: its ready human tasks and its timers (by spiff id).

    Read from a restored workflow before a step, it equals what our tables hold for the
    instance, so the step can write just the difference without reading the tables first.
    """

    ready: frozenset[UUID]
    timers: Mapping[UUID, PendingTimer]


@dataclass
class StepResult:
    ready_human: list[ReadyHumanTask] = field(default_factory=list)
    timers: list[PendingTimer] = field(default_factory=list)
    finished: list[FinishedStep] = field(default_factory=list)
    completed: bool = False
    incident: Incident | None = None
    data: dict[str, Any] = field(default_factory=dict)


class Runtime:
    """Stateless apart from configuration; safe to share between threads."""

    def __init__(self, calendar: Any, services: Mapping[str, EngineService] | None = None) -> None:
        spiff_compat.install()  # the engine clock inside SpiffWorkflow; refuses an unsupported version
        self.calendar = calendar
        self.services = dict(services or {})

    def _engine(self) -> KimScriptEngine:
        return KimScriptEngine(self.calendar, services=self.services)

    def start(self, bundle: SpecBundle, data: dict[str, Any]) -> tuple[Any, StepResult]:
        workflow = BpmnWorkflow(bundle.spec, bundle.subprocess_specs, script_engine=self._engine())
        workflow.task_tree.data.update(data)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
        return workflow, self._advance(workflow, [])

    def restore(self, bundle: SpecBundle, state: str) -> Any:
        return load_state(state, bundle, self._engine())

    def snapshot(self, workflow: Any) -> str:
        return dump_state(workflow)

    def complete(self, workflow: Any, spiff_id: UUID, data: dict[str, Any]) -> StepResult:
        try:
            task = workflow.get_task_from_id(spiff_id)
        except TaskNotFoundException:
            task = None
        if task is None:
            raise NotFound("the task is no longer part of the process")
        if not task.task_spec.manual or not task.has_state(TaskState.READY):
            raise Conflict("the task is not waiting for completion")
        task.data.update(data)
        try:
            task.run()
        except (SpiffWorkflowException, ScriptError, DurationError) as exc:
            result = self._advance(workflow, [])
            result.incident = _incident(exc)
            return result
        return self._advance(workflow, [])

    def deliver_message(self, workflow: Any, name: str, payload: Mapping[str, Any]) -> StepResult:
        """Hand the workflow a message from outside (e.g. one that starts an event subprocess) and advance.

        The event definition is the one the model declares for ``name`` (SpiffWorkflow matches by
        definition and name); a message nothing in the workflow waits for is refused (409), so an
        action that relies on the model never silently does nothing.
        """
        definition = _message_definition(workflow, name)
        if definition is None:
            raise Conflict(f"the process does not receive the message '{name}'")
        caught = workflow.event_manager.catch(BpmnEvent(definition, payload=dict(payload)), internal=False)
        if caught == 0:
            raise Conflict(f"the process is not waiting for the message '{name}'")
        return self._advance(workflow, [])

    def waiting(self, workflow: Any) -> Waiting:
        ready = frozenset(t.id for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual)
        return Waiting(ready, {t.spiff_id: t for t in pending_timers(workflow)})

    def is_waiting(self, workflow: Any, spiff_id: UUID) -> bool:
        """Is the task still READY? A task that finished may already be pruned from the tree."""
        try:
            task = workflow.get_task_from_id(spiff_id)
        except TaskNotFoundException:
            return False
        return task is not None and task.has_state(TaskState.READY)

    def fire_due_timers(self, workflow: Any) -> StepResult:
        return self._advance(workflow, [])

    def retry(self, workflow: Any) -> StepResult:
        """Run the engine again after an incident was fixed (e.g. a new model version)."""
        return self._advance(workflow, [])

    def _advance(self, workflow: Any, finished: list[FinishedStep]) -> StepResult:
        incident = None
        try:
            workflow.refresh_timers()
            workflow.do_engine_steps()
        except (SpiffWorkflowException, ScriptError, DurationError) as exc:
            incident = _incident(exc)
        prune_workflow(workflow, lambda t: finished.append(_finished(t)))
        return StepResult(
            ready_human=ready_human_tasks(workflow),
            timers=pending_timers(workflow),
            finished=finished,
            completed=bool(workflow.completed),
            incident=incident,
            data=dict(workflow.data) if workflow.completed else {},
        )


def _message_definition(workflow: Any, name: str) -> Any:
    """The catching message definition named ``name`` in the workflow's specs (its own, event
    subprocesses' and embedded subprocesses')."""
    for spec in [workflow.spec, *workflow.subprocess_specs.values()]:
        for task_spec in spec.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            if isinstance(definition, MessageEventDefinition) and definition.name == name:
                return definition
    return None


def _incident(exc: Exception) -> Incident:
    task = getattr(exc, "task", None)
    element = getattr(getattr(task, "task_spec", None), "bpmn_id", None)
    cause = getattr(exc, "exception", None) or exc.__cause__
    message = str(exc).split("\n")[0]
    if cause is not None and str(cause) and str(cause) not in message:
        message = f"{message}: {cause}"
    return Incident(element, message)


def _finished(task: Any) -> FinishedStep:
    spec = task.task_spec
    return FinishedStep(
        spiff_id=task.id,
        bpmn_id=getattr(spec, "bpmn_id", None) or spec.name,
        name=getattr(spec, "bpmn_name", None) or spec.name,
        kind=type(spec).__name__,
        state=TaskState.get_name(task.state),
        finished_at=task.last_state_change,
    )


def _process_chain(task: Any) -> tuple[str, ...]:
    chain = []
    wf = task.workflow
    while wf is not None:
        chain.append(wf.spec.name)
        wf = wf.parent_workflow
    return tuple(chain)


def ready_human_tasks(workflow: Any) -> list[ReadyHumanTask]:
    return [
        ReadyHumanTask(t.id, t.task_spec.bpmn_id, t.task_spec.bpmn_name or t.task_spec.bpmn_id,
                       _process_chain(t), dict(t.data))
        for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual
    ]


def _has_timer(definition: Any) -> bool:
    if isinstance(definition, MultipleEventDefinition):  # how SpiffWorkflow runs event-based gateways
        return any(isinstance(d, TimerEventDefinition) for d in definition.event_definitions)
    return isinstance(definition, TimerEventDefinition)


def pending_timers(workflow: Any) -> list[PendingTimer]:
    timers = []
    for task in workflow.event_manager.tasks.values():
        if not task.has_state(TaskState.WAITING):
            continue
        if not _has_timer(getattr(task.task_spec, "event_definition", None)):
            continue
        value = spiff_compat.internal(task, "event_value")
        if isinstance(value, dict):
            value = value.get("next")
        if isinstance(value, str):
            timers.append(PendingTimer(task.id, task.task_spec.bpmn_id, datetime.fromisoformat(value)))
    return timers
