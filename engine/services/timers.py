"""Fire due timers: BPMN timer events and escalation levels of overdue tasks.

Timer rows are the work queue (ARCHITECTURE.md decision 3). Each instance with due rows is
handled in its own transaction: lock the instance (``SKIP LOCKED`` on PostgreSQL, so several
schedulers share the work), fire what is due for it, commit. A process killed mid-batch
loses nothing: rows it did not commit are still due for the next run. Escalation levels only
ever go up, under the instance lock, so firing a row twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import SYSTEM
from engine.persistence import store
from engine.persistence.models import InstanceStatus, Timer, TimerKind
from engine.services.context import EngineContext
from engine.services.instances import audit, instance_spec, persist_step


@dataclass
class FireReport:
    bpmn_timers: int = 0
    escalations: int = 0
    instances: int = 0

    @property
    def total(self) -> int:
        return self.bpmn_timers + self.escalations


def due_instance_ids(session: Session, now: datetime, limit: int) -> list[UUID]:
    rows = session.execute(
        select(Timer.instance_id, func.min(Timer.fire_at).label("first"))
        .where(Timer.fired_at.is_(None), Timer.fire_at <= now)
        .group_by(Timer.instance_id).order_by("first").limit(limit))
    return [r.instance_id for r in rows]


def next_fire_at(session: Session) -> datetime | None:
    return session.scalar(select(func.min(Timer.fire_at)).where(Timer.fired_at.is_(None)))


def fire_due_timers(ctx: EngineContext, limit: int = 500) -> FireReport:
    """Fire everything due now (one transaction per instance); returns what was fired."""
    report = FireReport()
    now = clock.now()
    with ctx.uow(write=False) as uow:
        instance_ids = due_instance_ids(uow.session, now, limit)
    for instance_id in instance_ids:
        with ctx.uow() as uow:
            fired = fire_for_instance(uow.session, ctx, instance_id, now)
            uow.commit()
        if fired is not None:
            report.instances += 1
            report.bpmn_timers += fired[0]
            report.escalations += fired[1]
    return report


def fire_for_instance(session: Session, ctx: EngineContext, instance_id: UUID,
                      now: datetime) -> tuple[int, int] | None:
    """Fire the due rows of one locked instance; None if another scheduler holds it."""
    instance = store.lock_instance(session, instance_id, skip_locked=not ctx.db.is_sqlite)
    if instance is None:
        return None
    due = store.due_timers(session, instance_id, now)
    escalations = 0
    for timer in (t for t in due if t.kind == TimerKind.ESCALATION.value):
        if store.raise_escalation(session, timer.id, timer.task_id, timer.level, now):
            escalations += 1
            audit(session, SYSTEM, "task.escalate", "task", timer.task_id, instance, {"level": timer.level})
    bpmn_due = [t for t in due if t.kind == TimerKind.BPMN.value]
    if bpmn_due and instance.status == InstanceStatus.RUNNING.value:
        spec = instance_spec(session, instance)
        workflow = ctx.runtime.restore(spec.bundle, instance.state)
        result = ctx.runtime.fire_due_timers(workflow)
        store.delete_timers(session, (t.id for t in bpmn_due))
        persist_step(session, ctx, instance, workflow, result, spec)
        for timer in bpmn_due:
            audit(session, SYSTEM, "timer.fire", "timer", timer.bpmn_id, instance,
                  {"fire_at": timer.fire_at.isoformat()})
    return len(bpmn_due), escalations
