"""Opening cases in parallel: every client gets a case, each with its own reference.

Before, the reference was ``count(*) + 1`` with retries: on PostgreSQL about half of 8 parallel
clients got 409 "could not allocate a case reference".
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from engine import clock
from engine.domain.actors import Actor
from engine.services.admin import directory
from engine.services.casework import cases
from engine.services.context import EngineContext
from tests.conftest import deploy_files

CLIENTS = 16
EACH = 5


def test_sixteen_clients_open_cases_at_once_without_a_single_error(ctx: EngineContext) -> None:
    deploy_files(ctx, "counselling_loop.bpmn")
    user = ctx.run(directory.add_user, "carla", "caseworker", ["CM"])
    carla = directory.actor_for(user)
    barrier = threading.Barrier(CLIENTS)

    def client(n: int) -> list[str]:
        barrier.wait()
        opened = []
        for i in range(EACH):
            case = ctx.run(cases.open_case, carla, {
                "person": {"given_name": f"Person {n}-{i}", "family_name": "Haddad"},
                "referral": {"source": "ABH", "reason": "Perspektivberatung"}, "process_id": "counselling_loop"})
            opened.append(case.reference)
        return opened

    with ThreadPoolExecutor(CLIENTS) as pool:
        references = [r for batch in pool.map(client, range(CLIENTS)) for r in batch]
    year = clock.local_now().year
    assert len(set(references)) == CLIENTS * EACH
    assert all(r.startswith(f"KIM-{year}-") for r in references)


def test_numbers_count_per_year(ctx: EngineContext, frozen_clock: object) -> None:
    deploy_files(ctx, "counselling_loop.bpmn")
    carla = Actor("carla", "caseworker", frozenset({1}), None, frozenset({"CM"}))
    body = {"person": {"given_name": "A", "family_name": "B"}, "referral": {"source": "ABH", "reason": "x"},
            "process_id": "counselling_loop"}
    first = ctx.run(cases.open_case, carla, body).reference
    second = ctx.run(cases.open_case, carla, body).reference
    assert int(second.rsplit("-", 1)[1]) == int(first.rsplit("-", 1)[1]) + 1
