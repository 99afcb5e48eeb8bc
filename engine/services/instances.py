"""Start process instances and complete their human tasks.

Each use case runs one engine step inside one transaction: lock the instance row, restore
its live state, run the step, mirror the result into our tables, save the state, commit.
Two people completing the same task: the second finds the task no longer open (409).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy.orm import Session

from engine import clock
from engine.bpmn.loader import BUNDLES, SpecBundle
from engine.bpmn.runtime import StepResult
from engine.bpmn.state import STATE_FORMAT
from engine.domain.actors import SYSTEM, Actor
from engine.domain.errors import Conflict, InvalidInput, NotFound
from engine.domain.model import ProcessMeta
from engine.forms import FormRegistry
from engine.persistence import store
from engine.persistence.models import InstanceStatus, ProcessDefinition, TaskState
from engine.persistence.store import InstanceRecord, TaskRecord
from engine.services import audit as audit_trail
from engine.services import consent_gate
from engine.services.context import EngineContext
from engine.services.deadlines import DEFAULT_REMIND_BEFORE
from engine.services.deployment import (
    calls_of,
    definition_source,
    latest_definition,
    process_meta_of,
    resolve_dependencies,
)
from engine.services.projection import NewTask, Projection, ProjectionContext, apply_step
from engine.services.timers import notify_timers_changed

FormValidator = Callable[[str | None, Mapping[str, Any]], None]


@dataclass(frozen=True)
class InstanceSpec:
    bundle: SpecBundle
    metas: dict[str, ProcessMeta]


_specs: OrderedDict[str, InstanceSpec] = OrderedDict()
_specs_lock = threading.Lock()


def spec_key_of(definitions: list[ProcessDefinition]) -> str:
    return "|".join(f"{d.kind}:{d.key}:{d.source_sha256}" for d in definitions)


def instance_spec(session: Session, instance: InstanceRecord) -> InstanceSpec:
    """Compiled specs and routing metadata of an instance.

    Cached by the content hashes recorded on the instance, not by row ids: ids can be
    reused (a restored backup, a fresh test database), content hashes cannot.
    """
    with _specs_lock:
        if instance.spec_key in _specs:
            _specs.move_to_end(instance.spec_key)
            return _specs[instance.spec_key]
    ids = [instance.definition_id, *sorted(int(v) for v in instance.dependency_ids.values())]
    definitions = [d for d in (session.get(ProcessDefinition, i) for i in ids) if d is not None]
    sources = list({d.source_sha256: definition_source(session, d) for d in definitions}.values())
    spec = InstanceSpec(BUNDLES.get(definitions[0].key, sources),
                        {d.key: process_meta_of(d) for d in definitions if d.kind == "process"})
    with _specs_lock:
        _specs[instance.spec_key] = spec
        while len(_specs) > 256:
            _specs.popitem(last=False)
    return spec


def audit(session: Session, actor: Actor, action: str, object_type: str, object_id: object,
          instance: InstanceRecord | None = None, details: Mapping[str, Any] | None = None) -> None:
    audit_trail.record(session, actor, action, object_type, object_id,
                       case_id=instance.case_id if instance else None,
                       instance_id=instance.id if instance else None, details=details)


def projection_context(ctx: EngineContext) -> ProjectionContext:
    return ProjectionContext(ctx.calendar, ctx.office_ids,
                             str(ctx.config.get("KIM_REMIND_BEFORE") or DEFAULT_REMIND_BEFORE))


def persist_step(session: Session, ctx: EngineContext, instance: InstanceRecord, workflow: Any,
                 result: StepResult, spec: InstanceSpec) -> Projection:
    """Project the step into our tables and save the live state (compare-and-set on its version)."""
    projection = apply_step(session, instance, result, spec.metas, projection_context(ctx))
    if not store.save_instance(session, instance, ctx.runtime.snapshot(workflow), projection.status,
                               projection.ended_at, STATE_FORMAT):
        raise Conflict("the process was changed by someone else; try again")
    if projection.timers_added:
        notify_timers_changed(session)
    if projection.status == InstanceStatus.COMPLETED.value and instance.case_id is not None:
        _close_case(session, instance, result.data)
    return projection


def _close_case(session: Session, instance: InstanceRecord, data: Mapping[str, Any]) -> None:
    """The case's process ended: the case is closed, with the reason the closure step recorded."""
    reason = data.get("closure_reason") or store.last_value(session, instance.id, "closure_reason")
    if store.close_case(session, instance.case_id, str(reason)[:64] if reason else None, clock.now()):
        audit_trail.record(session, SYSTEM, "case.close", "case", instance.case_id, case_id=instance.case_id,
                           instance_id=instance.id, details={"reason": reason})


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
    deps = resolve_dependencies(session, calls_of(process_meta_of(definition)), {process_id})
    instance = InstanceRecord(
        id=uuid4(), definition_id=definition.id, dependency_ids={k: d.id for k, d in deps.items()},
        spec_key=spec_key_of([definition, *sorted(deps.values(), key=lambda d: d.id)]),
        case_id=case_id, status=InstanceStatus.RUNNING.value, state="", version=1)
    store.insert_instance(session, {
        "id": instance.id, "definition_id": instance.definition_id, "dependency_ids": instance.dependency_ids,
        "spec_key": instance.spec_key, "case_id": case_id, "business_key": business_key,
        "status": instance.status, "state": "", "state_format": STATE_FORMAT, "version": 1,
        "started_at": clock.now(), "started_by": actor.username})
    spec = instance_spec(session, instance)
    workflow, result = ctx.runtime.start(spec.bundle, dict(data))
    projection = persist_step(session, ctx, instance, workflow, result, spec)
    audit(session, actor, "instance.start", "process_instance", instance.id, instance,
          {"process_id": process_id, "version": definition.version})
    return Started(instance.id, [t.id for t in projection.created], projection.status)


def authorize_work(actor: Actor, task: TaskRecord) -> None:
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
                  validate: FormValidator | None = None, forms: FormRegistry | None = None) -> Completed:
    """Validate, complete and advance, as one transaction. ``validate`` checks the form data;
    ``forms`` does too, and also records the consents a consent form grants."""
    if not isinstance(data, Mapping):
        raise InvalidInput("data must be an object", {"data": "must be an object"})
    with ctx.uow() as uow:
        locked = store.lock_instance_of_task(uow.session, task_id)
        if locked is None:
            raise NotFound("no such task")
        instance, task = locked
        if task.state == TaskState.HELD.value:
            raise NotFound("no such task")  # the office has no consent: the task is not theirs yet
        authorize_work(actor, task)
        if task.state not in (TaskState.OPEN.value, TaskState.CLAIMED.value):
            raise Conflict(f"the task is already {task.state}")
        if instance.status != InstanceStatus.RUNNING.value:
            raise Conflict(f"the process is {instance.status}; the task cannot be completed now")
        if validate is not None:
            validate(task.form_key, data)
        if forms is not None:
            forms.validate(task.form_key, data)
        if forms is not None and task.form_key and instance.case_id is not None:
            # before the step: the hand-overs it creates find the consent in place
            rows = forms.get(task.form_key).consent_rows(data)
            consent_gate.record_from_form(uow.session, actor, instance.case_id, rows, ctx.calendar)
        if consent_gate.is_request(task.bpmn_id):
            completed = _complete_consent_request(uow.session, ctx, instance, task, actor, dict(data))
        else:
            completed = _complete_locked(uow.session, ctx, instance, task, actor, dict(data))
        uow.commit()
    return completed


def _complete_locked(session: Session, ctx: EngineContext, instance: InstanceRecord, task: TaskRecord,
                     actor: Actor, data: dict[str, Any]) -> Completed:
    if not store.complete_task_row(session, task, actor.user_id, data, clock.now()):
        raise Conflict("the task was completed or changed by someone else")
    spec = instance_spec(session, instance)
    workflow = ctx.runtime.restore(spec.bundle, instance.state)
    result = ctx.runtime.complete(workflow, task.spiff_task_id, data)
    if result.incident is not None and ctx.runtime.is_waiting(workflow, task.spiff_task_id):
        store.reopen_task_row(session, task, data)  # the model failed finishing this very task
    projection = persist_step(session, ctx, instance, workflow, result, spec)
    audit(session, actor, "task.complete", "task", task.id, instance, {"bpmn_id": task.bpmn_id})
    mine = [t.id for t in projection.created if _visible_to(actor, t)]
    return Completed(task.id, instance.id, mine, projection.status)


def _complete_consent_request(session: Session, ctx: EngineContext, instance: InstanceRecord, task: TaskRecord,
                              actor: Actor, data: dict[str, Any]) -> Completed:
    """Not a BPMN task: the answer records the consent (or its refusal); no engine step runs."""
    if not store.complete_task_row(session, task, actor.user_id, data, clock.now()):
        raise Conflict("the task was completed or changed by someone else")
    assert instance.case_id is not None  # noqa: S101  # consent requests exist only in cases
    consent_gate.complete_request(session, actor, task.bpmn_id, instance.case_id, data, ctx.calendar)
    audit(session, actor, "task.complete", "task", task.id, instance, {"bpmn_id": task.bpmn_id})
    return Completed(task.id, instance.id, [], instance.status)


def _visible_to(actor: Actor, task: NewTask) -> bool:
    return actor.is_system or task.office_id in actor.office_ids
