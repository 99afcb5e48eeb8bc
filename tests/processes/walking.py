"""What the process tests ask of a walked instance: which steps it passed, which timers wait, what
data its steps see and how the deployed version routes a task."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from SpiffWorkflow.util.task import TaskState as SpiffState
from sqlalchemy import select

from engine.demo.walker import CaseWalker
from engine.domain.model import HumanTaskMeta
from engine.persistence import store
from engine.persistence.models import StepHistory, Timer
from engine.services.context import EngineContext
from engine.services.stepping.specs import instance_spec


def reached(walker: CaseWalker) -> set[str]:
    """BPMN ids of the steps the instance has finished (from the history table)."""
    with walker.ctx.uow(write=False) as uow:
        return set(uow.session.scalars(select(StepHistory.bpmn_id)
                                       .where(StepHistory.instance_id == walker.instance_id)))


def bpmn_timers(walker: CaseWalker) -> dict[str, datetime]:
    """Pending BPMN timers of the instance, by BPMN id."""
    with walker.ctx.uow(write=False) as uow:
        rows = uow.session.scalars(select(Timer).where(Timer.instance_id == walker.instance_id,
                                                       Timer.kind == "bpmn", Timer.fired_at.is_(None)))
        return {t.bpmn_id: t.fire_at for t in rows}


def _workflow(walker: CaseWalker) -> Any:
    with walker.ctx.uow(write=False) as uow:
        record = store.lock_instance(uow.session, walker.instance_id)
        assert record is not None
        spec = instance_spec(uow.session, record)
    return walker.ctx.runtime.restore(spec.bundle, record.state)


def process_data(walker: CaseWalker) -> dict[str, Any]:
    """The data of a finished instance (what a calling process gets back)."""
    return dict(_workflow(walker).data)


def task_data(walker: CaseWalker, bpmn_id: str) -> dict[str, Any]:
    """The process data a waiting or ready step ``bpmn_id`` sees (in called processes too)."""
    workflow = _workflow(walker)
    live = SpiffState.READY | SpiffState.WAITING | SpiffState.STARTED
    found = [t for t in workflow.get_tasks(state=live) if t.task_spec.bpmn_id == bpmn_id]
    assert found, f"no live step '{bpmn_id}'"
    return dict(found[0].data)


def task_meta(walker: CaseWalker, process_id: str, bpmn_id: str) -> HumanTaskMeta:
    """Routing metadata of a user task in the versions the instance runs on."""
    with walker.ctx.uow(write=False) as uow:
        record = store.lock_instance(uow.session, walker.instance_id)
        assert record is not None
        return instance_spec(uow.session, record).metas[process_id].human_tasks[bpmn_id]


Runs = list[tuple[str, dict[str, Any]]]


@contextmanager
def screening_runs(ctx: EngineContext, answer: Callable[[dict[str, Any]], Any] | None = None) -> Iterator[Runs]:
    """Record why every screening ran (its trigger) and on what inputs; with ``answer`` the screening
    answers instead of the deployed tables (so a test of the pathway does not depend on the rules inside
    the tables, and nothing is stored)."""
    runs: Runs = []
    real = ctx.runtime.services["residence_paths"]

    def spy(params: dict[str, Any]) -> Any:
        runs.append((str(params.get("trigger")), dict(params["inputs"])))
        return answer(params["inputs"]) if answer else real(params)

    ctx.runtime.services["residence_paths"] = spy
    try:
        yield runs
    finally:
        ctx.runtime.services["residence_paths"] = real


def screening_result(recommended: str, **statuses: str) -> Callable[[dict[str, Any]], Any]:
    """A screening answer: ``path=status`` rows (others NOT_APPLICABLE) and the recommended path."""
    paths = ("25a", "25b", "104c", "16g", "60c", "60d", "19d")

    def answer(_inputs: dict[str, Any]) -> dict[str, Any]:
        rows = [{"path": p, "status": statuses.get(f"p{p}", "NOT_APPLICABLE"), "missing": [], "blocking": [],
                 "deadline": None, "notes": [], "rules": []} for p in paths]
        rows.append({"path": "LEGAL_REVIEW", "status": "NOT_APPLICABLE", "missing": [], "blocking": [],
                     "deadline": None, "notes": [], "rules": []})
        return {"outputs": rows, "recommended": recommended, "versions": {}}

    return answer
