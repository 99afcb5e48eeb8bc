"""Work one task: read it with its form data, claim, release, assign, set a follow-up, keep a draft.

Every change is a compare-and-set on the task's version (two people at once: one wins, the
other gets a conflict) and is audited without case data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import Actor
from engine.domain.days import parse_day
from engine.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from engine.domain.periods import start_of_day
from engine.domain.permissions import Permission, has
from engine.domain.visibility import CaseView, may_see_task, role_used, sees_task_content
from engine.persistence import audit_log
from engine.persistence.models import OPEN_STATES, CaseFile, HumanTask, TaskState, User, UserOffice
from engine.services.casework.cases import case_access
from engine.services.casework.inbox import for_reader, task_query, task_view
from engine.services.casework.views import TaskView
from engine.services.context import UnitOfWork
from engine.services.notifications import notify

Check = Callable[[Session, Any], None]
PRIVATE = {"data": "(draft)", "follow_up_reason": "(reason)"}  # what the audit trail names but does not copy


def load_task_row(session: Session, actor: Actor, task_id: UUID) -> Any:
    """The task's row if the actor may see it (a task of their offices; one for the leads only for
    leads); NotFound otherwise."""
    row = session.execute(task_query().where(HumanTask.id == task_id)).first()
    if row is None or not may_see_task(actor, row.office_id, row.audience) or row.state == TaskState.HELD.value:
        raise NotFound("no such task")  # a held task belongs to an office without the person's consent
    return row


METADATA_ONLY = ("Amtsleitungen sehen von den Aufgaben der Sachbearbeitung nur die Metadaten. "
                 "Wer sie selbst bearbeitet, übernimmt sie zuerst.")


def get_task(uow: UnitOfWork, actor: Actor, task_id: UUID) -> TaskView:
    """The task with its current data (an audited read); an office lead gets the metadata of a
    caseworkers' task only, unless working it themselves (then audited with the role used)."""
    row = load_task_row(uow.session, actor, task_id)
    lead = has(actor, Permission.LEAD_OFFICE)
    if not sees_task_content(actor, row.audience, row.assignee_id == actor.user_id):
        audit_log.record(uow.session, actor, "task.read", "task", row.id, case_id=row.case_id,
                         instance_id=row.instance_id, details={"view": "metadata"})
        return task_view(row).metadata_only()
    audit_log.record(uow.session, actor, "task.read", "task", row.id, case_id=row.case_id,
                     instance_id=row.instance_id, details={"role": role_used(actor, row.audience)} if lead else None)
    view = task_view(row).with_data(dict(row.data or {})).with_context(row.context)
    if row.state not in OPEN_STATES and row.case_id is not None and _work_done(uow.session, actor, row.case_id):
        return view.without_name()  # its own task's data stays readable; the person's name does not
    return view


def _work_done(session: Session, actor: Actor, case_id: UUID) -> bool:
    """Whether the actor's offices no longer work in the case (DOMAIN.md section 7: an office
    reads a case while it has an open task in it and a valid consent)."""
    case = session.get(CaseFile, case_id)
    return case is not None and case_access(session, actor, case).view in (CaseView.FORMER, CaseView.NONE)


def task_summary(uow: UnitOfWork, actor: Actor, task_id: UUID) -> TaskView:
    """A task as the inbox shows it, e.g. for the reply of an action the caller just took."""
    return for_reader(actor, task_view(load_task_row(uow.session, actor, task_id)))


def _content_worker(actor: Actor) -> Check:
    """Only who sees the task's content writes it: not an office lead, unless working it."""
    def check(_session: Session, task: Any) -> None:
        if not sees_task_content(actor, task.audience, task.assignee_id == actor.user_id):
            raise NotAllowed(METADATA_ONLY)
    return check


def _may_work(actor: Actor) -> Check:
    def check(_session: Session, task: Any) -> None:
        if task.assignee_id not in (None, actor.user_id) and not has(actor, Permission.LEAD_OFFICE):
            raise Conflict("the task is claimed by a colleague")
    return check


def _change(uow: UnitOfWork, actor: Actor, task_id: UUID, action: str, values: dict[str, Any],
            allowed_states: tuple[str, ...], check: Check | None = None, after: Check | None = None,
            noted: Callable[[Any], dict[str, str]] | None = None) -> TaskView:
    """Compare-and-set update of one task the actor may work on; 409 if it changed meanwhile."""
    session = uow.session
    task = load_task_row(session, actor, task_id)
    if task.state not in allowed_states:
        raise Conflict(f"the task is {task.state}")
    if check is not None:
        check(session, task)
    result = session.connection().execute(
        update(HumanTask).where(and_(HumanTask.id == task.id, HumanTask.version == task.version))
        .values(version=task.version + 1, **values))
    if result.rowcount != 1:
        raise Conflict("the task was changed by someone else")
    if after is not None:
        after(session, task)  # e.g. notify, in this transaction
    shown = {k: PRIVATE.get(k, str(v)) for k, v in values.items() if v is not None or k not in PRIVATE}  # no case data
    audit_log.record(session, actor, f"task.{action}", "task", task.id, case_id=task.case_id,
                     instance_id=task.instance_id, details={**shown, **(noted(task) if noted else {})})
    return for_reader(actor, task_view(session.execute(task_query().where(HumanTask.id == task.id)).one()))


def claim_task(uow: UnitOfWork, actor: Actor, task_id: UUID) -> TaskView:
    def not_claimed_by_other(_session: Session, task: Any) -> None:
        if task.assignee_id not in (None, actor.user_id):
            raise Conflict("the task is claimed by a colleague")

    return _change(uow, actor, task_id, "claim", {"assignee_id": actor.user_id, "state": TaskState.CLAIMED.value},
                   OPEN_STATES, not_claimed_by_other)


def release_task(uow: UnitOfWork, actor: Actor, task_id: UUID) -> TaskView:
    def own_or_lead(_session: Session, task: Any) -> None:
        if task.assignee_id != actor.user_id and not has(actor, Permission.LEAD_OFFICE):
            raise Conflict("only the assignee or the office lead can release the task")

    return _change(uow, actor, task_id, "release", {"assignee_id": None, "state": TaskState.OPEN.value},
                   (TaskState.CLAIMED.value,), own_or_lead)


def assign_task(uow: UnitOfWork, actor: Actor, task_id: UUID, username: object) -> TaskView:
    if not isinstance(username, str) or not username.strip():
        raise InvalidInput("whom to assign the task to", {"username": "required"})
    colleague = uow.session.scalar(select(User).where(User.username == username.strip().lower(),
                                                      User.active.is_(True)))
    if colleague is None:
        raise InvalidInput("unknown user", {"username": "unknown user"})
    may_work = _may_work(actor)

    def colleague_in_office(session: Session, task: Any) -> None:
        member = session.scalar(select(func.count()).select_from(UserOffice).where(
            UserOffice.user_id == colleague.id, UserOffice.office_id == task.office_id))
        if not member:
            raise InvalidInput("the user does not work in the task's office", {"username": "not in this office"})
        if not may_see_task(Actor(colleague.username, colleague.role, frozenset({task.office_id}), colleague.id),
                            task.office_id, task.audience):
            raise InvalidInput("the task is for the office's leads", {"username": "not a lead of this office"})
        may_work(session, task)

    def tell_colleague(session: Session, task: Any) -> None:
        notify.task_assigned(session, uow.ctx, actor, task.id, colleague.id, task.version + 1)

    return _change(uow, actor, task_id, "assign", {"assignee_id": colleague.id, "state": TaskState.CLAIMED.value},
                   OPEN_STATES, colleague_in_office, tell_colleague)


def set_follow_up(uow: UnitOfWork, actor: Actor, task_id: UUID, value: object, reason: object = None) -> TaskView:
    """Wiedervorlage: the task hides from the inbox until the start of that day; null clears it
    (and its reason). The optional reason is shown on the task and in the list of follow-ups."""
    if reason is not None and (not isinstance(reason, str) or len(reason) > 500):
        raise InvalidInput("the reason is text of at most 500 characters", {"reason": "at most 500 characters"})
    note = (reason or "").strip() or None
    follow_up: datetime | None = None
    if value is not None:
        day = parse_day(value)
        if day is None:
            raise InvalidInput("the follow-up date must be a day (TT.MM.JJJJ or YYYY-MM-DD) or null",
                               {"date": "must be a date (TT.MM.JJJJ or YYYY-MM-DD) or null"})
        if day <= clock.local_now().date() or day.year > 2100:
            raise InvalidInput("the follow-up date must be in the future", {"date": "must be in the future"})
        follow_up = start_of_day(day)
    return _change(uow, actor, task_id, "follow_up",
                   {"follow_up_at": follow_up, "follow_up_reason": note if follow_up else None}, OPEN_STATES)


def save_draft(uow: UnitOfWork, actor: Actor, task_id: UUID, data: object) -> TaskView:
    """Keep what was typed so far without completing (no validation: drafts may be partial)."""
    if not isinstance(data, dict):
        raise InvalidInput("data must be an object", {"data": "must be an object"})
    if len(str(data)) > 200_000:
        raise InvalidInput("the draft is too large", {"data": "too large"})
    content, may_work = _content_worker(actor), _may_work(actor)

    def allowed(session: Session, task: Any) -> None:
        content(session, task)
        may_work(session, task)

    def role(task: Any) -> dict[str, str]:  # a lead writing a task works it in a role: noted
        return {"role": role_used(actor, task.audience)} if has(actor, Permission.LEAD_OFFICE) else {}

    view = _change(uow, actor, task_id, "draft", {"data": data}, OPEN_STATES, allowed, noted=role)
    return view.with_data(data)
