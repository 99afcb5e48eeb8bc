"""Per-step cost must not grow with a case's history (ARCHITECTURE.md decision 2).

One instance of a counselling loop (user task + non-interrupting boundary timer) is
completed 10,020 times through the engine with persistence. We print the mean cost of a
completion in windows starting at iteration 10, 1,000 and 10,000 and the ratio
10,000 : 10 (target <= 1.5), on SQLite and on PostgreSQL, plus the throughput.
"""

from __future__ import annotations

import statistics
import time

from _common import backends, bench_context, open_task_id, timed

from engine.domain.actors import SYSTEM
from engine.persistence.models import ProcessInstance
from engine.services.casework.instances import complete_task, start_instance

MARKS = (10, 1_000, 10_000)
WINDOW = 20


def run(backend: str) -> None:
    with bench_context(backend) as ctx:
        started = ctx.run(start_instance, "counselling_loop", {}, SYSTEM)
        task_id = started.task_ids[0]
        means: dict[int, float] = {}
        window: list[float] = []
        began = time.perf_counter()
        last = MARKS[-1] + WINDOW
        for i in range(last):
            data = {"weitere_sitzung": i < last - 1, "sitzung": i, "notiz": f"Sitzung {i}"}
            window.append(timed(lambda d=data, t=task_id: ctx.run(complete_task, t, SYSTEM, d)))
            for mark in MARKS:
                if i == mark + WINDOW - 1:
                    means[mark] = statistics.mean(window[-WINDOW:])
            if i < last - 1:
                task_id = open_task_id(ctx, started.instance_id)
        total = time.perf_counter() - began
        with ctx.uow(write=False) as uow:
            instance = uow.session.get(ProcessInstance, started.instance_id)
            assert instance is not None
            status, state_bytes = instance.status, len(instance.state)
    print(f"[{backend}] instance {status}; live state at the end: {state_bytes} bytes")
    for mark in MARKS:
        print(f"[{backend}] mean completion at iteration {mark:>6}: {means[mark] * 1000:7.2f} ms")
    ratio = means[MARKS[-1]] / means[MARKS[0]]
    print(f"[{backend}] ratio 10,000 : 10 = {ratio:.2f} (target <= 1.5) {'OK' if ratio <= 1.5 else 'MISSED'}")
    print(f"[{backend}] throughput, single client: {last / total:.0f} completions/s "
          f"(incl. looking up the next task)")


if __name__ == "__main__":
    for name in backends():
        run(name)
