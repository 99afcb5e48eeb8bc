"""What a task is about (showFrom, task.context) in the database and at publishing: migration 0011 goes
down and up again on every database, and the schema afterwards is still exactly the models' (SQLite
rebuilds the table: its indexes must survive); a bad showFrom is refused by the check and the deployment."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from engine.domain.actors import SYSTEM
from engine.domain.errors import ModelInvalid
from engine.domain.model import ModelSource
from engine.persistence.migrate import alembic_config
from engine.persistence.models import Base
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from tests.conftest import fresh_database
from tests.integration.test_model_check import bpmn, flow, problems_of


def _migrate(url: str, step: str, revision: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    config = alembic_config(url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            getattr(command, step)(config, revision)
    finally:
        engine.dispose()


def _task_columns(url: str) -> set[str]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        return {c["name"] for c in inspect(engine).get_columns("task")}
    finally:
        engine.dispose()


def test_the_task_context_column_goes_down_and_up_again(database_url: str, tmp_path: Path) -> None:
    url = fresh_database(database_url, tmp_path)
    assert "context" in _task_columns(url)
    try:
        _migrate(url, "downgrade", "0010")
        columns = _task_columns(url)
        assert "context" not in columns
        assert {"data", "follow_up_reason"} <= columns, "the rest of the table stays"
    finally:
        _migrate(url, "upgrade", "head")  # PostgreSQL: the session's database is shared by the next tests
    assert "context" in _task_columns(url)
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        engine.dispose()


def test_the_check_before_publish_and_the_deployment_refuse_a_bad_show_from(ctx: EngineContext) -> None:
    task = ('<bpmn:userTask id="t1" name="Beraten" camunda:candidateGroups="CM"><bpmn:extensionElements>'
            '<spiffworkflow:properties><spiffworkflow:property name="showFrom" value="Frist household.deadline"/>'
            '</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>')
    content = bpmn('<bpmn:startEvent id="start"/>' + flow("f1", "start", "t1") + task + flow("f2", "t1", "end")
                   + '<bpmn:endEvent id="end"/>')
    assert problems_of(ctx, content) == [
        ("t1", "error", "Der Eintrag „Frist household.deadline“ in showFrom hat nicht die Form "
                        "„Bezeichnung=Datenfeld“ (z. B. Frist=household_deadline.deadline); trennen Sie mehrere "
                        "Einträge mit „;“.")]
    with pytest.raises(ModelInvalid) as refused:
        ctx.run(deployment.deploy, [ModelSource("pruefling.bpmn", content)], SYSTEM)
    assert [p.element_id for p in refused.value.problems] == ["t1"]
