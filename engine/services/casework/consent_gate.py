"""Consent gates hand-overs (DOMAIN.md sections 3 and 7).

A task that carries a person's data to another office is created *held* when that office
holds no valid consent for the case: the office does not see it, and the case management
gets a task to obtain the consent. Recording the consent releases the held tasks (with a
fresh due date); withdrawing it takes the office's open tasks away again (audited) and asks
for a new consent. Case management itself and the KIM coordination are exempt.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.calendar import WorkingDayCalendar
from engine.domain.actors import Actor
from engine.persistence import audit_log as audit
from engine.persistence import store
from engine.persistence.models import NO_DUE_DATE, Consent, HumanTask, Office, TaskState, due_sort_of
from engine.services.stepping.consent_hold import REQUEST_PREFIX, case_consents
from engine.services.stepping.deadlines import DEFAULT_REMIND_BEFORE, escalation_rows
from engine.services.stepping.deadlines import due_at as compute_due_at


def release_held(session: Session, actor: Actor, case_id: UUID, office_id: int,
                 calendar: WorkingDayCalendar) -> list[UUID]:
    """Consent recorded: the office's held tasks of the case become open with a fresh due date."""
    now = clock.now()
    held = list(session.scalars(select(HumanTask).where(HumanTask.case_id == case_id, HumanTask.office_id == office_id,
                                                        HumanTask.state == TaskState.HELD.value)))
    for task in held:
        due = compute_due_at(task.due_in, now, calendar)
        session.connection().execute(update(store.TASK).where(store.TASK.c.id == task.id).values(
            state=TaskState.OPEN.value, due_at=due, due_sort=due_sort_of(due), version=task.version + 1))
        store.insert_rows(session, store.TIMER, escalation_rows(
            task.instance_id, task.id, task.spiff_task_id, task.bpmn_id, task.escalate_after, due, calendar, now,
            task.remind_before or DEFAULT_REMIND_BEFORE))
        audit.record(session, actor, "task.release", "task", task.id, case_id=case_id,
                     details={"reason": "consent recorded"})
    _close_requests(session, actor, case_id, office_id, now)
    return [t.id for t in held]


def _close_requests(session: Session, actor: Actor, case_id: UUID, office_id: int, now: datetime) -> None:
    code = session.scalar(select(Office.code).where(Office.id == office_id))
    session.connection().execute(update(store.TASK).where(
        store.TASK.c.case_id == case_id, store.TASK.c.bpmn_id == f"{REQUEST_PREFIX}{code}",
        store.TASK.c.state.in_((TaskState.OPEN.value, TaskState.CLAIMED.value))).values(
        state=TaskState.COMPLETED.value, completed_at=now, completed_by_id=actor.user_id,
        version=store.TASK.c.version + 1))


def hold_open_tasks(session: Session, actor: Actor, case_id: UUID, office_id: int) -> list[UUID]:
    """Consent withdrawn: the office's open tasks of the case are taken away from it (audited)."""
    ids = list(session.scalars(select(HumanTask.id).where(
        HumanTask.case_id == case_id, HumanTask.office_id == office_id,
        HumanTask.state.in_((TaskState.OPEN.value, TaskState.CLAIMED.value)))))
    if not ids:
        return []
    conn = session.connection()
    conn.execute(update(store.TASK).where(store.TASK.c.id.in_(ids)).values(
        state=TaskState.HELD.value, assignee_id=None, due_at=None, due_sort=NO_DUE_DATE,
        version=store.TASK.c.version + 1))
    conn.execute(store.TIMER.delete().where(store.TIMER.c.task_id.in_(ids), store.TIMER.c.fired_at.is_(None)))
    for task_id in ids:
        audit.record(session, actor, "task.cancel", "task", task_id, case_id=case_id,
                     details={"reason": "consent withdrawn", "state": TaskState.HELD.value})
    return ids


def complete_request(session: Session, actor: Actor, bpmn_id: str, case_id: UUID, data: Mapping[str, Any],
                     calendar: WorkingDayCalendar) -> None:
    """The consent-request task: ``erteilt`` records the consent and releases the held tasks."""
    office_code = bpmn_id[len(REQUEST_PREFIX):]
    office_id = session.scalar(select(Office.id).where(Office.code == office_code))
    if data.get("erteilt") and office_id is not None:
        categories = [row.get("kategorie") for row in data.get("kategorien") or [] if isinstance(row, Mapping)]
        record(session, actor, case_id, office_id, office_code, [c for c in categories if c],
               str(data.get("zweck") or f"Übergabe an {office_code}"), calendar)
    else:
        audit.record(session, actor, "consent.refused", "case", case_id, case_id=case_id,
                     details={"office": office_code})



def record(session: Session, actor: Actor, case_id: UUID, office_id: int, office_code: str,
           categories: list[str], purpose: str, calendar: WorkingDayCalendar) -> Consent:
    """Record a consent (audited) and release the office's held tasks of the case."""
    consent = Consent(id=uuid4(), case_id=case_id, office_id=office_id, categories=sorted(set(categories)),
                      purpose=purpose, granted_at=clock.now(), recorded_by=actor.username)
    session.add(consent)
    session.flush()
    audit.record(session, actor, "consent.record", "consent", consent.id, case_id=case_id,
                 details={"office": office_code, "categories": consent.categories})
    release_held(session, actor, case_id, office_id, calendar)
    return consent


def record_from_form(session: Session, actor: Actor, case_id: UUID, rows: list[Any],
                     calendar: WorkingDayCalendar) -> int:
    """Consents from a completed consent form; offices that hold a valid consent already are skipped."""
    if not rows:
        return 0
    current = case_consents(session, case_id).consented
    recorded = 0
    for row in rows:
        office_id = session.scalar(select(Office.id).where(Office.code == row.office))
        if office_id is None or row.office in current:
            continue
        record(session, actor, case_id, office_id, row.office, list(row.categories),
               row.purpose or f"Übergabe an {row.office}", calendar)
        current.add(row.office)
        recorded += 1
    return recorded
