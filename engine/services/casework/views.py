"""What case-work use cases return: frozen values, no ORM rows, no JSON.

The web layer serialises them (field names are the API's keys). A record lists in
``hidden`` the fields its reader may not see (need to know); those are left out, not nulled.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from uuid import UUID

HIDE = {"hidden_field": True}  # metadata: bookkeeping, never serialised


@dataclass(frozen=True)
class ContextEntry:
    """One labelled value of what a task is about (the model's showFrom): text, a day or yes/no."""

    label: str
    value: str | date | bool


@dataclass(frozen=True)
class TaskView:
    """A task as inboxes and the API show it."""

    id: UUID
    case_id: UUID | None
    case_reference: str | None
    person_name: str | None
    process_instance_id: UUID
    process_id: str
    bpmn_id: str
    name: str
    office: str
    assignee: str | None
    state: str
    created_at: datetime
    due_at: datetime | None
    follow_up_at: datetime | None
    escalation_level: int
    form_key: str | None
    completed_at: datetime | None
    completed_by: str | None
    version: int
    audience: str | None = None  # "lead": for the office's leads only
    follow_up_reason: str | None = None  # why the Wiedervorlage was set (optional)
    data: dict[str, Any] | None = None
    context: tuple[ContextEntry, ...] = ()  # what the task is about; shown with the data, to whom sees it
    hidden: frozenset[str] = field(default=frozenset({"data", "context"}), metadata=HIDE)

    def with_data(self, data: dict[str, Any]) -> TaskView:
        return replace(self, data=data, hidden=self.hidden - {"data"})

    def with_context(self, stored: list[dict[str, Any]] | None) -> TaskView:
        """With what the task is about, from the row's ``context`` column ([{label, value, kind}])."""
        entries = tuple(ContextEntry(str(e["label"]), date.fromisoformat(e["value"]) if e.get("kind") == "date"
                                     else e["value"]) for e in stored or ())
        return replace(self, context=entries, hidden=self.hidden - {"context"})

    def metadata_only(self) -> TaskView:
        """Without the person's name, the form data, what the task is about and the follow-up reason
        (an office lead's view of the task: the reason is a caseworker's note about the case)."""
        return replace(self.without_name(), data=None, context=(), follow_up_reason=None,
                       hidden=self.hidden | {"person_name", "data", "context", "follow_up_reason"})

    def without_name(self) -> TaskView:
        """Without the person's name (a task of an office whose work in the case is done)."""
        return replace(self, person_name=None, hidden=self.hidden | {"person_name"})


@dataclass(frozen=True)
class TaskPage:
    """One page of an inbox; ``total`` stops counting at a cap (``total_capped``)."""

    items: tuple[TaskView, ...]
    total: int
    total_capped: bool
    page: int
    per_page: int


@dataclass(frozen=True)
class IncidentView:
    """The model failed at this element; the case waits until a process owner fixes the model."""

    element_id: str | None
    message: str


@dataclass(frozen=True)
class Completion:
    """A completed task, the tasks the step created that the caller may see, and the incident
    if the model failed after the task (the completion stands; the case waits for a fix)."""

    task: TaskView
    next_tasks: tuple[TaskView, ...]
    instance_status: str = "running"
    incident: IncidentView | None = None


@dataclass(frozen=True)
class ConsentRecord:
    id: UUID
    office: str | None
    categories: tuple[str, ...]
    purpose: str
    granted_at: datetime
    withdrawn_at: datetime | None
    signed_on: date | None = None
    custodian: str | None = None


@dataclass(frozen=True)
class PersonRecord:
    given_name: str
    family_name: str
    date_of_birth: date | None
    nationality: str | None = None
    hidden: frozenset[str] = field(default=frozenset(), metadata=HIDE)


@dataclass(frozen=True)
class ReferralRecord:
    source: str
    reason: str
    referred_at: date | None


@dataclass(frozen=True)
class CaseRecord:
    """A case with only what the reader may see (the rest listed in ``hidden``)."""

    id: UUID
    reference: str
    status: str | None = None
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    person: PersonRecord | None = None
    household: tuple[dict[str, Any], ...] = ()
    referral: ReferralRecord | None = None
    consents: tuple[ConsentRecord, ...] = ()
    tasks: tuple[TaskView, ...] = ()
    hidden: frozenset[str] = field(default=frozenset(), metadata=HIDE)


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class CaseProcess:
    """The case's process for the diagram: its version's XML and where it stands."""

    process_id: str
    version: int
    xml: str
    status: str
    active: tuple[str, ...]
    done: tuple[str, ...]



@dataclass(frozen=True)
class ConferenceView:
    """A case conference as a participant sees it; ``minutes`` (the data of the completed minutes
    step) is left out for everyone who may see that the conference exists but is no participant."""

    id: UUID
    case_id: UUID
    case_reference: str
    convener_office: str
    convened_by: str
    convened_at: datetime
    held_on: date
    agenda: str
    offices: tuple[str, ...]
    status: str
    minutes_recorded: bool
    minutes: dict[str, Any] | None = None
    hidden: frozenset[str] = field(default=frozenset(), metadata=HIDE)
