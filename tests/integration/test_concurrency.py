"""Twenty people click "complete" on the same task at once: one wins, the process moves once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from engine.domain.actors import SYSTEM
from engine.domain.errors import Conflict
from engine.persistence.models import HumanTask, ProcessInstance
from engine.services.casework.instances import complete_task, start_instance
from engine.services.context import EngineContext
from tests.conftest import deploy_files

CLICKS = 20


def test_twenty_concurrent_completions_one_wins(ctx: EngineContext) -> None:
    deploy_files(ctx, "counselling_loop.bpmn")
    started = ctx.run(start_instance, "counselling_loop", {}, SYSTEM)
    (task_id,) = started.task_ids
    with ctx.uow(write=False) as uow:
        before = uow.session.get(ProcessInstance, started.instance_id)
        assert before is not None
    barrier = threading.Barrier(CLICKS)

    def click(n: int) -> str:
        barrier.wait()
        try:
            ctx.run(complete_task, task_id, SYSTEM, {"weitere_sitzung": True, "klick": n})
        except Conflict:
            return "conflict"
        return "ok"

    with ThreadPoolExecutor(CLICKS) as pool:
        outcomes = list(pool.map(click, range(CLICKS)))

    assert outcomes.count("ok") == 1
    assert outcomes.count("conflict") == CLICKS - 1
    with ctx.uow(write=False) as uow:
        tasks = list(uow.session.scalars(select(HumanTask).order_by(HumanTask.created_at)))
        instance = uow.session.get(ProcessInstance, started.instance_id)
    assert [t.state for t in tasks].count("completed") == 1
    assert [t.state for t in tasks].count("open") == 1, "the process advanced exactly once"
    assert instance is not None
    assert instance.version == before.version + 1, "one engine step was saved"


def test_completing_a_completed_task_is_a_conflict(ctx: EngineContext) -> None:
    deploy_files(ctx, "counselling_loop.bpmn")
    (task_id,) = ctx.run(start_instance, "counselling_loop", {}, SYSTEM).task_ids
    ctx.run(complete_task, task_id, SYSTEM, {"weitere_sitzung": False})
    with pytest.raises(Conflict, match="completed"):
        ctx.run(complete_task, task_id, SYSTEM, {"weitere_sitzung": False})
