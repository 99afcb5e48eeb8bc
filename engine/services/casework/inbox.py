"""The inbox: list, read and work human tasks (claim, release, assign, follow-up, drafts).

Queries read only our indexed ``task`` table (plus names from ``case_file`` and
``app_user``); no workflow is ever loaded to answer them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from types import SimpleNamespace
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    Table,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import Actor
from engine.domain.days import parse_day
from engine.domain.errors import InvalidInput
from engine.domain.periods import start_of_day
from engine.domain.permissions import Permission, has, require
from engine.domain.visibility import sees_lead_tasks, sees_task_content
from engine.persistence import audit_log, direct
from engine.persistence.models import CaseFile, HumanTask, Office, TaskState, User
from engine.services.casework.views import TaskPage, TaskView
from engine.services.context import UnitOfWork

# Core tables: inbox pages are plain rows, and ORM-annotated columns cost time on every statement.
TASK: Table = HumanTask.__table__  # type: ignore[assignment]  # declarative tables are Tables
OFFICE: Table = Office.__table__  # type: ignore[assignment]
USERS: Table = User.__table__  # type: ignore[assignment]
CASES: Table = CaseFile.__table__  # type: ignore[assignment]

VIEWS = ("mine", "office", "all")
SORTS = {"due_at": TASK.c.due_sort, "created_at": TASK.c.created_at, "name": TASK.c.name,
         "escalation_level": TASK.c.escalation_level}
MAX_PAGE_SIZE = 200

_assignee = USERS.alias("assignee")
_completer = USERS.alias("completer")


# What a view shows, and only that: a page of a hundred rows pays for every column it reads
# (transfer, and a type conversion per date). Data and context are never on a page.
_LISTED = tuple(TASK.c[name] for name in (
    "id", "instance_id", "case_id", "process_id", "bpmn_id", "name", "state", "created_at", "due_at",
    "follow_up_at", "follow_up_reason", "completed_at", "escalation_level", "audience", "form_key", "version"))


def task_query(with_data: bool = True) -> Select[Any]:
    """Task columns plus the names around them, as plain rows (no ORM objects: inbox pages
    are read-only and loading entities costs more than the query)."""
    return (select(*(TASK.c if with_data else _LISTED), OFFICE.c.code.label("office_code"),
                   _assignee.c.username.label("assignee_name"), _completer.c.username.label("completed_by_name"),
                   CASES.c.reference.label("case_reference"), CASES.c.given_name, CASES.c.family_name)
            .join(OFFICE, OFFICE.c.id == TASK.c.office_id)
            .outerjoin(_assignee, _assignee.c.id == TASK.c.assignee_id)
            .outerjoin(_completer, _completer.c.id == TASK.c.completed_by_id)
            .outerjoin(CASES, CASES.c.id == TASK.c.case_id))


def task_view(row: Any) -> TaskView:
    """A task view from a row of :func:`task_query` (read by attribute: no mapping built per row)."""
    person = f"{row.given_name} {row.family_name}" if row.family_name else None
    return TaskView(
        id=row.id, case_id=row.case_id, case_reference=row.case_reference, person_name=person,
        process_instance_id=row.instance_id, process_id=row.process_id, bpmn_id=row.bpmn_id, name=row.name,
        office=row.office_code, assignee=row.assignee_name, state=row.state, created_at=row.created_at,
        due_at=row.due_at, follow_up_at=row.follow_up_at, escalation_level=row.escalation_level,
        form_key=row.form_key, completed_at=row.completed_at, completed_by=row.completed_by_name,
        version=row.version, audience=row.audience, follow_up_reason=row.follow_up_reason)


def view_of(row: Mapping[str, Any]) -> TaskView:
    """A task view from the same keys a use case already holds (a step's reply is built from
    what it wrote, not read back); the columns a new task has no value for yet may be missing."""
    return task_view(SimpleNamespace(**{**_NOT_YET_SET, **row}))


_NOT_YET_SET = dict.fromkeys(("follow_up_at", "completed_at", "completed_by_name", "audience", "follow_up_reason"))


def for_reader(actor: Actor, view: TaskView) -> TaskView:
    """The task as this reader may see it: an office lead sees the metadata of the caseworkers'
    tasks only (no person's name, no data; engine.domain.visibility.sees_task_content)."""
    if actor.is_system or sees_task_content(actor, view.audience, view.assignee == actor.username):
        return view
    return view.metadata_only()


def task_views(session: Session, conditions: Iterable[ColumnElement[bool]],
               order_by: Sequence[Any] = ()) -> list[TaskView]:
    return [task_view(r) for r in session.execute(task_query().where(*conditions).order_by(*order_by))]


def views_by_id(session: Session, ids: Sequence[UUID]) -> dict[UUID, TaskView]:
    """The tasks ``ids`` in one query (for a page, or a reply naming several tasks)."""
    if not ids:
        return {}
    return {v.id: v for v in task_views(session, [TASK.c.id.in_(list(ids))])}


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
    day = parse_day(value)
    if day is None:
        errors[name] = "a date (TT.MM.JJJJ or YYYY-MM-DD)"
        return None
    if not 1900 <= day.year <= 2200:  # far dates overflow when turned into Berlin midnight, and mean nothing
        errors[name] = "a date between 1900 and 2200"
        return None
    return day


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


@dataclass(frozen=True)
class _Shape:
    """What decides the inbox statement's SQL (not its values): statements of one shape are
    built once and reused with new bind values, since building a statement of subqueries and
    computing its cache key cost more than PostgreSQL takes to run it."""

    offices: int             # 1 (=) or more (IN)
    lead_tasks: bool         # the actor sees the tasks meant for the leads
    mine: bool               # view=mine: assigned to the actor
    state: str               # open | any | one named state
    follow_up_hidden: bool   # open tasks on follow-up (Wiedervorlage) in the future are left out
    office: bool
    overdue: bool
    assignee: bool
    step: bool
    due_from: bool
    due_to: bool
    search: str | None       # None | "reference" (leads) | "names"
    sort: str = "due_at"
    descending: bool = False
    per_page: int = 50       # written into the SQL (see :func:`_rows_at_most`)


def _shape(actor: Actor, f: TaskFilter) -> _Shape:
    state = f.state if f.state in ("open", "any") else "named"
    search = None if not f.search else ("reference" if has(actor, Permission.LEAD_OFFICE) else "names")
    return _Shape(min(len(actor.office_ids), 2), sees_lead_tasks(actor), f.view == "mine", state,
                  f.state == "open" and not f.include_follow_up, bool(f.office), f.overdue, bool(f.assignee),
                  bool(f.bpmn_id), bool(f.due_from), bool(f.due_to), search, f.sort, f.descending, f.per_page)


def _values(actor: Actor, f: TaskFilter, now: datetime) -> dict[str, Any]:
    """The bind values of a filter (keys as :func:`_matching` names them)."""
    offices = sorted(actor.office_ids)
    return {"p_office_id": offices[0] if offices else None, "p_office_ids": offices, "p_user_id": actor.user_id,
            "p_state": f.state, "p_now": now, "p_office": f.office,
            "p_assignee": f.assignee.lower() if f.assignee else None, "p_step": f.bpmn_id,
            "p_due_from": start_of_day(f.due_from) if f.due_from else None,
            "p_due_to": start_of_day(date.fromordinal(f.due_to.toordinal() + 1)) if f.due_to else None,
            "p_like": f"%{f.search.lower()}%" if f.search else None,
            "p_offset": (f.page - 1) * f.per_page}


def _matching(shape: _Shape) -> Select[Any]:
    """The ids of the tasks a filter of this shape matches. Deny by default: only tasks of the
    actor's offices, narrowed by the view; tasks for the leads (escalations) only for the leads
    (engine.domain.visibility.may_see_task). Joins only where a filter needs another table; the
    search matches names only for readers who see names (not office leads)."""
    at = bindparam("p_now", type_=TASK.c.due_sort.type)
    query = select(TASK.c.id).where(TASK.c.office_id == bindparam("p_office_id") if shape.offices == 1
                                    else TASK.c.office_id.in_(bindparam("p_office_ids", expanding=True)))
    if not shape.lead_tasks:
        query = query.where(TASK.c.audience.is_(None))
    if shape.mine:
        query = query.where(TASK.c.assignee_id == bindparam("p_user_id"))
    if shape.state == "open":
        query = query.where(OPEN_TASK)  # written exactly as the partial indexes' condition
    elif shape.state == "named":
        query = query.where(TASK.c.state == bindparam("p_state"))
    else:
        query = query.where(TASK.c.state != TaskState.HELD.value)  # held tasks are not the office's yet
    if shape.follow_up_hidden:
        query = query.where(or_(TASK.c.follow_up_at.is_(None), TASK.c.follow_up_at <= at))
    if shape.office:
        query = query.where(TASK.c.office_id == select(OFFICE.c.id).where(
            OFFICE.c.code == bindparam("p_office")).scalar_subquery())
    if shape.overdue:
        query = query.where(TASK.c.due_sort < at)  # due_sort: no due date sorts far in the future
    if shape.assignee:
        query = query.where(TASK.c.assignee_id == select(USERS.c.id).where(
            USERS.c.username == bindparam("p_assignee")).scalar_subquery())
    if shape.step:
        query = query.where(TASK.c.bpmn_id == bindparam("p_step"))
    if shape.due_from:
        query = query.where(TASK.c.due_at >= bindparam("p_due_from", type_=TASK.c.due_at.type))
    if shape.due_to:
        query = query.where(TASK.c.due_at < bindparam("p_due_to", type_=TASK.c.due_at.type))
    if shape.search:
        like: BindParameter[str] = bindparam("p_like")
        names = (func.lower(CASES.c.family_name).like(like), func.lower(CASES.c.given_name).like(like))
        query = query.join(CASES, CASES.c.id == TASK.c.case_id).where(or_(
            func.lower(CASES.c.reference).like(like), *(names if shape.search == "names" else ())))
    return query


# What the page subquery carries out of the task table: the listed columns, the keys of the names
# joined to them, and every sort column.
_PAGE_COLUMNS = tuple({c.key: c for c in (*_LISTED, TASK.c.office_id, TASK.c.assignee_id, TASK.c.completed_by_id,
                                          *SORTS.values())}.values())


@lru_cache(maxsize=512)
def _page_statement(shape: _Shape) -> Select[Any]:
    """One page in one statement: the page's rows come from the task table alone (an index walk
    in the sort order, which reads each row once), the names of offices, cases and people are
    joined for those rows only, and the capped count rides along as a scalar subquery."""
    base = _matching(shape)
    column = SORTS[shape.sort]
    order = column.desc() if shape.descending else column.asc()
    page = (base.with_only_columns(*_PAGE_COLUMNS).order_by(order, TASK.c.id).limit(_rows_at_most(shape.per_page))
            .offset(bindparam("p_offset", type_=Integer)).subquery("page"))
    total_matching = select(func.count()).select_from(base.limit(_rows_at_most(COUNT_CAP + 1)).subquery()
                                                      ).scalar_subquery()
    sort = page.c[column.key]
    return (select(*(page.c[c.key] for c in _LISTED), OFFICE.c.code.label("office_code"),
                   _assignee.c.username.label("assignee_name"), _completer.c.username.label("completed_by_name"),
                   CASES.c.reference.label("case_reference"), CASES.c.given_name, CASES.c.family_name,
                   total_matching.label("total_matching"))
            .select_from(page.join(OFFICE, OFFICE.c.id == page.c.office_id)
                         .outerjoin(_assignee, _assignee.c.id == page.c.assignee_id)
                         .outerjoin(_completer, _completer.c.id == page.c.completed_by_id)
                         .outerjoin(CASES, CASES.c.id == page.c.case_id))
            .order_by(sort.desc() if shape.descending else sort.asc(), page.c.id))


@lru_cache(maxsize=512)
def _page(shape: _Shape) -> direct.Statement:
    return direct.Statement(_page_statement(shape))


@lru_cache(maxsize=512)
def _count_statement(shape: _Shape) -> Select[Any]:
    """Matches up to COUNT_CAP + 1 (walking further only costs time)."""
    return select(func.count()).select_from(_matching(shape).limit(_rows_at_most(COUNT_CAP + 1)).subquery())


def _rows_at_most(count: int) -> ColumnElement[int]:
    """A LIMIT written into the SQL, not bound: PostgreSQL then plans the prepared page statement
    once for all (a generic plan that knows it wants the first hundred rows); with the limit as a
    parameter it planned anew on every request (measured: 1.6 ms against 1.0 ms at 2,000 open)."""
    return literal_column(str(int(count)), Integer)


def _count(session: Session, actor: Actor, f: TaskFilter, now: datetime) -> int:
    if not _may_list(actor):
        return 0
    return int(session.connection().execute(_count_statement(_shape(actor, f)), _values(actor, f, now)).scalar() or 0)


def _may_list(actor: Actor) -> bool:
    return has(actor, Permission.WORK_TASKS) and bool(actor.office_ids)


def list_tasks(uow: UnitOfWork, actor: Actor, f: TaskFilter) -> TaskPage:
    """One page of tasks in one statement (:func:`_page_statement`).

    The read is audited on the actor's chain - who listed what, with which filter (a name
    search returns people's names), and how many rows came back.
    """
    now = clock.now()
    session = uow.session
    rows: list[Any] = []
    if _may_list(actor):  # deny by default: no offices, no tasks
        if f.view == "all":
            require(actor, Permission.LEAD_OFFICE)
        rows = audit_log.read_with_own_chain_locked(session, actor, _page(_shape(actor, f)),
                                                    _values(actor, f, now)).rows
    # past the last page (or nothing at all) the count did not come along
    total = int(rows[0].total_matching) if rows else (_count(session, actor, f, now) if f.page > 1 else 0)
    audit_log.record(session, actor, "task.list", "task", None, details={
        "filter": _described(f), "rows": len(rows), "total": min(total, COUNT_CAP)})
    return TaskPage(tuple(for_reader(actor, task_view(r)) for r in rows), min(total, COUNT_CAP), total > COUNT_CAP,
                    f.page, f.per_page)


def _described(f: TaskFilter) -> dict[str, Any]:
    """The filter as the audit trail notes it: only what was asked for."""
    asked = {"view": f.view, "state": f.state, "office": f.office, "overdue": f.overdue or None,
             "assignee": f.assignee, "step": f.bpmn_id, "due_from": f.due_from, "due_to": f.due_to,
             "q": f.search, "sort": ("-" if f.descending else "") + f.sort, "page": f.page}
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asked.items() if v is not None}


def count_views(session: Session, actor: Actor) -> dict[str, int]:
    """Open tasks per view for the navigation: counts only (every page shows them)."""
    if not has(actor, Permission.WORK_TASKS):
        return {}
    views = {"mine": TaskFilter(view="mine"), "office": TaskFilter(view="office")}
    if has(actor, Permission.LEAD_OFFICE):
        views["overdue"] = TaskFilter(view="office", overdue=True)
    now = clock.now()
    return {name: min(_count(session, actor, f, now), COUNT_CAP) for name, f in views.items()}
