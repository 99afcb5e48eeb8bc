"""Invariants the engine keeps between steps, asserted by tests that walk processes."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select

from engine.persistence import store
from engine.persistence.models import LIVE_STATES, HumanTask, Timer, TimerKind
from engine.services.context import EngineContext
from engine.services.stepping import step


def assert_tables_match_the_workflow(ctx: EngineContext, instance_id: UUID) -> None:
    """Live task rows and BPMN timer rows are exactly what the saved workflow waits for."""
    with ctx.uow(write=False) as uow:
        session = uow.session
        instance = store.lock_instance(session, instance_id)
        assert instance is not None
        workflow, _spec = step.restore(session, ctx, instance)
        waiting = ctx.runtime.waiting(workflow)
        live = set(session.scalars(select(HumanTask.spiff_task_id).where(
            HumanTask.instance_id == instance_id, HumanTask.state.in_(LIVE_STATES),
            HumanTask.bpmn_id.not_like("consent_request:%"))))
        timers = {spiff_id: fire_at for spiff_id, fire_at in session.execute(
            select(Timer.spiff_task_id, Timer.fire_at).where(Timer.instance_id == instance_id,
                                                            Timer.kind == TimerKind.BPMN.value))}
    assert live == waiting.ready
    assert timers == {spiff_id: timer.fire_at for spiff_id, timer in waiting.timers.items()}
