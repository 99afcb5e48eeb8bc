"""Mirror one engine step into our tables: human tasks, timers, history, incidents.

Called inside the transaction of the use case that ran the step, after the runtime has
returned a :class:`~engine.bpmn.runtime.StepResult`. Nothing here commits.

Two ways to find what changed. A step that knows what the workflow waited for before it ran
(:class:`~engine.bpmn.runtime.Waiting`, read from the restored state - a task completion)
writes just the difference: that is the hot path, and it reads nothing. Steps that do not
(start, timers, retry, migration) compare with our tables, which also repairs any drift.

A BPMN timer the step removed before its moment came was cancelled, not fired: an interrupting event
ended what it waited on (a new screening ended a deadline watch, a filed application its reminders).
The projection names those (:class:`CancelledTimer`), and the step audits each as ``timer.cancel``, so
the case's audit trail shows that a deadline's timers ended and when they would have fired.

A ready user task that cannot be routed - ``officeFrom`` names an office that does not exist,
or none at all - gets no row and becomes an incident of its instance: the step that led there
still commits, and a retry after the fix (a migration to a corrected model) creates the task.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.bpmn.runtime import INTERNAL_SPEC_TYPES, Incident, PendingTimer, ReadyHumanTask, StepResult, Waiting
from engine.calendar import WorkingDayCalendar
from engine.domain.model import HumanTaskMeta, ProcessMeta
from engine.persistence import store
from engine.persistence.models import NO_DUE_DATE, InstanceStatus, TaskState, Timer, TimerKind, User, due_sort_of
from engine.persistence.store import CaseHeader, InstanceRecord
from engine.services.context import OfficeIds
from engine.services.stepping.consent_hold import CaseConsents, case_consents, request_row
from engine.services.stepping.deadlines import DEFAULT_REMIND_BEFORE, due_at, escalation_rows
from engine.services.stepping.task_context import task_context


@dataclass(frozen=True)
class NewTask:
    id: UUID
    office_id: int
    bpmn_id: str
    row: Mapping[str, Any]  # as inserted: the caller's reply is built from it, not read back
    assignee: str | None = None  # the username a model's assignee named
    audience: str | None = None


@dataclass(frozen=True)
class CancelledTimer:
    """A BPMN timer the step removed before it was due."""

    bpmn_id: str
    fire_at: datetime


@dataclass(frozen=True)
class Projection:
    """What a step changed in our tables, for the caller's reply."""

    created: list[NewTask]
    status: str
    ended_at: datetime | None
    task_rows: tuple[Mapping[str, Any], ...] = ()  # every task row written (held ones and requests too)
    cancelled_timers: tuple[CancelledTimer, ...] = ()  # for the step's audit entries


@dataclass(frozen=True)
class Known:
    """What the caller already knows, so the projection need not read it.

    ``before``: what the workflow waited for before the step; ``done``: the task the step
    completed (its row is completed already); ``case``: the instance's case header.
    """

    before: Waiting | None = None
    done: UUID | None = None
    case: CaseHeader | None = None


NOTHING_KNOWN = Known()
NOTHING_WAITING = Waiting(frozenset(), {})  # a workflow about to start waits for nothing yet


@dataclass
class ProjectionContext:
    calendar: WorkingDayCalendar
    offices: OfficeIds  # office code -> id, an immutable snapshot per lookup
    remind_before: str = DEFAULT_REMIND_BEFORE  # KIM_REMIND_BEFORE; a task's remindBefore wins


def apply_step(session: Session, instance: InstanceRecord, result: StepResult,
               metas: Mapping[str, ProcessMeta], pctx: ProjectionContext, known: Known = NOTHING_KNOWN) -> Projection:
    """Bring tasks, timers and history of ``instance`` in line with ``result``.

    A user task that cannot be routed becomes ``result.incident`` (if the step had none), so the
    caller's reply names it like any other incident.
    """
    now = clock.now()
    created, task_rows, unroutable = _sync_human_tasks(session, instance, result.ready_human, metas, pctx, now,
                                                       known)
    if known.before is None:
        cancelled = _sync_bpmn_timers(session, instance, result, now)
    else:
        cancelled = _write_bpmn_timer_changes(session, instance, known.before, result, now)
    _record_history(session, instance, result)
    for incident in [*([result.incident] if result.incident is not None else []), *unroutable]:
        store.add_incident(session, {"instance_id": instance.id, "element_id": incident.element_id,
                                     "message": incident.message[:4000], "created_at": now})
    if result.incident is None and unroutable:
        result.incident = unroutable[0]
    status, ended_at = step_outcome(result, now)
    return Projection(created, status, ended_at, tuple(task_rows), cancelled)


def step_outcome(result: StepResult, now: datetime) -> tuple[str, datetime | None]:
    """The instance's status after a step, and when it ended if it did."""
    if result.incident is not None:
        return InstanceStatus.INCIDENT.value, None
    if result.completed:
        return InstanceStatus.COMPLETED.value, now
    return InstanceStatus.RUNNING.value, None


def find_meta(metas: Mapping[str, ProcessMeta], ready: ReadyHumanTask) -> HumanTaskMeta | None:
    for process_id in ready.process_chain:
        meta = metas.get(process_id)
        if meta is not None and ready.bpmn_id in meta.human_tasks:
            return meta.human_tasks[ready.bpmn_id]
    for meta in metas.values():  # embedded subprocesses belong to their process' metadata
        if ready.bpmn_id in meta.human_tasks:
            return meta.human_tasks[ready.bpmn_id]
    return None


def _sync_human_tasks(session: Session, instance: InstanceRecord, ready: list[ReadyHumanTask],
                      metas: Mapping[str, ProcessMeta], pctx: ProjectionContext, now: datetime,
                      known: Known) -> tuple[list[NewTask], list[dict[str, Any]], list[Incident]]:
    ready_ids = {r.spiff_id for r in ready}
    # Gone from the workflow: interrupted by an event, or the process ended or was cancelled.
    if known.before is None:
        open_rows = store.open_tasks(session, instance.id)
        store.cancel_tasks(session, [tid for sid, tid in open_rows.items() if sid not in ready_ids], now)
        existing: Set[UUID] = open_rows.keys()
    else:
        existing = known.before.ready
        store.cancel_tasks_of(session, instance.id, sorted(existing - ready_ids - {known.done}), now)
    created: list[NewTask] = []
    task_rows: list[dict[str, Any]] = []
    timer_rows: list[dict[str, Any]] = []
    consents: CaseConsents | None = None
    unroutable: list[Incident] = []
    for item in ready:
        if item.spiff_id in existing:
            continue
        meta, problem = _routed(session, item, metas, pctx.offices)
        if meta is None:
            unroutable.append(Incident(item.bpmn_id, problem))
            continue
        if instance.case_id is not None:
            consents = consents or _consents(session, instance.case_id, known.case)
            meta = _for_case_owner(meta, consents)
        row = _task_row(session, instance, item, meta, pctx, now)
        task_rows.append(row)
        if consents is not None:
            assert meta.office is not None  # noqa: S101  # checked above
            if consents.needs_consent(meta.office):
                task_rows += _hold(session, instance, row, meta.office, consents, pctx, now)
                continue
        timer_rows += escalation_rows(instance.id, row["id"], row["spiff_task_id"], row["bpmn_id"],
                                      row["escalate_after"], row["due_at"], pctx.calendar, now,
                                      row["remind_before"])
        assignee = meta.assignee.lower() if meta.assignee and row["assignee_id"] is not None else None
        created.append(NewTask(row["id"], row["office_id"], item.bpmn_id, row, assignee, meta.audience))
    store.insert_rows(session, store.TASK, task_rows)
    store.insert_rows(session, store.TIMER, timer_rows)
    return created, task_rows, unroutable


def _routed(session: Session, item: ReadyHumanTask, metas: Mapping[str, ProcessMeta],
            offices: OfficeIds) -> tuple[HumanTaskMeta | None, str]:
    """The task's metadata routed to an existing office (officeFrom: the office named in the data),
    or None and why not."""
    meta = find_meta(metas, item)
    if meta is None:
        return None, f"no office for user task '{item.bpmn_id}' (not in the model's metadata)"
    meta = meta.routed(item.data)
    source = f" (officeFrom field '{meta.office_from}')" if meta.office_from else ""
    if meta.office is None:
        return None, f"no office for user task '{item.bpmn_id}'{source or ' (no lane)'}"
    try:
        offices.id_of(session, meta.office)
    except LookupError:
        return None, f"user task '{item.bpmn_id}': unknown office '{meta.office[:40]}'{source}"
    return meta, ""


def _consents(session: Session, case_id: UUID, case: CaseHeader | None) -> CaseConsents:
    if case is None:
        return case_consents(session, case_id)
    return CaseConsents(session, case_id, case.owner_office_id, case.owner_office_code)


def _for_case_owner(meta: HumanTaskMeta, consents: CaseConsents) -> HumanTaskMeta:
    """A lane "CM" means the case management that runs the case: a welfare organisation's
    case manager (FW) gets the steps of the cases it owns."""
    if meta.office == "CM" and consents.owner_code == "FW":
        return replace(meta, office="FW")
    return meta


def _hold(session: Session, instance: InstanceRecord, row: dict[str, Any], office: str, consents: CaseConsents,
          pctx: ProjectionContext, now: datetime) -> list[dict[str, Any]]:
    """No consent for the office yet: the task waits, case management is asked to obtain it."""
    assert instance.case_id is not None  # noqa: S101  # only cases have consents
    row.update(state=TaskState.HELD.value, due_at=None, due_sort=NO_DUE_DATE)
    if consents.owner_office_id is None:
        return []
    request = request_row(session, instance.case_id, instance.id, row["process_id"], office,
                          consents.owner_office_id, pctx.calendar, now)
    return [request] if request else []


def _task_row(session: Session, instance: InstanceRecord, item: ReadyHumanTask, meta: HumanTaskMeta,
              pctx: ProjectionContext, now: datetime) -> dict[str, Any]:
    assert meta.office is not None  # noqa: S101  # checked by the caller
    assignee_id = None
    if meta.assignee:
        assignee_id = session.scalar(select(User.id).where(User.username == meta.assignee.lower()))
    row: dict[str, Any] = {
        "id": uuid4(), "instance_id": instance.id, "case_id": instance.case_id, "spiff_task_id": item.spiff_id,
        "process_id": item.process_chain[-1], "bpmn_id": item.bpmn_id, "name": (meta.name or item.name)[:300],
        "office_id": pctx.offices.id_of(session, meta.office), "assignee_id": assignee_id,
        "state": TaskState.CLAIMED.value if assignee_id else TaskState.OPEN.value,
        "created_at": now, "due_at": due_at(meta.due_in, _due_start(meta, item, now, pctx.calendar), pctx.calendar),
        "escalation_level": 0, "escalate_after": meta.escalate_after, "due_in": meta.due_in,
        "remind_before": meta.remind_before or pctx.remind_before,
        "due_sort": NO_DUE_DATE,
        "form_key": meta.form_key, "audience": meta.audience, "data": {}, "version": 1,
        "context": task_context(meta.show_from, item.data) if meta.show_from else None,
    }
    row["due_sort"] = due_sort_of(row["due_at"])
    return row


def _due_start(meta: HumanTaskMeta, item: ReadyHumanTask, now: datetime, calendar: WorkingDayCalendar) -> datetime:
    """Deadlines count from the task's creation, or from a date in the data (``dueFrom``),
    e.g. first contact is due 10 working days after the referral, not after data entry."""
    if not meta.due_from:
        return now
    value: Any = item.data
    for part in meta.due_from.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    try:
        day = date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        day = None
    if day is None:
        return now
    return datetime.combine(day, time(12), tzinfo=calendar.tz)


def _sync_bpmn_timers(session: Session, instance: InstanceRecord, result: StepResult,
                      now: datetime) -> tuple[CancelledTimer, ...]:
    rows = store.bpmn_timers(session, instance.id)
    wanted = {t.spiff_id: t for t in result.timers}
    cancelled = _cancelled(session, instance, [sid for sid, (_, fire_at) in rows.items()
                                               if sid not in wanted and fire_at > now])
    store.delete_timers(session, (timer_id for sid, (timer_id, _) in rows.items() if sid not in wanted))
    new_rows = []
    for spiff_id, timer in wanted.items():
        existing = rows.get(spiff_id)
        if existing is None:
            new_rows.append(_bpmn_timer_row(instance, timer, now))
        elif existing[1] != timer.fire_at:
            store.move_timer(session, existing[0], timer.fire_at)
    store.insert_rows(session, store.TIMER, new_rows)
    return cancelled


def _write_bpmn_timer_changes(session: Session, instance: InstanceRecord, before: Waiting, result: StepResult,
                              now: datetime) -> tuple[CancelledTimer, ...]:
    wanted = {t.spiff_id: t for t in result.timers}
    gone = sorted(before.timers.keys() - wanted.keys())
    cancelled = tuple(sorted((CancelledTimer(t.bpmn_id, t.fire_at) for t in map(before.timers.__getitem__, gone)
                              if t.fire_at > now), key=lambda c: (c.fire_at, c.bpmn_id)))
    store.delete_bpmn_timers(session, instance.id, gone)
    for spiff_id, timer in wanted.items():
        if spiff_id in before.timers and before.timers[spiff_id].fire_at != timer.fire_at:
            store.move_bpmn_timer(session, instance.id, spiff_id, timer.fire_at)
    store.insert_rows(session, store.TIMER,
                      [_bpmn_timer_row(instance, t, now) for sid, t in wanted.items() if sid not in before.timers])
    return cancelled


def _cancelled(session: Session, instance: InstanceRecord, spiff_ids: list[UUID]) -> tuple[CancelledTimer, ...]:
    """The timers about to be removed although not yet due (read only when there are any)."""
    if not spiff_ids:
        return ()
    rows = session.execute(select(Timer.bpmn_id, Timer.fire_at).where(
        Timer.instance_id == instance.id, Timer.kind == TimerKind.BPMN.value, Timer.spiff_task_id.in_(spiff_ids))
        .order_by(Timer.fire_at, Timer.bpmn_id))
    return tuple(CancelledTimer(r.bpmn_id, r.fire_at) for r in rows)


def _bpmn_timer_row(instance: InstanceRecord, timer: PendingTimer, now: datetime) -> dict[str, Any]:
    return {"id": uuid4(), "instance_id": instance.id, "spiff_task_id": timer.spiff_id,
            "kind": TimerKind.BPMN.value, "level": 0, "bpmn_id": timer.bpmn_id[:200],
            "fire_at": timer.fire_at, "created_at": now, "attempts": 0}


def _record_history(session: Session, instance: InstanceRecord, result: StepResult) -> None:
    store.add_history(session, [
        {"instance_id": instance.id, "spiff_task_id": f.spiff_id, "bpmn_id": f.bpmn_id[:200],
         "name": f.name[:300], "kind": f.kind[:64], "state": f.state,
         "finished_at": datetime.fromtimestamp(f.finished_at, tz=UTC)}
        for f in result.finished
        if f.state == "COMPLETED" and f.kind not in INTERNAL_SPEC_TYPES and f.bpmn_id != "Root"
    ])
