"""REST: evaluating the deployed residence-path screening."""

from __future__ import annotations

from pathlib import Path

from engine.domain.actors import SYSTEM
from engine.services.process_models import deployment
from tests.processes.test_residence_paths import BASE
from tests.webapp.conftest import Web

PROCESSES = Path(__file__).resolve().parents[2] / "processes" / "residence_paths"


def test_screening_through_the_api(web: Web) -> None:
    web.ctx.run(deployment.deploy, deployment.read_model_paths([PROCESSES]), SYSTEM)
    response = web.api("achim", "POST", "/decisions/residence_paths/evaluate", json={"inputs": BASE})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["recommended"] == "25a"
    assert {row["path"] for row in body["outputs"]} >= {"25a", "25b", "16g", "60c", "60d", "19d"}
    missing = web.api("achim", "POST", "/decisions/residence_paths/evaluate",
                      json={"inputs": {**BASE, "status": "KEINER"}})
    assert missing.status_code == 422
    assert "status" in missing.get_json()["fields"]
    assert web.api("achim", "POST", "/decisions/gibt_es_nicht/evaluate", json={"inputs": {}}).status_code == 404
    assert web.api("achim", "POST", "/decisions/residence_paths/evaluate", json={}).status_code == 422
