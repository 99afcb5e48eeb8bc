"""The supervisor dashboard (Steuerung): overdue work, escalations, workload, waiting times,
due against completed per day and a process heatmap, for a date range and a set of offices.

Tables marked ``now`` are a snapshot at the moment of the request (what is open, overdue,
escalated, waiting); tables marked ``range`` count what happened within the chosen days. Every
number leaves this module through :func:`engine.services.reporting.disclosure.suppress`.
Waiting times are in calendar days (created -> completed): working days would need the calendar
per row, outside SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import Actor
from engine.domain.disclosure import SUPPRESS_BELOW
from engine.domain.errors import NotFound
from engine.persistence import audit_log as audit
from engine.persistence.definitions import definition_source, latest_definition
from engine.persistence.models import HumanTask, ProcessDefinition, ProcessInstance
from engine.services.context import EngineContext, UnitOfWork
from engine.services.reporting.disclosure import suppress
from engine.services.reporting.supervision import queries as q
from engine.services.reporting.supervision.scope import DashboardQuery, may_open_task, office_scope, sees_all_offices
from engine.services.reporting.tables import LABEL, MEASURE, TOTAL, Column, Table

OFFICE = Column("office", "Amt", LABEL)
STEP_COLUMNS = (Column("process", "Prozess", LABEL), Column("step", "Schritt-ID", LABEL),
                Column("name", "Schritt", LABEL))
ESCALATED_LIMIT = 200  # the list is for acting on; the counts above cover everything
BUCKET_LABELS = {"wd_1_5": "bis 5 AT", "wd_6_10": "6-10 AT", "wd_11_20": "11-20 AT", "wd_over_20": "über 20 AT"}


@dataclass
class Dashboard:
    period_start: date
    period_end: date
    offices: list[str]
    generated_at: datetime
    tables: dict[str, Table]
    escalated: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"from": self.period_start.isoformat(), "to": self.period_end.isoformat(), "offices": self.offices,
                "generated_at": self.generated_at.isoformat(), "suppressed_below": SUPPRESS_BELOW,
                "tables": {name: table.to_json() for name, table in self.tables.items()},
                "escalated_tasks": self.escalated}


def build_dashboard(uow: UnitOfWork, actor: Actor, query: DashboardQuery) -> Dashboard:
    """All tables for the offices the actor may see (narrowed to ``query.office``); audited."""
    now = clock.now()
    session = uow.session
    scope = office_scope(session, actor, query.office)
    ids = list(scope)
    period = query.period
    summary = q.office_summary(session, ids, now, uow.ctx.calendar)
    tables = {
        "overdue": _overdue_table(scope, summary),
        "overdue_steps": _overdue_steps_table(session, ids, now),
        "workload": _workload_table(scope, summary),
        "escalations": _escalation_table(scope, summary),
        "escalations_period": _escalations_period_table(session, scope, query),
        "waiting": _waiting_table(session, ids, query, now),
        "daily": _daily_table(session, ids, query, uow.ctx),
        "heatmap": _heatmap_table(session, ids, sees_all_offices(actor) and query.office is None, now),
    }
    escalated = _escalated_list(session, actor, scope, now, uow.ctx)
    audit.record(session, actor, "report.dashboard", "report", "dashboard", details={
        "from": period.first.isoformat(), "to": period.last.isoformat(), "offices": sorted(scope.values())})
    return Dashboard(period.first, period.last, sorted(scope.values()), now, tables, escalated)


def _office_rows(scope: dict[int, str], values: dict[int, dict[str, int]],
                 keys: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"office": code, **{k: values.get(office_id, {}).get(k, 0) for k in keys}}
            for office_id, code in sorted(scope.items(), key=lambda item: item[1])]


def _with_totals(rows: list[dict[str, Any]], keys: tuple[str, ...], total_key: str | None = None) -> dict[str, Any]:
    if total_key:
        for row in rows:
            row[total_key] = sum(row[k] for k in keys)
    summed = (*keys, total_key) if total_key else keys
    return {"office": "Gesamt", **{k: sum(row[k] for row in rows) for k in summed}}


def _overdue_table(scope: dict[int, str], summary: dict[int, dict[str, int]]) -> Table:
    rows = _office_rows(scope, summary, q.BUCKETS)
    total = _with_totals(rows, q.BUCKETS, "total")
    columns = [OFFICE, *(Column(k, BUCKET_LABELS[k]) for k in q.BUCKETS), Column("total", "Gesamt", TOTAL, q.BUCKETS)]
    return suppress("overdue", "Überfällige Aufgaben nach Amt und Alter (Arbeitstage)", "now", columns, rows, total)


def _overdue_steps_table(session: Session, ids: list[int], now: datetime) -> Table:
    columns = [*STEP_COLUMNS, Column("overdue", "überfällig"), Column("escalated", "davon eskaliert")]
    return suppress("overdue_steps", "Überfällige Aufgaben nach Schritt", "now", columns,
                    q.overdue_by_step(session, ids, now))


def _workload_table(scope: dict[int, str], summary: dict[int, dict[str, int]]) -> Table:
    parts = ("assigned", "unassigned")
    rows = _office_rows(scope, summary, (*parts, "open"))
    total = _with_totals(rows, (*parts, "open"))
    columns = [OFFICE, Column("open", "offen gesamt", TOTAL, parts), Column("assigned", "zugewiesen"),
               Column("unassigned", "nicht zugewiesen")]
    return suppress("workload", "Offene Aufgaben nach Amt", "now", columns, rows, total)


def _escalation_table(scope: dict[int, str], summary: dict[int, dict[str, int]]) -> Table:
    parts = ("level_1", "level_2")
    rows = _office_rows(scope, summary, parts)
    total = _with_totals(rows, parts, "total")
    columns = [OFFICE, Column("level_1", "Stufe 1 (Amtsleitung)"), Column("level_2", "Stufe 2 (KIM-Koordinierung)"),
               Column("total", "eskaliert gesamt", TOTAL, parts)]
    return suppress("escalations", "Derzeit eskalierte offene Aufgaben", "now", columns, rows, total)


def _escalations_period_table(session: Session, scope: dict[int, str], query: DashboardQuery) -> Table:
    parts = ("fired_1", "fired_2")
    rows = _office_rows(scope, q.escalations_in_period(session, list(scope), query.period), parts)
    total = _with_totals(rows, parts)
    columns = [OFFICE, Column("fired_1", "Stufe 1 erreicht"), Column("fired_2", "Stufe 2 erreicht")]
    return suppress("escalations_period", "Eskalationen im Zeitraum", "range", columns, rows, total)


def _days(seconds: float | None) -> float | None:
    return None if seconds is None else round(float(seconds) / 86400, 1)


def _waiting_table(session: Session, ids: list[int], query: DashboardQuery, now: datetime) -> Table:
    done = q.waiting_completed(session, ids, query.period)
    still = q.open_ages(session, ids)
    rows = []
    for key in sorted(set(done) | set(still)):
        d, o = done.get(key, {}), still.get(key, {})
        rows.append({"process": key[0], "step": key[1], "name": d.get("name") or o.get("name"),
                     "completed": d.get("completed", 0), "median_days": _days(d.get("median")),
                     "p90_days": _days(d.get("p90")), "open": o.get("open", 0),
                     "open_median_age": q.age_days(now, o.get("median_created")),
                     "open_p90_age": q.age_days(now, o.get("p90_created"))})
    columns = [*STEP_COLUMNS, Column("completed", "erledigt im Zeitraum"),
               Column("median_days", "Median Tage bis erledigt", MEASURE, ("completed",)),
               Column("p90_days", "90. Perzentil Tage bis erledigt", MEASURE, ("completed",)),
               Column("open", "derzeit offen"),
               Column("open_median_age", "Median Alter offen (Tage)", MEASURE, ("open",)),
               Column("open_p90_age", "90. Perzentil Alter offen (Tage)", MEASURE, ("open",))]
    return suppress("waiting", "Bearbeitungszeit je Schritt", "range", columns, rows)


def _daily_table(session: Session, ids: list[int], query: DashboardQuery, ctx: EngineContext) -> Table:
    per_day = q.due_and_completed_per_day(session, ids, query.period, ctx.calendar)
    rows: list[dict[str, Any]] = [{"day": day, **counts} for day, counts in per_day.items()]
    total = {"day": "Gesamt", "due": sum(r["due"] for r in rows), "completed": sum(r["completed"] for r in rows)}
    columns = [Column("day", "Tag", LABEL), Column("due", "fällig"), Column("completed", "erledigt")]
    return suppress("daily", "Fällige und erledigte Aufgaben je Tag", "range", columns, rows, total)


def _heatmap_table(session: Session, ids: list[int], all_offices: bool, now: datetime) -> Table:
    rows = []
    for process, elements in sorted(q.heatmap(session, ids, all_offices, now).items()):
        for element, cell in sorted(elements.items()):
            share = round(100 * cell["late"] / cell["waiting"]) if cell["waiting"] else None
            rows.append({"process": process, "step": element, "name": cell["name"], "waiting": cell["waiting"],
                         "late": cell["late"], "late_share": share})
    columns = [*STEP_COLUMNS, Column("waiting", "Fälle wartend"), Column("late", "davon verspätet"),
               Column("late_share", "Anteil verspätet in Prozent", MEASURE, ("waiting", "late"))]
    return suppress("heatmap", "Wo Fälle warten (Prozess-Heatmap)", "now", columns, rows)


def _escalated_list(session: Session, actor: Actor, scope: dict[int, str], now: datetime,
                    ctx: EngineContext) -> list[dict[str, Any]]:
    """Each currently escalated task: metadata for everyone in scope, the task and case
    reference only for those who may open the task in their inbox."""
    today = now.astimezone(ctx.calendar.tz).date()
    items = []
    for row in q.escalated_tasks(session, list(scope), ESCALATED_LIMIT):
        visible = may_open_task(actor, row.office_id)
        due_day = row.due_at.astimezone(ctx.calendar.tz).date() if row.due_at else None
        items.append({
            "office": scope[row.office_id], "process": row.process_id, "step": row.bpmn_id, "name": row.name,
            "escalation_level": row.escalation_level, "due_at": row.due_at.isoformat() if row.due_at else None,
            "overdue_working_days": ctx.calendar.working_days_between(due_day, today) if due_day else None,
            "task_id": str(row.id) if visible else None,
            "case_id": str(row.case_id) if visible and row.case_id else None,
            "case_reference": row.reference if visible else None})
    return items


def process_diagram(uow: UnitOfWork, actor: Actor, process_id: str) -> dict[str, Any]:
    """BPMN XML for the heatmap: the newest deployed version that contains ``process_id`` (a
    process of its own, or one called inside another file). Model structure, no case data."""
    session = uow.session
    office_scope(session, actor, None)
    definition = latest_definition(session, "process", process_id)
    if definition is None:
        definition_id = session.scalar(select(ProcessInstance.definition_id).join(
            HumanTask, HumanTask.instance_id == ProcessInstance.id).where(HumanTask.process_id == process_id)
            .limit(1))
        found = session.get(ProcessDefinition, definition_id) if definition_id is not None else None
        definition = latest_definition(session, "process", found.key) if found is not None else None
    if definition is None:
        raise NotFound("no deployed process with this id")
    xml = definition_source(session, definition).content.decode("utf-8")
    return {"process_id": process_id, "definition": definition.key, "version": definition.version, "xml": xml}


def selectable_offices(uow: UnitOfWork, actor: Actor) -> list[str]:
    """Office codes the actor may narrow the dashboard to (the office filter's choices)."""
    return sorted(office_scope(uow.session, actor, None).values())
