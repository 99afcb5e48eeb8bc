"""Re-pointing a live workflow to a freshly compiled spec, before every single step, must not
change how any model shape runs: parallel and inclusive joins still wait, event-based gateways
and timers still fire at their moment, call activities still return. This is the worst case of
engine.bpmn.migration: every token and join is carried over, over and over.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from engine import clock
from engine.bpmn.migration import check_migration, migrate_workflow
from engine.bpmn.runtime import StepResult, pending_timers
from tests.helpers import Driver, bundle_from


class MigratingDriver(Driver):
    """Before each step: restore, check and migrate to a new compile of the same files."""

    def __init__(self, process_id: str, *files: str, data: dict[str, Any] | None = None) -> None:
        self.process_id, self.files = process_id, files
        super().__init__(bundle_from(process_id, *files), data)

    def _cycle(self, step: Any) -> StepResult:
        workflow = self.runtime.restore(self.bundle, self.state)
        timers_before = [(t.bpmn_id, t.fire_at) for t in self.last.timers]
        new = bundle_from(self.process_id, *self.files)
        check = check_migration(workflow, new)
        assert check.compatible, check.reasons
        assert all(p.exists_in_target for p in check.positions)
        migrate_workflow(workflow, new)
        self.bundle = new
        self.state = self.runtime.snapshot(workflow)
        restored = self.runtime.restore(new, self.state)
        moved = [(t.bpmn_id, t.fire_at) for t in pending_timers(restored)]
        assert moved == timers_before, "timers keep their moment"
        return super()._cycle(step)


def test_parallel_join_still_waits_for_the_other_branch() -> None:
    driver = MigratingDriver("parallel_loop", "shapes.bpmn")
    for _ in range(3):
        driver.complete("pl_loop_task", again=True)
    driver.complete("pl_loop_task", again=False)
    assert not driver.last.completed
    assert [t.bpmn_id for t in driver.ready()] == ["pl_wait_task"]
    assert driver.complete("pl_wait_task").completed


@pytest.mark.parametrize("take_x", [True, False])
def test_inclusive_join_still_waits(take_x: bool) -> None:
    driver = MigratingDriver("inclusive_loop", "shapes.bpmn", data={"want_x": take_x, "want_y": True})
    for again in (True, False):
        if take_x:
            driver.complete("il_x")
            assert not driver.ready("il_decide"), "inclusive join must wait for Y"
        driver.complete("il_y")
        driver.complete("il_decide", again=again)
    assert driver.last.completed


def test_event_based_gateway_timer_fires_at_its_moment(frozen_clock: object) -> None:
    driver = MigratingDriver("event_gateway_loop", "shapes.bpmn")
    for again in (True, False):
        (timer,) = driver.last.timers
        clock.advance(timedelta(hours=12))
        driver.fire_timers()
        assert not driver.ready("eg_task"), "half a day: the 1-day timer has not fired"
        clock.advance(timedelta(hours=12, seconds=1))
        driver.fire_timers()
        assert clock.now() > timer.fire_at
        driver.complete("eg_task", again=again)
    assert driver.last.completed


def test_call_activity_returns_to_the_caller() -> None:
    driver = MigratingDriver("call_loop", "shapes.bpmn", "called_child.bpmn")
    for again in (True, False):
        driver.complete("cc_task", pruefung=1)
        driver.complete("cl_decide", again=again)
    assert driver.last.completed


def test_boundary_timer_loop_keeps_running(frozen_clock: object) -> None:
    driver = MigratingDriver("counselling_loop", "counselling_loop.bpmn")
    for i in range(3):
        driver.complete("session", weitere_sitzung=True, sitzung=i)
    result = driver.complete("session", weitere_sitzung=False, sitzung=3)
    assert result.completed
    assert result.data["sitzung"] == 3
