"""Start process instances and complete their human tasks.

Each use case runs one engine step inside one transaction: lock the instance row, restore
its live state, run the step, mirror the result into our tables, save the state, commit.
Two people completing the same task: the second finds the task no longer open (409).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import Actor
from engine.domain.errors import Conflict, InvalidInput, NotFound
from engine.forms import FormRegistry
from engine.persistence import store
from engine.persistence.models import InstanceStatus, TaskState
from engine.persistence.store import InstanceRecord, TaskRecord
from engine.services.casework import consent_gate
from engine.services.context import EngineContext
from engine.services.stepping import step
from engine.services.stepping.consent_hold import is_request
from engine.services.stepping.projection import NewTask
from engine.services.stepping.step import Started

__all__ = ["Completed", "Started", "authorize_work", "complete_task", "start_instance"]

FormValidator = Callable[[str | None, Mapping[str, Any]], None]


def start_instance(ctx: EngineContext, process_id: str, data: Mapping[str, Any], actor: Actor,
                   case_id: UUID | None = None, business_key: str | None = None) -> Started:
    with ctx.uow() as uow:
        started = step.start(uow.session, ctx, process_id, data, actor, case_id, business_key)
        uow.commit()
    return started


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
        if is_request(task.bpmn_id):
            completed = _complete_consent_request(uow.session, ctx, instance, task, actor, dict(data))
        else:
            completed = _complete_locked(uow.session, ctx, instance, task, actor, dict(data))
        uow.commit()
    return completed


def _complete_locked(session: Session, ctx: EngineContext, instance: InstanceRecord, task: TaskRecord,
                     actor: Actor, data: dict[str, Any]) -> Completed:
    if not store.complete_task_row(session, task, actor.user_id, data, clock.now()):
        raise Conflict("the task was completed or changed by someone else")
    workflow, spec = step.restore(session, ctx, instance)
    result = ctx.runtime.complete(workflow, task.spiff_task_id, data)
    if result.incident is not None and ctx.runtime.is_waiting(workflow, task.spiff_task_id):
        store.reopen_task_row(session, task, data)  # the model failed finishing this very task
    projection = step.persist_step(session, ctx, instance, workflow, result, spec)
    step.audit_instance(session, actor, "task.complete", "task", task.id, instance, {"bpmn_id": task.bpmn_id})
    mine = [t.id for t in projection.created if _visible_to(actor, t)]
    return Completed(task.id, instance.id, mine, projection.status)


def _complete_consent_request(session: Session, ctx: EngineContext, instance: InstanceRecord, task: TaskRecord,
                              actor: Actor, data: dict[str, Any]) -> Completed:
    """Not a BPMN task: the answer records the consent (or its refusal); no engine step runs."""
    if not store.complete_task_row(session, task, actor.user_id, data, clock.now()):
        raise Conflict("the task was completed or changed by someone else")
    assert instance.case_id is not None  # noqa: S101  # consent requests exist only in cases
    consent_gate.complete_request(session, actor, task.bpmn_id, instance.case_id, data, ctx.calendar)
    step.audit_instance(session, actor, "task.complete", "task", task.id, instance, {"bpmn_id": task.bpmn_id})
    return Completed(task.id, instance.id, [], instance.status)


def _visible_to(actor: Actor, task: NewTask) -> bool:
    return actor.is_system or task.office_id in actor.office_ids
