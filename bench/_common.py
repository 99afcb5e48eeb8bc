"""Shared set-up for benchmarks: a fresh migrated database with the loop model deployed."""

from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
_BENCH = ROOT / "bench"
# bench/http.py has the name of the standard library's http package, and python puts the folder
# of the script it runs first on the import path: behind the standard library with it, so that
# `import http.server` (werkzeug, for the in-process benchmarks) finds the real one.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH] + [str(_BENCH)]
sys.path.insert(0, str(ROOT))

from engine.domain.actors import SYSTEM  # noqa: E402
from engine.persistence.migrate import upgrade  # noqa: E402
from engine.persistence.models import HumanTask  # noqa: E402
from engine.services.admin import directory  # noqa: E402
from engine.services.context import EngineContext  # noqa: E402
from engine.services.process_models import deployment  # noqa: E402
from engine.services.wiring import create_context  # noqa: E402

LOOP_MODEL = ROOT / "tests" / "data" / "counselling_loop.bpmn"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_admin_url() -> str | None:
    url = os.environ.get("KIM_TEST_POSTGRES_URL", DEFAULT_PG)
    try:
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # the benchmark runs without PostgreSQL too
        print(f"(PostgreSQL not reachable: {type(exc).__name__}; skipping it)")
        return None
    return url


@contextmanager
def bench_context(backend: str) -> Iterator[EngineContext]:
    """A throwaway database of the given backend, migrated, with offices and the loop model."""
    name = None
    if backend == "sqlite":
        tmp = tempfile.mkdtemp(prefix="kim-bench-")
        url = f"sqlite:///{tmp}/bench.sqlite3"
    else:
        admin_url = postgres_admin_url()
        assert admin_url
        name = f"kim_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://", 1),
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    ctx = create_context({"KIM_DATABASE_URL": url})
    try:
        upgrade(ctx.db.write)
        ctx.run(directory.seed_offices)
        ctx.run(deployment.deploy, deployment.read_model_paths([LOOP_MODEL]), SYSTEM)
        yield ctx
    finally:
        ctx.db.dispose()
        if name:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def open_task_id(ctx: EngineContext, instance_id: uuid.UUID) -> uuid.UUID:
    with ctx.uow(write=False) as uow:
        task_id = uow.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                                HumanTask.state == "open"))
    assert task_id is not None
    return task_id


def timed(fn: Callable[[], object]) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def backends() -> list[str]:
    return ["sqlite"] + (["postgres"] if postgres_admin_url() else [])
