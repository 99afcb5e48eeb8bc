"""The lists the inbox and the task page offer instead of typed ids: the steps of the actor's
offices (by name) and the colleagues a task can go to.

Read from the task table's open rows (the partial inbox indexes) and the user tables; no case data.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import select

from engine.domain.actors import Actor
from engine.domain.visibility import may_see_task, sees_lead_tasks
from engine.persistence.models import HumanTask, Office, TaskState, User, UserOffice
from engine.services.casework.task_actions import load_task_row
from engine.services.context import UnitOfWork

OPEN = (TaskState.OPEN.value, TaskState.CLAIMED.value)


@dataclass(frozen=True)
class StepChoice:
    bpmn_id: str
    name: str


@dataclass(frozen=True)
class Colleague:
    username: str
    display_name: str
    offices: tuple[str, ...]


def step_choices(uow: UnitOfWork, actor: Actor) -> tuple[StepChoice, ...]:
    """The steps that have open tasks in the actor's offices, by name (one entry per step id)."""
    if not actor.office_ids:
        return ()
    conditions = [HumanTask.office_id.in_(sorted(actor.office_ids)), HumanTask.state.in_(OPEN)]
    if not sees_lead_tasks(actor):
        conditions.append(HumanTask.audience.is_(None))
    rows = uow.session.execute(select(HumanTask.bpmn_id, HumanTask.name).where(*conditions).distinct())
    names: dict[str, str] = {}
    for bpmn_id, name in rows:
        names.setdefault(bpmn_id, name)
    return tuple(StepChoice(i, n) for i, n in sorted(names.items(), key=lambda item: (item[1].lower(), item[0])))


def office_colleagues(uow: UnitOfWork, actor: Actor) -> tuple[Colleague, ...]:
    """Active users of the actor's offices (for the "Bearbeitung" filter)."""
    return tuple(c for c, _role in _colleagues(uow, sorted(actor.office_ids)))


def task_colleagues(uow: UnitOfWork, actor: Actor, task_id: UUID) -> tuple[Colleague, ...]:
    """Whom the task can be assigned to: active users of the task's office who may see it (a task
    for the leads: the office's leads only)."""
    task = load_task_row(uow.session, actor, task_id)
    people = _colleagues(uow, [task.office_id])
    return tuple(c for c, role in people
                 if may_see_task(Actor(c.username, role, frozenset({task.office_id})), task.office_id, task.audience))


def _colleagues(uow: UnitOfWork, office_ids: list[int]) -> list[tuple[Colleague, str]]:
    """Each active user of the offices once, with their role (who may see a task depends on it)."""
    if not office_ids:
        return []
    rows = uow.session.execute(select(User.username, User.display_name, User.role, Office.code)
                               .join(UserOffice, UserOffice.user_id == User.id)
                               .join(Office, Office.id == UserOffice.office_id)
                               .where(UserOffice.office_id.in_(office_ids), User.active.is_(True))
                               .order_by(User.username, Office.code))
    found: dict[str, tuple[str, str, list[str]]] = {}
    for username, display_name, role, code in rows:
        found.setdefault(username, (display_name or "", role, []))[2].append(code)
    return [(Colleague(u, d, tuple(codes)), role) for u, (d, role, codes) in found.items()]
