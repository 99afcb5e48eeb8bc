"""Rows for the supervisor dashboard's tests, inserted directly so the expected numbers are exact."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import select

from engine import clock
from engine.domain.actors import Actor
from engine.domain.durations import end_of_day
from engine.persistence.models import CaseFile, HumanTask, Office, ProcessDefinition, ProcessInstance, Timer
from engine.services.context import EngineContext
from tests.conftest import deploy_files

NOW = datetime.fromisoformat("2026-11-25T10:00:00+01:00")  # a Wednesday
BERLIN = clock.BERLIN


class Seed:
    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        deploy_files(ctx, "beratung.bpmn")
        with ctx.uow(write=False) as uow:
            self.definition_id = uow.session.scalar(select(ProcessDefinition.id))
            self.offices = {o.code: o.id for o in uow.session.scalars(select(Office))}
        self.count = 0

    def task(self, office: str = "CM", *, step: str = "erstkontakt", state: str = "open", due: date | None = None,
             created: datetime | None = None, completed: datetime | None = None, assignee: int | None = None,
             level: int = 0, case_ref: str | None = None, fired: Sequence[tuple[int, datetime]] = ()) -> uuid.UUID:
        self.count += 1
        with self.ctx.uow() as uow:
            s = uow.session
            case_id = None
            if case_ref:
                case_id = uuid.uuid4()
                s.add(CaseFile(id=case_id, reference=case_ref, status="open", owner_office_id=self.offices["CM"],
                               opened_at=NOW, given_name="Amina", family_name="Haddad", referral_source="ABH",
                               referral_reason="x", referred_at=date(2026, 11, 1), created_by="t"))
                s.flush()
            instance = ProcessInstance(definition_id=self.definition_id, spec_key="k", case_id=case_id,
                                       status="running", state="{}", state_format=1, started_at=NOW)
            s.add(instance)
            s.flush()
            task = HumanTask(instance_id=instance.id, case_id=case_id, spiff_task_id=uuid.uuid4(),
                             process_id="beratung", bpmn_id=step, name=step.capitalize(),
                             office_id=self.offices[office], assignee_id=assignee, state=state,
                             created_at=created or NOW - timedelta(days=30),
                             due_at=end_of_day(due, BERLIN) if due else None, completed_at=completed,
                             escalation_level=level, data={})
            s.add(task)
            s.flush()
            for lvl, at in fired:
                s.add(Timer(instance_id=instance.id, task_id=task.id, spiff_task_id=task.spiff_task_id,
                            kind="escalation", level=lvl, bpmn_id=step, fire_at=at, fired_at=at, created_at=NOW))
            uow.commit()
            return task.id

    def timer(self, element: str, owner: str = "CM") -> None:
        with self.ctx.uow() as uow:
            s = uow.session
            case_id = uuid.uuid4()
            s.add(CaseFile(id=case_id, reference=f"T-{uuid.uuid4().hex[:8]}", status="open",
                           owner_office_id=self.offices[owner], opened_at=NOW, given_name="A", family_name="B",
                           referral_source="ABH", referral_reason="x", referred_at=date(2026, 11, 1), created_by="t"))
            s.flush()
            instance = ProcessInstance(definition_id=self.definition_id, spec_key="k", case_id=case_id,
                                       status="running", state="{}", state_format=1, started_at=NOW)
            s.add(instance)
            s.flush()
            s.add(Timer(instance_id=instance.id, spiff_task_id=uuid.uuid4(), kind="bpmn", level=0, bpmn_id=element,
                        fire_at=NOW + timedelta(days=3), created_at=NOW))
            uow.commit()

    def actor(self, role: str, *offices: str, name: str = "lead") -> Actor:
        return Actor(name, role, frozenset(self.offices[o] for o in offices), 99, frozenset(offices))
