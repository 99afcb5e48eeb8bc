"""Deploying models: versions, content addressing, refusal of unsafe models (on both databases)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.domain.actors import SYSTEM
from engine.domain.errors import ModelInvalid
from engine.domain.model import ModelSource
from engine.persistence.models import ModelSourceRow, ProcessDefinition
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from tests.conftest import DATA, deploy_files


def _count(ctx: EngineContext, model: type) -> int:
    with ctx.uow(write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def test_deploy_creates_versions_and_is_content_addressed(ctx: EngineContext) -> None:
    first = deploy_files(ctx, "counselling_loop.bpmn")
    assert [(d.key, d.version, d.changed) for d in first] == [("counselling_loop", 1, True)]
    again = deploy_files(ctx, "counselling_loop.bpmn")
    assert [(d.version, d.changed) for d in again] == [(1, False)]
    changed = (DATA / "counselling_loop.bpmn").read_bytes().replace(b"Beratungsschleife", b"Beratung neu")
    second = ctx.run(deployment.deploy, [ModelSource("counselling_loop.bpmn", changed)], SYSTEM)
    assert [(d.version, d.changed) for d in second] == [(2, True)]
    assert _count(ctx, ModelSourceRow) == 2


def test_a_file_with_several_processes_deploys_each(ctx: EngineContext) -> None:
    deployed = deploy_files(ctx, "timers.bpmn")
    assert {d.key for d in deployed} == {"timer_interrupting", "timer_noninterrupting", "timer_intermediate",
                                         "timer_date", "timer_cycle"}


def test_call_activity_needs_the_called_process(ctx: EngineContext) -> None:
    with pytest.raises(ModelInvalid) as refused:
        deploy_files(ctx, "shapes.bpmn")
    assert "called_child" in str(refused.value)
    assert _count(ctx, ProcessDefinition) == 0, "nothing of a refused batch is stored"
    deploy_files(ctx, "called_child.bpmn")
    assert {d.key for d in deploy_files(ctx, "shapes.bpmn")} >= {"call_loop", "parallel_loop"}


@pytest.mark.parametrize(("filename", "needle"), [
    ("bad_xxe.bpmn", "DOCTYPE"),
    ("bad_escape.bpmn", "script"),
    ("bad_import.bpmn", "script"),
])
def test_unsafe_models_are_refused_with_a_reason(ctx: EngineContext, filename: str, needle: str) -> None:
    with pytest.raises(ModelInvalid) as refused:
        deploy_files(ctx, filename)
    message = str(refused.value)
    assert needle.lower() in message.lower()
    if filename != "bad_xxe.bpmn":
        assert "element 'script'" in message, "the reason names the element"
    assert _count(ctx, ProcessDefinition) == 0


def test_user_task_without_office_is_refused(ctx: EngineContext) -> None:
    xml = (DATA / "counselling_loop.bpmn").read_bytes().replace(b'name="CM"', b'name="Standesamt"')
    with pytest.raises(ModelInvalid) as refused:
        ctx.run(deployment.deploy, [ModelSource("x.bpmn", xml)], SYSTEM)
    assert "element 'session'" in str(refused.value)
    assert "Standesamt" in str(refused.value)


def test_bad_timer_value_is_refused(ctx: EngineContext) -> None:
    xml = (DATA / "timers.bpmn").read_bytes().replace(b"<bpmn:timeDuration>10WD", b"<bpmn:timeDuration>10 WD")
    with pytest.raises(ModelInvalid) as refused:
        ctx.run(deployment.deploy, [ModelSource("timers.bpmn", xml)], SYSTEM)
    assert "tw_wait" in str(refused.value)
