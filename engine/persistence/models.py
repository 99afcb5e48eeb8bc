"""SQLAlchemy 2 models: the tables that answer questions (tasks, timers, audit, history).

SpiffWorkflow's live state is one text column on ``process_instance``; everything the inbox,
the scheduler and reports ask for is here in indexed columns, so nobody deserializes a
workflow to answer a query. Types are portable: the same migrations run on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every database (SQLite drops tzinfo)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UtcDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime, dict[str, Any]: JSON, uuid.UUID: Uuid}


class TaskState(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    HELD = "held"  # waiting for the person's consent to share data with the task's office


OPEN_STATES = (TaskState.OPEN.value, TaskState.CLAIMED.value)
LIVE_STATES = (*OPEN_STATES, TaskState.HELD.value)  # still part of the running process


class InstanceStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    INCIDENT = "incident"
    CANCELLED = "cancelled"


class TimerKind(StrEnum):
    BPMN = "bpmn"            # a BPMN timer event of the process
    ESCALATION = "escalation"  # escalation level of an overdue human task
    REMINDER = "reminder"      # "due soon" reminder a few working days before a task's due date


class Office(Base):
    __tablename__ = "office"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class UserOffice(Base):
    __tablename__ = "user_office"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"), primary_key=True)


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str | None] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    offices: Mapped[list[Office]] = relationship(secondary="user_office", lazy="selectin")


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]  # a token stops working then (KIM_TOKEN_DAYS after creation)


class WebSession(Base):
    """A browser sign-in. The cookie only names the row, so logout and idle timeout end the
    session on the server, and every login gets a fresh id."""

    __tablename__ = "web_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    address: Mapped[str | None] = mapped_column(String(64))


class LoginFailure(Base):
    """Failed sign-ins, counted per account and per address to throttle guessing."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_username_at", "username", "at"),
                      Index("ix_login_failure_address_at", "address", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class ModelSourceRow(Base):
    """A deployed file, stored once per content hash."""

    __tablename__ = "model_source"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(8))  # bpmn | dmn
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class ProcessDefinition(Base):
    """One version of a process or decision; versions count up per key."""

    __tablename__ = "process_definition"
    __table_args__ = (
        UniqueConstraint("kind", "key", "version"),
        Index("ix_definition_key_hash", "kind", "key", "source_sha256"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # process | decision
    key: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300), default="")
    source_sha256: Mapped[str] = mapped_column(ForeignKey("model_source.sha256"))
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str | None] = mapped_column(String(100))
    # Withdrawn (never ran a case): kept for history, no new cases. Set on every version of the
    # key; publishing a new version makes the model available again.
    retired_at: Mapped[datetime | None]


class ProcessInstance(Base):
    __tablename__ = "process_instance"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    dependency_ids: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # key -> definition id
    spec_key: Mapped[str] = mapped_column(Text)  # content hashes of all definitions: the spec cache key
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("case_file.id"), index=True)
    business_key: Mapped[str | None] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    state: Mapped[str] = mapped_column(Text)
    state_format: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    started_by: Mapped[str | None] = mapped_column(String(100))

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  # SQLAlchemy reads it once


NO_DUE_DATE = datetime(9999, 12, 31, tzinfo=UTC)


def due_sort_of(due_at: datetime | None) -> datetime:
    """Tasks without a due date sort after all others, on every database, using an index."""
    return due_at if due_at is not None else NO_DUE_DATE


def _due_sort_default(context: Any) -> datetime:
    return due_sort_of(context.get_current_parameters().get("due_at"))


class HumanTask(Base):
    """Projection of every human task: the inbox, overdue lists and reports query this."""

    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_instance_state", "instance_id", "state"),
        Index("ix_task_state_due", "state", "due_at"),
        Index("ix_task_case", "case_id"),
        Index("ix_task_state_completed", "state", "completed_at"),  # reports over a date range
        Index("ix_task_form_completed", "form_key", "completed_at"),  # indicators read steps by their form
        # The inbox: open tasks of an office in due-date order, without the completed history.
        Index("ix_task_open_office_due", "office_id", "due_sort", "id", "follow_up_at",
              postgresql_where=text("state IN ('open', 'claimed')"), sqlite_where=text("state IN ('open', 'claimed')")),
        Index("ix_task_open_assignee_due", "assignee_id", "due_sort", "id", "follow_up_at",
              postgresql_where=text("state IN ('open', 'claimed')"), sqlite_where=text("state IN ('open', 'claimed')")),
        UniqueConstraint("instance_id", "spiff_task_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("process_instance.id"))
    case_id: Mapped[uuid.UUID | None]
    spiff_task_id: Mapped[uuid.UUID]
    process_id: Mapped[str] = mapped_column(String(200))
    bpmn_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    due_sort: Mapped[datetime] = mapped_column(default=_due_sort_default)  # due_at, or far future if none
    follow_up_at: Mapped[datetime | None]
    follow_up_reason: Mapped[str | None] = mapped_column(String(500))  # why the Wiedervorlage, optional
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    escalate_after: Mapped[str | None] = mapped_column(String(32))
    due_in: Mapped[str | None] = mapped_column(String(32))
    remind_before: Mapped[str | None] = mapped_column(String(32))  # as resolved when the task was created
    audience: Mapped[str | None] = mapped_column(String(16))  # "lead": for the office's leads only, not its caseworkers
    form_key: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # What the task is about ([{label, value, kind}], the model's showFrom read when the task was created):
    # shown on the task page with the data, never in the inbox.
    context: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON(none_as_null=True))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  # SQLAlchemy reads it once


class Timer(Base):
    """Every pending BPMN timer and deadline, with the moment it is due."""

    __tablename__ = "timer"
    __table_args__ = (
        UniqueConstraint("instance_id", "spiff_task_id", "kind", "level"),
        Index("ix_timer_pending", "fired_at", "fire_at"),
        Index("ix_timer_instance_kind", "instance_id", "kind"),
        Index("ix_timer_task", "task_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("process_instance.id"))
    task_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("task.id"))
    spiff_task_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer, default=0)
    bpmn_id: Mapped[str] = mapped_column(String(200))
    fire_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class StepHistory(Base):
    """Finished BPMN elements moved out of the live workflow (path and timings of a case)."""

    __tablename__ = "step_history"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("process_instance.id"), index=True)
    spiff_task_id: Mapped[uuid.UUID]
    bpmn_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    finished_at: Mapped[datetime]


class Incident(Base):
    __tablename__ = "incident"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("process_instance.id"), index=True)
    element_id: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class CaseFile(Base):
    """A person's case: master data, referral and the process that runs it.

    Named ``case_file`` because CASE is an SQL keyword. Free-form details (household,
    further person data) live in JSON columns whose keys the web layer filters by role.
    """

    __tablename__ = "case_file"
    __table_args__ = (Index("ix_case_owner_status", "owner_office_id", "status"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    owner_office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    closure_reason: Mapped[str | None] = mapped_column(String(64))
    given_name: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(200), index=True)
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    nationality: Mapped[str | None] = mapped_column(String(100))
    household: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    referral_source: Mapped[str] = mapped_column(String(100))
    referral_reason: Mapped[str] = mapped_column(Text)
    referred_at: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  # SQLAlchemy reads it once


class CaseConference(Base):
    """A case conference (Fallkonferenz) convened for a case: who convened it, when it meets, what
    it discusses and which offices are invited. Its steps (an invitation per office, the minutes)
    run as a process instance of its own; the minutes are the data of its minutes task.
    """

    __tablename__ = "case_conference"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"), index=True)
    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("process_instance.id"), unique=True)
    convener_office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    offices: Mapped[list[str]] = mapped_column(JSON, default=list)  # codes of the invited offices
    held_on: Mapped[date] = mapped_column(Date)
    agenda: Mapped[str] = mapped_column(Text)
    convened_by: Mapped[str] = mapped_column(String(100))
    convened_at: Mapped[datetime]


class Consent(Base):
    """Consent (Einwilligung / Schweigepflichtentbindung) of the person for one office."""

    __tablename__ = "consent"
    __table_args__ = (Index("ix_consent_case_office", "case_id", "office_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"))
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    purpose: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]
    recorded_by: Mapped[str] = mapped_column(String(100))
    withdrawn_by: Mapped[str | None] = mapped_column(String(100))
    signed_on: Mapped[date | None]  # the day the person (or for a minor the custodian) signed
    custodian: Mapped[str | None] = mapped_column(String(200))  # who signed for a minor


class AuditEntry(Base):
    """Append-only record of every read and write of a case, hash-chained (services.audit)."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    case_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    instance_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    chain: Mapped[uuid.UUID | None] = mapped_column()  # the case, or the system chain (engine.persistence.audit_log)
    seq: Mapped[int | None] = mapped_column(BigInteger)
    details_hash: Mapped[str | None] = mapped_column(String(64))  # the chain covers this, so details can be redacted

    __table_args__ = (Index("ix_audit_chain_seq", "chain", "seq", unique=True),)


class AuditChain(Base):
    """The head of each audit chain, kept by a trigger on ``audit``; its row lock serialises appends."""

    __tablename__ = "audit_chain"

    chain: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
    checkpointed_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")
    updated_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_audit_chain_unchecked", "checkpointed_seq", "last_seq"),)


class AuditCheckpoint(Base):
    """The heads of the chains changed since the last checkpoint, chained and signed (HMAC)."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column()
    heads: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_mac: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))


class CaseReferenceCounter(Base):
    """The last case number per year on SQLite (PostgreSQL uses the sequences kim_case_ref_<year>)."""

    __tablename__ = "case_reference_counter"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column()


class Notification(Base):
    """One message to one user: listed in the app, and mailed when the user has an address.

    ``dedupe_key`` is unique, so one event never notifies the same person twice - not when two
    schedulers race, not when a step is retried. Mail goes out after commit from this outbox
    (``mail_state`` pending -> sent, with attempts and a next-attempt time while the server fails).
    """

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_user_created", "user_id", "created_at"),
        Index("ix_notification_mail_due", "mail_state", "mail_next_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))  # assigned | office_digest | due_soon | overdue | escalated
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    task_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("task.id", ondelete="SET NULL"))
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("case_file.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    mail_state: Mapped[str] = mapped_column(String(16), default="none")  # none | pending | sent | failed
    mail_attempts: Mapped[int] = mapped_column(Integer, default=0)
    mail_next_at: Mapped[datetime | None]
    mail_sent_at: Mapped[datetime | None]
    mail_error: Mapped[str | None] = mapped_column(Text)


class ClosingDay(Base):
    """A municipal closing day (e.g. Rosenmontag, a works outing): not a working day.

    Adds to ``KIM_CLOSING_DAYS`` and the NRW public holidays; edited by admins in the browser.
    """

    __tablename__ = "closing_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class ModelDraft(Base):
    """A process owner's edit of a BPMN or DMN file that is not (yet) a deployed version.

    status: draft -> submitted (waiting for a second process owner, when approval is required)
    -> published (``published_definition_id`` set) or discarded. ``problems`` holds the last
    check-before-publish result, element by element.
    """

    __tablename__ = "model_draft"
    __table_args__ = (Index("ix_model_draft_key_status", "kind", "key", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # bpmn | dmn
    key: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    base_definition_id: Mapped[int | None] = mapped_column(ForeignKey("process_definition.id"))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    problems: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime]
    submitted_by: Mapped[str | None] = mapped_column(String(100))
    submitted_at: Mapped[datetime | None]
    approved_by: Mapped[str | None] = mapped_column(String(100))
    published_at: Mapped[datetime | None]
    published_definition_id: Mapped[int | None] = mapped_column(ForeignKey("process_definition.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  # SQLAlchemy reads it once


class FormVersion(Base):
    """A form (JSON Schema + UI hints) edited in the browser; the newest version of a key wins
    over the file in ``forms/`` for tasks that become ready afterwards."""

    __tablename__ = "form_version"
    __table_args__ = (UniqueConstraint("form_key", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    form_key: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    schema: Mapped[dict[str, Any]] = mapped_column(JSON)
    ui: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class InstanceMigration(Base):
    """One move of a running instance to another version of its process (audited as well)."""

    __tablename__ = "instance_migration"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("process_instance.id"), index=True)
    from_definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    to_definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    migrated_at: Mapped[datetime]
    migrated_by: Mapped[str] = mapped_column(String(100))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CaseRetention(Base):
    """Retention state of a case: a legal hold (lawsuit, hardship petition) that keeps its content
    beyond the retention period, and when its content was deleted (engine.services.retention).

    A table of its own: the case row keeps only what the indicators need once content is gone,
    and a hold must be set on a case without touching the case's version.
    """

    __tablename__ = "case_retention"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"), primary_key=True)
    legal_hold_reason: Mapped[str | None] = mapped_column(Text)
    legal_hold_by: Mapped[str | None] = mapped_column(String(100))
    legal_hold_at: Mapped[datetime | None]
    content_deleted_at: Mapped[datetime | None]
    deleted_by_rule: Mapped[str | None] = mapped_column(String(100))


class Screening(Base):
    """One person's residence-path screening, as it ran (DOMAIN.md section 5, "each run is stored").

    A household run writes one row per person, sharing ``run_id``; ``person`` is ``main`` or the
    member id. ``result`` is the person's screening as the engine answered (the household summary
    on the main person's row), ``inputs`` what it was screened on. The rows per path are in
    ``screening_path`` so that reports count paths without reading JSON.
    """

    __tablename__ = "screening"
    __table_args__ = (Index("ix_screening_case_run", "case_id", "run_seq"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    run_seq: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per case: the order of the runs
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"))
    instance_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("process_instance.id"))
    person: Mapped[str] = mapped_column(String(64))
    relation: Mapped[str | None] = mapped_column(String(16))
    evaluated_at: Mapped[datetime]
    eval_date: Mapped[date] = mapped_column(Date)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    recommended: Mapped[str | None] = mapped_column(String(32))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    trigger: Mapped[str] = mapped_column(String(64))
    ran_by: Mapped[str] = mapped_column(String(100))


class ScreeningPath(Base):
    """One row of a stored screening: a path with its status, what is missing or blocks, the rules."""

    __tablename__ = "screening_path"
    __table_args__ = (Index("ix_screening_path_path_status", "path", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    screening_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("screening.id"), index=True)
    path: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    missing: Mapped[dict[str, Any]] = mapped_column(JSON)
    blocking: Mapped[dict[str, Any]] = mapped_column(JSON)
    deadline: Mapped[date | None] = mapped_column(Date)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    derived_from: Mapped[str | None] = mapped_column(String(64))
