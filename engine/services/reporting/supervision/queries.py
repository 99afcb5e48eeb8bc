"""The dashboard's aggregates, each one GROUP BY query over the ``task`` and ``timer`` tables.

Nothing here loads a workflow or an ORM entity: the database counts, Python only reshapes the
few grouped rows. Everything is written once for SQLite and PostgreSQL; where the dialects
differ (seconds between two moments, the UTC hour of a moment) a small helper picks the
expression. Percentiles are nearest-rank (the value at rank ceil(p * n)) computed with
ROW_NUMBER(), so both databases return the very same task's value.

Conditions on open tasks are written like the partial inbox indexes (``state IN ('open',
'claimed')`` with ``office_id`` and ``due_sort``), so the overdue queries walk those indexes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, distinct, func, or_, select, text
from sqlalchemy.orm import Session

from engine.calendar import WorkingDayCalendar
from engine.domain.periods import start_of_day
from engine.persistence.models import (
    LIVE_STATES,
    CaseFile,
    HumanTask,
    ProcessDefinition,
    ProcessInstance,
    TaskState,
    Timer,
    TimerKind,
)
from engine.services.reporting.supervision.scope import Period

T = HumanTask
OPEN_TASK = text("task.state IN ('open', 'claimed')")
BUCKETS = ("wd_1_5", "wd_6_10", "wd_11_20", "wd_over_20")
_BUCKET_START = {"wd_6_10": 6, "wd_11_20": 11, "wd_over_20": 21}  # overdue by at least n working days


def _in_offices(column: Any, offices: Collection[int]) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = column.in_(sorted(offices)) if offices else column.is_(None)
    return condition


def kth_working_day_back(calendar: WorkingDayCalendar, today: date, k: int) -> date:
    """The k-th working day counting back from today (today itself counts when it is one).

    A task due on day d is overdue by ``working_days_between(d, today)`` working days; that is
    at least k exactly when d is before this day, so each age bucket is one ``due_at <`` bound.
    """
    day = today if calendar.is_working_day(today) else calendar.add_working_days(today, -1)
    return calendar.add_working_days(day, -(k - 1)) if k > 1 else day


def office_summary(session: Session, offices: Collection[int], now: datetime,
                   calendar: WorkingDayCalendar) -> dict[int, dict[str, int]]:
    """Per office, in one pass over its open tasks: open, assigned and unassigned counts, the
    overdue ones by age bucket, and the escalated ones by level (conditional sums)."""
    today = now.astimezone(calendar.tz).date()
    bounds = {name: start_of_day(kth_working_day_back(calendar, today, k)) for name, k in _BUCKET_START.items()}
    overdue = T.due_sort < now
    conditions = {
        "assigned": T.assignee_id.is_not(None),
        "wd_over_20": and_(overdue, T.due_at < bounds["wd_over_20"]),
        "wd_11_20": and_(overdue, T.due_at >= bounds["wd_over_20"], T.due_at < bounds["wd_11_20"]),
        "wd_6_10": and_(overdue, T.due_at >= bounds["wd_11_20"], T.due_at < bounds["wd_6_10"]),
        "wd_1_5": and_(overdue, T.due_at >= bounds["wd_6_10"]),
        "level_1": T.escalation_level == 1,
        "level_2": T.escalation_level >= 2,
    }
    sums = [func.sum(case((condition, 1), else_=0)) for condition in conditions.values()]
    query = (select(T.office_id, func.count(), *sums).where(OPEN_TASK, _in_offices(T.office_id, offices))
             .group_by(T.office_id))
    result = {}
    for office_id, count, *values in session.execute(query):
        row = {"open": count, **{k: int(v or 0) for k, v in zip(conditions, values, strict=True)}}
        row["unassigned"] = count - row["assigned"]
        result[office_id] = row
    return result


def overdue_by_step(session: Session, offices: Collection[int], now: datetime) -> list[dict[str, Any]]:
    query = (select(T.process_id, T.bpmn_id, func.max(T.name), func.count(),
                    func.sum(case((T.escalation_level >= 1, 1), else_=0)))
             .where(OPEN_TASK, _in_offices(T.office_id, offices), T.due_sort < now)
             .group_by(T.process_id, T.bpmn_id).order_by(func.count().desc(), T.process_id, T.bpmn_id))
    return [{"process": p, "step": b, "name": n, "overdue": c, "escalated": int(e or 0)}
            for p, b, n, c, e in session.execute(query)]


def escalations_in_period(session: Session, offices: Collection[int], period: Period) -> dict[int, dict[str, int]]:
    """Escalation levels reached (timer rows fired) within the period, by the task's office."""
    query = (select(T.office_id, Timer.level, func.count()).join(T, T.id == Timer.task_id)
             .where(Timer.kind == TimerKind.ESCALATION.value, Timer.fired_at >= period.start,
                    Timer.fired_at < period.end, _in_offices(T.office_id, offices))
             .group_by(T.office_id, Timer.level))
    result: dict[int, dict[str, int]] = defaultdict(lambda: {"fired_1": 0, "fired_2": 0})
    for office_id, lvl, count in session.execute(query):
        result[office_id]["fired_1" if lvl <= 1 else "fired_2"] += count
    return dict(result)


def escalated_tasks(session: Session, offices: Collection[int], limit: int = 200) -> list[Any]:
    query = (select(T.id, T.office_id, T.process_id, T.bpmn_id, T.name, T.escalation_level, T.due_at,
                    T.created_at, T.case_id, T.instance_id, CaseFile.reference)
             .outerjoin(CaseFile, CaseFile.id == T.case_id)
             .where(OPEN_TASK, _in_offices(T.office_id, offices), T.escalation_level >= 1)
             .order_by(T.escalation_level.desc(), T.due_sort, T.id).limit(limit))
    return list(session.execute(query))


def _seconds(later: Any, earlier: Any, dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


def _percentile_rank(n: Any, numerator: int, denominator: int) -> Any:
    """ceil(n * p) in integer arithmetic, p = numerator / denominator (nearest-rank method)."""
    return (n * numerator + (denominator - 1)) // denominator


def waiting_completed(session: Session, offices: Collection[int], period: Period) -> dict[tuple[str, str], Any]:
    """Per step: tasks completed in the period, median and 90th percentile of created -> completed."""
    secs = _seconds(T.completed_at, T.created_at, session.get_bind().dialect.name)
    part = (T.process_id, T.bpmn_id)
    inner = (select(T.process_id, T.bpmn_id, T.name, secs.label("secs"),
                    func.row_number().over(partition_by=part, order_by=secs).label("rn"),
                    func.count().over(partition_by=part).label("n"))
             .where(T.state == TaskState.COMPLETED.value, T.completed_at >= period.start,
                    T.completed_at < period.end, _in_offices(T.office_id, offices))).subquery()
    c = inner.c
    query = select(c.process_id, c.bpmn_id, func.max(c.name), func.max(c.n),
                   func.max(case((c.rn == _percentile_rank(c.n, 1, 2), c.secs))),
                   func.max(case((c.rn == _percentile_rank(c.n, 9, 10), c.secs)))).group_by(c.process_id, c.bpmn_id)
    return {(p, b): {"name": name, "completed": n, "median": med, "p90": p90}
            for p, b, name, n, med, p90 in session.execute(query)}


def open_ages(session: Session, offices: Collection[int]) -> dict[tuple[str, str], Any]:
    """Per step: open tasks now, and the created_at of the median and 90th-percentile-oldest one."""
    part = (T.process_id, T.bpmn_id)
    inner = (select(T.process_id, T.bpmn_id, T.name, T.created_at,
                    func.row_number().over(partition_by=part, order_by=T.created_at.desc()).label("rn"),
                    func.count().over(partition_by=part).label("n"))
             .where(OPEN_TASK, _in_offices(T.office_id, offices))).subquery()
    c = inner.c
    query = select(c.process_id, c.bpmn_id, func.max(c.name), func.max(c.n),
                   func.max(case((c.rn == _percentile_rank(c.n, 1, 2), c.created_at))),
                   func.max(case((c.rn == _percentile_rank(c.n, 9, 10), c.created_at)))
                   ).group_by(c.process_id, c.bpmn_id)
    return {(p, b): {"name": name, "open": n, "median_created": med, "p90_created": p90}
            for p, b, name, n, med, p90 in session.execute(query)}


def _utc_hour(column: Any, dialect: str) -> ColumnElement[Any]:
    """The moment's UTC hour as text 'YYYY-MM-DD HH' (grouped in SQL; Python maps hours to
    local days, which is exact across daylight-saving changes on both databases)."""
    if dialect == "sqlite":
        return func.strftime("%Y-%m-%d %H", column)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24")


def _per_local_day(session: Session, column: Any, where: list[Any], period: Period,
                   calendar: WorkingDayCalendar) -> dict[date, int]:
    hour = _utc_hour(column, session.get_bind().dialect.name).label("hour")
    inner = select(hour).where(column >= period.start, column < period.end, *where).subquery()
    counts: dict[date, int] = defaultdict(int)
    for value, count in session.execute(select(inner.c.hour, func.count()).group_by(inner.c.hour)):
        utc = datetime.fromisoformat(value.replace(" ", "T") + ":00:00+00:00")
        counts[utc.astimezone(calendar.tz).date()] += count
    return dict(counts)


def due_and_completed_per_day(session: Session, offices: Collection[int], period: Period,
                              calendar: WorkingDayCalendar) -> dict[date, dict[str, int]]:
    """Tasks due on each day (not cancelled, not held) against tasks completed on each day."""
    office = _in_offices(T.office_id, offices)
    due = _per_local_day(session, T.due_at, [office, T.state.in_(("open", "claimed", "completed"))],
                         period, calendar)
    done = _per_local_day(session, T.completed_at, [office, T.state == TaskState.COMPLETED.value],
                          period, calendar)
    return {day: {"due": due.get(day, 0), "completed": done.get(day, 0)} for day in period.days()}


def heatmap(session: Session, offices: Collection[int], all_offices: bool,
            now: datetime) -> dict[str, dict[str, dict[str, Any]]]:
    """Per process and BPMN element: instances waiting there (a live task, or a pending timer
    event) and how many of them are late (an overdue open task there)."""
    late = case((and_(T.state.in_(("open", "claimed")), T.due_sort < now), T.instance_id))
    tasks = (select(T.process_id, T.bpmn_id, func.max(T.name), func.count(distinct(T.instance_id)),
                    func.count(distinct(late)))
             .where(T.state.in_(LIVE_STATES), _in_offices(T.office_id, offices)).group_by(T.process_id, T.bpmn_id))
    result: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for process, element, name, waiting, overdue in session.execute(tasks):
        result[process][element] = {"name": name, "waiting": waiting, "late": overdue}
    timer_scope = [] if all_offices else [_in_offices(CaseFile.owner_office_id, offices)]
    timers = (select(ProcessDefinition.key, Timer.bpmn_id, func.count(distinct(Timer.instance_id)))
              .join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
              .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
              .outerjoin(CaseFile, CaseFile.id == ProcessInstance.case_id)
              .where(Timer.kind == TimerKind.BPMN.value, Timer.fired_at.is_(None), *timer_scope,
                     or_(ProcessInstance.status == "running", ProcessInstance.status == "incident"))
              .group_by(ProcessDefinition.key, Timer.bpmn_id))
    for process, element, waiting in session.execute(timers):
        cell = result[process].setdefault(element, {"name": element, "waiting": 0, "late": 0})
        cell["waiting"] += waiting
    return dict(result)


def age_days(now: datetime, created: datetime | None) -> float | None:
    return None if created is None else round((now - created) / timedelta(days=1), 1)
