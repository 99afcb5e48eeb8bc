"""The inbox: list, read and work human tasks (claim, release, assign, follow-up).

Queries read only our indexed ``task`` table (plus names from ``case_file`` and
``app_user``); no workflow is ever loaded to answer them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, and_, false, func, or_, select, text, update
from sqlalchemy.orm import Session, aliased

from engine import clock
from engine.domain.actors import Actor
from engine.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from engine.domain.periods import start_of_day
from engine.persistence import audit_log as audit
from engine.persistence.models import OPEN_STATES, CaseFile, HumanTask, Office, TaskState, User, UserOffice
from engine.services.context import EngineContext
from engine.services.notifications import notify as notifications

VIEWS = ("mine", "office", "all")
SORTS = {"due_at": HumanTask.due_sort, "created_at": HumanTask.created_at, "name": HumanTask.name,
         "escalation_level": HumanTask.escalation_level}
MAX_PAGE_SIZE = 200

_assignee = aliased(User)
_completer = aliased(User)


def task_query() -> Select[Any]:
    """Task columns plus the names around them, as plain rows (no ORM objects: inbox pages
    are read-only and loading entities costs more than the query)."""
    return (select(*HumanTask.__table__.c, Office.code.label("office_code"), _assignee.username.label("assignee_name"),
                   _completer.username.label("completed_by_name"), CaseFile.reference.label("case_reference"),
                   CaseFile.given_name, CaseFile.family_name)
            .join(Office, Office.id == HumanTask.office_id)
            .outerjoin(_assignee, _assignee.id == HumanTask.assignee_id)
            .outerjoin(_completer, _completer.id == HumanTask.completed_by_id)
            .outerjoin(CaseFile, CaseFile.id == HumanTask.case_id))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def task_json(row: Any) -> dict[str, Any]:
    task = row
    person = f"{row.given_name} {row.family_name}" if row.family_name else None
    return {
        "id": str(task.id), "case_id": str(task.case_id) if task.case_id else None,
        "case_reference": row.case_reference, "person_name": person,
        "process_instance_id": str(task.instance_id), "process_id": task.process_id, "bpmn_id": task.bpmn_id,
        "name": task.name, "office": row.office_code, "assignee": row.assignee_name, "state": task.state,
        "created_at": _iso(task.created_at), "due_at": _iso(task.due_at), "follow_up_at": _iso(task.follow_up_at),
        "escalation_level": task.escalation_level, "form_key": task.form_key,
        "completed_at": _iso(task.completed_at), "completed_by": row.completed_by_name, "version": task.version,
    }


@dataclass
class TaskFilter:
    view: str = "office"
    state: str = "open"               # open (open + claimed) | claimed | completed | cancelled | any
    office: str | None = None
    overdue: bool = False
    assignee: str | None = None
    bpmn_id: str | None = None
    due_from: date | None = None
    due_to: date | None = None
    search: str | None = None
    include_follow_up: bool = False
    sort: str = "due_at"
    descending: bool = False
    page: int = 1
    per_page: int = 50
    errors: dict[str, str] = field(default_factory=dict)


def parse_filter(args: Mapping[str, str]) -> TaskFilter:
    """Query-string parameters to a filter; every bad one is reported by name (422)."""
    f = TaskFilter()
    f.view = args.get("view", "office")
    if f.view not in VIEWS:
        f.errors["view"] = f"one of {', '.join(VIEWS)}"
    f.state = args.get("state", "open") or "open"
    if f.state not in ("open", "claimed", "completed", "cancelled", "any"):
        f.errors["state"] = "one of open, claimed, completed, cancelled, any"
    f.office = (args.get("office") or "").upper() or None
    f.overdue = _flag(args, "overdue", f.errors)
    f.include_follow_up = _flag(args, "include_follow_up", f.errors)
    f.assignee = args.get("assignee") or None
    f.bpmn_id = args.get("step") or None
    f.search = (args.get("q") or "").strip()[:100] or None
    f.due_from = _date_arg(args, "due_from", f.errors)
    f.due_to = _date_arg(args, "due_to", f.errors)
    sort = args.get("sort", "due_at")
    f.descending = sort.startswith("-")
    f.sort = sort.lstrip("-")
    if f.sort not in SORTS:
        f.errors["sort"] = f"one of {', '.join(SORTS)} (prefix - for descending)"
    f.page = _int_arg(args, "page", 1, 1, 100_000, f.errors)
    f.per_page = _int_arg(args, "per_page", 50, 1, MAX_PAGE_SIZE, f.errors)
    if f.errors:
        raise InvalidInput("invalid filter", f.errors)
    return f


def _flag(args: Mapping[str, str], name: str, errors: dict[str, str]) -> bool:
    value = (args.get(name) or "false").lower()
    if value not in ("true", "false", "1", "0"):
        errors[name] = "true or false"
    return value in ("true", "1")


def _date_arg(args: Mapping[str, str], name: str, errors: dict[str, str]) -> date | None:
    value = args.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = "a date (YYYY-MM-DD)"
        return None


def _int_arg(args: Mapping[str, str], name: str, default: int, low: int, high: int,
             errors: dict[str, str]) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        errors[name] = f"a whole number from {low} to {high}"
        return default
    return int(raw)


OPEN_TASK = text("task.state IN ('open', 'claimed')")
COUNT_CAP = 1_000  # beyond this the inbox says "more than 1,000": counting further only costs time


def _scope(query: Select[Any], actor: Actor, f: TaskFilter) -> Select[Any]:
    """Deny by default: only tasks of the actor's offices, narrowed by the view."""
    if actor.role not in ("caseworker", "supervisor") or not actor.office_ids:
        return query.where(false())
    offices = sorted(actor.office_ids)
    office_match = HumanTask.office_id == offices[0] if len(offices) == 1 else HumanTask.office_id.in_(offices)
    query = query.where(office_match)
    if f.view == "mine":
        query = query.where(HumanTask.assignee_id == actor.user_id)
    elif f.view == "all" and actor.role != "supervisor":
        raise NotAllowed("the view 'all' is for office leads")
    return query


def _filters(query: Select[Any], f: TaskFilter, now: datetime) -> Select[Any]:
    """Conditions on the task table; joins only where a filter needs another table."""
    if f.state == "open":
        query = query.where(OPEN_TASK)  # written exactly as the partial indexes' condition
    elif f.state != "any":
        query = query.where(HumanTask.state == f.state)
    else:
        query = query.where(HumanTask.state != TaskState.HELD.value)  # held tasks are not the office's yet
    if f.state == "open" and not f.include_follow_up:
        query = query.where(or_(HumanTask.follow_up_at.is_(None), HumanTask.follow_up_at <= now))
    if f.office:
        query = query.where(HumanTask.office_id == select(Office.id).where(Office.code == f.office).scalar_subquery())
    if f.overdue:
        query = query.where(HumanTask.due_sort < now)  # due_sort: no due date sorts far in the future
    if f.assignee:
        query = query.where(HumanTask.assignee_id == select(User.id).where(
            User.username == f.assignee.lower()).scalar_subquery())
    if f.bpmn_id:
        query = query.where(HumanTask.bpmn_id == f.bpmn_id)
    if f.due_from:
        query = query.where(HumanTask.due_at >= start_of_day(f.due_from))
    if f.due_to:
        query = query.where(HumanTask.due_at < start_of_day(date.fromordinal(f.due_to.toordinal() + 1)))
    if f.search:
        like = f"%{f.search.lower()}%"
        query = query.join(CaseFile, CaseFile.id == HumanTask.case_id).where(or_(
            func.lower(CaseFile.reference).like(like), func.lower(CaseFile.family_name).like(like),
            func.lower(CaseFile.given_name).like(like)))
    return query


def _count(session: Session, base: Select[Any]) -> int:
    """Matches up to COUNT_CAP + 1 (walking further only costs time)."""
    return int(session.scalar(select(func.count()).select_from(base.limit(COUNT_CAP + 1).subquery())) or 0)


def list_tasks(ctx: EngineContext, actor: Actor, f: TaskFilter) -> dict[str, Any]:
    """One page of tasks: the page's ids come from the task table alone (an index walk in due
    date order), the names of cases and people are joined for those 50 rows only."""
    now = clock.now()
    with ctx.uow(write=False) as uow:
        base = _filters(_scope(select(HumanTask.id), actor, f), f, now)
        total = _count(uow.session, base)
        column = SORTS[f.sort]
        order = column.desc() if f.descending else column.asc()
        ids = list(uow.session.scalars(base.order_by(order, HumanTask.id).limit(f.per_page)
                                       .offset((f.page - 1) * f.per_page)))
        rows = {r.id: r for r in uow.session.execute(task_query().where(HumanTask.id.in_(ids)))} if ids else {}
        items = [task_json(rows[i]) for i in ids if i in rows]
    return {"items": items, "total": min(total, COUNT_CAP), "total_capped": total > COUNT_CAP,
            "page": f.page, "per_page": f.per_page}


def count_views(session: Session, actor: Actor) -> dict[str, int]:
    """Open tasks per view for the navigation: counts only (every page shows them)."""
    views = {"mine": TaskFilter(view="mine"), "office": TaskFilter(view="office")}
    if actor.role == "supervisor":
        views["overdue"] = TaskFilter(view="office", overdue=True)
    now = clock.now()
    return {name: min(_count(session, _filters(_scope(select(HumanTask.id), actor, f), f, now)), COUNT_CAP)
            for name, f in views.items()}


def _load_task(session: Session, actor: Actor, task_id: UUID) -> Any:
    row = session.execute(task_query().where(HumanTask.id == task_id)).first()
    if row is None or actor.role not in ("caseworker", "supervisor") or row.office_id not in actor.office_ids \
            or row.state == TaskState.HELD.value:
        raise NotFound("no such task")  # a held task belongs to an office without the person's consent
    return row


def get_task(ctx: EngineContext, actor: Actor, task_id: UUID) -> dict[str, Any]:
    with ctx.uow() as uow:  # audited read
        task = _load_task(uow.session, actor, task_id)
        result = task_json(task)
        result["data"] = task.data
        audit.record(uow.session, actor, "task.read", "task", task.id, case_id=task.case_id,
                     instance_id=task.instance_id)
        uow.commit()
    return result


def _change(ctx: EngineContext, actor: Actor, task_id: UUID, action: str, values: dict[str, Any],
            allowed_states: tuple[str, ...], check: Any = None, after: Any = None) -> dict[str, Any]:
    """Compare-and-set update of one task the actor may work on; 409 if it changed meanwhile."""
    with ctx.uow() as uow:
        session = uow.session
        task = _load_task(session, actor, task_id)
        if task.state not in allowed_states:
            raise Conflict(f"the task is {task.state}")
        if check is not None:
            check(session, task)
        result = session.connection().execute(
            update(HumanTask).where(and_(HumanTask.id == task.id, HumanTask.version == task.version))
            .values(version=task.version + 1, **values))
        if result.rowcount != 1:
            raise Conflict("the task was changed by someone else")
        if after is not None:
            after(session, task)  # e.g. notify, in this transaction
        shown = {k: (v if k != "data" else "(draft)") for k, v in values.items()}  # no case data in the log
        audit.record(session, actor, f"task.{action}", "task", task.id, case_id=task.case_id,
                     instance_id=task.instance_id, details={k: str(v) for k, v in shown.items()})
        updated = session.execute(task_query().where(HumanTask.id == task.id)).first()
        uow.commit()
    return task_json(updated)


def claim_task(ctx: EngineContext, actor: Actor, task_id: UUID) -> dict[str, Any]:
    def not_claimed_by_other(_session: Session, task: Any) -> None:
        if task.assignee_id not in (None, actor.user_id):
            raise Conflict("the task is claimed by a colleague")

    return _change(ctx, actor, task_id, "claim", {"assignee_id": actor.user_id, "state": TaskState.CLAIMED.value},
                   OPEN_STATES, not_claimed_by_other)


def release_task(ctx: EngineContext, actor: Actor, task_id: UUID) -> dict[str, Any]:
    def own_or_lead(_session: Session, task: Any) -> None:
        if task.assignee_id != actor.user_id and actor.role != "supervisor":
            raise Conflict("only the assignee or the office lead can release the task")

    return _change(ctx, actor, task_id, "release", {"assignee_id": None, "state": TaskState.OPEN.value},
                   (TaskState.CLAIMED.value,), own_or_lead)


def assign_task(ctx: EngineContext, actor: Actor, task_id: UUID, username: object) -> dict[str, Any]:
    if not isinstance(username, str) or not username.strip():
        raise InvalidInput("whom to assign the task to", {"username": "required"})
    with ctx.uow(write=False) as uow:
        colleague = uow.session.scalar(select(User).where(User.username == username.strip().lower(),
                                                          User.active.is_(True)))
    if colleague is None:
        raise InvalidInput("unknown user", {"username": "unknown user"})

    def colleague_in_office(session: Session, task: Any) -> None:
        member = session.scalar(select(func.count()).select_from(UserOffice).where(
            UserOffice.user_id == colleague.id, UserOffice.office_id == task.office_id))
        if not member:
            raise InvalidInput("the user does not work in the task's office", {"username": "not in this office"})
        if task.assignee_id not in (None, actor.user_id) and actor.role != "supervisor":
            raise Conflict("the task is claimed by a colleague")

    def tell_colleague(session: Session, task: Any) -> None:
        notifications.task_assigned(session, ctx, actor, task.id, colleague.id, task.version + 1)

    return _change(ctx, actor, task_id, "assign", {"assignee_id": colleague.id, "state": TaskState.CLAIMED.value},
                   OPEN_STATES, colleague_in_office, tell_colleague)


def set_follow_up(ctx: EngineContext, actor: Actor, task_id: UUID, value: object) -> dict[str, Any]:
    """Wiedervorlage: the task hides from the inbox until the start of that day; null clears it."""
    follow_up: datetime | None = None
    if value is not None:
        try:
            day = date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            day = None
        if day is None:
            raise InvalidInput("a date (YYYY-MM-DD) or null", {"date": "must be a date (YYYY-MM-DD) or null"})
        if day <= clock.local_now().date() or day.year > 2100:
            raise InvalidInput("the follow-up date must be in the future", {"date": "must be in the future"})
        follow_up = start_of_day(day)
    return _change(ctx, actor, task_id, "follow_up", {"follow_up_at": follow_up}, OPEN_STATES)


def task_summary(ctx: EngineContext, actor: Actor, task_id: UUID) -> dict[str, Any]:
    """A task as the inbox shows it, for the reply of an action the caller just audited."""
    with ctx.uow(write=False) as uow:
        return task_json(_load_task(uow.session, actor, task_id))


def save_draft(ctx: EngineContext, actor: Actor, task_id: UUID, data: object) -> dict[str, Any]:
    """Keep what was typed so far without completing (no validation: drafts may be partial)."""
    if not isinstance(data, dict):
        raise InvalidInput("data must be an object", {"data": "must be an object"})
    if len(str(data)) > 200_000:
        raise InvalidInput("the draft is too large", {"data": "too large"})

    def may_work(_session: Session, task: Any) -> None:
        if task.assignee_id not in (None, actor.user_id) and actor.role != "supervisor":
            raise Conflict("the task is claimed by a colleague")

    result = _change(ctx, actor, task_id, "draft", {"data": data}, OPEN_STATES, may_work)
    result["data"] = data
    return result
