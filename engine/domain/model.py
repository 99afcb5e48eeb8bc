"""What the engine knows about a deployed model without running it.

These values are extracted once at deploy time (from the BPMN XML) and stored with the
process version, so that routing a task never has to look at XML again.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class HumanTaskMeta:
    """Routing and deadline properties of one user or manual task."""

    bpmn_id: str
    name: str
    office: str | None
    assignee: str | None = None
    due_in: str | None = None
    escalate_after: str | None = None
    form_key: str | None = None
    due_from: str | None = None  # dotted path to a date in the task data; dueIn counts from it
    remind_before: str | None = None  # "due soon" reminder this long before the due day; None: the default
    audience: str | None = None  # "lead": for the lead(s) of the lane's office, not every caseworker in it

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HumanTaskMeta:
        return cls(**data)


@dataclass(frozen=True)
class ProcessMeta:
    """Everything about one process of a deployed file that the runtime needs."""

    process_id: str
    name: str
    human_tasks: dict[str, HumanTaskMeta] = field(default_factory=dict)
    element_names: dict[str, str] = field(default_factory=dict)
    called_processes: tuple[str, ...] = ()
    called_decisions: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "process_id": self.process_id,
            "name": self.name,
            "human_tasks": {k: v.to_json() for k, v in self.human_tasks.items()},
            "element_names": self.element_names,
            "called_processes": list(self.called_processes),
            "called_decisions": list(self.called_decisions),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProcessMeta:
        return cls(
            process_id=data["process_id"],
            name=data["name"],
            human_tasks={k: HumanTaskMeta.from_json(v) for k, v in data["human_tasks"].items()},
            element_names=dict(data.get("element_names", {})),
            called_processes=tuple(data.get("called_processes", ())),
            called_decisions=tuple(data.get("called_decisions", ())),
        )


@dataclass(frozen=True)
class ValidationProblem:
    """One reason a model cannot be deployed, pointing at the element that causes it."""

    element_id: str | None
    reason: str
    file: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        element = f"element '{self.element_id}': " if self.element_id else ""
        return f"{where}{element}{self.reason}"


@dataclass(frozen=True)
class ModelSource:
    """One deployable file: its name and its exact bytes (content-addressed by sha256)."""

    filename: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()
