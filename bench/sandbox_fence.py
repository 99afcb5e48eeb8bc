"""Cost of the sandbox's operating-system fence: worker start-up and evaluation latency.

Workers with and without the seccomp fence are started alternately (so that load from other
processes on the machine hits both alike). Start-up is reported twice: wall-clock time until the
worker is ready, and the CPU time the worker used (start-up and exit, from the kernel's account
of reaped children), which a busy machine distorts much less. Latency is measured on a warm
worker for an expression, a script and a DMN-like cell, each of which goes to the worker.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.bpmn import sandbox as sandbox_module
from engine.bpmn.sandbox import Sandbox

STARTS = 30
CALLS = 500
MEMORY = 256 * 1024 * 1024
EXPRESSION = "sorted(items)[0] + 1"  # sorted() is not on the fast path: always a worker call
SCRIPT = "total = 0\nfor item in items:\n    total += item\nresult = total > 10"
DMN_CELL = "status in ['Duldung', 'Gestattung'] and sorted([alter, 18])[0] == 18"
NAMES = {"items": [5, 3, 9, 1], "alter": 27, "status": "Duldung"}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def start_once(fenced: bool) -> tuple[float, float]:
    """Wall time to ready and CPU time of one worker's life (start-up, then exit at once)."""
    cpu_before = _children_cpu()
    began = time.perf_counter()
    worker = sandbox_module._Worker(MEMORY, "Europe/Berlin", fenced)
    wall = time.perf_counter() - began
    assert worker.process.stdin is not None
    worker.process.stdin.close()  # the worker exits at the end of its input
    worker.process.wait()
    worker.kill()
    return wall, _children_cpu() - cpu_before


def warm_latency(fenced: bool, action: Callable[[Sandbox], object]) -> list[float]:
    with Sandbox(max_workers=1, fence=fenced) as sandbox:
        action(sandbox)
        samples = []
        for _ in range(CALLS):
            began = time.perf_counter()
            action(sandbox)
            samples.append(time.perf_counter() - began)
    return samples


def _row(name: str, unit: float, off: list[float], on: list[float]) -> None:
    def show(samples: list[float]) -> str:
        return f"{statistics.median(samples) * unit:8.3f} (min {min(samples) * unit:7.3f})"

    print(f"{name:28} {show(off)}   {show(on)}")


def main() -> None:
    print(f"medians (and minima) of {STARTS} starts and {CALLS} calls; fence off | fence on")
    starts: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for _ in range(STARTS):
        for fenced in (False, True):
            starts[fenced].append(start_once(fenced))
    _row("start-up, wall ms", 1000, [w for w, _ in starts[False]], [w for w, _ in starts[True]])
    _row("start-up, worker CPU ms", 1000, [c for _, c in starts[False]], [c for _, c in starts[True]])
    actions: dict[str, Callable[[Sandbox], object]] = {
        "expression, ms": lambda s: s.evaluate(EXPRESSION, NAMES),
        "script, ms": lambda s: s.execute(SCRIPT, dict(NAMES)),
        "DMN-like cell, ms": lambda s: s.evaluate(DMN_CELL, NAMES),
    }
    for name, action in actions.items():
        _row(name, 1000, warm_latency(False, action), warm_latency(True, action))


if __name__ == "__main__":
    main()
