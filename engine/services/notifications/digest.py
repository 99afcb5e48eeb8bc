"""The daily digest: one message per person listing the tasks that became open in their offices.

Runs once a day at ``KIM_DIGEST_TIME`` (Europe/Berlin, default 07:00) from the scheduler. The
window of a person's digest starts where their previous digest ended (its ``created_at``), or at
the previous working day's digest time for their first, so a scheduler that was down catches up without
repeating anything. Nobody gets an empty digest, and none is sent on weekends and holidays (the
next working day's digest covers them). The key ``office_digest:<day>:<user>`` makes
a second scheduler, or a second run the same day, harmless.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import Actor
from engine.domain.visibility import sees_lead_tasks
from engine.persistence.models import OPEN_STATES, CaseFile, HumanTask, Notification, Office, User, UserOffice
from engine.services.context import EngineContext
from engine.services.notifications.notify import WORKING_ROLES, Kind, Message, local_date, notify

DEFAULT_DIGEST_TIME = time(7, 0)
MAX_LISTED = 50  # more tasks than this are summarised as a count


def digest_time(ctx: EngineContext) -> time:
    raw = str(ctx.config.get("KIM_DIGEST_TIME") or "").strip()
    try:
        return time.fromisoformat(raw) if raw else DEFAULT_DIGEST_TIME
    except ValueError as exc:
        raise ValueError(f"KIM_DIGEST_TIME: {raw!r} is not a time like 07:00") from exc


def digest_moment(ctx: EngineContext, day: date) -> datetime:
    """The digest time on ``day`` in local time (the same wall-clock hour in summer and winter)."""
    tz = ctx.calendar.tz
    return datetime.combine(day, digest_time(ctx), tzinfo=tz).astimezone(UTC).astimezone(tz)  # DST gap: later


def next_digest_at(ctx: EngineContext, now: datetime) -> datetime:
    today = now.astimezone(ctx.calendar.tz).date()
    moment = digest_moment(ctx, today)
    return moment if moment > now else digest_moment(ctx, today + timedelta(days=1))


def send_digests(ctx: EngineContext) -> int:
    """Today's digests, if their time has come; returns how many were written (0 when done already)."""
    now = clock.now()
    today = now.astimezone(ctx.calendar.tz).date()
    if now < digest_moment(ctx, today) or not ctx.calendar.is_working_day(today):
        return 0  # weekends and holidays: Monday's digest starts where Friday's ended
    floor = digest_moment(ctx, ctx.calendar.add_working_days(today, -1))
    written = 0
    with ctx.uow() as uow:
        session = uow.session
        offices = _offices_of_people(session)
        done = set(session.scalars(select(Notification.user_id).where(
            Notification.dedupe_key.in_([f"office_digest:{today}:{u}" for u in offices]))))
        last = {user: at for user, at in session.execute(
            select(Notification.user_id, func.max(Notification.created_at))
            .where(Notification.kind == Kind.OFFICE_DIGEST.value).group_by(Notification.user_id))}
        leads = {user_id for user_id, role in _roles(session, offices) if sees_lead_tasks(Actor(str(user_id), role))}
        for user_id, office_ids in offices.items():
            if user_id in done:
                continue
            since = last.get(user_id) or floor
            tasks = _new_tasks(session, office_ids, since, now, user_id in leads)
            if tasks:
                written += notify(session, [user_id], _message(tasks), f"office_digest:{today}", now=now)
        uow.commit()
    return written


def _offices_of_people(session: Session) -> dict[int, list[int]]:
    result: dict[int, list[int]] = defaultdict(list)
    for user_id, office_id in session.execute(
            select(UserOffice.user_id, UserOffice.office_id).join(User, User.id == UserOffice.user_id)
            .where(User.active.is_(True), User.role.in_(WORKING_ROLES))):
        result[user_id].append(office_id)
    return dict(result)


def _roles(session: Session, people: dict[int, list[int]]) -> list[Any]:
    """(user id, role) of the digest's readers: the leads among them also hear of their leads' tasks."""
    return list(session.execute(select(User.id, User.role).where(User.id.in_(sorted(people))))) if people else []


def _new_tasks(session: Session, office_ids: list[int], since: datetime, until: datetime,
               lead: bool) -> list[Any]:
    """Tasks created in the window that are still open (a task done meanwhile is no news); the tasks
    for the leads only in a lead's digest."""
    query = (select(HumanTask.name, HumanTask.due_at, Office.code, CaseFile.reference)
             .join(Office, Office.id == HumanTask.office_id).outerjoin(CaseFile, CaseFile.id == HumanTask.case_id)
             .where(HumanTask.office_id.in_(office_ids), HumanTask.state.in_(OPEN_STATES),
                    HumanTask.created_at > since, HumanTask.created_at <= until))
    if not lead:
        query = query.where(HumanTask.audience.is_(None))
    return list(session.execute(query.order_by(HumanTask.due_sort, HumanTask.created_at)))


def _message(tasks: list[Any]) -> Message:
    lines = [f"- {t.name} (Fall {t.reference or '-'}, {t.code}, fällig am {local_date(t.due_at)})"
             for t in tasks[:MAX_LISTED]]
    if len(tasks) > MAX_LISTED:
        lines.append(f"- ... und {len(tasks) - MAX_LISTED} weitere")
    count = len(tasks)
    noun = "neue Aufgabe" if count == 1 else "neue Aufgaben"
    body = f"Seit der letzten Übersicht sind in Ihren Ämtern {count} {noun} eingegangen:\n\n" + "\n".join(lines)
    return Message(Kind.OFFICE_DIGEST, f"KIM Casework: {count} {noun} in Ihren Ämtern", body, "/inbox")
