"""Cost of persistence: plain in-memory SpiffWorkflow vs our engine with a database.

The same loop model and the same number of completions, in one run. Plain SpiffWorkflow
keeps everything in memory (no pruning, no database, its own unrestricted eval); ours
restores the state, runs the step in the sandbox, prunes, saves and commits each time.
Target on SQLite: persisted / in-memory <= 4.
"""

from __future__ import annotations

import time

from _common import LOOP_MODEL, backends, bench_context, open_task_id
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.domain.actors import SYSTEM
from engine.services.casework.instances import complete_task, start_instance

COMPLETIONS = (20, 200)


def plain_spiff(n: int) -> float:
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(LOOP_MODEL))
    workflow = BpmnWorkflow(parser.get_spec("counselling_loop"))
    workflow.do_engine_steps()
    began = time.perf_counter()
    for i in range(n):
        task = next(t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual)
        task.data.update({"weitere_sitzung": i < n - 1, "sitzung": i, "notiz": f"Sitzung {i}"})
        task.run()
        workflow.do_engine_steps()
    assert workflow.completed
    return (time.perf_counter() - began) / n


def persisted(backend: str, n: int) -> float:
    with bench_context(backend) as ctx:
        started = ctx.run(start_instance, "counselling_loop", {}, SYSTEM)
        task_id = started.task_ids[0]
        spent = 0.0
        for i in range(n):
            data = {"weitere_sitzung": i < n - 1, "sitzung": i, "notiz": f"Sitzung {i}"}
            began = time.perf_counter()
            ctx.run(complete_task, task_id, SYSTEM, data)
            spent += time.perf_counter() - began
            if i < n - 1:
                task_id = open_task_id(ctx, started.instance_id)
    return spent / n


if __name__ == "__main__":
    for n in COMPLETIONS:
        memory = plain_spiff(n)
        print(f"{n} completions, plain in-memory SpiffWorkflow: {memory * 1000:.2f} ms each")
        for backend in backends():
            cost = persisted(backend, n)
            ratio = cost / memory
            target = " (target <= 4)" if backend == "sqlite" else ""
            print(f"{n} completions, engine + {backend}: {cost * 1000:.2f} ms each; "
                  f"persisted / in-memory = {ratio:.2f}{target}")
