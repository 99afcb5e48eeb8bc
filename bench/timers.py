"""Timers fire on time and in bulk (ARCHITECTURE.md decision 3).

1. Latency: a scheduler process runs while instances start at about 25 per second, each with
   a timer 1-3 s ahead. We print p50/p95/p99 of (commit of the firing - fire_at), taken from
   the ``timer.fire`` audit entries (written in the firing transaction, just before commit).
   Target: p99 <= 2 s.
2. Throughput: 10,000 BPMN timers (one engine step each), then 10,000 task escalations, all
   due at the same moment, fired by one scheduler (a thread here, engine clock moved); on
   PostgreSQL also 10,000 overdue BPMN timers fired by one and by two scheduler processes.
   The rate per second is counted from the first to the last firing in the audit trail.

Run: ``python bench/timers.py [--timers N] [--seconds S]`` (PostgreSQL if reachable).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import ROOT, backends, bench_context
from _cpu import CpuMeter
from sqlalchemy import func, select

from engine import clock
from engine.domain.actors import SYSTEM
from engine.persistence.models import AuditEntry, Timer
from engine.scheduling.scheduler import Scheduler
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from engine.services.stepping.step import start as start_instance_in
from tests.integration.test_scheduler import deploy_probe

CREATED_AT = datetime.fromisoformat("2026-11-20T09:00:00+01:00")  # a Friday: P14D and 10WD end on 2026-12-04
BPMN_DUE = datetime.fromisoformat("2026-12-04T12:00:00+01:00")     # after the P14D timers (09:00)
ESCALATION_DUE = datetime.fromisoformat("2026-12-05T08:00:00+01:00")  # after level 1, before level 2


def deploy_models(ctx: EngineContext) -> None:
    data = ROOT / "tests" / "data"
    ctx.run(deployment.deploy, deployment.read_model_paths([data / "timers.bpmn", data / "routing.bpmn"]), SYSTEM)
    deploy_probe(ctx, Path(tempfile.mkdtemp(prefix="kim-bench-probe-")))


def pending_bpmn(ctx: EngineContext) -> int:
    with ctx.uow(write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Timer).where(Timer.kind == "bpmn")) or 0)


def wait_until_none_left(remaining: Callable[[], int], stalled_after: float = 120.0) -> None:
    """Poll ``remaining()`` down to 0; give up if it stops going down (see the scheduler's log)."""
    last, last_change = remaining(), time.monotonic()
    while last:
        time.sleep(0.05)
        now_left = remaining()
        if now_left != last:
            last, last_change = now_left, time.monotonic()
        elif time.monotonic() - last_change > stalled_after:
            raise RuntimeError(f"{last} left and no progress for {stalled_after:.0f} s")


@contextmanager
def scheduler_process(ctx: EngineContext) -> Iterator[subprocess.Popen[bytes]]:
    log_path = Path(tempfile.mkdtemp(prefix="kim-bench-")) / "scheduler.log"
    env = {**os.environ, "KIM_DATABASE_URL": ctx.config["KIM_DATABASE_URL"]}
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "engine.scheduling"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=log)
    try:
        while "scheduler started" not in log_path.read_text():
            if proc.poll() is not None:
                raise RuntimeError(log_path.read_text())
            time.sleep(0.05)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(p * 10) - 1]


def latency(backend: str, seconds: float) -> None:
    with bench_context(backend) as ctx:
        deploy_models(ctx)
        with scheduler_process(ctx):
            ends = time.monotonic() + seconds
            while time.monotonic() < ends:
                with ctx.uow() as uow:
                    wait = f"PT{random.uniform(1, 3):.2f}S"
                    start_instance_in(uow.session, ctx, "timer_probe", {"wait": wait}, SYSTEM)
                    uow.commit()
                time.sleep(0.04)
            wait_until_none_left(lambda: pending_bpmn(ctx))
        with ctx.uow(write=False) as uow:
            rows = uow.session.execute(select(AuditEntry.details, AuditEntry.at)
                                       .where(AuditEntry.action == "timer.fire")).all()
    delays = [(at - datetime.fromisoformat(d["fire_at"])).total_seconds() for d, at in rows]
    p99 = percentile(delays, 99)
    print(f"[{backend}] {len(delays)} timers, fire_at -> fired: p50 {percentile(delays, 50) * 1000:.0f} ms, "
          f"p95 {percentile(delays, 95) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms "
          f"(target p99 <= 2 s) {'OK' if p99 <= 2 else 'MISSED'}")


def create_due_work(ctx: EngineContext, created_at: datetime, timers: int, routings: int = 0) -> None:
    """Instances of timer_interrupting (one P14D timer each) and routing (two due tasks each)."""
    clock.freeze(created_at)
    try:
        for process_id, count in (("timer_interrupting", timers), ("routing", routings)):
            for first in range(0, count, 250):
                with ctx.uow() as uow:
                    for _ in range(min(250, count - first)):
                        start_instance_in(uow.session, ctx, process_id, {}, SYSTEM)
                    uow.commit()
    finally:
        clock.reset()


def fire_rate(ctx: EngineContext, action: str) -> tuple[int, float]:
    """How many ``action`` audit entries, and how many per second from the first to the last."""
    with ctx.uow(write=False) as uow:
        n, first, last = uow.session.execute(select(func.count(), func.min(AuditEntry.at), func.max(AuditEntry.at))
                                             .where(AuditEntry.action == action)).one()
    return n, n / max((last - first).total_seconds(), 1e-3)


def fire_in_thread(ctx: EngineContext, moment: datetime, remaining: Callable[[Scheduler], int]) -> None:
    """One scheduler in a thread, engine clock at ``moment``, until ``remaining`` is 0."""
    clock.set_offset(moment - datetime.now(UTC))
    scheduler, stop = Scheduler(ctx, batch_limit=500), threading.Event()
    thread = threading.Thread(target=scheduler.run, args=(stop,))
    thread.start()
    try:
        wait_until_none_left(lambda: remaining(scheduler) if thread.is_alive() else -1)
    finally:
        stop.set()
        thread.join()
        clock.reset()


def throughput(backend: str, n: int) -> None:
    with bench_context(backend) as ctx:
        deploy_models(ctx)
        began = time.perf_counter()
        create_due_work(ctx, CREATED_AT, n, n // 2)
        print(f"[{backend}] created {n} instances with a timer and {n // 2} with two due tasks "
              f"in {time.perf_counter() - began:.0f} s")
        fire_in_thread(ctx, BPMN_DUE, lambda s: n - s.stats.fired.bpmn_timers)
        fire_in_thread(ctx, ESCALATION_DUE, lambda s: n // 2 * 2 - s.stats.fired.escalations)
        for label, action in (("BPMN timers", "timer.fire"), ("escalations", "task.escalate")):
            fired, rate = fire_rate(ctx, action)
            print(f"[{backend}] {fired} {label} due at the same moment, one scheduler: {rate:.0f} per second")


def throughput_of_processes(backend: str, n: int, processes: int) -> None:
    """BPMN timers overdue in wall time, fired by scheduler processes side by side."""
    with bench_context(backend) as ctx:
        deploy_models(ctx)
        create_due_work(ctx, datetime.now(UTC) - timedelta(days=14, hours=1), n)
        database = ctx.config["KIM_DATABASE_URL"].rsplit("/", 1)[-1] if backend == "postgres" else None
        with ExitStack() as stack:
            started = [stack.enter_context(scheduler_process(ctx)) for _ in range(processes)]
            meter = CpuMeter([p.pid for p in started], database)
            meter.start()
            wait_until_none_left(lambda: pending_bpmn(ctx))
            cpu = meter.per_request(n)
        fired, rate = fire_rate(ctx, "timer.fire")
        once = "each fired once" if fired == n else f"FIRED {fired} TIMES FOR {n} TIMERS"
        print(f"[{backend}] {fired} BPMN timers due at the same moment, {processes} scheduler processes: "
              f"{rate:.0f} per second ({once}); cpu per timer: schedulers {cpu['server_cpu_ms']} ms, "
              f"database {cpu['db_cpu_ms']} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--timers", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=20.0, help="how long instances keep starting")
    options = parser.parse_args()
    for name in backends():
        latency(name, options.seconds)
        throughput(name, options.timers)
        if name == "postgres":  # several scheduler processes only make sense on PostgreSQL
            for processes in (1, 2):
                throughput_of_processes(name, options.timers, processes)
