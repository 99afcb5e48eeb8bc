"""A runaway script becomes an incident on its instance; everything else keeps working."""

from __future__ import annotations

import time

from sqlalchemy import select

from engine.domain.actors import SYSTEM
from engine.persistence.models import Incident, ProcessInstance
from engine.services.casework.instances import start_instance
from engine.services.context import EngineContext
from tests.conftest import deploy_files


def test_while_true_script_becomes_an_incident(ctx: EngineContext) -> None:
    deploy_files(ctx, "runaway.bpmn", "good_script.bpmn")
    began = time.monotonic()
    started = ctx.run(start_instance, "runaway", {}, SYSTEM)
    assert time.monotonic() - began < 10
    assert started.status == "incident"
    with ctx.uow(write=False) as uow:
        (incident,) = uow.session.scalars(select(Incident))
        instance = uow.session.get(ProcessInstance, started.instance_id)
    assert incident.element_id == "script"
    assert "time" in incident.message.lower()
    assert instance is not None
    assert instance.status == "incident"
    healthy = ctx.run(start_instance, "good_script", {"betrag": 41}, SYSTEM)
    assert healthy.status == "running", "the engine keeps serving other instances"
    assert len(healthy.task_ids) == 1
