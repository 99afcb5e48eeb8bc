"""Office inbox latency with many open and completed tasks (issue: the task inbox).

Fills a database with N open tasks of one office (due dates spread over a year) plus
1,000,000 completed tasks, then measures GET /api/v1/tasks?view=office (page of 100, sorted by
due date) through the Flask test client: p50/p95 over 200 requests, at 2,000 and at 100,000
open tasks, on SQLite and PostgreSQL. Targets (PostgreSQL): p95 <= 8 ms at 2,000 open and
<= 20 ms at 100,000 open; p95(100,000) / p95(2,000) <= 2 on both. The HTTP benchmark
(bench/http.py) measures the same page through a real server.

    python bench/inbox.py [--completed 1000000] [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from _common import backends, bench_context
from sqlalchemy import insert, select

from engine.persistence.models import HumanTask, Office, ProcessDefinition, ProcessInstance
from engine.services.admin import directory

REQUESTS = 200
BATCH = 20_000
PAGE = 100
SMALL, LARGE = 2_000, 100_000
TARGET_MS = {SMALL: 8.0, LARGE: 20.0}


def _instance(ctx: Any) -> tuple[uuid.UUID, int]:
    with ctx.uow() as uow:
        definition_id = uow.session.scalar(select(ProcessDefinition.id).limit(1))
        office_id = uow.session.scalar(select(Office.id).where(Office.code == "CM"))
        instance_id = uuid.uuid4()
        uow.session.execute(insert(ProcessInstance), [{
            "id": instance_id, "definition_id": definition_id, "dependency_ids": {}, "spec_key": "bench",
            "status": "running", "state": "{}", "state_format": 1, "version": 1,
            "started_at": datetime.now(UTC)}])
        uow.commit()
    return instance_id, int(office_id or 0)


def _fill(ctx: Any, instance_id: uuid.UUID, office_id: int, count: int, state: str) -> None:
    start = datetime.now(UTC)
    done = 0
    while done < count:
        rows = [{"id": uuid.uuid4(), "instance_id": instance_id, "spiff_task_id": uuid.uuid4(),
                 "process_id": "bench", "bpmn_id": "step", "name": "Erstkontakt dokumentieren",
                 "office_id": office_id, "state": state, "created_at": start,
                 "due_at": start + timedelta(minutes=(done + i) * 7 % 525_600), "escalation_level": 0,
                 "data": {}, "version": 1,
                 "completed_at": start if state == "completed" else None}
                for i in range(min(BATCH, count - done))]
        with ctx.uow() as uow:
            uow.session.execute(insert(HumanTask), rows)
            uow.commit()
        done += len(rows)


def _settle(ctx: Any) -> None:
    """What autovacuum/ANALYZE do on a live database: statistics and the visibility map after
    the bulk load, so that we measure the steady state and not the load itself."""
    if ctx.db.is_sqlite:
        with ctx.db.write.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        return
    with ctx.db.write.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE task")


def _measure(client: Any, token: str) -> tuple[float, float]:
    timings = []
    for _ in range(REQUESTS):
        began = time.perf_counter()
        response = client.get(f"/api/v1/tasks?view=office&per_page={PAGE}",
                              headers={"Authorization": f"Bearer {token}"})
        timings.append(time.perf_counter() - began)
        assert response.status_code == 200
        assert len(response.get_json()["items"]) == PAGE
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1]


def run(backend: str, completed: int, small: int = SMALL, large: int = LARGE) -> None:
    from webapp import create_app

    with bench_context(backend) as ctx:
        ctx.run(directory.add_user, "bench", "caseworker", ["CM"])
        token = ctx.run(directory.create_token, "bench")
        instance_id, office_id = _instance(ctx)
        began = time.perf_counter()
        _fill(ctx, instance_id, office_id, completed, "completed")
        _fill(ctx, instance_id, office_id, small, "open")
        print(f"[{backend}] filled {completed:,} completed + {small:,} open in {time.perf_counter() - began:.0f} s")
        _settle(ctx)
        app = create_app({"KIM_DATABASE_URL": ctx.config["KIM_DATABASE_URL"], "TESTING": True})
        client = app.test_client()
        small_p = _measure(client, token)
        _fill(ctx, instance_id, office_id, large - small, "open")
        _settle(ctx)
        large_p = _measure(client, token)
        app.extensions["kim"].db.dispose()
    for count, (p50, p95) in ((small, small_p), (large, large_p)):
        verdict = ""
        if backend == "postgres" and count in TARGET_MS:
            verdict = f" (target <= {TARGET_MS[count]:.0f} ms) {'OK' if p95 * 1000 <= TARGET_MS[count] else 'MISSED'}"
        print(f"[{backend}] {count:>7,} open: p50 {p50 * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms{verdict}")
    ratio = large_p[1] / small_p[1]
    print(f"[{backend}] p95 ratio {large:,} : {small:,} = {ratio:.2f} (target <= 2) {'OK' if ratio <= 2 else 'MISSED'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--completed", type=int, default=1_000_000)
    parser.add_argument("--backends", default=",".join(backends()))
    parser.add_argument("--open-small", type=int, default=SMALL, help=f"open tasks first (>= {PAGE})")
    parser.add_argument("--open-large", type=int, default=LARGE, help="open tasks second")
    options = parser.parse_args()
    if not PAGE <= options.open_small <= options.open_large:
        parser.error(f"need {PAGE} <= --open-small <= --open-large")
    for name in options.backends.split(","):
        run(name, options.completed, options.open_small, options.open_large)
