"""Property-based, as a process owner: generated requests to the check and draft routes never end in
a server error and match the documented status codes and schemas (the shared schemathesis test
signs in as a caseworker, who only ever gets 403 here)."""

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
from tests.webapp.conftest import _password_hash
from webapp import create_app

MODEL_PATHS = ("/model-checks", "/model-drafts", "/process-models/{process_id}/versions/{version}/source")


@pytest.fixture
def owner_schema(database_url: str, tmp_path: Path) -> Iterator[Any]:
    url = fresh_database(database_url, tmp_path)
    app = create_app({"KIM_DATABASE_URL": url, "KIM_INSTANCE_PATH": str(tmp_path / "instance"),
                      "KIM_FORMS_PATH": str(DATA / "forms"), "TESTING": True})
    ctx = app.extensions["kim"]
    ctx.run(directory.seed_offices)
    ctx.run(directory.add_user, "paul", "process_owner", [], password_hash=_password_hash())
    ctx.run(deployment.deploy, deployment.read_model_paths([DATA / "intake.bpmn"]), SYSTEM)
    token = ctx.run(directory.create_token, "paul")
    app.test_client().post("/api/v1/model-drafts", headers={"Authorization": f"Bearer {token}"},
                           json={"filename": "intake.bpmn", "content": (DATA / "intake.bpmn").read_text("utf-8")})
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    schema.config.headers = {"Authorization": f"Bearer {token}"}
    yield schema
    ctx.db.dispose()


def test_model_routes_never_fail_with_a_server_error(owner_schema: Any) -> None:
    operations = [result.ok() for result in owner_schema.get_all_operations()]
    ours = [op for op in operations if op.path.startswith(MODEL_PATHS)]
    assert len(ours) >= 9
    for operation in ours:
        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            case.call_and_validate(checks=[not_a_server_error, status_code_conformance,
                                           response_schema_conformance])

        check()
