"""The model list, version list and diff (API and pages): who may see them, running cases per
version, open drafts, and the changes between two versions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from engine import clock
from engine.domain.actors import SYSTEM, Actor
from engine.domain.model import ModelSource
from engine.persistence.models import ModelDraft
from engine.services.process_models import deployment
from tests.conftest import DATA
from tests.webapp.conftest import Web, login

INTAKE = (DATA / "intake.bpmn").read_text(encoding="utf-8")
PAUL = Actor("paul", "process_owner")


def _deploy_v2(web: Web) -> None:
    changed = INTAKE.replace('name="Ergebnis besprechen"', 'name="Ergebnis mit der Person besprechen"').replace(
        'name="dueIn" value="10WD"', 'name="dueIn" value="15WD"')
    web.ctx.run(deployment.deploy, [ModelSource("intake.bpmn", changed.encode())], PAUL)


def _draft(web: Web) -> int:
    with web.ctx.uow() as uow:
        draft = ModelDraft(kind="bpmn", key="intake", filename="intake.bpmn", content=INTAKE.encode(),
                           status="submitted", problems=[], created_by="paul", created_at=clock.now(),
                           updated_by="paul", updated_at=clock.now())
        uow.session.add(draft)
        uow.commit()
        return draft.id


def test_diff_api(web: Web) -> None:
    _deploy_v2(web)
    response = web.api("paul", "GET", "/process-models/intake/diff?from=1&to=2")
    assert response.status_code == 200
    diff = response.get_json()
    assert (diff["process_id"], diff["from"], diff["to"], diff["kind"]) == ("intake", 1, 2, "bpmn")
    assert (diff["added"], diff["removed"]) == ([], [])
    assert {c["id"]: c["changes"] for c in diff["changed"]} == {
        "erstkontakt": ["Eigenschaft dueIn: „10WD“ → „15WD“"],
        "abschluss": ["Name: „Ergebnis besprechen“ → „Ergebnis mit der Person besprechen“"]}
    assert web.api("sina", "GET", "/process-models/intake/diff?from=2&to=1").status_code == 200, "leads may look"


@pytest.mark.parametrize(("query", "status", "field"), [
    ("", 422, "from"), ("?from=1", 422, "to"), ("?from=1&to=9", 422, "to"), ("?from=x&to=2", 422, "from"),
    ("?from=0&to=1", 422, "from")])
def test_diff_api_bad_versions(web: Web, query: str, status: int, field: str) -> None:
    _deploy_v2(web)
    response = web.api("paul", "GET", f"/process-models/intake/diff{query}")
    assert response.status_code == status
    assert field in response.get_json()["fields"]


def test_diff_api_denies_and_hides(web: Web) -> None:
    assert web.api("carla", "GET", "/process-models/intake/diff?from=1&to=1").status_code == 403
    assert web.api("aude", "GET", "/process-models/intake/diff?from=1&to=1").status_code == 403
    assert web.api("paul", "GET", "/process-models/nope/diff?from=1&to=1").status_code == 404
    assert web.client().get("/api/v1/process-models/intake/diff?from=1&to=1").status_code == 401


def test_models_page_lists_versions_running_cases_and_drafts(web: Web, open_case: Callable[..., Any]) -> None:
    open_case()
    _deploy_v2(web)
    open_case()
    open_case()
    draft_id = _draft(web)
    client = web.client()
    login(client, "paul")
    html = client.get("/models").get_data(as_text=True)
    assert "Erstkontakt und Vorprüfung" in html
    assert 'href="/modeler/bpmn/intake"' in html
    assert 'href="/models/intake/versions"' in html
    assert 'href="/models/intake/diff"' in html
    assert 'href="/models/intake/migrate"' in html
    assert "v1: 1" in html
    assert "v2: 2" in html
    assert f'href="/modeler/bpmn/intake?draft={draft_id}"' in html
    assert "zur Freigabe" in html
    assert 'href="/models"' in html, "navigation entry"


def test_supervisors_read_only_and_caseworkers_not_at_all(web: Web) -> None:
    lead = web.client()
    login(lead, "sina")
    html = lead.get("/models").get_data(as_text=True)
    assert "Erstkontakt und Vorprüfung" in html
    assert "/modeler/bpmn/intake" not in html
    assert "/migrate" not in html
    assert lead.get("/models/intake/versions").status_code == 200
    assert lead.get("/forms").status_code == 403
    worker = web.client()
    login(worker, "carla")
    assert worker.get("/models").status_code == 403
    assert worker.get("/models/intake/versions").status_code == 403
    assert worker.get("/models/intake/diff?from=1&to=1").status_code == 403
    assert 'href="/models"' not in worker.get("/inbox").get_data(as_text=True)


def test_versions_page_with_german_dates(web: Web) -> None:
    clock.freeze(datetime.fromisoformat("2026-11-23T14:05:00+01:00"))
    try:
        _deploy_v2(web)
    finally:
        clock.reset()
    client = web.client()
    login(client, "paul")
    html = client.get("/models/intake/versions").get_data(as_text=True)
    assert "23.11.2026 14:05" in html
    assert "<td>paul</td>" in html
    assert 'name="from" value="1"' in html
    assert 'name="to" value="2"' in html
    assert 'href="/modeler/bpmn/intake?version=1"' in html
    assert client.get("/models/nope/versions").status_code == 404


def test_diff_page_and_its_data(web: Web) -> None:
    _deploy_v2(web)
    client = web.client()
    login(client, "paul")
    page = client.get("/models/intake/diff?from=1&to=2")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Version 1 → 2" in html
    assert "„10WD“ → „15WD“" in html
    assert 'data-url="/models/intake/diff.json?from=1&amp;to=2"' in html
    assert client.get("/models/intake/diff").status_code == 200, "default: newest against the one before"
    assert client.get("/models/intake/diff?from=1&to=7").status_code == 422
    data = client.get("/models/intake/diff.json?from=1&to=2").get_json()
    assert data["old_xml"].startswith("<?xml")
    assert "Ergebnis mit der Person besprechen" in data["new_xml"]
    assert [c["id"] for c in data["changed"]] == ["erstkontakt", "abschluss"]


def test_decisions_are_listed_and_compared(web: Web) -> None:
    dmn = (DATA.parent.parent / "processes" / "residence_paths" / "ranking.dmn").read_text(encoding="utf-8")
    web.ctx.run(deployment.deploy, [ModelSource("ranking.dmn", dmn.encode())], SYSTEM)
    key = web.api("paul", "GET", "/process-models").get_json()["items"]
    decision = next(d for d in key if d["kind"] == "decision")["process_id"]
    client = web.client()
    login(client, "paul")
    assert f'href="/modeler/dmn/{decision}"' in client.get("/models").get_data(as_text=True)
    diff = web.api("paul", "GET", f"/process-models/{decision}/diff?from=1&to=1").get_json()
    assert (diff["kind"], diff["changed"]) == ("dmn", [])


def test_pages_in_english(web: Web) -> None:
    _deploy_v2(web)
    client = web.client()
    login(client, "paul")
    assert "Process models" in client.get("/models?lang=en").get_data(as_text=True)
    assert "Running cases" in client.get("/models/intake/versions").get_data(as_text=True)
    assert "Save as a new version" in client.get("/forms/erstkontakt").get_data(as_text=True)
