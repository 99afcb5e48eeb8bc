"""Twenty people click "complete" on the same task at once: one wins, the process moves once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select, text, update

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


@pytest.mark.postgres
def test_a_completion_waits_for_a_writer_of_its_instance_without_deadlock(ctx: EngineContext) -> None:
    """The completion locks the instance row first and the task row after it, the order every
    writer of an instance keeps (the scheduler: the instance, then its task's escalation). A
    completion that took the task row first and then waited for the instance would deadlock
    with such a writer, and one of the two would fail after PostgreSQL's deadlock timeout."""
    if ctx.db.is_sqlite:
        pytest.skip("SQLite has one writer at a time by design")
    deploy_files(ctx, "counselling_loop.bpmn")
    started = ctx.run(start_instance, "counselling_loop", {}, SYSTEM)
    (task_id,) = started.task_ids
    outcome: list[object] = []
    with ctx.uow() as writer:  # like the scheduler escalating the step: the instance first
        writer.session.execute(select(ProcessInstance.id).where(ProcessInstance.id == started.instance_id)
                               .with_for_update())
        completing = threading.Thread(target=lambda: outcome.append(_completed_or_error(ctx, task_id)))
        completing.start()
        _wait_until_blocked(ctx, completing)
        writer.session.execute(text("SET LOCAL lock_timeout = '5s'"))
        writer.session.execute(update(HumanTask).where(HumanTask.id == task_id)
                               .values(escalation_level=1, version=HumanTask.version + 1))
        writer.commit()
    completing.join(30)
    assert outcome == ["ok"], "the completion went through after the writer, on the task as the writer left it"
    with ctx.uow(write=False) as uow:
        task = uow.session.get(HumanTask, task_id)
    assert task is not None
    assert (task.state, task.escalation_level) == ("completed", 1)


def _completed_or_error(ctx: EngineContext, task_id: object) -> object:
    try:
        ctx.run(complete_task, task_id, SYSTEM, {"weitere_sitzung": False})
    except Exception as error:  # reported to the test thread
        return error
    return "ok"


def _wait_until_blocked(ctx: EngineContext, thread: threading.Thread) -> None:
    """Until another session of this database waits for a row lock (the completion)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and thread.is_alive():
        with ctx.db.write.connect() as conn:
            waiting = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")).scalar()
        if waiting:
            return
        time.sleep(0.02)
    raise AssertionError("the completion never waited for the instance's lock")
