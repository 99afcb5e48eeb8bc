"""One engine step, the same for every use case that moves a workflow.

Start a process, complete a human task, fire due timers, retry after an incident, migrate:
each locks the instance row (the caller does), then comes here to restore the live state,
let the runtime run, mirror the result into our tables (:mod:`.projection`), save the state
with a compare-and-set on its version, and audit what happened. Nothing here commits: the
step belongs to the caller's unit of work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy.orm import Session

from engine import clock
from engine.bpmn.runtime import StepResult
from engine.bpmn.state import STATE_FORMAT
from engine.domain.actors import SYSTEM, Actor
from engine.domain.errors import Conflict, NotFound
from engine.persistence import audit_log, store
from engine.persistence.definitions import (
    calls_of,
    latest_definition,
    process_meta_of,
    resolve_dependencies,
    spec_key_of,
)
from engine.persistence.models import InstanceStatus
from engine.persistence.store import CaseHeader, InstanceRecord
from engine.services.context import EngineContext
from engine.services.stepping import screening_outbox as screening_records
from engine.services.stepping.deadlines import DEFAULT_REMIND_BEFORE
from engine.services.stepping.projection import (
    NOTHING_KNOWN,
    NOTHING_WAITING,
    Known,
    Projection,
    ProjectionContext,
    apply_step,
    step_outcome,
)
from engine.services.stepping.specs import InstanceSpec, instance_spec

Workflow = Any  # a SpiffWorkflow BpmnWorkflow (untyped library)


def audit_instance(session: Session, actor: Actor, action: str, object_type: str, object_id: object,
                   instance: InstanceRecord | None = None, details: Mapping[str, Any] | None = None) -> None:
    """An audit entry about something in an instance, filed under its case."""
    audit_log.record(session, actor, action, object_type, object_id,
                     case_id=instance.case_id if instance else None,
                     instance_id=instance.id if instance else None, details=details)


def projection_context(ctx: EngineContext) -> ProjectionContext:
    return ProjectionContext(ctx.calendar, ctx.offices,
                             str(ctx.config.get("KIM_REMIND_BEFORE") or DEFAULT_REMIND_BEFORE))


def restore(session: Session, ctx: EngineContext, instance: InstanceRecord) -> tuple[Workflow, InstanceSpec]:
    """The instance's live workflow, rebuilt from its saved state on its compiled specs.

    A step begins here (or in :func:`start`): screenings the runtime runs from now on are noted
    and stored by :func:`persist_step` in this step's transaction (:mod:`.screening_outbox`).
    """
    screening_records.open_outbox()
    spec = instance_spec(session, instance)
    return ctx.runtime.restore(spec.bundle, instance.state), spec


def advance(session: Session, ctx: EngineContext, instance: InstanceRecord,
            run: Callable[[Workflow], StepResult]) -> tuple[StepResult, Projection, Workflow]:
    """Restore, ``run`` one action on the workflow, persist and project the result."""
    workflow, spec = restore(session, ctx, instance)
    result = run(workflow)
    return result, persist_step(session, ctx, instance, workflow, result, spec), workflow


def persist_step(session: Session, ctx: EngineContext, instance: InstanceRecord, workflow: Workflow,
                 result: StepResult, spec: InstanceSpec, known: Known = NOTHING_KNOWN,
                 actor: Actor = SYSTEM) -> Projection:
    """Project the step into our tables and save the live state (compare-and-set on its version).

    Screenings the step ran are stored with it, as run by ``actor`` (the system for timers); timers
    the step cancelled before their moment are audited (``timer.cancel``).
    """
    projection = apply_step(session, instance, result, spec.metas, projection_context(ctx), known)
    for timer in projection.cancelled_timers:
        audit_instance(session, actor, "timer.cancel", "timer", timer.bpmn_id, instance,
                       {"fire_at": timer.fire_at.isoformat()})
    screening_records.store_noted(session, instance.case_id, instance.id, actor)
    if not store.save_instance(session, instance, ctx.runtime.snapshot(workflow), projection.status,
                               projection.ended_at, STATE_FORMAT):
        raise Conflict("the process was changed by someone else; try again")
    if projection.status == InstanceStatus.COMPLETED.value and _ends_case(instance, spec):
        _close_case(session, instance, result.data)
    return projection


def _ends_case(instance: InstanceRecord, spec: InstanceSpec) -> bool:
    """The case's own process ending closes the case; one beside it (``endsCase="false"``,
    e.g. a case conference) closes nothing."""
    root = spec.metas.get(spec.bundle.process_id)
    return instance.case_id is not None and (root is None or root.ends_case)


def _close_case(session: Session, instance: InstanceRecord, data: Mapping[str, Any]) -> None:
    """The case's process ended: the case is closed, with the reason the closure step recorded."""
    reason = data.get("closure_reason") or store.last_value(session, instance.id, "closure_reason")
    if store.close_case(session, instance.case_id, str(reason)[:64] if reason else None, clock.now()):
        audit_log.record(session, SYSTEM, "case.close", "case", instance.case_id, case_id=instance.case_id,
                         instance_id=instance.id, details={"reason": reason})


@dataclass(frozen=True)
class Started:
    instance_id: UUID
    task_ids: list[UUID]
    status: str
    task_rows: tuple[Mapping[str, Any], ...] = ()  # every task row the start wrote (held ones too)


def start(session: Session, ctx: EngineContext, process_id: str, data: Mapping[str, Any], actor: Actor,
          case_id: UUID | None = None, business_key: str | None = None, case: CaseHeader | None = None) -> Started:
    """Start the newest version of ``process_id`` inside the caller's transaction.

    ``case``: the header of the case just opened for it (saves reading it back).
    """
    definition = latest_definition(session, "process", process_id)
    if definition is None:
        raise NotFound(f"no deployed process '{process_id}'")
    if definition.retired_at is not None:  # withdrawn: kept for history only
        raise Conflict(f"Das Prozessmodell „{definition.name or process_id}“ ist zurückgezogen; damit beginnen "
                       "keine neuen Fälle.")
    deps = resolve_dependencies(session, calls_of(process_meta_of(definition)), {process_id})
    instance = InstanceRecord(
        id=uuid4(), definition_id=definition.id, dependency_ids={k: d.id for k, d in deps.items()},
        spec_key=spec_key_of([definition, *sorted(deps.values(), key=lambda d: d.id)]),
        case_id=case_id, status=InstanceStatus.RUNNING.value, state="", version=1)
    spec = instance_spec(session, instance)
    screening_records.open_outbox()
    workflow, result = ctx.runtime.start(spec.bundle, dict(data))
    # The row goes in once, with the state after the first run (no insert-then-update).
    status, ended_at = step_outcome(result, clock.now())
    store.insert_instance(session, {
        "id": instance.id, "definition_id": instance.definition_id, "dependency_ids": instance.dependency_ids,
        "spec_key": instance.spec_key, "case_id": case_id, "business_key": business_key,
        "status": status, "state": ctx.runtime.snapshot(workflow), "state_format": STATE_FORMAT, "version": 1,
        "started_at": clock.now(), "ended_at": ended_at, "started_by": actor.username})
    projection = apply_step(session, instance, result, spec.metas, projection_context(ctx),
                            Known(before=NOTHING_WAITING, case=case))
    if projection.status != status:  # a first task that cannot be routed: an incident from the start
        store.save_instance(session, instance, ctx.runtime.snapshot(workflow), projection.status, ended_at,
                            STATE_FORMAT)
    screening_records.store_noted(session, case_id, instance.id, actor)
    if projection.status == InstanceStatus.COMPLETED.value and _ends_case(instance, spec):
        _close_case(session, instance, result.data)
    audit_instance(session, actor, "instance.start", "process_instance", instance.id, instance,
                   {"process_id": process_id, "version": definition.version})
    return Started(instance.id, [t.id for t in projection.created], projection.status, projection.task_rows)
