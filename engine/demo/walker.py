"""CaseWalker: works one case through its tasks as the offices would (demo and process tests).

Every completion goes through the same use case as the web app, with data validated against
the task's form first, so a walk proves the model and its forms together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select

from engine import clock
from engine.demo.samples import OFFICE_LABELS, consent_bodies, form_data
from engine.domain.actors import Actor
from engine.persistence.models import (
    HumanTask,
    Incident,
    Office,
    ProcessInstance,
    User,
)
from engine.services.admin import directory
from engine.services.casework.consents import record_consent
from engine.services.casework.instances import complete_task
from engine.services.casework.views import Completion
from engine.services.context import EngineContext
from engine.services.timers.firing import FireReport, fire_due_timers


@dataclass(frozen=True)
class TaskView:
    """A task of the walked instance as the offices see it in their inbox."""

    id: UUID
    bpmn_id: str
    office: str
    state: str
    form_key: str | None
    created_at: datetime
    due_at: datetime | None
    escalation_level: int
    audience: str | None = None


class ProcessIncident(RuntimeError):
    """The model failed at run time; the message is the engine's incident."""


@dataclass
class CaseWalker:
    """Works one process instance (and its case) through its tasks, as the offices would.

    Every completion goes through :func:`complete_task` with data validated against the task's
    form first, so a walk proves the model and its forms together.
    """

    ctx: EngineContext
    actors: Mapping[str, Actor]  # office code -> someone who works that office's tasks
    instance_id: UUID
    case_id: UUID | None = None

    @classmethod
    def for_case(cls, ctx: EngineContext, actors: Mapping[str, Actor], case_id: UUID) -> CaseWalker:
        with ctx.uow(write=False) as uow:
            instance_id = uow.session.scalar(select(ProcessInstance.id).where(ProcessInstance.case_id == case_id)
                                             .order_by(ProcessInstance.started_at).limit(1))  # the case's own
        if instance_id is None:
            raise LookupError(f"case {case_id} has no process instance")
        return cls(ctx, actors, instance_id, case_id)

    def tasks(self, *states: str) -> list[TaskView]:
        """Tasks of the instance in ``states`` (default: open and claimed), oldest first."""
        wanted = states or ("open", "claimed")
        with self.ctx.uow(write=False) as uow:
            rows = uow.session.execute(
                select(HumanTask, Office.code).join(Office, Office.id == HumanTask.office_id)
                .where(HumanTask.instance_id == self.instance_id, HumanTask.state.in_(wanted))
                .order_by(HumanTask.created_at, HumanTask.bpmn_id))
            return [TaskView(t.id, t.bpmn_id, code, t.state, t.form_key, t.created_at, t.due_at, t.escalation_level,
                             t.audience) for t, code in rows]

    def open_ids(self) -> list[str]:
        return sorted(t.bpmn_id for t in self.tasks())

    def task(self, bpmn_id: str) -> TaskView:
        found = [t for t in self.tasks() if t.bpmn_id == bpmn_id]
        if not found:
            raise LookupError(f"no open task '{bpmn_id}'; open: {self.open_ids()}")
        return found[0]

    def complete(self, bpmn_id: str, **overrides: Any) -> Completion:
        """Complete the oldest open task ``bpmn_id`` with sample data changed by ``overrides``."""
        task = self.task(bpmn_id)
        data = form_data(task.form_key, **overrides)
        worker = office_lead(self.ctx, task.office) if task.audience else self.actors[task.office]
        done = self.ctx.run(complete_task, task.id, worker, data)
        self.check()
        return done

    def status(self) -> str:
        with self.ctx.uow(write=False) as uow:
            return str(uow.session.scalar(select(ProcessInstance.status)
                                          .where(ProcessInstance.id == self.instance_id)))

    def check(self) -> None:
        """Raise the engine's incident message if the model failed (tests and demo stop there)."""
        if self.status() == "incident":
            with self.ctx.uow(write=False) as uow:
                message = uow.session.scalar(select(Incident.message).where(Incident.instance_id == self.instance_id)
                                             .order_by(Incident.created_at.desc()).limit(1))
            raise ProcessIncident(str(message))

    def fire(self, moment: datetime) -> FireReport:
        """Move the engine clock to ``moment`` and fire what is due (for every instance)."""
        clock.freeze(moment)
        report = fire_due_timers(self.ctx)
        self.check()
        return report

    def record_consents(self, scope: list[Mapping[str, Any]]) -> None:
        if self.case_id is None:
            raise LookupError("consents belong to a case; this instance has none")
        for body in consent_bodies(scope):
            self.ctx.run(record_consent, self.actors["CM"], self.case_id, body)


def office_actors(ctx: EngineContext, codes: tuple[str, ...] = tuple(OFFICE_LABELS)) -> dict[str, Actor]:
    """One caseworker per office (``cm1``, ``abh1``, ...), created without a password when missing."""
    return {code: _person(ctx, f"{OFFICE_LABELS.get(code, code.lower())}1", "caseworker", code,
                          f"Sachbearbeitung {code}") for code in codes}


def office_lead(ctx: EngineContext, code: str) -> Actor:
    """The lead of an office (``cm.leitung``, ``abh.leitung``, ...), who works the tasks for the lead
    (escalations); created without a password when missing."""
    return _person(ctx, f"{OFFICE_LABELS.get(code, code.lower())}.leitung", "supervisor", code, f"Leitung {code}")


def _person(ctx: EngineContext, username: str, role: str, code: str, display_name: str) -> Actor:
    with ctx.uow(write=False) as uow:
        exists = uow.session.scalar(select(User.id).where(User.username == username)) is not None
    if not exists:
        ctx.run(directory.add_user, username, role, [code], display_name=display_name)
    with ctx.uow(write=False) as uow:
        user = uow.session.scalar(select(User).where(User.username == username))
        assert user is not None  # noqa: S101  # created just above
        return directory.actor_for(user)
