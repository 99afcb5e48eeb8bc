"""Property-based: schemathesis generates requests from /api/v1/openapi.json; none may end in a
server error, and responses must match the documented status codes and schemas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

from engine.domain.actors import SYSTEM
from engine.services.admin import directory
from engine.services.process_models import deployment
from tests.conftest import DATA, fresh_database
from tests.webapp.conftest import NEW_CASE, _password_hash
from webapp import create_app


@pytest.fixture
def api_schema(database_url: str, tmp_path: Path) -> Iterator[Any]:
    url = fresh_database(database_url, tmp_path)
    app = create_app({"KIM_DATABASE_URL": url, "KIM_INSTANCE_PATH": str(tmp_path / "instance"),
                      "KIM_FORMS_PATH": str(DATA / "forms"), "KIM_DEFAULT_PROCESS": "intake", "TESTING": True})
    ctx = app.extensions["kim"]
    ctx.run(directory.seed_offices)
    ctx.run(directory.add_user, "carla", "caseworker", ["CM"], password_hash=_password_hash())
    ctx.run(deployment.deploy, deployment.read_model_paths([DATA / "intake.bpmn"]), SYSTEM)
    token = ctx.run(directory.create_token, "carla")
    client = app.test_client()
    client.post("/api/v1/cases", json=NEW_CASE, headers={"Authorization": f"Bearer {token}"})
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    schema.config.headers = {"Authorization": f"Bearer {token}"}
    yield schema
    ctx.db.dispose()


def test_api_never_fails_with_a_server_error(api_schema: Any) -> None:
    """Every documented operation, 25 generated requests each (valid and invalid data)."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 16
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            case.call_and_validate(checks=[not_a_server_error, status_code_conformance,
                                           response_schema_conformance])

        check()
