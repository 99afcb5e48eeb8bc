"""The instance view: where a case's process stands, the path it took, how long each step took,
and the versions it ran on - for process owners, admins and office leads.

Only process data is shown (steps, offices, times, versions), never personal data, so process
owners see every case; an office lead sees the cases owned by or worked in their offices (the
"task metadata of the own office" of DOMAIN.md section 7). Every view is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.util.task import TaskState as SpiffState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.bpmn.runtime import INTERNAL_SPEC_TYPES
from engine.domain.actors import Actor
from engine.domain.errors import NotAllowed, NotFound
from engine.domain.permissions import Permission, has
from engine.persistence import audit_log as audit
from engine.persistence.definitions import definition_source
from engine.persistence.models import (
    OPEN_STATES,
    CaseConference,
    CaseFile,
    HumanTask,
    InstanceMigration,
    Office,
    ProcessDefinition,
    ProcessInstance,
    StepHistory,
    TaskState,
    Timer,
    TimerKind,
)
from engine.persistence.store import InstanceRecord
from engine.services.context import EngineContext, UnitOfWork
from engine.services.stepping.specs import instance_spec

DAY = 86400.0


def _may_see(session: Session, actor: Actor, case: CaseFile) -> bool:
    if has(actor, Permission.MIGRATE_CASES):  # process owners and admins look at any case's instance
        return True
    if case.owner_office_id in actor.office_ids:
        return True
    worked = session.scalar(select(HumanTask.id).where(HumanTask.case_id == case.id,
                                                       HumanTask.office_id.in_(actor.office_ids)).limit(1))
    return worked is not None


def _days(start: datetime, end: datetime) -> float:
    return round(max((end - start).total_seconds(), 0.0) / DAY, 1)


def _versions(session: Session, instance: ProcessInstance, current: ProcessDefinition) -> list[dict[str, Any]]:
    rows = list(session.execute(
        select(InstanceMigration, ProcessDefinition.version)
        .join(ProcessDefinition, ProcessDefinition.id == InstanceMigration.to_definition_id)
        .where(InstanceMigration.instance_id == instance.id).order_by(InstanceMigration.migrated_at,
                                                                      InstanceMigration.id)))
    first = current.version
    if rows:
        first = int(session.scalar(select(ProcessDefinition.version).where(
            ProcessDefinition.id == rows[0][0].from_definition_id)) or 0)
    versions = [{"version": first, "how": "start", "at": instance.started_at.isoformat(),
                 "by": instance.started_by}]
    versions += [{"version": version, "how": "migration", "at": m.migrated_at.isoformat(), "by": m.migrated_by}
                 for m, version in rows]
    return versions


def _steps(session: Session, instance: ProcessInstance, now: datetime) -> dict[str, Any]:
    tasks = list(session.execute(
        select(HumanTask, Office.code).join(Office, Office.id == HumanTask.office_id)
        .where(HumanTask.instance_id == instance.id).order_by(HumanTask.created_at)))
    active = [{"bpmn_id": t.bpmn_id, "name": t.name, "office": code, "state": t.state,
               "since": t.created_at.isoformat(), "days": _days(t.created_at, now),
               "due_at": t.due_at.isoformat() if t.due_at else None}
              for t, code in tasks if t.state in (*OPEN_STATES, TaskState.HELD.value)]
    completed = [{"bpmn_id": t.bpmn_id, "name": t.name, "office": code, "started_at": t.created_at.isoformat(),
                  "completed_at": t.completed_at.isoformat(), "days": _days(t.created_at, t.completed_at)}
                 for t, code in tasks if t.state == TaskState.COMPLETED.value and t.completed_at is not None]
    timers = [{"bpmn_id": t.bpmn_id, "fire_at": t.fire_at.isoformat(), "since": t.created_at.isoformat(),
               "days": _days(t.created_at, now)} for t in session.scalars(
        select(Timer).where(Timer.instance_id == instance.id, Timer.kind == TimerKind.BPMN.value,
                            Timer.fired_at.is_(None)).order_by(Timer.fire_at))]
    history = list(session.execute(select(StepHistory.bpmn_id, StepHistory.name, StepHistory.finished_at)
                                   .where(StepHistory.instance_id == instance.id)
                                   .order_by(StepHistory.finished_at, StepHistory.id)))
    return {"active": active, "completed": completed, "timers": timers,
            "path": [{"bpmn_id": h.bpmn_id, "name": h.name, "finished_at": h.finished_at.isoformat()}
                     for h in history]}


def _finished_in_live_state(session: Session, ctx: EngineContext, instance: ProcessInstance) -> set[str]:
    """Finished elements still held in the live workflow (not yet moved to the step history)."""
    if not instance.state:
        return set()
    record = InstanceRecord(instance.id, instance.definition_id, instance.dependency_ids, instance.spec_key,
                            instance.case_id, instance.status, instance.state, instance.version)
    workflow = ctx.runtime.restore(instance_spec(session, record).bundle, instance.state)
    return {str(getattr(t.task_spec, "bpmn_id", None)) for t in workflow.get_tasks(state=SpiffState.COMPLETED)
            if type(t.task_spec).__name__ not in INTERNAL_SPEC_TYPES and getattr(t.task_spec, "bpmn_id", None)}


def instance_view(uow: UnitOfWork, actor: Actor, case_id: UUID) -> dict[str, Any]:
    """The newest process instance of a case, as the instance view shows it."""
    if not has(actor, Permission.VIEW_INSTANCES):
        raise NotAllowed("the instance view is for process owners, admins and office leads")
    session = uow.session
    case = session.get(CaseFile, case_id)
    if case is None or not _may_see(session, actor, case):
        raise NotFound("no such case")
    instance = session.scalar(select(ProcessInstance).where(
        ProcessInstance.case_id == case_id, ProcessInstance.id.not_in(select(CaseConference.instance_id)))
        .order_by(ProcessInstance.started_at.desc()).limit(1))  # the case's own process, not a conference
    if instance is None:
        raise NotFound("the case has no process")
    definition = session.get(ProcessDefinition, instance.definition_id)
    assert definition is not None  # noqa: S101  # foreign key
    steps = _steps(session, instance, clock.now())
    current = {s["bpmn_id"] for s in steps["active"]} | {t["bpmn_id"] for t in steps["timers"]}
    done = ({s["bpmn_id"] for s in steps["completed"]} | {p["bpmn_id"] for p in steps["path"]}
            | _finished_in_live_state(session, uow.ctx, instance)) - current
    result = {
        "case_id": str(case.id), "case_reference": case.reference, "instance_id": str(instance.id),
        "status": instance.status, "process_id": definition.key, "version": definition.version,
        "name": definition.name, "started_at": instance.started_at.isoformat(),
        "xml": definition_source(session, definition).content.decode("utf-8"),
        "current": sorted(current), "done": sorted(done), "versions": _versions(session, instance, definition),
        **steps,
    }
    audit.record(session, actor, "instance.read", "process_instance", instance.id, case_id=case.id,
                 instance_id=instance.id, details={"view": "instance"})
    return result


def may_view_instances(actor: Actor | None) -> bool:
    """Whether the case page links to the instance view (the view itself checks the case)."""
    return has(actor, Permission.VIEW_INSTANCES)

