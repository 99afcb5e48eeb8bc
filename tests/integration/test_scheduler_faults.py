"""Scheduler processes that crash or compete: nothing is lost and nothing fires twice.

Schedulers run as real subprocesses (``python -m engine.scheduling``) against the
test database and are killed with SIGKILL while they work. Work is created in this process
with the engine clock moved back, so it is overdue in the wall time the schedulers use.
Afterwards every escalation level and every BPMN timer must have fired exactly once,
counted in the tasks, the audit trail and the process state.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from engine import clock
from engine.domain.actors import SYSTEM
from engine.persistence.models import AuditEntry, HumanTask, ProcessInstance, Timer
from engine.services.context import EngineContext
from engine.services.stepping.step import start as start_instance_in
from tests.conftest import deploy_files
from tests.integration.test_scheduler import count, deploy_probe, due_rows, wait_for

ROOT = Path(__file__).resolve().parents[2]
TIMER_PROCESSES = {"timer_interrupting": "ti_reminder", "timer_noninterrupting": "tn_report",
                   "timer_intermediate": "tw_task"}
ESCALATED_TASKS = ("abh_check", "soz_task")  # routing.bpmn's tasks with a due date
BATCH_LINE = re.compile(r"fired (\d+) timers and (\d+) escalations")


class Schedulers:
    """Scheduler subprocesses of one test, each logging to its own file; all killed at the end."""

    def __init__(self, database_url: str, folder: Path) -> None:
        self.env = {**os.environ, "KIM_DATABASE_URL": database_url}
        self.folder = folder
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, batch_limit: int = 100) -> subprocess.Popen[bytes]:
        with (self.folder / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "engine.scheduling", "--batch-limit", str(batch_limit)],
                cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=log)
        self.procs[name] = proc
        wait_for(lambda: "scheduler started" in self.log(name) or proc.poll() is not None, timeout=60)
        assert proc.poll() is None, self.log(name)
        return proc

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(encoding="utf-8", errors="replace")

    def fired(self, name: str) -> int:
        return sum(int(a) + int(b) for a, b in BATCH_LINE.findall(self.log(name)))

    def kill(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(timeout=10)

    def terminate(self, name: str) -> int:
        self.procs[name].send_signal(signal.SIGTERM)
        return self.procs[name].wait(timeout=30)

    def kill_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture
def schedulers(ctx: EngineContext, tmp_path: Path) -> Iterator[Schedulers]:
    group = Schedulers(ctx.config["KIM_DATABASE_URL"], tmp_path)
    try:
        yield group
    finally:
        group.kill_all()


def add_overdue_work(ctx: EngineContext, instances: int, probes: int = 0) -> None:
    """``instances`` overdue cases (routing and timer models), plus probes due in 0.2-2 s, in one commit."""
    names = ["routing", *TIMER_PROCESSES]
    try:
        clock.set_offset(-timedelta(days=40))  # this process only: the schedulers keep wall time
        with ctx.uow() as uow:
            for i in range(instances):
                start_instance_in(uow.session, ctx, names[i % len(names)], {}, SYSTEM)
            clock.reset()
            for _ in range(probes):
                wait = f"PT{random.uniform(0.2, 2.0):.2f}S"
                start_instance_in(uow.session, ctx, "timer_probe", {"wait": wait}, SYSTEM)
            uow.commit()
    finally:
        clock.reset()


def _pending(ctx: EngineContext) -> int:
    return count(ctx, select(func.count()).select_from(Timer).where(Timer.fired_at.is_(None),
                                                                    Timer.fire_at <= clock.now() + timedelta(
                                                                        seconds=5)))


def assert_everything_fired_exactly_once(ctx: EngineContext) -> None:
    with ctx.uow(write=False) as uow:
        session = uow.session
        due_tasks = set(session.scalars(select(HumanTask.id).where(HumanTask.bpmn_id.in_(ESCALATED_TASKS))))
        levels = Counter(session.scalars(select(HumanTask.escalation_level)
                                         .where(HumanTask.bpmn_id.in_(ESCALATED_TASKS))))
        escalations = Counter((d["level"], o) for d, o in session.execute(
            select(AuditEntry.details, AuditEntry.object_id).where(AuditEntry.action == "task.escalate")))
        fires = Counter(session.execute(select(AuditEntry.instance_id, AuditEntry.object_id)
                                        .where(AuditEntry.action == "timer.fire")).tuples())
        instances: list[Any] = list(session.execute(select(ProcessInstance.id, ProcessInstance.spec_key)))
        follow_ups = Counter(session.scalars(select(HumanTask.instance_id).where(
            HumanTask.bpmn_id.in_([*TIMER_PROCESSES.values(), "probe_task"]))))
        unfired = session.scalar(select(func.count()).select_from(Timer).where(Timer.fired_at.is_(None)))
    assert due_tasks, "the test created overdue tasks"
    assert levels == Counter({2: len(due_tasks)}), "every overdue task reached level 2"
    assert set(escalations.values()) == {1}, "exactly one task.escalate entry per task and level"
    assert set(escalations) == {(level, str(t)) for t in due_tasks for level in (1, 2)}
    with_timer = [i for i, key in instances if "routing" not in key]
    assert with_timer, "the test created BPMN timers"
    assert set(fires.values()) == {1}, "exactly one timer.fire entry per timer"
    assert {i for i, _ in fires} == set(with_timer)
    assert follow_ups == Counter(dict.fromkeys(with_timer, 1)), "each timer moved its process once"
    assert unfired == 0


@pytest.mark.slow
def test_sigkill_mid_batch_loses_nothing_and_fires_nothing_twice(ctx: EngineContext,
                                                                 schedulers: Schedulers) -> None:
    deploy_files(ctx, "timers.bpmn", "routing.bpmn")
    schedulers.start("steady")
    killed_mid_work = 0
    for round_ in range(10):
        victim = f"victim-{round_}"
        schedulers.start(victim, batch_limit=2)
        add_overdue_work(ctx, 30)
        # Kill once the victim has committed some of the work and is on to the next instance.
        wait_for(lambda v=victim: schedulers.fired(v) > 0 or due_rows(ctx) == 0, timeout=30, interval=0.002)
        time.sleep(random.uniform(0, 0.03))
        schedulers.kill(victim)
        killed_mid_work += schedulers.fired(victim) > 0 and due_rows(ctx) > 0
    wait_for(lambda: due_rows(ctx) == 0, timeout=120, interval=0.2)
    assert schedulers.terminate("steady") == 0, "SIGTERM stops a scheduler cleanly"
    assert killed_mid_work >= 1, "at least one scheduler was killed after firing some and with more due"
    assert_everything_fired_exactly_once(ctx)


@pytest.mark.slow
def test_two_schedulers_side_by_side_fire_everything_once(ctx: EngineContext, schedulers: Schedulers,
                                                          tmp_path: Path) -> None:
    deploy_files(ctx, "timers.bpmn", "routing.bpmn")
    deploy_probe(ctx, tmp_path)
    schedulers.start("a", batch_limit=5)
    schedulers.start("b", batch_limit=5)
    ends = time.monotonic() + 30
    while time.monotonic() < ends:  # both wake on the same commits and the same fire_at moments
        add_overdue_work(ctx, 4, probes=3)
        time.sleep(0.2)
    wait_for(lambda: _pending(ctx) == 0, timeout=120, interval=0.2)
    assert schedulers.terminate("a") == 0
    assert schedulers.terminate("b") == 0
    assert schedulers.fired("a") > 0
    assert schedulers.fired("b") > 0, "both schedulers did part of the work"
    assert_everything_fired_exactly_once(ctx)
