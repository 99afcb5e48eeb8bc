"""Start process instances and complete their human tasks.

Each use case runs one engine step in the caller's unit of work: lock the instance row,
restore its live state, run the step, mirror the result into our tables, save the state.
Two people completing the same task: the second finds the task no longer open (409).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import Actor
from engine.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from engine.domain.permissions import Permission, has
from engine.domain.visibility import may_see_task, role_used, sees_task_content
from engine.persistence import store
from engine.persistence.models import InstanceStatus, TaskState
from engine.persistence.store import InstanceRecord, TaskRecord
from engine.services.casework import consent_gate
from engine.services.casework.inbox import for_reader, view_of, views_by_id
from engine.services.casework.task_actions import METADATA_ONLY
from engine.services.casework.views import Completion, IncidentView
from engine.services.context import UnitOfWork
from engine.services.stepping import step
from engine.services.stepping.consent_hold import is_request
from engine.services.stepping.projection import Known
from engine.services.stepping.step import Started

__all__ = ["Completion", "Started", "authorize_work", "complete_task", "start_instance"]


def start_instance(uow: UnitOfWork, process_id: str, data: Mapping[str, Any], actor: Actor,
                   case_id: UUID | None = None, business_key: str | None = None) -> Started:
    return step.start(uow.session, uow.ctx, process_id, data, actor, case_id, business_key)


def authorize_work(actor: Actor, task: TaskRecord) -> None:
    if actor.is_system or has(actor, Permission.BYPASS_OFFICES):
        return
    if not may_see_task(actor, task.office_id, task.audience):
        raise NotFound("no such task")  # 404: do not reveal tasks of other offices, nor their leads' tasks
    if not sees_task_content(actor, task.audience, task.assignee_id == actor.user_id):
        raise NotAllowed(METADATA_ONLY)  # a lead completes a caseworkers' task only having taken it on
    if task.state == TaskState.CLAIMED.value and task.assignee_id not in (None, actor.user_id) \
            and not has(actor, Permission.LEAD_OFFICE):
        raise Conflict("the task is claimed by a colleague")


def _completion_details(actor: Actor, task: TaskRecord) -> dict[str, Any]:
    """What the audit entry of a completion notes: the step, and the role a lead worked it in."""
    role = {"role": role_used(actor, task.audience)} if has(actor, Permission.LEAD_OFFICE) else {}
    return {"bpmn_id": task.bpmn_id, **role}


def complete_task(uow: UnitOfWork, task_id: UUID, actor: Actor, data: Mapping[str, Any]) -> Completion:
    """Validate against the task's form, complete and advance; the reply shows the completed
    task and the new tasks the caller may see, built from what this unit of work wrote.

    The hot path of the whole product: one locking read, then only writes (task, new tasks,
    their deadlines, history, the instance's state, the audit entry).
    """
    if not isinstance(data, Mapping):
        raise InvalidInput("data must be an object", {"data": "must be an object"})
    session, forms = uow.session, uow.ctx.forms
    locked = store.lock_task_for_completion(session, task_id)
    if locked is None:
        raise NotFound("no such task")
    instance, task = locked.instance, locked.task
    if task.state == TaskState.HELD.value:
        raise NotFound("no such task")  # the office has no consent: the task is not theirs yet
    authorize_work(actor, task)
    if task.state not in (TaskState.OPEN.value, TaskState.CLAIMED.value):
        raise Conflict(f"the task is already {task.state}")
    if instance.status != InstanceStatus.RUNNING.value:
        raise Conflict(f"the process is {instance.status}; the task cannot be completed now")
    forms.validate(task.form_key, data, session)
    if task.form_key and instance.case_id is not None:
        # before the step: the hand-overs it creates find the consent in place
        rows = forms.get(task.form_key, session).consent_rows(data)
        consent_gate.record_from_form(session, actor, instance.case_id, rows, uow.ctx.calendar)
    if is_request(task.bpmn_id):
        next_ids, status = _complete_consent_request(session, uow, instance, task, actor, dict(data))
        found = {k: for_reader(actor, v) for k, v in views_by_id(session, [task.id, *next_ids]).items()}
        return Completion(found[task.id], tuple(found[i] for i in next_ids if i in found), status)
    return _complete_locked(uow, locked, actor, dict(data))


def _complete_locked(uow: UnitOfWork, locked: store.LockedTask, actor: Actor, data: dict[str, Any]) -> Completion:
    session, ctx = uow.session, uow.ctx
    instance, task = locked.instance, locked.task
    now = clock.now()
    if not store.complete_task_row(session, task, actor.user_id, data, now):
        raise Conflict("the task was completed or changed by someone else")
    workflow, spec = step.restore(session, ctx, instance)
    before = ctx.runtime.waiting(workflow)
    result = ctx.runtime.complete(workflow, task.spiff_task_id, data)
    reopened = result.incident is not None and ctx.runtime.is_waiting(workflow, task.spiff_task_id)
    if reopened:
        store.reopen_task_row(session, task, data)  # the model failed finishing this very task
    projection = step.persist_step(session, ctx, instance, workflow, result, spec,
                                   Known(before=before, done=task.spiff_task_id, case=locked.case), actor)
    step.audit_instance(session, actor, "task.complete", "task", task.id, instance, _completion_details(actor, task))
    incident = IncidentView(result.incident.element_id, result.incident.message) if result.incident else None
    if reopened:  # a rare path: read back what the tables hold now
        found = views_by_id(session, [task.id])
        return Completion(found[task.id], (), projection.status, incident)
    mine = [t for t in projection.created if actor.is_system or may_see_task(actor, t.office_id, t.audience)]
    done = view_of({**_case_columns(locked.case), **vars(task), "instance_id": instance.id,  # vars: no deep copy
                    "case_id": instance.case_id, "process_id": locked.process_id, "name": locked.name,
                    "office_code": ctx.offices.code_of(session, task.office_id), "assignee_name": locked.assignee_name,
                    "state": TaskState.COMPLETED.value, "created_at": locked.created_at, "due_at": locked.due_at,
                    "follow_up_at": locked.follow_up_at, "escalation_level": locked.escalation_level,
                    "completed_at": now, "completed_by_name": actor.username if actor.user_id is not None else None,
                    "version": task.version + 1})
    following = tuple(for_reader(actor, view_of({**_case_columns(locked.case), **t.row, "assignee_name": t.assignee,
                                                 "office_code": ctx.offices.code_of(session, t.office_id)}))
                      for t in mine)
    return Completion(done, following, projection.status, incident)


def _case_columns(case: store.CaseHeader | None) -> dict[str, Any]:
    if case is None:
        return {"case_reference": None, "given_name": None, "family_name": None}
    return {"case_reference": case.reference, "given_name": case.given_name, "family_name": case.family_name}


def _complete_consent_request(session: Session, uow: UnitOfWork, instance: InstanceRecord, task: TaskRecord,
                              actor: Actor, data: dict[str, Any]) -> tuple[list[UUID], str]:
    """Not a BPMN task: the answer records the consent (or its refusal); no engine step runs."""
    if not store.complete_task_row(session, task, actor.user_id, data, clock.now()):
        raise Conflict("the task was completed or changed by someone else")
    assert instance.case_id is not None  # noqa: S101  # consent requests exist only in cases
    consent_gate.complete_request(session, actor, task.bpmn_id, instance.case_id, data, uow.ctx.calendar)
    step.audit_instance(session, actor, "task.complete", "task", task.id, instance, _completion_details(actor, task))
    return [], instance.status
