"""What the engine knows about a deployed model without running it.

These values are extracted once at deploy time (from the BPMN XML) and stored with the
process version, so that routing a task never has to look at XML again.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, replace
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
    office_from: str | None = None  # dotted path to an office code in the task data (office chosen at run time)
    show_from: tuple[tuple[str, str], ...] = ()  # (label, dotted path): what the task is about, shown on it

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def routed(self, data: dict[str, Any]) -> HumanTaskMeta:
        """The task as routed for ``data``: with ``office_from``, the office is the code found there
        (None if there is none, and the step refuses to create a task nobody would see)."""
        if not self.office_from:
            return self
        value: Any = data
        for part in self.office_from.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        code = value.strip().upper() if isinstance(value, str) and value.strip() else None
        return replace(self, office=code)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HumanTaskMeta:
        shown = tuple((str(label), str(path)) for label, path in data.get("show_from") or ())
        return cls(**{**data, "show_from": shown})


@dataclass(frozen=True)
class ProcessMeta:
    """Everything about one process of a deployed file that the runtime needs."""

    process_id: str
    name: str
    human_tasks: dict[str, HumanTaskMeta] = field(default_factory=dict)
    element_names: dict[str, str] = field(default_factory=dict)
    called_processes: tuple[str, ...] = ()
    called_decisions: tuple[str, ...] = ()
    ends_case: bool = True  # False: a step beside the case's own process (a case conference) whose end closes nothing

    def to_json(self) -> dict[str, Any]:
        return {
            "process_id": self.process_id,
            "name": self.name,
            "human_tasks": {k: v.to_json() for k, v in self.human_tasks.items()},
            "element_names": self.element_names,
            "called_processes": list(self.called_processes),
            "called_decisions": list(self.called_decisions),
            "ends_case": self.ends_case,
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
            ends_case=bool(data.get("ends_case", True)),
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
