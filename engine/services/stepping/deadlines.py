"""Due dates, reminder and escalation rows of human tasks (INTERFACES.md section 4).

Reminders ("due soon") fire at :data:`REMINDER_TIME` local time - the start of an office's
working day - on the working day ``remindBefore`` (default ``KIM_REMIND_BEFORE``, 2WD) before
the due day: a task due Friday 23:59:59 is reminded on Wednesday 08:00 Europe/Berlin. The
morning, not the exact moment 48 hours earlier, because people read reminders when they start
work, and the same wall-clock hour holds across daylight-saving changes.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any
from uuid import UUID, uuid4

from engine.calendar import WorkingDayCalendar
from engine.domain.durations import DurationError, WorkingDays, due_moment, end_of_day, parse_deadline, subtract
from engine.persistence.models import TimerKind

DEFAULT_ESCALATE_AFTER = "5WD"
DEFAULT_REMIND_BEFORE = "2WD"
REMINDER_TIME = time(8, 0)
NO_REMINDER = frozenset({"", "0", "none", "off", "false", "0wd", "p0d"})


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


def reminder_disabled(remind_before: str | None) -> bool:
    """``0``, ``none`` (and friends) switch the reminder off for a task."""
    return remind_before is not None and remind_before.strip().strip("'\"").lower() in NO_REMINDER


def check_remind_before(value: str) -> str | None:
    """Why a ``remindBefore`` value cannot be used, or None if it can (deploy-time check)."""
    if reminder_disabled(value):
        return None
    try:
        parse_deadline(value)
    except DurationError as exc:
        return str(exc)
    return None


def reminder_moment(due: datetime, remind_before: str | None, calendar: WorkingDayCalendar) -> datetime | None:
    """08:00 local on the day ``remind_before`` before the due day; None when switched off.

    Working days count back on the calendar (``2WD`` before Monday is the Thursday before,
    skipping holidays); a calendar duration (``P3D``) counts back on the wall clock. A value that
    does not parse falls back to the default rather than dropping the reminder.
    """
    if reminder_disabled(remind_before):
        return None
    try:
        before = parse_deadline(remind_before or DEFAULT_REMIND_BEFORE)
    except DurationError:
        before = parse_deadline(DEFAULT_REMIND_BEFORE)
    local_due = due.astimezone(calendar.tz)
    if isinstance(before, WorkingDays):
        day = calendar.add_working_days(local_due.date(), -before.count)
    else:
        day = subtract(local_due, before, calendar).date()
    # combine + round trip through UTC: the right offset on both sides of a DST change
    return datetime.combine(day, REMINDER_TIME, tzinfo=calendar.tz).astimezone(UTC).astimezone(calendar.tz)


def escalation_rows(instance_id: UUID, task_id: UUID, spiff_task_id: UUID, bpmn_id: str, escalate_after: str | None,
                    due: datetime | None, calendar: WorkingDayCalendar, now: datetime,
                    remind_before: str | None = DEFAULT_REMIND_BEFORE) -> list[dict[str, Any]]:
    """Timer rows for the reminder (before the due day), level 1 (at the due moment) and
    level 2 (escalateAfter later). A reminder whose moment has passed is not created."""
    if due is None:
        return []
    moments = [(TimerKind.ESCALATION, 1, due), (TimerKind.ESCALATION, 2, escalation_moment(due, escalate_after,
                                                                                            calendar))]
    remind_at = reminder_moment(due, remind_before, calendar)
    if remind_at is not None and now < remind_at < due:
        moments.append((TimerKind.REMINDER, 0, remind_at))
    return [{"id": uuid4(), "instance_id": instance_id, "task_id": task_id, "spiff_task_id": spiff_task_id,
             "kind": kind.value, "level": level, "bpmn_id": bpmn_id[:200], "fire_at": fire_at,
             "created_at": now, "attempts": 0} for kind, level, fire_at in moments]
