"""An office lead's view of the office's people: reassign many overdue tasks at once, and who
carries how much.

Bulk reassignment is the single assignment (:func:`task_actions.assign_task`) repeated in one
unit of work: every task gets its own audited ``task.assign`` and its colleague's notification,
and when one task cannot go to the colleague nothing is changed - the error names each task
that failed and why, so the lead can untick it and try again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import and_, case, func, select

from engine import clock
from engine.domain.actors import Actor
from engine.domain.errors import EngineError, InvalidInput
from engine.domain.permissions import Permission, require
from engine.persistence import audit_log
from engine.persistence.models import OPEN_STATES, HumanTask, Office, User, UserOffice
from engine.services.casework.task_actions import assign_task
from engine.services.casework.views import TaskView
from engine.services.context import UnitOfWork

MAX_TASKS = 200


class ReassignmentFailed(InvalidInput):
    """Nothing was reassigned; ``problems`` maps each failed task id to its engine error."""

    def __init__(self, problems: dict[str, EngineError], total: int) -> None:
        super().__init__(f"{len(problems)} of {total} tasks cannot be reassigned; nothing was changed",
                         {f"task_ids.{task_id}": str(error) for task_id, error in problems.items()})
        self.problems = problems


def _task_ids(raw: object) -> list[UUID]:
    if not isinstance(raw, list | tuple) or not raw:
        raise InvalidInput("choose at least one task", {"task_ids": "required (a list of task ids)"})
    if len(raw) > MAX_TASKS:
        raise InvalidInput(f"at most {MAX_TASKS} tasks at once", {"task_ids": f"at most {MAX_TASKS} tasks"})
    ids: list[UUID] = []
    for value in raw:
        try:
            task_id = UUID(str(value))
        except ValueError:
            raise InvalidInput("every entry must be a task id", {"task_ids": "not a task id"}) from None
        if task_id not in ids:
            ids.append(task_id)
    return ids


def reassign_tasks(uow: UnitOfWork, actor: Actor, task_ids: object, username: object) -> list[TaskView]:
    """Assign every task to ``username`` (a colleague of the tasks' office), or none of them."""
    require(actor, Permission.LEAD_OFFICE)
    ids = _task_ids(task_ids)
    done: list[TaskView] = []
    problems: dict[str, EngineError] = {}
    for task_id in ids:
        try:  # a refused task is refused before its row is written; the rest rolls back with the error
            done.append(assign_task(uow, actor, task_id, username))
        except InvalidInput as exc:
            if set(exc.fields) == {"username"} and exc.fields["username"] in ("required", "unknown user"):
                raise  # about the colleague, not the task: say it once
            problems[str(task_id)] = exc
        except EngineError as exc:
            problems[str(task_id)] = exc
    if problems:
        raise ReassignmentFailed(problems, len(ids))
    audit_log.record(uow.session, actor, "task.reassign_many", "task", None,
                     details={"tasks": len(done), "to": str(username)})
    return done


@dataclass(frozen=True)
class PersonLoad:
    username: str
    display_name: str | None
    office: str
    open_tasks: int
    overdue_tasks: int
    oldest_due_at: datetime | None


def office_workload(uow: UnitOfWork, actor: Actor) -> list[PersonLoad]:
    """Open and overdue tasks per person of each office the actor leads (operational, not a
    statistic: the lead sees these tasks in the office inbox anyway)."""
    require(actor, Permission.LEAD_OFFICE)
    now = clock.now()
    offices = sorted(actor.office_ids)
    is_open = and_(HumanTask.assignee_id == User.id, HumanTask.office_id == UserOffice.office_id,
                   HumanTask.state.in_(OPEN_STATES))
    overdue = case((HumanTask.due_at < now, 1), else_=0)
    rows = uow.session.execute(
        select(User.username, User.display_name, Office.code, func.count(HumanTask.id),
               func.coalesce(func.sum(overdue), 0), func.min(HumanTask.due_at))
        .join(UserOffice, UserOffice.user_id == User.id).join(Office, Office.id == UserOffice.office_id)
        .outerjoin(HumanTask, is_open)
        .where(UserOffice.office_id.in_(offices), User.active.is_(True))
        .group_by(User.username, User.display_name, Office.code)
        .order_by(Office.code, func.count(HumanTask.id).desc(), User.username)).all()
    audit_log.record(uow.session, actor, "report.workload", "office", None, details={"offices": len(offices)})
    return [PersonLoad(r[0], r[1], r[2], int(r[3]), int(r[4]), r[5]) for r in rows]


def office_colleagues(uow: UnitOfWork, actor: Actor) -> dict[str, list[tuple[str, str]]]:
    """Per office code the actor leads: (username, shown name) of its active people."""
    require(actor, Permission.LEAD_OFFICE)
    rows = uow.session.execute(
        select(Office.code, User.username, User.display_name).join(UserOffice, UserOffice.office_id == Office.id)
        .join(User, User.id == UserOffice.user_id)
        .where(Office.id.in_(sorted(actor.office_ids)), User.active.is_(True))
        .order_by(Office.code, User.username)).all()
    colleagues: dict[str, list[tuple[str, str]]] = {}
    for code, username, name in rows:
        colleagues.setdefault(code, []).append((username, f"{name} ({username})" if name else username))
    return colleagues
