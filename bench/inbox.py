"""Office inbox latency with many open and completed tasks (issue: the task inbox).

Fills a database with N open tasks of one office (due dates spread over a year) plus
1,000,000 completed tasks, then measures GET /api/v1/tasks?view=office (page of 50, sorted by
due date) through the Flask test client: p50/p95 over 200 requests, at 1,000 and at 100,000
open tasks, on SQLite and PostgreSQL. Targets: p95(100,000) / p95(1,000) <= 2 and p95 on
PostgreSQL <= 50 ms.

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
        response = client.get("/api/v1/tasks?view=office&per_page=50",
                              headers={"Authorization": f"Bearer {token}"})
        timings.append(time.perf_counter() - began)
        assert response.status_code == 200
        assert len(response.get_json()["items"]) == 50
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1]


def run(backend: str, completed: int) -> None:
    from webapp import create_app

    with bench_context(backend) as ctx:
        ctx.run(directory.add_user, "bench", "caseworker", ["CM"])
        token = ctx.run(directory.create_token, "bench")
        instance_id, office_id = _instance(ctx)
        began = time.perf_counter()
        _fill(ctx, instance_id, office_id, completed, "completed")
        _fill(ctx, instance_id, office_id, 1_000, "open")
        print(f"[{backend}] filled {completed:,} completed + 1,000 open in {time.perf_counter() - began:.0f} s")
        _settle(ctx)
        app = create_app({"KIM_DATABASE_URL": ctx.config["KIM_DATABASE_URL"], "TESTING": True})
        client = app.test_client()
        small = _measure(client, token)
        _fill(ctx, instance_id, office_id, 99_000, "open")
        _settle(ctx)
        large = _measure(client, token)
        app.extensions["kim"].db.dispose()
    print(f"[{backend}] 1,000 open:   p50 {small[0] * 1000:6.1f} ms  p95 {small[1] * 1000:6.1f} ms")
    print(f"[{backend}] 100,000 open: p50 {large[0] * 1000:6.1f} ms  p95 {large[1] * 1000:6.1f} ms")
    ratio = large[1] / small[1]
    print(f"[{backend}] p95 ratio 100,000 : 1,000 = {ratio:.2f} (target <= 2) {'OK' if ratio <= 2 else 'MISSED'}")
    if backend == "postgres":
        print(f"[{backend}] p95 at 100,000 open = {large[1] * 1000:.1f} ms (target <= 50 ms) "
              f"{'OK' if large[1] <= 0.05 else 'MISSED'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--completed", type=int, default=1_000_000)
    parser.add_argument("--backends", default=",".join(backends()))
    options = parser.parse_args()
    for name in options.backends.split(","):
        run(name, options.completed)
