"""Two personal lists beside the inbox: "Meine Fälle" (the open cases a case manager works on, with
their next deadline) and "Meine Wiedervorlagen" (tasks set aside until a day).

Both are read-only, read from the indexed task and case tables, and audited as list reads on the
actor's chain (a list shows people's names).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import Actor
from engine.domain.permissions import Permission, require
from engine.domain.visibility import CASE_MANAGEMENT, sees_lead_tasks
from engine.persistence import audit_log
from engine.persistence.models import CaseFile, CaseStatus, HumanTask, Office, TaskState
from engine.services.casework.inbox import task_query, task_view
from engine.services.casework.views import TaskView
from engine.services.context import UnitOfWork

OPEN = (TaskState.OPEN.value, TaskState.CLAIMED.value)
LIMIT = 500


@dataclass(frozen=True)
class MyCase:
    """An open case of the actor's case-management office that the actor opened or works on."""

    id: UUID
    reference: str
    person_name: str
    opened_at: datetime
    open_tasks: int
    next_due_at: datetime | None
    next_step: str | None
    next_task_id: UUID | None


def my_cases(uow: UnitOfWork, actor: Actor) -> tuple[MyCase, ...]:
    """Open cases owned by the actor's case-management office (CM or FW) that the actor opened or
    holds a task of, earliest next deadline first (cases without a deadline last)."""
    require(actor, Permission.WORK_TASKS)
    session = uow.session
    offices = list(session.scalars(select(Office.id).where(
        Office.id.in_(sorted(actor.office_ids)), Office.code.in_(sorted(CASE_MANAGEMENT)))))
    if not offices:
        return ()
    involved = exists().where(HumanTask.case_id == CaseFile.id, HumanTask.assignee_id == actor.user_id)
    cases = session.execute(select(CaseFile.id, CaseFile.reference, CaseFile.given_name, CaseFile.family_name,
                                   CaseFile.opened_at)
                            .where(CaseFile.owner_office_id.in_(offices), CaseFile.status == CaseStatus.OPEN.value,
                                   or_(CaseFile.created_by == actor.username, involved))
                            .order_by(CaseFile.opened_at.desc()).limit(LIMIT)).all()
    open_tasks = _open_tasks(session, actor, [row.id for row in cases])
    found = [_my_case(row, open_tasks.get(row.id, [])) for row in cases]
    audit_log.record(session, actor, "case.list", "case", None, details={"list": "mine", "rows": len(found)})
    far = datetime.max.replace(tzinfo=clock.now().tzinfo)
    return tuple(sorted(found, key=lambda c: (c.next_due_at or far, c.reference)))


def _open_tasks(session: Session, actor: Actor, case_ids: list[UUID]) -> dict[UUID, list[Any]]:
    """The open tasks of the cases in one query (tasks for office leads only for leads)."""
    if not case_ids:
        return {}
    conditions = [HumanTask.case_id.in_(case_ids), HumanTask.state.in_(OPEN)]
    if not sees_lead_tasks(actor):
        conditions.append(HumanTask.audience.is_(None))
    found: dict[UUID, list[Any]] = defaultdict(list)
    for task in session.execute(select(HumanTask.id, HumanTask.case_id, HumanTask.name, HumanTask.due_at)
                                .where(*conditions).order_by(HumanTask.due_sort, HumanTask.id)):
        found[task.case_id].append(task)
    return found


def _my_case(row: Any, tasks: list[Any]) -> MyCase:
    nxt = next((t for t in tasks if t.due_at is not None), None)  # ordered by due date
    return MyCase(row.id, row.reference, f"{row.given_name} {row.family_name}", row.opened_at, len(tasks),
                  nxt.due_at if nxt else None, nxt.name if nxt else None, nxt.id if nxt else None)


def my_follow_ups(uow: UnitOfWork, actor: Actor) -> tuple[TaskView, ...]:
    """Open tasks of the actor's offices with a follow-up date still ahead, soonest first: those the
    actor holds, and the unclaimed ones (which would otherwise vanish from every list)."""
    require(actor, Permission.WORK_TASKS)
    session = uow.session
    if not actor.office_ids:
        return ()
    conditions = [HumanTask.office_id.in_(sorted(actor.office_ids)), HumanTask.state.in_(OPEN),
                  HumanTask.follow_up_at > clock.now(),
                  or_(HumanTask.assignee_id == actor.user_id, HumanTask.assignee_id.is_(None))]
    if not sees_lead_tasks(actor):
        conditions.append(HumanTask.audience.is_(None))
    rows = session.execute(task_query().where(*conditions).order_by(HumanTask.follow_up_at, HumanTask.id)
                           .limit(LIMIT)).all()
    audit_log.record(session, actor, "task.list", "task", None, details={"list": "follow_ups", "rows": len(rows)})
    return tuple(task_view(r) for r in rows)
