"""A service task in a process runs the deployed residence-path screening inside the engine step."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from engine.domain.actors import SYSTEM
from engine.persistence.models import HumanTask, ProcessInstance
from engine.services.casework.instances import start_instance
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from tests.conftest import deploy_files
from tests.processes.test_residence_paths import BASE

PROCESSES = Path(__file__).resolve().parents[2] / "processes" / "residence_paths"


def test_screening_result_is_in_the_next_task_data(ctx: EngineContext) -> None:
    ctx.run(deployment.deploy, deployment.read_model_paths([PROCESSES]), SYSTEM)
    deploy_files(ctx, "screening_full.bpmn")
    started = ctx.run(start_instance, "screening_full", {"screening_inputs": BASE}, SYSTEM)
    assert started.status == "running"
    with ctx.uow(write=False) as uow:
        (task,) = uow.session.scalars(select(HumanTask))
        instance = uow.session.get(ProcessInstance, started.instance_id)
    assert task.bpmn_id == "after"
    assert instance is not None
    assert '"recommended":"25a"' in instance.state, "the screening result is process data"
    from engine.services.casework.instances import complete_task

    done = ctx.run(complete_task, task.id, SYSTEM, {"gelesen": True})
    assert done.instance_status == "completed"


def test_incomplete_screening_inputs_make_an_incident(ctx: EngineContext) -> None:
    ctx.run(deployment.deploy, deployment.read_model_paths([PROCESSES]), SYSTEM)
    deploy_files(ctx, "screening_call.bpmn")
    started = ctx.run(start_instance, "screening_call", {"status": "DULDUNG"}, SYSTEM)
    assert started.status == "incident", "the model passes only status and eval_date"


def test_screening_without_deployed_tables_is_an_incident_not_a_crash(ctx: EngineContext) -> None:
    deploy_files(ctx, "screening_call.bpmn")
    started = ctx.run(start_instance, "screening_call", {"status": "DULDUNG"}, SYSTEM)
    assert started.status == "incident"
    with ctx.uow(write=False) as uow:
        assert list(uow.session.scalars(select(HumanTask))) == []
