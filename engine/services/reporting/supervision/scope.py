"""Who may see the supervisor dashboard, for which offices, and over which dates.

DOMAIN.md section 7: an office lead sees task metadata of their own offices; the KIM
coordination (KI) does overdue monitoring across all offices and sees aggregates; admins run
the installation and see every office. Everybody else is refused (deny by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import Actor
from engine.domain.days import parse_day
from engine.domain.errors import InvalidInput, NotAllowed
from engine.domain.periods import LocalDays
from engine.domain.permissions import Permission, has
from engine.persistence.models import Office

COORDINATION = "KI"
MAX_DAYS = 366
DEFAULT_DAYS = 30


Period = LocalDays  # the dashboard's date range (engine/domain/periods.py)


@dataclass(frozen=True)
class DashboardQuery:
    period: Period
    office: str | None = None  # one office code, or None for every office the caller may see


def sees_all_offices(actor: Actor) -> bool:
    return has(actor, Permission.BYPASS_OFFICES) or (has(actor, Permission.LEAD_OFFICE)
                                                     and COORDINATION in actor.office_codes)


def require_dashboard_role(actor: Actor) -> None:
    if not has(actor, Permission.SUPERVISE):
        raise NotAllowed("the dashboard is for office leads, the KIM coordination and admins")


def office_scope(session: Session, actor: Actor, wanted: str | None) -> dict[int, str]:
    """Office id -> code of the offices the report covers; 403 for an office not the caller's."""
    require_dashboard_role(actor)
    offices = {o.id: o.code for o in session.scalars(select(Office).order_by(Office.code))}
    allowed = offices if sees_all_offices(actor) else {i: c for i, c in offices.items() if i in actor.office_ids}
    if wanted is None:
        return allowed
    if wanted not in offices.values():
        raise InvalidInput("unknown office", {"office": "unknown office code"})
    chosen = {i: c for i, c in allowed.items() if c == wanted}
    if not chosen:
        raise NotAllowed(f"you do not lead the office {wanted}")
    return chosen


def may_open_task(actor: Actor, office_id: int) -> bool:
    """The inbox rule (services.inbox._load_task): caseworkers and leads open tasks of their own
    offices only. Admins and the coordination see no task or case reference of other offices."""
    return has(actor, Permission.WORK_TASKS) and office_id in actor.office_ids


def parse_query(args: Mapping[str, str]) -> DashboardQuery:
    """``from``/``to`` as YYYY-MM-DD or TT.MM.JJJJ (default: the last 30 days), ``office`` a code."""
    errors: dict[str, str] = {}
    today = clock.local_now().date()
    end = _parse_day(args.get("to"), "to", errors) or today
    start = _parse_day(args.get("from"), "from", errors) or end - timedelta(days=DEFAULT_DAYS - 1)
    if not errors and start > end:
        errors["from"] = "must not be after 'to'"
    elif not errors and (end - start).days >= MAX_DAYS:
        errors["to"] = f"the range may span at most {MAX_DAYS} days"
    office = (args.get("office") or "").strip().upper() or None
    if office is not None and (len(office) > 16 or not office.replace("_", "").isalnum()):
        errors["office"] = "an office code"
    if errors:
        raise InvalidInput("invalid report filter", errors)
    return DashboardQuery(Period(start, end), office)


def _parse_day(raw: str | None, name: str, errors: dict[str, str]) -> date | None:
    value = (raw or "").strip()
    if not value:
        return None
    day = parse_day(value)
    if day is None:
        return _bad(name, errors)
    return day if 1900 <= day.year <= 2200 else _bad(name, errors)  # far dates overflow, mean nothing


def _bad(name: str, errors: dict[str, str]) -> date | None:
    errors[name] = "a date (TT.MM.JJJJ or YYYY-MM-DD)"
    return None
