"""Fire due timers: BPMN timer events, "due soon" reminders and escalation levels of overdue tasks.

Reminders and escalations notify people (:mod:`engine.services.notifications.notify`) in the same
transaction that marks them fired, so a notification exists exactly when its firing committed.

Timer rows are the work queue (ARCHITECTURE.md decision 3). Each instance with due rows is
locked (``SKIP LOCKED`` on PostgreSQL, so several schedulers share the work), what is due for
it fired, and committed - on PostgreSQL a few instances share one transaction
(:data:`INSTANCES_PER_TRANSACTION`), on SQLite each has its own (the write lock stays short).
A process killed mid-batch loses nothing: rows it did not commit are still due for the next
run. Escalation levels only ever go up, under the instance lock, so firing a row twice changes
nothing.

An instance whose firing raises is rolled back (the others of its transaction go again
without it); its due rows get ``attempts`` and
``last_error`` and move to a later ``fire_at`` (exponential backoff, at most an hour), so one
broken instance neither stops the others nor keeps a scheduler busy.

Schedulers sleep until the next ``fire_at``; inserting timer rows wakes them (a trigger sends
NOTIFY on PostgreSQL, see :mod:`engine.persistence.signals`; on SQLite the scheduler notices
commits itself).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import SYSTEM
from engine.persistence import store
from engine.persistence.models import InstanceStatus, ProcessInstance, Timer, TimerKind
from engine.services.context import EngineContext
from engine.services.notifications import notify as notifications
from engine.services.stepping import step
from engine.services.stepping.projection import Known

log = logging.getLogger(__name__)

MAX_RETRY_DELAY = timedelta(hours=1)
INSTANCES_PER_TRANSACTION = 10
"""PostgreSQL: instances fired in one transaction. One commit and one round of audit appends
for several instances; the instance locks are held for a few tens of milliseconds at most."""
FIRING_THREADS = 3
"""PostgreSQL: transactions of one scheduler run side by side. Firing waits for the database
most of the time; a few threads keep one scheduler process busy while it waits."""
MAX_ERROR_CHARS = 2000


@dataclass
class FireReport:
    bpmn_timers: int = 0
    escalations: int = 0
    reminders: int = 0      # "due soon" reminders fired (not in ``total``: they change no task)
    instances: int = 0      # instances locked and handled (even if nothing was left to fire)
    candidates: int = 0     # instances that had due rows when the batch was read
    skipped: int = 0        # held by another scheduler (PostgreSQL) - still due for them
    failed: int = 0         # rolled back; their rows were moved to a later retry

    @property
    def total(self) -> int:
        return self.bpmn_timers + self.escalations

    def add(self, other: FireReport) -> None:
        for name in ("bpmn_timers", "escalations", "reminders", "instances", "candidates", "skipped", "failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _fireable() -> ColumnElement[bool]:
    """Escalations and reminders always fire; BPMN timers only while their instance runs (not in an incident)."""
    return or_(Timer.kind.in_((TimerKind.ESCALATION.value, TimerKind.REMINDER.value)),
               ProcessInstance.status == InstanceStatus.RUNNING.value)


def due_instance_ids(session: Session, now: datetime, limit: int) -> list[UUID]:
    rows = session.execute(
        select(Timer.instance_id, func.min(Timer.fire_at).label("first"))
        .join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
        .where(Timer.fired_at.is_(None), Timer.fire_at <= now, _fireable())
        .group_by(Timer.instance_id).order_by("first").limit(limit))
    return [r.instance_id for r in rows]


def next_fire_at(session: Session) -> datetime | None:
    """When the next fireable row is due (ordered index scan, stops at the first match)."""
    return session.scalar(
        select(Timer.fire_at).join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
        .where(Timer.fired_at.is_(None), _fireable()).order_by(Timer.fire_at).limit(1))


def fire_due_timers(ctx: EngineContext, limit: int = 500,
                    should_stop: Callable[[], bool] | None = None) -> FireReport:
    """Fire what is due now for up to ``limit`` instances.

    On PostgreSQL a few instances share a transaction and :data:`FIRING_THREADS` transactions
    run side by side (a step mostly waits for the database; ``SKIP LOCKED`` keeps them apart);
    on SQLite one instance per transaction, one after the other. ``should_stop`` is asked
    between transactions, so a scheduler told to stop finishes the work at hand and leaves the
    rest due for the next run.
    """
    report = FireReport()
    now = clock.now()
    with ctx.uow(write=False) as uow:
        instance_ids = due_instance_ids(uow.session, now, limit)
    report.candidates = len(instance_ids)
    size = 1 if ctx.db.is_sqlite else INSTANCES_PER_TRANSACTION  # SQLite: the write lock stays short
    chunks = [instance_ids[first:first + size] for first in range(0, len(instance_ids), size)]
    threads = 1 if ctx.db.is_sqlite else min(FIRING_THREADS, len(chunks))
    if threads <= 1:
        _fire_chunks(ctx, iter(chunks), now, report, should_stop)
        return report
    queue, lock = iter(chunks), threading.Lock()

    def next_chunks() -> Iterator[list[UUID]]:
        while True:
            with lock:
                chunk = next(queue, None)
            if chunk is None:
                return
            yield chunk

    reports = [FireReport() for _ in range(threads)]
    with ThreadPoolExecutor(threads, thread_name_prefix="kim-fire") as pool:
        for done in [pool.submit(_fire_chunks, ctx, next_chunks(), now, r, should_stop) for r in reports]:
            done.result()  # a database gone: raised here as it would be without threads
    for part in reports:
        part.candidates = 0
        report.add(part)
    return report


def _fire_chunks(ctx: EngineContext, chunks: Iterator[list[UUID]], now: datetime, report: FireReport,
                 should_stop: Callable[[], bool] | None) -> None:
    for chunk in chunks:
        if should_stop is not None and should_stop():
            return
        _fire_together(ctx, chunk, now, report)


def _fire_together(ctx: EngineContext, instance_ids: list[UUID], now: datetime, report: FireReport) -> None:
    """Fire several instances in one transaction (one commit, one round of audit appends).

    If one of them raises, the transaction is rolled back, that instance's failure is recorded
    (as when it fires alone: it is retried later), and the others go again without it; if the
    commit itself fails, each goes alone. So a broken instance costs the others a repeat of
    their (rolled-back) work, never a firing.
    """
    pending = list(instance_ids)
    while pending:
        current: UUID | None = None
        fired: list[tuple[int, int, int] | None] = []
        try:
            with ctx.uow() as uow:
                for current in pending:
                    fired.append(fire_for_instance(uow.session, ctx, current, now))
                current = None
                uow.commit()
        except Exception as exc:  # one instance's failure: record it, go on with the others
            if current is None:  # the commit failed: nothing of it stands; each goes alone
                for instance_id in pending:
                    _fire_one(ctx, instance_id, now, report)
                return
            _failed(ctx, current, now, exc, report)
            pending.remove(current)
            continue
        for result in fired:
            _count(report, result)
        return


def _fire_one(ctx: EngineContext, instance_id: UUID, now: datetime, report: FireReport) -> None:
    try:
        with ctx.uow() as uow:
            fired = fire_for_instance(uow.session, ctx, instance_id, now)
            uow.commit()
    except Exception as exc:  # any failure of one instance: record it, go on with the others
        _failed(ctx, instance_id, now, exc, report)
        return
    _count(report, fired)


def _failed(ctx: EngineContext, instance_id: UUID, now: datetime, exc: Exception, report: FireReport) -> None:
    log.error("firing timers of instance %s failed", instance_id, exc_info=exc)
    record_failure(ctx, instance_id, now, exc)  # raises if the database itself is gone
    report.failed += 1


def _count(report: FireReport, fired: tuple[int, int, int] | None) -> None:
    if fired is None:
        report.skipped += 1
        return
    report.instances += 1
    report.bpmn_timers += fired[0]
    report.escalations += fired[1]
    report.reminders += fired[2]


def fire_for_instance(session: Session, ctx: EngineContext, instance_id: UUID,
                      now: datetime) -> tuple[int, int, int] | None:
    """Fire the due rows of one locked instance; None if another scheduler holds it.

    Returns (BPMN timers, escalations, reminders) fired.
    """
    locked = store.lock_instance_with_due_timers(session, instance_id, now, skip_locked=not ctx.db.is_sqlite)
    if locked is None:
        return None
    instance, due = locked
    due.sort(key=lambda t: (t.level, t.fire_at))
    reminders = _fire_reminders(session, ctx, instance, [t for t in due if t.kind == TimerKind.REMINDER.value], now)
    escalations = 0
    for timer in (t for t in due if t.kind == TimerKind.ESCALATION.value):  # level 1 before 2
        if store.raise_escalation(session, timer.id, timer.task_id, timer.level, now):
            escalations += 1
            step.audit_instance(session, SYSTEM, "task.escalate", "task", timer.task_id, instance,
                            {"level": timer.level})
            assert timer.task_id is not None  # noqa: S101  # raise_escalation lifts tasks only
            notifications.task_escalated(session, ctx, timer.task_id, timer.level)
    bpmn_due = [t for t in due if t.kind == TimerKind.BPMN.value]
    if not bpmn_due or instance.status != InstanceStatus.RUNNING.value:
        return 0, escalations, reminders
    workflow, spec = step.restore(session, ctx, instance)
    before = ctx.runtime.waiting(workflow)  # equals our rows: the step writes only what it changes
    result = ctx.runtime.fire_due_timers(workflow)
    # the projection drops the fired timers (gone from the workflow); a row the workflow does not
    # know (drift) goes here, or it would fire for ever
    store.delete_timers(session, (t.id for t in bpmn_due if t.spiff_task_id not in before.timers))
    step.persist_step(session, ctx, instance, workflow, result, spec, Known(before=before))
    fired = [t for t in bpmn_due if t.spiff_task_id in before.timers]
    for timer in fired:
        step.audit_instance(session, SYSTEM, "timer.fire", "timer", timer.bpmn_id, instance,
                        {"fire_at": timer.fire_at.isoformat()})
    return len(fired), escalations, reminders


def _fire_reminders(session: Session, ctx: EngineContext, instance: store.InstanceRecord, due: list[store.DueTimer],
                    now: datetime) -> int:
    """Mark reminder rows fired and tell the people concerned (only about tasks still open); audited."""
    fired = 0
    for timer in due:
        marked = session.execute(update(Timer).where(Timer.id == timer.id, Timer.fired_at.is_(None))
                                 .values(fired_at=now))
        if marked.rowcount == 1 and timer.task_id is not None:  # type: ignore[attr-defined]  # CursorResult
            notified = notifications.task_due_soon(session, ctx, timer.task_id)
            step.audit_instance(session, SYSTEM, "task.remind", "task", timer.task_id, instance, {"notified": notified})
            fired += 1
    return fired


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4, ... minutes after the 1st, 2nd, 3rd ... failure; never more than an hour."""
    return min(timedelta(minutes=2 ** min(max(attempts - 1, 0), 10)), MAX_RETRY_DELAY)


def record_failure(ctx: EngineContext, instance_id: UUID, now: datetime, error: BaseException) -> int:
    """In a short transaction of its own: count the attempt, keep the error, retry later."""
    message = f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS]
    with ctx.uow() as uow:
        if store.lock_instance(uow.session, instance_id, skip_locked=not ctx.db.is_sqlite) is None:
            return 0  # someone else is working on it right now; they will fire or record it
        rows = _due_rows(uow.session, instance_id, now)
        for row in rows:
            uow.session.execute(
                update(Timer).where(Timer.id == row.id, Timer.fired_at.is_(None))
                .values(attempts=row.attempts + 1, last_error=message,
                        fire_at=now + retry_delay(row.attempts + 1)))
        uow.commit()
    return len(rows)


def _due_rows(session: Session, instance_id: UUID, now: datetime) -> list[Any]:
    return list(session.execute(
        select(Timer.id, Timer.attempts)
        .where(Timer.instance_id == instance_id, Timer.fired_at.is_(None), Timer.fire_at <= now)))
