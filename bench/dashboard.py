"""Supervisor dashboard latency on 100,000 tasks (issue 5 item 4).

Fills a database with N tasks over 4 offices and 20 steps (40 % open with due dates spread from
three months ago to one month ahead, 60 % completed within the last year) and times
``build_dashboard`` (every table of the page, including the audit entry) for an admin (all
offices) and an office lead (one office): median of 5 runs, on SQLite and PostgreSQL.

    python bench/dashboard.py [--tasks 100000] [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import statistics
import uuid
from datetime import UTC, datetime, timedelta

from _common import backends, bench_context, timed
from sqlalchemy import insert, select

from engine.domain.actors import Actor
from engine.persistence.models import HumanTask, Office, ProcessDefinition, ProcessInstance
from engine.services.reporting.supervision.dashboard import build_dashboard
from engine.services.reporting.supervision.scope import parse_query

BATCH = 20_000
INSTANCES = 5_000


def _fill(ctx: object, total: int) -> dict[str, int]:
    now = datetime.now(UTC)
    with ctx.uow() as uow:  # type: ignore[attr-defined]
        definition_id = uow.session.scalar(select(ProcessDefinition.id).limit(1))
        offices = {o.code: o.id for o in uow.session.scalars(select(Office))}
        instances = [uuid.uuid4() for _ in range(INSTANCES)]
        uow.session.execute(insert(ProcessInstance), [{
            "id": i, "definition_id": definition_id, "dependency_ids": {}, "spec_key": "bench", "status": "running",
            "state": "{}", "state_format": 1, "version": 1, "started_at": now} for i in instances])
        uow.commit()
    codes = ["CM", "ABH", "SOZ", "JC"]
    done = 0
    while done < total:
        rows = []
        for n in range(done, min(total, done + BATCH)):
            is_open = n % 5 < 2
            created = now - timedelta(hours=(n * 37) % 8760)
            rows.append({
                "id": uuid.uuid4(), "instance_id": instances[n % INSTANCES], "spiff_task_id": uuid.uuid4(),
                "process_id": "bench", "bpmn_id": f"step_{n % 20}", "name": f"Schritt {n % 20}",
                "office_id": offices[codes[n % 4]], "state": "open" if is_open else "completed",
                "created_at": created, "due_at": now + timedelta(hours=(n * 13) % 2880 - 2160),
                "escalation_level": n % 3 if is_open else 0, "data": {}, "version": 1,
                "completed_at": None if is_open else created + timedelta(hours=(n * 7) % 400)})
        for row in rows:
            row["due_sort"] = row["due_at"]
        with ctx.uow() as uow:  # type: ignore[attr-defined]
            uow.session.execute(insert(HumanTask), rows)
            uow.commit()
        done += len(rows)
    _settle(ctx)
    return offices


def _settle(ctx: object) -> None:
    """Statistics after the bulk load, as autovacuum/ANALYZE keep them on a live database."""
    db = ctx.db  # type: ignore[attr-defined]
    if db.is_sqlite:
        with db.write.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        return
    with db.write.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE task")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--backends", default=",".join(backends()))
    args = parser.parse_args()
    for backend in args.backends.split(","):
        with bench_context(backend) as ctx:
            offices = _fill(ctx, args.tasks)
            year = parse_query({"from": (datetime.now(UTC) - timedelta(days=364)).date().isoformat()})
            for label, query in (("30 days", parse_query({})), ("1 year", year)):
                for actor in (Actor("admin", "admin", frozenset(), 1, frozenset()),
                              Actor("lead", "supervisor", frozenset({offices["CM"]}), 2, frozenset({"CM"}))):
                    ctx.run(build_dashboard, actor, query)  # warm up caches
                    times = [timed(lambda a=actor, q=query: ctx.run(build_dashboard, a, q)) for _ in range(5)]
                    print(f"{backend:8} {args.tasks:>7} tasks  {label:7}  {actor.role:10}  "
                          f"median {statistics.median(times) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
