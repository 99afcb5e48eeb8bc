"""Core SQL for the hot path of an engine step (lock, complete, project, save).

An engine step touches a handful of rows; going through the ORM unit of work for them cost
several times more than the statements themselves. These functions issue plain SQLAlchemy
Core statements on the session's connection, inside the caller's transaction, and never
commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ARRAY,
    Column,
    ColumnElement,
    Row,
    Select,
    Table,
    Update,
    and_,
    any_,
    bindparam,
    delete,
    select,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from engine.persistence import direct
from engine.persistence.models import (
    LIVE_STATES,
    OPEN_STATES,
    AuditEntry,
    CaseFile,
    HumanTask,
    Incident,
    Office,
    ProcessInstance,
    StepHistory,
    TaskState,
    Timer,
    TimerKind,
    User,
)

INSTANCE: Table = ProcessInstance.__table__  # type: ignore[assignment]  # declarative tables are Tables
TASK: Table = HumanTask.__table__  # type: ignore[assignment]  # as above
TIMER: Table = Timer.__table__  # type: ignore[assignment]  # as above
AUDIT: Table = AuditEntry.__table__  # type: ignore[assignment]  # as above
HISTORY: Table = StepHistory.__table__  # type: ignore[assignment]  # as above
INCIDENT: Table = Incident.__table__  # type: ignore[assignment]  # as above
CASE: Table = CaseFile.__table__  # type: ignore[assignment]  # as above
OFFICE: Table = Office.__table__  # type: ignore[assignment]  # as above
USER: Table = User.__table__  # type: ignore[assignment]  # as above


@dataclass
class InstanceRecord:
    id: UUID
    definition_id: int
    dependency_ids: dict[str, Any]
    spec_key: str
    case_id: UUID | None
    status: str
    state: str
    version: int
    # read under the row lock of this transaction (FOR UPDATE): nobody else can save it meanwhile
    locked: bool = False


@dataclass(frozen=True)
class TaskRecord:
    id: UUID
    instance_id: UUID
    spiff_task_id: UUID
    bpmn_id: str
    office_id: int
    assignee_id: int | None
    state: str
    version: int
    form_key: str | None
    audience: str | None = None  # "lead": for the office's leads only


CONSENT_REQUEST_LIKE = "consent_request:%"
_INSTANCE_COLUMNS = (INSTANCE.c.id, INSTANCE.c.definition_id, INSTANCE.c.dependency_ids, INSTANCE.c.spec_key,
                     INSTANCE.c.case_id, INSTANCE.c.status, INSTANCE.c.state, INSTANCE.c.version)
_TASK_COLUMNS = (TASK.c.id, TASK.c.instance_id, TASK.c.spiff_task_id, TASK.c.bpmn_id, TASK.c.office_id,
                 TASK.c.assignee_id, TASK.c.state, TASK.c.version, TASK.c.form_key, TASK.c.audience)


def _locked_instance(row: Row[Any] | None) -> InstanceRecord | None:
    return _locked(row) if row is not None else None


def _locked(values: Sequence[Any]) -> InstanceRecord:
    """The instance as read by a locking statement of this transaction."""
    record = InstanceRecord(*values)
    record.locked = True
    return record


def lock_instance(session: Session, instance_id: UUID, skip_locked: bool = False) -> InstanceRecord | None:
    """Row lock for the engine step (PostgreSQL); on SQLite BEGIN IMMEDIATE already holds the write lock."""
    query = select(*_INSTANCE_COLUMNS).where(INSTANCE.c.id == instance_id).with_for_update(skip_locked=skip_locked)
    return _locked_instance(session.connection().execute(query).first())


def lock_instance_of_task(session: Session, task_id: UUID) -> tuple[InstanceRecord, TaskRecord] | None:
    conn = session.connection()
    owner = select(TASK.c.instance_id).where(TASK.c.id == task_id).scalar_subquery()
    instance = _locked_instance(conn.execute(select(*_INSTANCE_COLUMNS).where(INSTANCE.c.id == owner)
                                      .with_for_update()).first())
    if instance is None:
        return None
    task = conn.execute(select(*_TASK_COLUMNS).where(TASK.c.id == task_id)).first()
    return (instance, TaskRecord(*task)) if task is not None else None


@dataclass(frozen=True)
class CaseHeader:
    """What a step needs of the instance's case: the owner office and what task views show."""

    owner_office_id: int
    owner_office_code: str
    reference: str
    given_name: str
    family_name: str


@dataclass(frozen=True)
class LockedTask:
    """A task to complete and its instance, read in one statement with the instance row locked."""

    instance: InstanceRecord
    task: TaskRecord
    name: str
    process_id: str
    created_at: datetime
    due_at: datetime | None
    follow_up_at: datetime | None
    escalation_level: int
    assignee_name: str | None
    case: CaseHeader | None


def _lock_task_statement() -> Select[Any]:
    owner = OFFICE.alias("owner_office")
    return (select(*_INSTANCE_COLUMNS, *_TASK_COLUMNS, TASK.c.name, TASK.c.process_id, TASK.c.created_at,
                   TASK.c.due_at, TASK.c.follow_up_at, TASK.c.escalation_level, USER.c.username,
                   CASE.c.owner_office_id, owner.c.code, CASE.c.reference, CASE.c.given_name, CASE.c.family_name)
            .select_from(TASK.join(INSTANCE, INSTANCE.c.id == TASK.c.instance_id)
                         .outerjoin(USER, USER.c.id == TASK.c.assignee_id)
                         .outerjoin(CASE, CASE.c.id == INSTANCE.c.case_id)
                         .outerjoin(owner, owner.c.id == CASE.c.owner_office_id))
            .where(TASK.c.id == bindparam("task_id")).with_for_update(of=[INSTANCE, TASK]))


# The statements of every completion, built once: building a statement and computing its cache
# key cost more than the database takes to run it (bind parameters carry the values).
_LOCK_TASK = direct.Statement(_lock_task_statement())


def lock_task_for_completion(session: Session, task_id: UUID) -> LockedTask | None:
    """The task, its instance and its case's header, in one round trip; the instance row and the
    task row stay locked to the end of the transaction (in that order, the order every writer
    of an instance keeps), so what is read of the task cannot change before the completion."""
    row = _LOCK_TASK.execute(session, {"task_id": task_id}).first()
    if row is None:
        return None
    n, m = len(_INSTANCE_COLUMNS), len(_TASK_COLUMNS)
    name, process_id, created_at, due_at, follow_up_at, level, assignee, *owner_row = row[n + m:]
    case = CaseHeader(*owner_row) if owner_row[0] is not None else None
    return LockedTask(_locked(row[:n]), TaskRecord(*row[n:n + m]), name, process_id,
                      created_at, due_at, follow_up_at, level, assignee, case)


def case_header(session: Session, case_id: UUID) -> CaseHeader | None:
    row = session.connection().execute(
        select(CASE.c.owner_office_id, OFFICE.c.code, CASE.c.reference, CASE.c.given_name, CASE.c.family_name)
        .join(OFFICE, OFFICE.c.id == CASE.c.owner_office_id).where(CASE.c.id == case_id)).first()
    return CaseHeader(*row) if row is not None else None


def insert_instance(session: Session, values: Mapping[str, Any]) -> None:
    insert_rows(session, INSTANCE, [values])


def _save_instance_statement(ending: bool) -> Update:
    values: dict[str, Any] = {"state": bindparam("b_state"), "status": bindparam("b_status"),
                              "version": bindparam("b_new_version"), "state_format": bindparam("b_state_format")}
    if ending:
        values["ended_at"] = bindparam("b_ended_at")
    return (update(INSTANCE).where(INSTANCE.c.id == bindparam("b_id"), INSTANCE.c.version == bindparam("b_version"))
            .values(**values))


_SAVE_INSTANCE = {ending: direct.Statement(_save_instance_statement(ending)) for ending in (False, True)}


def save_instance(session: Session, record: InstanceRecord, state: str, status: str,
                  ended_at: datetime | None, state_format: int) -> bool:
    """Compare-and-set on the instance version; False if someone else saved in between.

    A record read under its row lock (``locked``) cannot have been saved by anyone else: on
    PostgreSQL its save is not waited for but goes with the transaction's next statement (see
    engine.persistence.direct), the step's other writes with it.
    """
    statement, params = _SAVE_INSTANCE[ended_at is not None], {
        "b_id": record.id, "b_version": record.version, "b_state": state, "b_status": status,
        "b_new_version": record.version + 1, "b_state_format": state_format, "b_ended_at": ended_at}
    changed = statement.defer(session, params) if record.locked else statement.execute(session, params).rowcount
    if changed is not None and changed != 1:
        return False
    record.version += 1
    record.state, record.status = state, status
    return True


_COMPLETE_TASK = direct.Statement(
    update(TASK).where(TASK.c.id == bindparam("b_id"), TASK.c.version == bindparam("b_version"),
                       TASK.c.state.in_(OPEN_STATES))
    .values(state=TaskState.COMPLETED.value, completed_at=bindparam("b_now"), completed_by_id=bindparam("b_user_id"),
            data=bindparam("b_data", type_=TASK.c.data.type), version=bindparam("b_new_version")))


def complete_task_row(session: Session, task: TaskRecord, user_id: int | None, data: Mapping[str, Any],
                      now: datetime) -> bool:
    """Compare-and-set: only an open task at the version we read can be completed.

    ``task`` comes from :func:`lock_task_for_completion`, whose row lock keeps its state and
    version until the commit: the update cannot miss, so on PostgreSQL it is not waited for but
    goes with the step's next statement (engine.persistence.direct). Elsewhere its row count
    still answers.

    Its pending deadline rows go with it (a trigger on ``task``: whatever ends a task drops its
    reminders and escalations): a done task is never escalated, and leaving them would let the
    timer table grow with every completion of a long-running case.
    """
    if task.state not in OPEN_STATES:
        return False
    changed = _COMPLETE_TASK.defer(session, {
        "b_id": task.id, "b_version": task.version, "b_now": now, "b_user_id": user_id, "b_data": dict(data),
        "b_new_version": task.version + 1})
    return changed is None or changed == 1


def reopen_task_row(session: Session, task: TaskRecord, data: Mapping[str, Any]) -> None:
    """Undo a completion whose model code failed: the task stays open, the data kept as a draft."""
    session.connection().execute(
        update(TASK).where(TASK.c.id == task.id)
        .values(state=task.state, completed_at=None, completed_by_id=None, data=dict(data),
                version=TASK.c.version + 1))


_OPEN_TASKS = direct.Statement(select(TASK.c.spiff_task_id, TASK.c.id).where(
    TASK.c.instance_id == bindparam("instance_id"), TASK.c.state.in_(LIVE_STATES),
    TASK.c.bpmn_id.not_like(CONSENT_REQUEST_LIKE)))


def open_tasks(session: Session, instance_id: UUID) -> dict[UUID, UUID]:
    """spiff task id -> task id of the instance's live human tasks (open, claimed or held).

    Consent requests are tasks of the case management, not of the workflow: they are not
    listed (a step must not cancel the request a held task is waiting on).
    """
    rows = _OPEN_TASKS.execute(session, {"instance_id": instance_id}).rows
    return {r.spiff_task_id: r.id for r in rows}


def _one_of(column: Column[Any], name: str, on_postgresql: bool) -> ColumnElement[bool]:
    """``column IN :name`` for a list of any size: an expanding IN (its SQL changes with the number
    of values), or on PostgreSQL ``= ANY(:name)`` with the list bound as one array, compiled once."""
    if on_postgresql:
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


def _both(build: Callable[[bool], Executable]) -> direct.Statement:
    """A statement with a list of values, built portable and for PostgreSQL (see :func:`_one_of`)."""
    return direct.Statement(build(False), on_postgresql=build(True))


_CANCEL = {"state": TaskState.CANCELLED.value, "completed_at": bindparam("b_now"), "version": TASK.c.version + 1}
_CANCEL_TASKS = _both(lambda pg: update(TASK).where(_one_of(TASK.c.id, "b_ids", pg), TASK.c.state.in_(LIVE_STATES))
                      .values(**_CANCEL))


def cancel_tasks(session: Session, task_ids: Sequence[UUID], now: datetime) -> None:
    """Cancel live tasks (their pending reminders and escalations go by trigger). Nobody waits
    for the outcome: on PostgreSQL it goes with the step's next statement."""
    if task_ids:
        _CANCEL_TASKS.defer(session, {"b_ids": list(task_ids), "b_now": now})


_CANCEL_TASKS_OF = _both(lambda pg: update(TASK).where(
    TASK.c.instance_id == bindparam("b_instance_id"), _one_of(TASK.c.spiff_task_id, "b_spiff_ids", pg),
    TASK.c.state.in_(LIVE_STATES)).values(**_CANCEL))


def cancel_tasks_of(session: Session, instance_id: UUID, spiff_ids: Sequence[UUID], now: datetime) -> None:
    """Cancel the instance's live tasks of these workflow tasks (gone from the workflow)."""
    if spiff_ids:
        _CANCEL_TASKS_OF.defer(session, {"b_instance_id": instance_id, "b_spiff_ids": list(spiff_ids), "b_now": now})


@cache
def inserting(table: Table) -> direct.Inserting:
    """``INSERT INTO table`` of any number of rows, one object per table (compiled once per shape).

    Inline: nobody reads a generated key back, so no ``RETURNING id`` is sent with each row.
    """
    return direct.Inserting(table)


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    inserting(table).execute(session, rows)


_BPMN_TIMERS = direct.Statement(select(TIMER.c.spiff_task_id, TIMER.c.id, TIMER.c.fire_at).where(
    TIMER.c.instance_id == bindparam("instance_id"), TIMER.c.kind == TimerKind.BPMN.value))


def bpmn_timers(session: Session, instance_id: UUID) -> dict[UUID, tuple[UUID, datetime]]:
    """spiff task id -> (timer id, fire_at) of the instance's pending BPMN timers."""
    rows = _BPMN_TIMERS.execute(session, {"instance_id": instance_id}).rows
    return {r.spiff_task_id: (r.id, r.fire_at) for r in rows}


_DELETE_BPMN_TIMERS = _both(lambda pg: delete(TIMER).where(
    TIMER.c.instance_id == bindparam("instance_id"), TIMER.c.kind == TimerKind.BPMN.value,
    _one_of(TIMER.c.spiff_task_id, "spiff_ids", pg)))


def delete_bpmn_timers(session: Session, instance_id: UUID, spiff_ids: Sequence[UUID]) -> None:
    if spiff_ids:
        _DELETE_BPMN_TIMERS.defer(session, {"instance_id": instance_id, "spiff_ids": list(spiff_ids)})


_MOVE_BPMN_TIMER = direct.Statement(update(TIMER).where(
    TIMER.c.instance_id == bindparam("b_instance_id"), TIMER.c.kind == TimerKind.BPMN.value,
    TIMER.c.spiff_task_id == bindparam("b_spiff_id")).values(fire_at=bindparam("b_fire_at"), attempts=0))


def move_bpmn_timer(session: Session, instance_id: UUID, spiff_id: UUID, fire_at: datetime) -> None:
    _MOVE_BPMN_TIMER.defer(session, {"b_instance_id": instance_id, "b_spiff_id": spiff_id, "b_fire_at": fire_at})


_DELETE_TIMERS = _both(lambda pg: delete(TIMER).where(_one_of(TIMER.c.id, "ids", pg)))


def delete_timers(session: Session, timer_ids: Iterable[UUID]) -> None:
    ids = list(timer_ids)
    if ids:
        _DELETE_TIMERS.defer(session, {"ids": ids})


_MOVE_TIMER = direct.Statement(update(TIMER).where(TIMER.c.id == bindparam("b_id")).values(
    fire_at=bindparam("b_fire_at"), attempts=0))


def move_timer(session: Session, timer_id: UUID, fire_at: datetime) -> None:
    _MOVE_TIMER.defer(session, {"b_id": timer_id, "b_fire_at": fire_at})


@dataclass(frozen=True)
class DueTimer:
    """A timer row that is due: what firing it needs."""

    id: UUID
    kind: str
    level: int
    task_id: UUID | None
    bpmn_id: str | None
    fire_at: datetime
    spiff_task_id: UUID | None


_DUE_TIMER_COLUMNS = (TIMER.c.id, TIMER.c.kind, TIMER.c.level, TIMER.c.task_id, TIMER.c.bpmn_id, TIMER.c.fire_at,
                      TIMER.c.spiff_task_id)


def _lock_due_statement(skip_locked: bool) -> Select[Any]:
    return (select(*_INSTANCE_COLUMNS, *_DUE_TIMER_COLUMNS)
            .select_from(TIMER.join(INSTANCE, INSTANCE.c.id == TIMER.c.instance_id))
            .where(TIMER.c.instance_id == bindparam("instance_id"), TIMER.c.fired_at.is_(None),
                   TIMER.c.fire_at <= bindparam("now", type_=TIMER.c.fire_at.type))
            # the timer rows are locked too: a row another scheduler fired and committed meanwhile is
            # re-checked (and dropped) by PostgreSQL instead of coming back from the statement's snapshot
            .with_for_update(of=[INSTANCE, TIMER], skip_locked=skip_locked))


_LOCK_DUE = {skip: direct.Statement(_lock_due_statement(skip)) for skip in (False, True)}


def lock_instance_with_due_timers(session: Session, instance_id: UUID, now: datetime,
                                  skip_locked: bool) -> tuple[InstanceRecord, list[DueTimer]] | None:
    """The instance (row-locked, ``SKIP LOCKED`` if asked) and its due timer rows, in one round trip.

    None when another scheduler holds the instance or nothing of it is due any more (someone
    fired it in between): either way there is nothing to do here.
    """
    rows = _LOCK_DUE[skip_locked].execute(session, {"instance_id": instance_id, "now": now}).rows
    if not rows:
        return None
    n = len(_INSTANCE_COLUMNS)
    return _locked(rows[0][:n]), [DueTimer(*row[n:]) for row in rows]


_MARK_FIRED = direct.Statement(update(TIMER).where(TIMER.c.id == bindparam("b_id")).values(fired_at=bindparam("b_now")))
_ESCALATE = direct.Statement(
    update(TASK).where(and_(TASK.c.id == bindparam("b_id"), TASK.c.state.in_(OPEN_STATES),
                            TASK.c.escalation_level < bindparam("b_level")))
    .values(escalation_level=bindparam("b_level"), version=TASK.c.version + 1))


def raise_escalation(session: Session, timer_id: UUID, task_id: UUID | None, level: int, now: datetime) -> bool:
    """Mark the timer fired and lift the task to ``level`` if it is open and lower; True if lifted."""
    _MARK_FIRED.execute(session, {"b_id": timer_id, "b_now": now})
    if task_id is None:
        return False
    result = _ESCALATE.execute(session, {"b_id": task_id, "b_level": level})
    return result.rowcount == 1


def add_history(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    insert_rows(session, HISTORY, rows)


def add_incident(session: Session, values: Mapping[str, Any]) -> None:
    insert_rows(session, INCIDENT, [values])


_LAST_VALUES = direct.Statement(
    select(TASK.c.data).where(TASK.c.instance_id == bindparam("instance_id"), TASK.c.state == TaskState.COMPLETED.value)
    .order_by(TASK.c.completed_at.desc()).limit(20))


def last_value(session: Session, instance_id: UUID, key: str) -> Any:
    """The most recent value a completed task of the instance recorded under ``key``."""
    for (data,) in _LAST_VALUES.execute(session, {"instance_id": instance_id}).rows:
        if isinstance(data, dict) and data.get(key):
            return data[key]
    return None


_CLOSE_CASE = direct.Statement(
    update(CASE).where(CASE.c.id == bindparam("b_id"), CASE.c.status == "open")
    .values(status="closed", closed_at=bindparam("b_now"), closure_reason=bindparam("b_reason"),
            version=CASE.c.version + 1))


def close_case(session: Session, case_id: UUID | None, reason: str | None, now: datetime) -> bool:
    if case_id is None:
        return False
    result = _CLOSE_CASE.execute(session, {"b_id": case_id, "b_now": now, "b_reason": reason})
    return result.rowcount == 1
