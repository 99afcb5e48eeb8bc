"""The scheduler loop in a thread: it fires on time, wakes for new work and survives failures.

Real time runs here (a scheduler sleeps on the wall clock); timers a few seconds long come
from a small model whose intermediate timer waits for ``wait`` from the start data.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select, update

from engine import clock
from engine.domain.actors import SYSTEM
from engine.persistence.models import AuditEntry, HumanTask, ProcessInstance, Timer
from engine.scheduling import scheduler as scheduler_module
from engine.scheduling.scheduler import Scheduler
from engine.services.casework.instances import start_instance
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from engine.services.timers.firing import retry_delay
from tests.conftest import deploy_files

PROBE_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs_probe"
    targetNamespace="http://kim-casework.example/test">
  <bpmn:process id="timer_probe" name="Zeitgeber-Probe" isExecutable="true">
    <bpmn:laneSet id="ls_probe"><bpmn:lane id="lane_probe" name="CM">
      <bpmn:flowNodeRef>probe_task</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="probe_start"><bpmn:outgoing>probe_f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="probe_f1" sourceRef="probe_start" targetRef="probe_wait"/>
    <bpmn:intermediateCatchEvent id="probe_wait" name="warten"><bpmn:incoming>probe_f1</bpmn:incoming>
      <bpmn:outgoing>probe_f2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>wait</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="probe_f2" sourceRef="probe_wait" targetRef="probe_task"/>
    <bpmn:userTask id="probe_task" name="Nach dem Warten"><bpmn:incoming>probe_f2</bpmn:incoming>
      <bpmn:outgoing>probe_f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:sequenceFlow id="probe_f3" sourceRef="probe_task" targetRef="probe_end"/>
    <bpmn:endEvent id="probe_end"><bpmn:incoming>probe_f3</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def deploy_probe(ctx: EngineContext, folder: Path) -> None:
    path = folder / "timer_probe.bpmn"
    path.write_text(PROBE_BPMN, encoding="utf-8")
    ctx.run(deployment.deploy, deployment.read_model_paths([path]), SYSTEM)


def wait_for(condition: Callable[[], object], timeout: float, interval: float = 0.01) -> float:
    """Seconds until ``condition()`` was true; fails the test after ``timeout``."""
    began = time.perf_counter()
    while not condition():
        if time.perf_counter() - began > timeout:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(interval)
    return time.perf_counter() - began


def count(ctx: EngineContext, query: Any) -> int:
    with ctx.uow(write=False) as uow:
        return int(uow.session.scalar(query) or 0)


def timer_fires(ctx: EngineContext) -> list[tuple[datetime, datetime]]:
    """(fire_at, audit time) of every ``timer.fire`` entry."""
    with ctx.uow(write=False) as uow:
        rows = uow.session.execute(select(AuditEntry.details, AuditEntry.at).where(AuditEntry.action == "timer.fire"))
        return [(datetime.fromisoformat(d["fire_at"]), at) for d, at in rows]


def due_rows(ctx: EngineContext) -> int:
    return count(ctx, select(func.count()).select_from(Timer).where(Timer.fired_at.is_(None),
                                                                    Timer.fire_at <= clock.now()))


@contextmanager
def running_scheduler(ctx: EngineContext, batch_limit: int = 100) -> Iterator[Scheduler]:
    scheduler = Scheduler(ctx, batch_limit)
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run, args=(stop,), name="test-scheduler")
    thread.start()
    try:
        yield scheduler
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive(), "the scheduler stops when asked"


@pytest.fixture
def probe(ctx: EngineContext, tmp_path: Path) -> EngineContext:
    deploy_probe(ctx, tmp_path)
    return ctx


def test_new_instance_wakes_the_scheduler_and_its_timer_fires_on_time(probe: EngineContext) -> None:
    with running_scheduler(probe) as scheduler:
        assert scheduler.idle.wait(10), "nothing to do: the scheduler sleeps"
        cycles = scheduler.stats.cycles
        probe.run(start_instance, "timer_probe", {"wait": "PT1.5S"}, SYSTEM)
        woke_after = wait_for(lambda: scheduler.stats.cycles > cycles, timeout=5)
        assert woke_after < 0.5, f"woke {woke_after:.2f} s after the commit"
        wait_for(lambda: timer_fires(probe), timeout=5)
    ((fire_at, fired_at),) = timer_fires(probe)
    assert timedelta(0) <= fired_at - fire_at <= timedelta(seconds=2)


def test_sleeping_scheduler_wakes_at_fire_at_without_any_change(probe: EngineContext) -> None:
    probe.run(start_instance, "timer_probe", {"wait": "PT2S"}, SYSTEM)
    probe.run(start_instance, "timer_probe", {"wait": "PT4S"}, SYSTEM)
    with running_scheduler(probe):
        wait_for(lambda: len(timer_fires(probe)) == 2, timeout=10)
    for fire_at, fired_at in timer_fires(probe):
        assert timedelta(0) <= fired_at - fire_at <= timedelta(seconds=2)
    assert count(probe, select(func.count()).select_from(HumanTask)) == 2


def _start_at(moment: str, ctx: EngineContext, process_id: str, data: dict[str, Any], n: int = 1) -> None:
    clock.set_offset(datetime.fromisoformat(moment) - datetime.now(UTC))
    for _ in range(n):
        ctx.run(start_instance, process_id, data, SYSTEM)


def test_catches_up_on_everything_due_while_stopped(probe: EngineContext) -> None:
    deploy_files(probe, "routing.bpmn")
    try:
        _start_at("2026-11-20T09:00:00+01:00", probe, "routing", {}, n=3)  # 6 tasks due 2026-12-04, end of day
        _start_at("2026-12-04T23:51:00+01:00", probe, "timer_probe", {"wait": "PT20M"})
        for minutes in range(1, 10):
            probe.run(start_instance, "timer_probe", {"wait": f"PT{minutes}M"}, SYSTEM)
        with running_scheduler(probe) as scheduler:
            assert scheduler.idle.wait(10)
            assert scheduler.stats.fired.total == 0, "nothing is due yet"
        clock.advance(timedelta(minutes=10))  # ten minutes pass while no scheduler runs
        with running_scheduler(probe) as scheduler:
            wait_for(lambda: due_rows(probe) == 0 and scheduler.idle.is_set(), timeout=30)
        assert scheduler.stats.fired.bpmn_timers == 9
        assert scheduler.stats.fired.escalations == 6
    finally:
        clock.reset()
    assert count(probe, select(func.count()).select_from(HumanTask).where(HumanTask.escalation_level == 1)) == 6
    assert len(timer_fires(probe)) == 9
    assert count(probe, select(func.count()).select_from(Timer).where(Timer.kind == "bpmn")) == 1, "PT20M waits"


@pytest.fixture
def broken_runtime(probe: EngineContext, monkeypatch: pytest.MonkeyPatch) -> list[UUID]:
    """Firing raises for instances started with ``broken``; returns one entry per failed call."""
    calls: list[UUID] = []
    real = probe.runtime.fire_due_timers

    def fire(workflow: Any) -> Any:
        if any(t.data.get("broken") for t in workflow.get_tasks()):
            calls.append(workflow.task_tree.id)
            raise RuntimeError("the model exploded")
        return real(workflow)

    monkeypatch.setattr(probe.runtime, "fire_due_timers", fire)
    return calls


def test_a_failing_instance_is_retried_later_and_does_not_stop_the_others(
        probe: EngineContext, broken_runtime: list[UUID]) -> None:
    broken = probe.run(start_instance, "timer_probe", {"wait": "PT1S", "broken": True}, SYSTEM).instance_id
    for _ in range(3):
        probe.run(start_instance, "timer_probe", {"wait": "PT1S"}, SYSTEM)
    with running_scheduler(probe) as scheduler:
        wait_for(lambda: len(timer_fires(probe)) == 3 and broken_runtime, timeout=10)
        wait_for(scheduler.idle.is_set, timeout=5)
        cycles = scheduler.stats.cycles
        time.sleep(1.5)
        assert scheduler.stats.cycles - cycles <= 1, "no busy loop over the failed row"
        assert len(broken_runtime) == 1
        clock.set_offset(timedelta(minutes=1, seconds=1))  # the first retry is due a minute later
        scheduler.wake()
        wait_for(lambda: len(broken_runtime) == 2, timeout=5)
        wait_for(scheduler.idle.is_set, timeout=5)
    clock.reset()
    with probe.uow(write=False) as uow:
        (row,) = uow.session.scalars(select(Timer).where(Timer.instance_id == broken))
        instance = uow.session.get(ProcessInstance, broken)
        assert instance is not None
        assert instance.status == "running"
    assert row.attempts == 2
    assert row.last_error == "RuntimeError: the model exploded"
    assert row.fire_at - clock.now() > timedelta(minutes=2, seconds=50), "then two minutes after that"
    assert count(probe, select(func.count()).select_from(HumanTask).where(HumanTask.instance_id == broken)) == 0


def test_a_failing_cycle_is_retried_after_a_pause(probe: EngineContext, monkeypatch: pytest.MonkeyPatch) -> None:
    real = scheduler_module.next_fire_at
    calls: list[float] = []

    def flaky(session: Any) -> datetime | None:
        calls.append(time.perf_counter())
        if len(calls) == 1:
            raise ConnectionError("database unreachable")
        return real(session)

    monkeypatch.setattr(scheduler_module, "next_fire_at", flaky)
    probe.run(start_instance, "timer_probe", {"wait": "PT0.5S"}, SYSTEM)
    with running_scheduler(probe) as scheduler:
        wait_for(lambda: timer_fires(probe), timeout=10)
    assert scheduler.stats.errors == 1
    assert calls[1] - calls[0] >= 1.9, "backs off instead of retrying at once"


def test_retry_delay_doubles_from_a_minute_up_to_an_hour() -> None:
    assert [retry_delay(n) for n in (1, 2, 3, 7, 40)] == [timedelta(minutes=m) for m in (1, 2, 4, 60, 60)]


def test_bpmn_timers_of_an_instance_in_incident_wait_without_busy_looping(probe: EngineContext) -> None:
    stuck = probe.run(start_instance, "timer_probe", {"wait": "PT1S"}, SYSTEM).instance_id
    with probe.uow() as uow:
        uow.session.execute(update(ProcessInstance).where(ProcessInstance.id == stuck).values(status="incident"))
        uow.commit()
    time.sleep(1.2)
    with running_scheduler(probe) as scheduler:
        assert scheduler.idle.wait(10)
        time.sleep(0.6)  # the first cycle signs the audit heads: a commit of its own, seen once
        cycles = scheduler.stats.cycles
        time.sleep(1.0)
        assert scheduler.stats.cycles == cycles
    assert scheduler.stats.fired.total == 0
    assert due_rows(probe) == 1, "kept for when the incident is resolved"


def test_stop_event_ends_a_sleeping_scheduler_promptly(probe: EngineContext) -> None:
    with running_scheduler(probe) as scheduler:
        assert scheduler.idle.wait(10)
        began = time.perf_counter()
    assert time.perf_counter() - began < 1.0
