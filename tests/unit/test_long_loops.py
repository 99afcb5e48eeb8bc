"""The live workflow stays small however often a case loops (ARCHITECTURE.md decision 2).

Each model shape that SpiffWorkflow's joins and events treat specially runs through many
iterations with a save/restore between all steps; the state size must stop growing and the
process must still reach its end with its data.
"""

from __future__ import annotations

import pytest

from tests.helpers import Driver, bundle_from

ITERATIONS = 60


def _size_after(driver: Driver, steps: int, one_iteration: object) -> list[int]:
    sizes = []
    for i in range(steps):
        one_iteration(driver, i)  # type: ignore[operator]
        sizes.append(len(driver.state))
    return sizes


def _assert_bounded(sizes: list[int]) -> None:
    assert max(sizes[10:]) <= max(sizes[:10]) * 1.2, sizes


def test_user_task_loop_with_boundary_timer_stays_small() -> None:
    driver = Driver(bundle_from("counselling_loop", "counselling_loop.bpmn"))

    def iteration(d: Driver, i: int) -> None:
        d.complete("session", weitere_sitzung=True, sitzung=i)

    _assert_bounded(_size_after(driver, ITERATIONS, iteration))
    result = driver.complete("session", weitere_sitzung=False, sitzung=ITERATIONS)
    assert result.completed
    assert result.data["sitzung"] == ITERATIONS


def test_loop_inside_one_parallel_branch_stays_small_and_join_still_waits() -> None:
    driver = Driver(bundle_from("parallel_loop", "shapes.bpmn"))

    def iteration(d: Driver, _i: int) -> None:
        d.complete("pl_loop_task", again=True)

    _assert_bounded(_size_after(driver, ITERATIONS, iteration))
    driver.complete("pl_loop_task", again=False)
    assert not driver.last.completed, "the join must wait for the other branch"
    assert [t.bpmn_id for t in driver.ready()] == ["pl_wait_task"]
    assert driver.complete("pl_wait_task").completed


@pytest.mark.parametrize("take_x", [True, False])
def test_inclusive_gateway_in_a_loop(take_x: bool) -> None:
    driver = Driver(bundle_from("inclusive_loop", "shapes.bpmn"), {"want_x": take_x, "want_y": True})

    def iteration(d: Driver, _i: int) -> None:
        if take_x:
            d.complete("il_x")
            assert not d.ready("il_decide"), "inclusive join must wait for Y"
        d.complete("il_y")
        d.complete("il_decide", again=True)

    _assert_bounded(_size_after(driver, 30, iteration))
    if take_x:
        driver.complete("il_x")
    driver.complete("il_y")
    assert driver.complete("il_decide", again=False).completed


def test_event_based_gateway_with_timer_in_a_loop(frozen_clock: object) -> None:
    from datetime import timedelta

    from engine import clock

    driver = Driver(bundle_from("event_gateway_loop", "shapes.bpmn"))

    def iteration(d: Driver, _i: int) -> None:
        assert len(d.last.timers) == 1
        clock.advance(timedelta(days=1, seconds=1))
        d.fire_timers()
        d.complete("eg_task", again=True)

    _assert_bounded(_size_after(driver, 30, iteration))
    clock.advance(timedelta(days=1, seconds=1))
    driver.fire_timers()
    assert driver.complete("eg_task", again=False).completed


def test_call_activity_in_a_loop_forgets_finished_subprocesses() -> None:
    driver = Driver(bundle_from("call_loop", "shapes.bpmn", "called_child.bpmn"))

    def iteration(d: Driver, i: int) -> None:
        d.complete("cc_task", pruefung=i)
        d.complete("cl_decide", again=True)

    _assert_bounded(_size_after(driver, 30, iteration))
    driver.complete("cc_task", pruefung="letzte")
    result = driver.complete("cl_decide", again=False)
    assert result.completed
    assert result.data["pruefung"] == "letzte"


@pytest.mark.slow
def test_ten_thousand_iterations_run_to_the_end() -> None:
    driver = Driver(bundle_from("counselling_loop", "counselling_loop.bpmn"))
    for i in range(10_000):
        driver.complete("session", weitere_sitzung=True, sitzung=i)
    assert len(driver.state) < 20_000
    result = driver.complete("session", weitere_sitzung=False, sitzung=10_000)
    assert result.completed
    assert result.data["sitzung"] == 10_000


def test_a_waiting_event_in_a_loop_beside_a_task_sees_its_own_last_round(frozen_clock: object) -> None:
    """The loop's timer, when it fires, takes its data again from the step before it: pruning must not splice
    that step out, or the timer gets the data of the fork (the counter back at 0, a loop without end)."""
    from datetime import timedelta

    from engine import clock

    driver = Driver(bundle_from("branch_counter_loop", "branch_loop.bpmn"))
    for _ in range(3):
        assert len(driver.last.timers) == 1
        clock.advance(timedelta(days=1, seconds=1))
        driver.fire_timers()
    assert driver.last.timers == [], "three rounds counted, then the branch waits at the join"
    assert driver.complete("bc_other").completed
