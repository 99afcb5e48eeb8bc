"""Call activities resolve against deployed models, pinned when the instance starts."""

from __future__ import annotations

from sqlalchemy import func, select

from engine.domain.actors import SYSTEM
from engine.domain.model import ModelSource
from engine.persistence.models import HumanTask, Office, ProcessInstance, StepHistory
from engine.services.casework.instances import complete_task, start_instance
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from tests.conftest import DATA, deploy_files


def _open(ctx: EngineContext) -> list[tuple[str, str]]:
    with ctx.uow(write=False) as uow:
        rows = uow.session.execute(select(HumanTask.bpmn_id, Office.code).join(Office)
                                   .where(HumanTask.state == "open"))
        return sorted((r.bpmn_id, r.code) for r in rows)


def _open_id(ctx: EngineContext, bpmn_id: str) -> object:
    with ctx.uow(write=False) as uow:
        return uow.session.scalar(select(HumanTask.id).where(HumanTask.bpmn_id == bpmn_id,
                                                             HumanTask.state == "open"))


def test_called_process_tasks_route_by_their_own_lanes_and_history_is_kept(ctx: EngineContext) -> None:
    deploy_files(ctx, "called_child.bpmn")
    deploy_files(ctx, "shapes.bpmn")
    started = ctx.run(start_instance, "call_loop", {}, SYSTEM)
    for round_ in range(3):
        assert _open(ctx) == [("cc_task", "ABH")]
        ctx.run(complete_task, _open_id(ctx, "cc_task"), SYSTEM, {"pruefung": round_})  # type: ignore[arg-type]
        assert _open(ctx) == [("cl_decide", "CM")]
        ctx.run(complete_task, _open_id(ctx, "cl_decide"), SYSTEM, {"again": round_ < 2})  # type: ignore[arg-type]
    with ctx.uow(write=False) as uow:
        instance = uow.session.get(ProcessInstance, started.instance_id)
        done = uow.session.scalar(select(func.count()).select_from(StepHistory)
                                  .where(StepHistory.bpmn_id == "cc_task"))
    assert instance is not None
    assert instance.status == "completed"
    assert done == 3, "finished steps moved to the history table"


def test_running_instance_keeps_the_called_version_it_started_with(ctx: EngineContext) -> None:
    deploy_files(ctx, "called_child.bpmn")
    deploy_files(ctx, "shapes.bpmn")
    ctx.run(start_instance, "call_loop", {}, SYSTEM)
    renamed = (DATA / "called_child.bpmn").read_bytes().replace(b'name="ABH"', b'name="SOZ"')
    ctx.run(deployment.deploy, [ModelSource("called_child.bpmn", renamed)], SYSTEM)
    ctx.run(complete_task, _open_id(ctx, "cc_task"), SYSTEM, {})  # type: ignore[arg-type]
    ctx.run(complete_task, _open_id(ctx, "cl_decide"), SYSTEM, {"again": True})  # type: ignore[arg-type]
    assert _open(ctx) == [("cc_task", "ABH")], "version 1 of the called process still routes to ABH"
    ctx.run(start_instance, "call_loop", {}, SYSTEM)
    assert ("cc_task", "SOZ") in _open(ctx), "new instances use the new version"
