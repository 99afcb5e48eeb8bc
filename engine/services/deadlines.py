"""Due dates and escalation rows of human tasks (INTERFACES.md section 4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from engine.calendar import WorkingDayCalendar
from engine.domain.durations import DurationError, WorkingDays, due_moment, end_of_day, parse_deadline
from engine.persistence.models import TimerKind

DEFAULT_ESCALATE_AFTER = "5WD"


def due_at(due_in: str | None, start: datetime, calendar: WorkingDayCalendar) -> datetime | None:
    if not due_in:
        return None
    try:
        return due_moment(start, parse_deadline(due_in), calendar)
    except DurationError:
        return None  # refused at deploy time; a damaged value must not stop the process


def escalation_moment(due: datetime, escalate_after: str | None, calendar: WorkingDayCalendar) -> datetime:
    """Level 2: ``escalateAfter`` working days after the due day (default 5WD)."""
    try:
        after = parse_deadline(escalate_after or DEFAULT_ESCALATE_AFTER)
    except DurationError:
        after = parse_deadline(DEFAULT_ESCALATE_AFTER)
    if isinstance(after, WorkingDays):
        day = calendar.add_working_days(due.astimezone(calendar.tz).date(), after.count)
        return end_of_day(day, calendar.tz)
    return due_moment(due, after, calendar)


def escalation_rows(instance_id: UUID, task_id: UUID, spiff_task_id: UUID, bpmn_id: str, escalate_after: str | None,
                    due: datetime | None, calendar: WorkingDayCalendar, now: datetime) -> list[dict[str, Any]]:
    """Timer rows for level 1 (at the due moment) and level 2 (escalateAfter later)."""
    if due is None:
        return []
    moments = ((1, due), (2, escalation_moment(due, escalate_after, calendar)))
    return [{"id": uuid4(), "instance_id": instance_id, "task_id": task_id, "spiff_task_id": spiff_task_id,
             "kind": TimerKind.ESCALATION.value, "level": level, "bpmn_id": bpmn_id[:200], "fire_at": fire_at,
             "created_at": now, "attempts": 0} for level, fire_at in moments]
