"""Shared fixtures: a real database (SQLite always, PostgreSQL when KIM_TEST_POSTGRES_URL is set),
an engine context on it, and a clock the test controls."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from engine import clock
from engine.domain.actors import SYSTEM
from engine.persistence.migrate import upgrade
from engine.persistence.models import Base
from engine.services import deployment, directory
from engine.services.context import EngineContext, create_context

DATA = Path(__file__).parent / "data"
POSTGRES_URL = os.environ.get("KIM_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _postgres_database(tmp_name: str) -> str:
    if not POSTGRES_URL:
        pytest.skip("KIM_TEST_POSTGRES_URL is not set: PostgreSQL tests skipped")
    admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{tmp_name}"'))
        conn.execute(text(f'CREATE DATABASE "{tmp_name}"'))
    admin.dispose()
    return str(make_url(POSTGRES_URL).set(database=tmp_name).render_as_string(hide_password=False))


def _drop_postgres_database(name: str) -> None:
    assert POSTGRES_URL
    admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One migrated database per backend and test session; tables are emptied per test."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'kim.sqlite3'}"
        name = None
    else:
        name = f"kim_test_{uuid.uuid4().hex[:10]}"
        url = _postgres_database(name)
    ctx = create_context({"KIM_DATABASE_URL": url})
    upgrade(ctx.db.write)
    ctx.db.dispose()
    yield url
    if name:
        _drop_postgres_database(name)


def _empty_tables(ctx: EngineContext) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with ctx.db.write.begin() as conn:
        if ctx.db.is_sqlite:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))  # noqa: S608  # our own table names
        else:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))


@pytest.fixture
def ctx(database_url: str, tmp_path: Path) -> Iterator[EngineContext]:
    context = create_context({"KIM_DATABASE_URL": database_url, "KIM_INSTANCE_PATH": str(tmp_path)})
    _empty_tables(context)
    directory.seed_offices(context.uow())
    yield context
    context.db.dispose()


@pytest.fixture
def frozen_clock() -> Iterator[type[clock]]:  # type: ignore[valid-type]
    """The engine clock stopped at Friday 2026-11-20 09:00 Berlin; move it with clock.advance."""
    clock.freeze(datetime.fromisoformat("2026-11-20T09:00:00+01:00"))
    yield clock  # type: ignore[misc]
    clock.reset()


def deploy_files(ctx: EngineContext, *names: str) -> list[deployment.Deployed]:
    sources = deployment.read_model_paths([DATA / n for n in names])
    return deployment.deploy(ctx.uow(), sources, SYSTEM)
