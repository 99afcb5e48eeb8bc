"""Start process instances and complete their human tasks.

Each use case runs one engine step inside one transaction: lock the instance row, restore
its live state, run the step, mirror the result into our tables, save the state, commit.
Two people completing the same task: the second finds the task no longer open (409).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine import clock
from engine.bpmn.loader import BUNDLES, SpecBundle
from engine.bpmn.runtime import StepResult
from engine.bpmn.state import STATE_FORMAT
from engine.domain.actors import Actor
from engine.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from engine.domain.model import ProcessMeta
from engine.persistence.models import (
    OPEN_STATES,
    AuditEntry,
    HumanTask,
    InstanceStatus,
    ProcessDefinition,
    ProcessInstance,
    TaskState,
)
from engine.services.context import EngineContext
from engine.services.deployment import (
    _calls,
    definition_source,
    latest_definition,
    process_meta_of,
    resolve_dependencies,
)
from engine.services.projection import apply_step


@dataclass(frozen=True)
class InstanceSpec:
    bundle: SpecBundle
    metas: dict[str, ProcessMeta]


_specs: OrderedDict[tuple[str, ...], InstanceSpec] = OrderedDict()
_specs_lock = threading.Lock()


def instance_spec(session: Session, instance: ProcessInstance) -> InstanceSpec:
    """Compiled specs and routing metadata of an instance.

    Cached by content hash rather than row id: ids can be reused (a restored backup, a
    fresh test database), content hashes cannot.
    """
    main = session.get(ProcessDefinition, instance.definition_id)
    assert main is not None  # noqa: S101  # foreign key
    deps = [d for d in (session.get(ProcessDefinition, int(i)) for i in sorted(
        int(v) for v in instance.dependency_ids.values())) if d is not None]
    definitions = [main, *deps]
    key = tuple(f"{d.kind}:{d.key}:{d.source_sha256}" for d in definitions)
    with _specs_lock:
        if key in _specs:
            _specs.move_to_end(key)
            return _specs[key]
    sources = list({d.source_sha256: definition_source(session, d) for d in definitions}.values())
    spec = InstanceSpec(BUNDLES.get(main.key, sources),
                        {d.key: process_meta_of(d) for d in definitions if d.kind == "process"})
    with _specs_lock:
        _specs[key] = spec
        while len(_specs) > 256:
            _specs.popitem(last=False)
    return spec


def audit(session: Session, actor: Actor, action: str, object_type: str, object_id: object,
          instance: ProcessInstance | None = None, details: Mapping[str, Any] | None = None) -> None:
    session.add(AuditEntry(at=clock.now(), actor=actor.username, action=action, object_type=object_type,
                           object_id=str(object_id) if object_id is not None else None,
                           case_id=instance.case_id if instance else None,
                           instance_id=instance.id if instance else None, details=dict(details or {})))


@dataclass(frozen=True)
class Started:
    instance_id: UUID
    task_ids: list[UUID]
    status: str


def start_instance(ctx: EngineContext, process_id: str, data: Mapping[str, Any], actor: Actor,
                   case_id: UUID | None = None, business_key: str | None = None) -> Started:
    with ctx.uow() as uow:
        started = start_instance_in(uow.session, ctx, process_id, data, actor, case_id, business_key)
        uow.commit()
    return started


def start_instance_in(session: Session, ctx: EngineContext, process_id: str, data: Mapping[str, Any],
                      actor: Actor, case_id: UUID | None = None, business_key: str | None = None) -> Started:
    """Start inside a caller's transaction (e.g. opening a case starts its process)."""
    definition = latest_definition(session, "process", process_id)
    if definition is None:
        raise NotFound(f"no deployed process '{process_id}'")
    deps = resolve_dependencies(session, _calls(process_meta_of(definition)), {process_id})
    instance = ProcessInstance(definition_id=definition.id, case_id=case_id, business_key=business_key,
                               dependency_ids={k: d.id for k, d in deps.items()},
                               status=InstanceStatus.RUNNING.value, state="", state_format=STATE_FORMAT,
                               started_at=clock.now(), started_by=actor.username)
    session.add(instance)
    session.flush()
    spec = instance_spec(session, instance)
    workflow, result = ctx.runtime.start(spec.bundle, dict(data))
    created = _persist(session, ctx, instance, workflow, result, spec)
    audit(session, actor, "instance.start", "process_instance", instance.id, instance,
          {"process_id": process_id, "version": definition.version})
    return Started(instance.id, [t.id for t in created], instance.status)


def _persist(session: Session, ctx: EngineContext, instance: ProcessInstance, workflow: Any,
             result: StepResult, spec: InstanceSpec) -> list[HumanTask]:
    created = apply_step(session, instance, result, spec.metas, ctx.calendar)
    instance.state = ctx.runtime.snapshot(workflow)
    instance.state_format = STATE_FORMAT
    session.flush()
    return created


def lock_instance(session: Session, instance_id: UUID, skip_locked: bool = False) -> ProcessInstance | None:
    """Row lock for the engine step (PostgreSQL); SQLite holds the write lock since BEGIN IMMEDIATE."""
    query = select(ProcessInstance).where(ProcessInstance.id == instance_id)
    query = query.with_for_update(skip_locked=skip_locked)
    return session.scalar(query.execution_options(populate_existing=True))


def authorize_work(actor: Actor, task: HumanTask) -> None:
    if actor.is_system or actor.role == "admin":
        return
    if task.office_id not in actor.office_ids:
        raise NotFound("no such task")  # 404: do not reveal tasks of other offices
    if task.state == TaskState.CLAIMED.value and task.assignee_id not in (None, actor.user_id) \
            and actor.role != "supervisor":
        raise Conflict("the task is claimed by a colleague")


@dataclass(frozen=True)
class Completed:
    task_id: UUID
    instance_id: UUID
    next_task_ids: list[UUID]
    instance_status: str


def complete_task(ctx: EngineContext, task_id: UUID, actor: Actor, data: Mapping[str, Any],
                  validate: Any = None) -> Completed:
    """Validate, complete and advance, as one transaction. ``validate`` checks the form data."""
    if not isinstance(data, Mapping):
        raise InvalidInput("data must be an object", {"data": "must be an object"})
    with ctx.uow() as uow:
        session = uow.session
        peek = session.get(HumanTask, task_id)
        if peek is None:
            raise NotFound("no such task")
        instance = lock_instance(session, peek.instance_id)
        task = session.scalar(select(HumanTask).where(HumanTask.id == task_id)
                              .execution_options(populate_existing=True))
        if instance is None or task is None:
            raise NotFound("no such task")
        authorize_work(actor, task)
        if task.state not in OPEN_STATES:
            raise Conflict(f"the task is already {task.state}")
        if instance.status != InstanceStatus.RUNNING.value:
            raise Conflict(f"the process is {instance.status}; the task cannot be completed now")
        if validate is not None:
            validate(task.form_key, data)
        completed = _complete_locked(session, ctx, instance, task, actor, dict(data))
        try:
            uow.commit()
        except StaleDataError as exc:
            raise Conflict("the task was changed by someone else") from exc
    return completed


def _complete_locked(session: Session, ctx: EngineContext, instance: ProcessInstance, task: HumanTask,
                     actor: Actor, data: dict[str, Any]) -> Completed:
    spec = instance_spec(session, instance)
    workflow = ctx.runtime.restore(spec.bundle, instance.state)
    now = clock.now()
    previous_state = task.state
    task.state = TaskState.COMPLETED.value
    task.completed_at = now
    task.completed_by_id = actor.user_id
    task.data = data
    try:
        session.flush()  # compare-and-set on task.version
    except StaleDataError as exc:
        raise Conflict("the task was completed or changed by someone else") from exc
    result = ctx.runtime.complete(workflow, task.spiff_task_id, data)
    if result.incident is not None and ctx.runtime.is_waiting(workflow, task.spiff_task_id):
        # The model failed while finishing this very task: keep it open with the data as a draft.
        task.state, task.completed_at, task.completed_by_id = previous_state, None, None
    created = _persist(session, ctx, instance, workflow, result, spec)
    audit(session, actor, "task.complete", "task", task.id, instance, {"bpmn_id": task.bpmn_id})
    mine = [t.id for t in created if _visible_to(actor, t)]
    return Completed(task.id, instance.id, mine, instance.status)


def _visible_to(actor: Actor, task: HumanTask) -> bool:
    return actor.is_system or task.office_id in actor.office_ids


def ensure_not_system_only(actor: Actor) -> None:
    if actor.is_system:
        raise NotAllowed("this action needs a person")
