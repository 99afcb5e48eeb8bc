"""Mirror one engine step into our tables: human tasks, timers, history, incidents.

Called inside the transaction of the use case that ran the step, after the runtime has
returned a :class:`~engine.bpmn.runtime.StepResult`. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from engine import clock
from engine.bpmn.runtime import INTERNAL_SPEC_TYPES, ReadyHumanTask, StepResult
from engine.calendar import WorkingDayCalendar
from engine.domain.durations import DurationError, WorkingDays, due_moment, end_of_day, parse_deadline
from engine.domain.model import HumanTaskMeta, ProcessMeta
from engine.persistence.models import (
    OPEN_STATES,
    HumanTask,
    Incident,
    InstanceStatus,
    Office,
    ProcessInstance,
    StepHistory,
    TaskState,
    Timer,
    TimerKind,
    User,
)

DEFAULT_ESCALATE_AFTER = "5WD"


def apply_step(session: Session, instance: ProcessInstance, result: StepResult,
               metas: Mapping[str, ProcessMeta], calendar: WorkingDayCalendar) -> list[HumanTask]:
    """Bring tasks, timers, history and status of ``instance`` in line with ``result``.

    Returns the human tasks created by this step.
    """
    now = clock.now()
    created = _sync_human_tasks(session, instance, result.ready_human, metas, calendar, now)
    _sync_bpmn_timers(session, instance, result)
    _record_history(session, instance, result)
    if result.incident is not None:
        instance.status = InstanceStatus.INCIDENT.value
        session.add(Incident(instance_id=instance.id, element_id=result.incident.element_id,
                             message=result.incident.message[:4000], created_at=now))
    elif result.completed:
        instance.status = InstanceStatus.COMPLETED.value
        instance.ended_at = now
    else:
        instance.status = InstanceStatus.RUNNING.value
    return created


def find_meta(metas: Mapping[str, ProcessMeta], ready: ReadyHumanTask) -> HumanTaskMeta | None:
    for process_id in ready.process_chain:
        meta = metas.get(process_id)
        if meta is not None and ready.bpmn_id in meta.human_tasks:
            return meta.human_tasks[ready.bpmn_id]
    for meta in metas.values():  # embedded subprocesses belong to their process' metadata
        if ready.bpmn_id in meta.human_tasks:
            return meta.human_tasks[ready.bpmn_id]
    return None


def _sync_human_tasks(session: Session, instance: ProcessInstance, ready: list[ReadyHumanTask],
                      metas: Mapping[str, ProcessMeta], calendar: WorkingDayCalendar,
                      now: datetime) -> list[HumanTask]:
    open_rows = {row.spiff_task_id: row for row in session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.state.in_(OPEN_STATES)))}
    ready_ids = {r.spiff_id for r in ready}
    for spiff_id, row in open_rows.items():
        if spiff_id not in ready_ids:  # interrupted by an event, or the process was cancelled
            row.state = TaskState.CANCELLED.value
            row.completed_at = now
            session.execute(delete(Timer).where(Timer.task_id == row.id, Timer.fired_at.is_(None)))
    created = []
    for item in ready:
        if item.spiff_id in open_rows:
            continue
        meta = find_meta(metas, item)
        if meta is None or meta.office is None:
            raise LookupError(f"no routing for user task '{item.bpmn_id}' (deploy-time check missed it)")
        row = _new_task(session, instance, item, meta, calendar, now)
        created.append(row)
    return created


def _office_id(session: Session, code: str) -> int:
    office_id = session.scalar(select(Office.id).where(Office.code == code))
    if office_id is None:
        raise LookupError(f"office '{code}' no longer exists")
    return office_id


def _new_task(session: Session, instance: ProcessInstance, item: ReadyHumanTask, meta: HumanTaskMeta,
              calendar: WorkingDayCalendar, now: datetime) -> HumanTask:
    assert meta.office is not None  # noqa: S101  # checked by the caller
    due_at = _due_at(meta.due_in, now, calendar)
    assignee_id = None
    if meta.assignee:
        assignee_id = session.scalar(select(User.id).where(User.username == meta.assignee.lower()))
    row = HumanTask(
        instance_id=instance.id, case_id=instance.case_id, spiff_task_id=item.spiff_id,
        process_id=item.process_chain[-1], bpmn_id=item.bpmn_id, name=meta.name or item.name,
        office_id=_office_id(session, meta.office), assignee_id=assignee_id,
        state=TaskState.CLAIMED.value if assignee_id else TaskState.OPEN.value,
        created_at=now, due_at=due_at, escalation_level=0, escalate_after=meta.escalate_after,
        form_key=meta.form_key, data={},
    )
    session.add(row)
    session.flush()
    if due_at is not None:
        _add_escalation_timers(session, instance, row, due_at, calendar, now)
    return row


def _due_at(due_in: str | None, now: datetime, calendar: WorkingDayCalendar) -> datetime | None:
    if not due_in:
        return None
    try:
        return due_moment(now, parse_deadline(due_in), calendar)
    except DurationError:
        return None  # refused at deploy time; a damaged value must not stop the process


def escalation_moment(due_at: datetime, escalate_after: str | None, calendar: WorkingDayCalendar) -> datetime:
    """Level 2: ``escalateAfter`` working days after the due day (INTERFACES.md section 4)."""
    try:
        after = parse_deadline(escalate_after or DEFAULT_ESCALATE_AFTER)
    except DurationError:
        after = parse_deadline(DEFAULT_ESCALATE_AFTER)
    if isinstance(after, WorkingDays):
        day = calendar.add_working_days(due_at.astimezone(calendar.tz).date(), after.count)
        return end_of_day(day, calendar.tz)
    return due_moment(due_at, after, calendar)


def _add_escalation_timers(session: Session, instance: ProcessInstance, row: HumanTask, due_at: datetime,
                           calendar: WorkingDayCalendar, now: datetime) -> None:
    for level, fire_at in ((1, due_at), (2, escalation_moment(due_at, row.escalate_after, calendar))):
        session.add(Timer(instance_id=instance.id, task_id=row.id, spiff_task_id=row.spiff_task_id,
                          kind=TimerKind.ESCALATION.value, level=level, bpmn_id=row.bpmn_id,
                          fire_at=fire_at, created_at=now))


def _sync_bpmn_timers(session: Session, instance: ProcessInstance, result: StepResult) -> None:
    rows = {row.spiff_task_id: row for row in session.scalars(
        select(Timer).where(Timer.instance_id == instance.id, Timer.kind == TimerKind.BPMN.value))}
    wanted = {t.spiff_id: t for t in result.timers}
    stale = [row.id for sid, row in rows.items() if sid not in wanted]
    if stale:
        session.execute(delete(Timer).where(Timer.id.in_(stale)))
    now = clock.now()
    for spiff_id, timer in wanted.items():
        row = rows.get(spiff_id)
        if row is None:
            session.add(Timer(instance_id=instance.id, spiff_task_id=spiff_id, kind=TimerKind.BPMN.value,
                              level=0, bpmn_id=timer.bpmn_id, fire_at=timer.fire_at, created_at=now))
        elif row.fire_at != timer.fire_at:
            row.fire_at = timer.fire_at
            row.attempts = 0


def _record_history(session: Session, instance: ProcessInstance, result: StepResult) -> None:
    rows: list[dict[str, Any]] = [
        {"instance_id": instance.id, "spiff_task_id": f.spiff_id, "bpmn_id": f.bpmn_id[:200],
         "name": f.name[:300], "kind": f.kind[:64], "state": f.state,
         "finished_at": datetime.fromtimestamp(f.finished_at, tz=UTC)}
        for f in result.finished if f.state == "COMPLETED" and f.kind not in INTERNAL_SPEC_TYPES
        and f.bpmn_id != "Root"
    ]
    if rows:
        session.execute(insert(StepHistory), rows)


def task_ids_of(rows: list[HumanTask]) -> list[UUID]:
    return [r.id for r in rows]
