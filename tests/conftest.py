"""Shared fixtures: a real database (SQLite always, PostgreSQL when KIM_TEST_POSTGRES_URL is set),
an engine context on it, and a clock the test controls."""

from __future__ import annotations

import os
import shutil
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
from engine.services.admin import directory
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from engine.services.wiring import create_context

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
    """One migrated database per backend and test session (for SQLite: a template file)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'template.sqlite3'}"
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


def fresh_database(database_url: str, tmp_path: Path) -> str:
    """A clean database for one test: a copy of the SQLite template, or emptied PostgreSQL tables.

    The audit table refuses DELETE (append-only trigger); TRUNCATE on PostgreSQL and a file
    copy on SQLite start each test from scratch without weakening that.
    """
    if database_url.startswith("sqlite"):
        template = Path(make_url(database_url).database or "")
        target = tmp_path / "kim.sqlite3"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return database_url


@pytest.fixture(scope="session")
def all_forms(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped forms and the test models' forms in one folder (every completion is validated)."""
    folder = tmp_path_factory.mktemp("forms")
    for source in (DATA.parent.parent / "forms", DATA / "forms"):
        for file in source.glob("*.json"):
            shutil.copyfile(file, folder / file.name)
    return folder


@pytest.fixture
def ctx(database_url: str, tmp_path: Path, all_forms: Path) -> Iterator[EngineContext]:
    url = fresh_database(database_url, tmp_path)
    context = create_context({"KIM_DATABASE_URL": url, "KIM_INSTANCE_PATH": str(tmp_path),
                              "KIM_FORMS_PATH": str(all_forms)})
    context.run(directory.seed_offices)
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
    return ctx.run(deployment.deploy, sources, SYSTEM)
