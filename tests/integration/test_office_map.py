"""The office code -> id map is shared by every thread of a process: no step may see it empty.

It used to be cleared and refilled in place by whichever thread missed, so a concurrent step
could find its office "no longer exists" (an incident) while another thread refilled the map.
"""

from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy.orm import Session

from engine.domain.actors import SYSTEM
from engine.services import context as context_module
from engine.services.admin import directory
from engine.services.casework.instances import start_instance
from engine.services.context import EngineContext, OfficeIds
from tests.conftest import deploy_files


def _slow_office_ids(original: Any) -> Any:
    def slow(session: Session) -> dict[str, int]:
        result: dict[str, int] = original(session)
        time.sleep(0.002)  # a refill that takes a moment, as a query does under load
        return result
    return slow


def test_readers_never_see_an_empty_map_while_another_thread_refills_it(
        ctx: EngineContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(context_module, "office_ids", _slow_office_ids(context_module.office_ids))
    offices = OfficeIds()
    stop = threading.Event()
    failures: list[str] = []

    def refill() -> None:
        with ctx.db.session(write=False) as session:
            while not stop.is_set():
                with contextlib.suppress(LookupError):
                    offices.id_of(session, "NOT-AN-OFFICE")  # a miss: builds a fresh map

    def read(_n: int) -> None:
        with ctx.db.session(write=False) as session:
            for _ in range(200):
                try:
                    offices.id_of(session, "CM")
                except LookupError as exc:
                    failures.append(str(exc))

    refiller = threading.Thread(target=refill)
    refiller.start()
    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(read, range(4)))
    finally:
        stop.set()
        refiller.join()
    assert failures == []


def test_two_threads_stepping_different_cases_route_every_task(ctx: EngineContext) -> None:
    deploy_files(ctx, "routing.bpmn", "counselling_loop.bpmn")
    ctx.run(directory.add_user, "jana", "caseworker", ["JC"])
    barrier = threading.Barrier(2)

    def step_many(process_id: str) -> int:
        fresh = EngineContext(ctx.db, ctx.calendar, ctx.runtime, ctx.config, ctx.forms)
        barrier.wait()
        started = 0
        for _ in range(15):
            fresh.offices = ctx.offices  # one shared map, as in a web worker
            result = fresh.run(start_instance, process_id, {}, SYSTEM)
            assert result.status == "running"
            started += 1
            ctx.offices = OfficeIds()  # the next step of the other thread misses again
        return started

    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(step_many, ["routing", "counselling_loop"])) == [15, 15]
