"""Indicators (Kennzahlen) of DOMAIN.md section 8 for a date range, for the Land's proof-of-use report.

Every figure is measured from our own tables, never from workflow state: ``case_file`` for
referrals, openings and closures, ``timer`` for escalations, and the ``task`` projection with
its form data for everything a step records (engine.services.reporting.kpi_steps). The range is inclusive
and counted in Europe/Berlin days (default: the current month, at most 3 years). Stock figures
(active cases, overdue tasks) are taken at the end of the range, or now if the range reaches
into the future. Counts from 1 to 4 are suppressed (engine.services.reporting.kpi_figures).

Who may see them: office leads, admins, auditors and the KIM coordination (office KI, whose job
is reporting: DOMAIN.md sections 1, 2 and 7 - "aggregates only"). Process owners and other
caseworkers may not: DOMAIN.md section 7 grants them no aggregates, and deny is the default.
Every report pulled is audited.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import Actor
from engine.domain.errors import InvalidInput, NotAllowed
from engine.domain.permissions import Permission, has
from engine.persistence import audit_log as audit
from engine.persistence.models import CaseFile, HumanTask, Office, TaskState, Timer, TimerKind
from engine.services.context import UnitOfWork
from engine.services.reporting import kpi_steps
from engine.services.reporting.csv_export import write_csv
from engine.services.reporting.kpi_figures import MIN_COUNT, Cell, Indicator, Range, counted, title
from engine.services.reporting.screening_figures import screening_results

__all__ = ["MIN_COUNT", "Cell", "Indicator", "Range", "counted", "csv_rows", "kpi_report", "may_see_kpis",
           "parse_range", "require_report_access"]

MAX_RANGE_DAYS = 3 * 366
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
T = HumanTask
C = CaseFile
OVERDUE_BUCKETS = [(7, "bis 7 Tage"), (30, "8 bis 30 Tage"), (90, "31 bis 90 Tage"), (None, "mehr als 90 Tage")]


# --- access and input ----------------------------------------------------------------------------


def may_see_kpis(actor: Actor) -> bool:
    """Office leads, admins, auditors and the KIM coordination (KI) - aggregates only, no case data."""
    return has(actor, Permission.VIEW_INDICATORS)


def require_report_access(actor: Actor) -> None:
    if not may_see_kpis(actor):
        raise NotAllowed("the indicators are for office leads, KIM coordination, admins and auditors")


def parse_range(args: Mapping[str, Any]) -> Range:
    """``from`` and ``to`` (YYYY-MM-DD, inclusive); default: the current month in Europe/Berlin."""
    today = clock.local_now().date()
    month_start = today.replace(day=1)
    month_end = (month_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    first = _date_arg(args, "from", month_start)
    last = _date_arg(args, "to", month_end)
    if last < first:
        raise InvalidInput("'to' lies before 'from'", {"to": "must not lie before 'from'"})
    if (last - first).days >= MAX_RANGE_DAYS:
        raise InvalidInput("the range may span at most 3 years", {"to": "range longer than 3 years"})
    return Range(first, last)


def _date_arg(args: Mapping[str, Any], name: str, default: date) -> date:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        if not isinstance(raw, str) or not ISO_DATE.fullmatch(raw):  # not "2026-W01-1" or "20261101"
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidInput(f"'{name}' must be a date YYYY-MM-DD", {name: "not a date YYYY-MM-DD"}) from exc


# --- the report ---------------------------------------------------------------------------------------


def kpi_report(uow: UnitOfWork, actor: Actor, period: Range, output: str = "json") -> dict[str, Any]:
    """All indicators for ``period``; the call is audited (who pulled which report when).

    The figures are read in a read-only transaction (one snapshot, and on SQLite no write lock
    held for the seconds a long range takes); the audit entry is written afterwards in its own
    short transaction.
    """
    require_report_access(actor)
    session = uow.session
    steps = kpi_steps.load_steps(session, period)
    indicators = [
        referrals(session, period), cases_opened(session, period), cases_active(session, period),
        cases_closed(session, period), kpi_steps.first_contact(steps, uow.ctx.calendar),
        kpi_steps.phase_durations(steps), *kpi_steps.counselling(steps), *kpi_steps.goals(steps),
        overdue_tasks(session, period), escalations(session, period), deadline_escalations(session, period),
        screening_results(session, period), kpi_steps.precheck_results(steps), *kpi_steps.permits(steps),
        kpi_steps.passports(steps), kpi_steps.handovers(steps),
    ]
    audit.record(uow.session, actor, "report.kpis", "report", "kpis",
                 details={"from": period.first.isoformat(), "to": period.last.isoformat(), "format": output})
    return {"from": period.first.isoformat(), "to": period.last.isoformat(),
            "as_of": period.as_of(clock.now()).isoformat(), "generated_at": clock.now().isoformat(),
            "suppression_threshold": MIN_COUNT, "indicators": [i.to_json() for i in indicators]}


def _in(column: Any, period: Range) -> Any:
    return and_(column >= period.start, column < period.end)


def referrals(session: Session, period: Range) -> Indicator:
    rows = session.execute(select(C.referral_source, func.count()).where(C.referred_at.between(period.first,
                                                                                                period.last))
                           .group_by(C.referral_source).order_by(C.referral_source)).all()
    return counted("referrals", "Zuweisungen nach zuweisender Stelle",
                   "Fälle, deren Zuweisungsdatum im Zeitraum liegt, nach der zuweisenden Stelle.",
                   sum(n for _, n in rows), [({"source": s}, s, n) for s, n in rows])


def cases_opened(session: Session, period: Range) -> Indicator:
    total = session.scalar(select(func.count()).select_from(C).where(_in(C.opened_at, period))) or 0
    return counted("cases_opened", "Eröffnete Fälle", "Fälle, die im Zeitraum angelegt wurden.", total)


def cases_active(session: Session, period: Range) -> Indicator:
    moment = period.as_of(clock.now())
    total = session.scalar(select(func.count()).select_from(C).where(
        C.opened_at < moment, or_(C.closed_at.is_(None), C.closed_at >= moment))) or 0
    return counted("cases_active", "Aktive Fälle am Ende des Zeitraums",
                   "Fälle, die am Ende des Zeitraums (oder jetzt, wenn er noch läuft) eröffnet und nicht "
                   "abgeschlossen waren.", total)


def cases_closed(session: Session, period: Range) -> Indicator:
    rows = session.execute(select(C.closure_reason, func.count()).where(_in(C.closed_at, period))
                           .group_by(C.closure_reason)).all()
    cells = sorted(((r or ""), n) for r, n in rows)
    return counted("cases_closed", "Abgeschlossene Fälle nach Grund",
                   "Fälle, die im Zeitraum abgeschlossen wurden, nach dem dokumentierten Abschlussgrund.",
                   sum(n for _, n in cells),
                   [({"reason": r}, title("kim_closure", "closure_reason", r or None), n) for r, n in cells])


def overdue_tasks(session: Session, period: Range) -> Indicator:
    moment = period.as_of(clock.now())
    age = case(*[(T.due_at >= moment - timedelta(days=days), label) for days, label in OVERDUE_BUCKETS if days],
               else_=OVERDUE_BUCKETS[-1][1])
    open_then = or_(T.state.in_((TaskState.OPEN.value, TaskState.CLAIMED.value)), T.completed_at >= moment)
    rows = session.execute(
        select(Office.code, age, func.count()).join(Office, Office.id == T.office_id)
        .where(T.due_at < moment, T.created_at < moment, T.state != TaskState.HELD.value, open_then)
        .group_by(Office.code, age)).all()
    order = {label: i for i, (_, label) in enumerate(OVERDUE_BUCKETS)}
    cells = sorted(rows, key=lambda r: (r[0], order[r[1]]))
    return counted("overdue_tasks", "Überfällige Aufgaben nach Amt und Alter",
                   "Offene Aufgaben, deren Fälligkeit am Ende des Zeitraums (oder jetzt) überschritten war, nach "
                   "Amt und Tagen seit der Fälligkeit.", sum(n for *_, n in cells),
                   [({"office": o, "age": a}, f"{o}: {a}", n) for o, a, n in cells])


def escalations(session: Session, period: Range) -> Indicator:
    rows = session.execute(
        select(Timer.level, Office.code, func.count()).join(T, T.id == Timer.task_id)
        .join(Office, Office.id == T.office_id)
        .where(Timer.kind == TimerKind.ESCALATION.value, _in(Timer.fired_at, period))
        .group_by(Timer.level, Office.code).order_by(Timer.level, Office.code)).all()
    return counted("escalations", "Eskalationen überfälliger Aufgaben",
                   "Eskalationsstufen, die im Zeitraum ausgelöst wurden (Stufe 1: Fälligkeit überschritten, "
                   "Amtsleitung informiert; Stufe 2: KIM-Koordinierung), nach Stufe und Amt.",
                   sum(n for *_, n in rows),
                   [({"level": str(level), "office": code}, f"Stufe {level}: {code}", n) for level, code, n in rows])


def deadline_escalations(session: Session, period: Range) -> Indicator:
    rows = session.execute(select(T.name, func.count()).where(T.form_key == "kim_deadline_escalation",
                                                              _in(T.created_at, period))
                           .group_by(T.name).order_by(T.name)).all()
    return counted("deadline_escalations", "Eskalationen von Fristen (Modell)",
                   "Eskalationsaufgaben, die die Prozessmodelle im Zeitraum erzeugt haben (z. B. Frist § 25a, "
                   "Unterlagen nach 4 Wochen unvollständig), nach Aufgabe.",
                   sum(n for _, n in rows), [({"step": name}, name, n) for name, n in rows])


# --- CSV for the Land's proof-of-use report ------------------------------------------------------------

UNITS_DE = {"count": "Anzahl", "days": "Kalendertage (Median)", "working_days": "Arbeitstage",
            "percent": "Prozent"}


def kpi_csv(report: Mapping[str, Any]) -> bytes:
    """The Land's proof-of-use CSV: one row per indicator and per breakdown cell; withheld values
    read "<5". Written by the reports' one CSV writer (with its formula guard)."""
    return write_csv(CSV_HEADERS, csv_rows(report))


CSV_HEADERS = ("Kennzahl", "Aufschlüsselung", "Wert", "Einheit", "Fälle", "Zeitraum von", "Zeitraum bis")


def csv_rows(report: Mapping[str, Any]) -> list[list[Any]]:
    """One row per indicator and per breakdown cell (without the header)."""
    rows: list[list[Any]] = []
    span = [date.fromisoformat(report["from"]), date.fromisoformat(report["to"])]
    for indicator in report["indicators"]:
        if indicator["value"] is not None or indicator["suppressed"] or not indicator["breakdown"]:
            rows.append([indicator["label"], "", _cell(indicator["value"], indicator["suppressed"]),
                         UNITS_DE.get(indicator["unit"], indicator["unit"]), None, *span])
        for cell in indicator["breakdown"]:
            rows.append([indicator["label"], cell["label"], _cell(cell["value"], cell["suppressed"]),
                         UNITS_DE.get(cell["unit"], cell["unit"]), cell["n"], *span])
    return rows


def _cell(value: float | None, suppressed: bool) -> str:
    if suppressed:
        return f"<{MIN_COUNT}"
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}".replace(".", ",")
