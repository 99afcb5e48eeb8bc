"""The case's timeline ("Verlauf") as the case page tells it: who did what to which step, and for
which office - not audit codes.

The entries are those of :func:`engine.services.casework.case_page.case_timeline` (the same need to
know); this read model adds the names the sentences need: the step's name and office for a task,
the office a consent is for, and the offices of the person who acted. The wording is the web
layer's (it translates); ``kind`` says which sentence to use.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.domain.actors import Actor
from engine.domain.residence_results import path_label
from engine.persistence.models import Consent, HumanTask, Office, User, UserOffice
from engine.services.casework.case_page import case_timeline
from engine.services.casework.views import TimelineEntry
from engine.services.context import UnitOfWork

# audit code -> the sentence the page uses; anything else reads "other" (and names the code)
KINDS = {
    "case.open": "case_opened", "case.close": "case_closed", "instance.start": "process_started",
    "instance.migrate": "process_migrated", "task.complete": "task_completed", "task.claim": "task_claimed",
    "task.release": "task_released", "task.assign": "task_assigned", "task.follow_up": "task_follow_up",
    "task.draft": "task_draft", "task.cancel": "task_cancelled", "task.escalate": "task_escalated",
    "task.remind": "task_reminded", "timer.fire": "timer_fired", "timer.cancel": "timer_cancelled",
    "consent.record": "consent_recorded",
    "consent.withdraw": "consent_withdrawn", "consent.refused": "consent_refused",
    "conference.convene": "conference_convened",
    "screening.run": "screening_run", "screening.deadline_gone": "deadline_gone",
    "screening.accept_goals": "goals_accepted", "instance.message": "process_message",
    "household.inputs": "household_inputs", "person.export": "person_exported",
    "retention.delete": "content_deleted",
}
# the detail a sentence names, by audit code: a path, a message - never personal content
DETAILS: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "screening.deadline_gone": lambda d: path_label(str(d["path"])) if d.get("path") else None,
    "instance.message": lambda d: str(d["message"]) if d.get("message") else None,
}
SYSTEM_USER = "system"
READS = (".read", ".migration_check")  # who looked at the case is in the audit trail, not in its story


@dataclass(frozen=True)
class TimelineSentence:
    """One line of the "Verlauf": what (``kind``), when, by whom (and their office), on which step."""

    at: datetime
    kind: str
    action: str
    user: str | None  # None: the engine itself (deadlines, timers, case closed)
    user_office: str | None
    step: str | None = None
    office: str | None = None  # the task's office, or the office a consent is for
    released_for_consent: bool = False
    detail: str | None = None  # what the sentence names besides (DETAILS)


def case_story(uow: UnitOfWork, actor: Actor, case_id: UUID, limit: int = 200) -> tuple[TimelineSentence, ...]:
    """The timeline entries the actor may see, newest first, with the names for their sentences."""
    entries = [e for e in case_timeline(uow, actor, case_id, limit) if not e.action.endswith(READS)]
    session = uow.session
    tasks = _tasks(session, {e.object_id for e in entries if e.object_type == "task" and e.object_id})
    consents = _consent_offices(session, {e.object_id for e in entries if e.object_type == "consent" and e.object_id})
    offices = _user_offices(session, {e.actor for e in entries})
    return tuple(_sentence(e, tasks, consents, offices) for e in entries)


def _sentence(entry: TimelineEntry, tasks: dict[str, tuple[str, str]], consents: dict[str, str],
              offices: dict[str, list[str]]) -> TimelineSentence:
    step, office = tasks.get(entry.object_id or "", (None, None))
    if entry.object_type == "consent":
        office = consents.get(entry.object_id or "") or entry.details.get("office")
    user = None if entry.actor == SYSTEM_USER else entry.actor
    own = offices.get(entry.actor, [])
    user_office = office if office in own else (", ".join(own) or None)
    detail = DETAILS[entry.action](dict(entry.details)) if entry.action in DETAILS else None
    return TimelineSentence(entry.at, KINDS.get(entry.action, "other"), entry.action, user, user_office, step,
                            office, entry.details.get("reason") == "consent recorded", detail)


def _tasks(session: Session, ids: set[str]) -> dict[str, tuple[str, str]]:
    wanted = [UUID(i) for i in ids]
    if not wanted:
        return {}
    rows = session.execute(select(HumanTask.id, HumanTask.name, Office.code)
                           .join(Office, Office.id == HumanTask.office_id).where(HumanTask.id.in_(wanted)))
    return {str(task_id): (name, code) for task_id, name, code in rows}


def _consent_offices(session: Session, ids: set[str]) -> dict[str, str]:
    wanted = [UUID(i) for i in ids]
    if not wanted:
        return {}
    rows = session.execute(select(Consent.id, Office.code).join(Office, Office.id == Consent.office_id)
                           .where(Consent.id.in_(wanted)))
    return {str(consent_id): code for consent_id, code in rows}


def _user_offices(session: Session, usernames: set[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    if not usernames:
        return found
    rows = session.execute(select(User.username, Office.code).join(UserOffice, UserOffice.user_id == User.id)
                           .join(Office, Office.id == UserOffice.office_id)
                           .where(User.username.in_(sorted(usernames))).order_by(Office.code))
    for username, code in rows:
        found[username].append(code)
    return found
