"""Notifications: who hears about an event, what they read, and their in-app inbox of messages.

A notification row is written in the same transaction as the event it reports (a task assigned,
a reminder or escalation fired, the daily digest), so it exists exactly when the event committed;
mail leaves later from this table as an outbox (:mod:`engine.services.notifications.mail`). ``dedupe_key`` is
unique and rows are inserted with "on conflict do nothing", so one event notifies one person once
even when two schedulers race or a step is retried.

Mail is not a secure channel (DOMAIN.md section 7): subjects and bodies name the case reference
and the task, never the person or anything from the case file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import Actor
from engine.domain.errors import NotFound
from engine.domain.permissions import Role
from engine.domain.visibility import LEAD_AUDIENCE
from engine.persistence.models import OPEN_STATES, CaseFile, HumanTask, Notification, Office, User, UserOffice
from engine.services.context import EngineContext, UnitOfWork
from engine.services.notifications.mail import one_line

COORDINATION_OFFICE = "KI"  # KIM coordination at the Kommunales Integrationszentrum (DOMAIN.md section 2)
WORKING_ROLES = (Role.CASEWORKER.value, Role.SUPERVISOR.value)  # people with an inbox
REASSIGN_QUIET = timedelta(hours=1)
"""A task assigned to the same person again within this time (back and forth) is not re-announced."""
MAX_PAGE = 200


class Kind(StrEnum):
    ASSIGNED = "assigned"
    OFFICE_DIGEST = "office_digest"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    ESCALATED = "escalated"


@dataclass(frozen=True)
class Message:
    kind: Kind
    subject: str
    body: str
    link: str | None = None
    task_id: UUID | None = None
    case_id: UUID | None = None


def notify(session: Session, recipients: Iterable[int], message: Message, key: str, *, mail: bool = True,
           now: datetime | None = None) -> int:
    """One row per active recipient (``<key>:<user id>`` deduplicates); returns how many are new.

    Mail is queued (``pending``) for every recipient with an address unless ``mail`` is False
    (in-app only). Whether it really leaves is the mail sender's decision (the scheduler's
    ``KIM_SMTP_URL``), not that of the process writing the event: a web process without mail
    settings must not drop the mail of its users' actions.
    """
    ids = sorted(set(recipients))
    if not ids:
        return 0
    now = now or clock.now()
    people = session.execute(select(User.id, User.email).where(User.id.in_(ids), User.active.is_(True))).all()
    added = 0
    for user_id, email in people:
        pending = mail and bool(email)
        values: dict[str, Any] = {
            "user_id": user_id, "kind": message.kind.value, "dedupe_key": f"{key}:{user_id}"[:200],
            "task_id": message.task_id, "case_id": message.case_id, "subject": one_line(message.subject)[:300],
            "body": message.body, "link": message.link, "created_at": now,
            "mail_state": "pending" if pending else "none", "mail_attempts": 0,
            "mail_next_at": now if pending else None}
        inserted = session.connection().execute(_ADD, values).first()  # rowcount is not reliable here on psycopg
        added += inserted is not None
    return added  # pending mail wakes the schedulers' mail sender (a trigger, signals.py)


_COLUMNS = ("user_id", "kind", "dedupe_key", "task_id", "case_id", "subject", "body", "link", "created_at",
            "mail_state", "mail_attempts", "mail_next_at")
# Written out once (PostgreSQL and SQLite share the syntax): SQLAlchemy cannot cache the compiled
# form of a dialect's INSERT ... ON CONFLICT, and the scheduler adds one per person it tells.
_ADD = text(
    f"INSERT INTO notification ({', '.join(_COLUMNS)}) VALUES ({', '.join(':' + c for c in _COLUMNS)}) "  # noqa: S608  # constant column names
    "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id"
).bindparams(*(bindparam(c, type_=Notification.__table__.c[c].type) for c in _COLUMNS))


# --- who -------------------------------------------------------------------------------------


def office_members(session: Session, office_id: int, roles: tuple[str, ...] = WORKING_ROLES) -> list[int]:
    return list(session.scalars(
        select(User.id).join(UserOffice, UserOffice.user_id == User.id)
        .where(UserOffice.office_id == office_id, User.active.is_(True), User.role.in_(roles))))


def office_leads(session: Session, office_id: int) -> list[int]:
    return office_members(session, office_id, (Role.SUPERVISOR.value,))


def coordination_leads(session: Session) -> list[int]:
    office_id = session.scalar(select(Office.id).where(Office.code == COORDINATION_OFFICE))
    return office_leads(session, office_id) if office_id is not None else []


# --- what ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskFacts:
    """What a message may say about a task: its name, office, case reference and due date."""

    id: UUID
    name: str
    state: str
    office_id: int
    office_code: str
    assignee_id: int | None
    due_at: datetime | None
    case_id: UUID | None
    reference: str | None
    audience: str | None = None  # "lead": for the office's leads only

    @property
    def for_leads(self) -> bool:
        return self.audience == LEAD_AUDIENCE

    @property
    def case_label(self) -> str:
        return f"Fall {self.reference}" if self.reference else "ohne Fall"

    @property
    def link(self) -> str:
        return f"/tasks/{self.id}"


def task_facts(session: Session, task_id: UUID) -> TaskFacts | None:
    row = session.execute(
        select(HumanTask.id, HumanTask.name, HumanTask.state, HumanTask.office_id, Office.code,
               HumanTask.assignee_id, HumanTask.due_at, HumanTask.case_id, CaseFile.reference, HumanTask.audience)
        .join(Office, Office.id == HumanTask.office_id)
        .outerjoin(CaseFile, CaseFile.id == HumanTask.case_id).where(HumanTask.id == task_id)).first()
    return TaskFacts(*row) if row is not None else None


def local_date(moment: datetime | None) -> str:
    """TT.MM.JJJJ in Europe/Berlin, as users read dates."""
    return moment.astimezone(clock.BERLIN).strftime("%d.%m.%Y") if moment is not None else "-"


def _office_audience(session: Session, task: TaskFacts) -> list[int]:
    """Who in the task's office hears about it while nobody has it: everybody, or only the leads."""
    return office_leads(session, task.office_id) if task.for_leads else office_members(session, task.office_id)


def _due_key(task: TaskFacts) -> str:
    return task.due_at.astimezone(clock.BERLIN).date().isoformat() if task.due_at else "none"


# --- events ----------------------------------------------------------------------------------


def task_assigned(session: Session, ctx: EngineContext, actor: Actor, task_id: UUID, assignee_id: int,
                  version: int) -> int:
    """``assign`` by someone else: tell the new assignee, unless they heard of it within the hour."""
    if assignee_id == actor.user_id:
        return 0
    task = task_facts(session, task_id)
    if task is None:
        return 0
    now = clock.now()
    recent = session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == assignee_id, Notification.task_id == task_id,
        Notification.kind == Kind.ASSIGNED.value, Notification.created_at > now - REASSIGN_QUIET))
    if recent:
        return 0
    body = (f"{actor.username} hat Ihnen die Aufgabe „{task.name}“ ({task.case_label}, {task.office_code}) "
            f"zugewiesen. Fällig am: {local_date(task.due_at)}.")
    message = Message(Kind.ASSIGNED, f"Aufgabe zugewiesen: {task.name} ({task.case_label})", body, task.link,
                      task.id, task.case_id)
    return notify(session, [assignee_id], message, f"assigned:{task.id}:{version}", now=now)


def task_due_soon(session: Session, ctx: EngineContext, task_id: UUID) -> int:
    """Reminder fired: the assignee, or every member of the office while nobody has claimed it (the
    office's leads only, for a task addressed to them)."""
    task = task_facts(session, task_id)
    if task is None or task.state not in OPEN_STATES:
        return 0
    recipients = [task.assignee_id] if task.assignee_id else _office_audience(session, task)
    body = (f"Die Aufgabe „{task.name}“ ({task.case_label}, {task.office_code}) ist am "
            f"{local_date(task.due_at)} fällig" + ("." if task.assignee_id else " und noch von niemandem übernommen."))
    message = Message(Kind.DUE_SOON, f"Bald fällig: {task.name} ({task.case_label})", body, task.link,
                      task.id, task.case_id)
    # one key per task and due date: whoever claims later already has it, and a new due date is news
    return notify(session, recipients, message, f"due_soon:{task.id}:{_due_key(task)}")


def task_escalated(session: Session, ctx: EngineContext, task_id: UUID, level: int) -> int:
    """Level 1 (overdue): the assignee and the office lead; level 2: the leads of KIM coordination.
    A task for the leads is announced to the leads only, whoever it is assigned to."""
    task = task_facts(session, task_id)
    if task is None:
        return 0
    if level <= 1:
        assignee = [task.assignee_id] if task.assignee_id and not task.for_leads else []
        recipients = [*office_leads(session, task.office_id), *assignee]
        body = (f"Die Aufgabe „{task.name}“ ({task.case_label}, {task.office_code}) war am "
                f"{local_date(task.due_at)} fällig und ist noch nicht erledigt (Eskalationsstufe 1).")
        message = Message(Kind.OVERDUE, f"Überfällig: {task.name} ({task.case_label})", body, task.link,
                          task.id, task.case_id)
        return notify(session, recipients, message, f"overdue:{task.id}:{_due_key(task)}")
    body = (f"Die Aufgabe „{task.name}“ ({task.case_label}) im Amt {task.office_code} ist seit dem "
            f"{local_date(task.due_at)} überfällig; die Amtsleitung wurde bereits informiert "
            f"(Eskalationsstufe {level}, KIM-Koordination).")
    message = Message(Kind.ESCALATED, f"Eskalation an die KIM-Koordination: {task.name} ({task.case_label})",
                      body, "/notifications", task.id, task.case_id)
    return notify(session, coordination_leads(session), message, f"escalated:{level}:{task.id}:{_due_key(task)}")


# --- the in-app list -------------------------------------------------------------------------


@dataclass(frozen=True)
class NotificationView:
    id: int
    kind: str
    subject: str
    body: str
    link: str | None
    task_id: UUID | None
    case_id: UUID | None
    created_at: datetime
    read_at: datetime | None
    mail_state: str


@dataclass(frozen=True)
class NotificationList:
    items: tuple[NotificationView, ...]
    unread: int


def _view(row: Notification) -> NotificationView:
    return NotificationView(row.id, row.kind, row.subject, row.body, row.link, row.task_id, row.case_id,
                            row.created_at, row.read_at, row.mail_state)


def list_notifications(uow: UnitOfWork, actor: Actor, unread_only: bool = False, limit: int = 50) -> NotificationList:
    """The caller's own notifications, newest first (nobody sees anyone else's)."""
    if actor.user_id is None:
        return NotificationList((), 0)
    query = select(Notification).where(Notification.user_id == actor.user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    rows = uow.session.scalars(query.order_by(Notification.created_at.desc(), Notification.id.desc())
                               .limit(max(1, min(limit, MAX_PAGE))))
    return NotificationList(tuple(_view(r) for r in rows), count_unread(uow.session, actor))


def count_unread(session: Session, actor: Actor) -> int:
    """For the navigation badge on every page: one indexed count."""
    if actor.user_id is None:
        return 0
    return int(session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == actor.user_id, Notification.read_at.is_(None))) or 0)


def mark_read(uow: UnitOfWork, actor: Actor, notification_id: int) -> NotificationView:
    """Mark one of the caller's notifications read (404 for anyone else's)."""
    row = uow.session.get(Notification, notification_id) if actor.user_id is not None else None
    if row is None or row.user_id != actor.user_id:
        raise NotFound("no such notification")
    if row.read_at is None:
        row.read_at = clock.now()
        uow.session.flush()
    return _view(row)


def mark_all_read(uow: UnitOfWork, actor: Actor) -> int:
    if actor.user_id is None:
        return 0
    result = uow.session.execute(update(Notification).where(
        Notification.user_id == actor.user_id, Notification.read_at.is_(None)).values(read_at=clock.now()))
    count: int = result.rowcount  # type: ignore[attr-defined]  # an UPDATE's CursorResult
    return max(count, 0)
