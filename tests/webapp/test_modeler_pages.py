"""The modeler pages and GET /api/v1/offices: who may open what, and what the page hands the script."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from lxml import etree

from engine.demo.samples import PROCESSES_DIR
from engine.domain.actors import SYSTEM
from engine.services.process_models import deployment
from engine.services.process_models.modeler import new_process_xml
from tests.conftest import DATA
from tests.webapp.conftest import Web, csrf_of, login

DECISION = DATA / "screening_full.bpmn"


def _page(web: Web, user: str, path: str) -> tuple[int, str]:
    client = web.client()
    login(client, user)
    response = client.get(path)
    return response.status_code, response.get_data(as_text=True)


def _data(page: str, name: str) -> str:
    found = re.search(rf'data-{name}="([^"]*)"', page)
    assert found, f"data-{name} missing"
    return html.unescape(found.group(1))


@pytest.mark.parametrize("user", ["paul"])
def test_process_owner_opens_the_latest_version(web: Web, user: str) -> None:
    status, page = _page(web, user, "/modeler/bpmn/intake")
    assert status == 200
    assert _data(page, "kind") == "bpmn"
    assert _data(page, "version") == "1"
    assert _data(page, "source-url") == "/api/v1/process-models/intake/versions/1/source"
    assert _data(page, "definition-id").isdigit()
    assert "bpmn-modeler.production.min.js" in page
    for label in ("Entwurf speichern", "Prüfen", "Veröffentlichen", "Herunterladen", "Hochladen und veröffentlichen"):
        assert f">{label}</button>" in page
    messages = json.loads(html.unescape(re.search(r"data-messages='([^']*)'", page).group(1)))  # type: ignore[union-attr]
    assert messages["submitted"] == "Zur Freigabe eingereicht."
    assert "<script>" not in page.replace("<script src=", ""), "no inline scripts (CSP)"


@pytest.mark.parametrize("user", ["carla", "achim", "sina", "sofia", "aude"])
def test_everyone_but_process_owners_and_admins_gets_403(web: Web, user: str) -> None:
    for path in ("/modeler/bpmn/intake", "/modeler/dmn/intake", "/modeler/new", "/modeler/new?key=x"):
        status, page = _page(web, user, path)
        assert status == 403, path
        assert "data-source-url" not in page


def test_signed_out_visitors_are_sent_to_the_login(web: Web) -> None:
    response = web.client().get("/modeler/bpmn/intake")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_admin_may_edit_models(web: Web) -> None:
    from engine.services.admin import directory
    from tests.webapp.conftest import _password_hash

    web.ctx.run(directory.add_user, "ada", "admin", [], password_hash=_password_hash())
    status, _page_html = _page(web, "ada", "/modeler/bpmn/intake?version=1")
    assert status == 200


@pytest.mark.parametrize("path", ["/modeler/bpmn/nope", "/modeler/dmn/intake", "/modeler/bpmn/intake?version=7",
                                  "/modeler/bpmn/intake?draft=99", "/modeler/dmn/nope?draft=1"])
def test_unknown_models_versions_and_drafts_are_404(web: Web, path: str) -> None:
    status, _page_html = _page(web, "paul", path)
    assert status == 404


@pytest.mark.parametrize("path", ["/modeler/bpmn/intake?version=abc", "/modeler/bpmn/intake?draft=-1"])
def test_malformed_parameters_are_422_not_500(web: Web, path: str) -> None:
    status, page = _page(web, "paul", path)
    assert status == 422
    assert "version" in page or "draft" in page


def test_a_draft_opens_by_id_and_only_under_its_own_key(web: Web) -> None:
    client = web.client()
    login(client, "paul")
    source = client.get("/api/v1/process-models/intake/versions/1/source").data
    created = client.post("/api/v1/model-drafts", json={"filename": "intake.bpmn", "content": source.decode()},
                          headers={"X-CSRF-Token": csrf_of(client)})
    assert created.status_code == 201, created.get_json()
    draft_id = created.get_json()["id"]
    page = client.get(f"/modeler/bpmn/intake?draft={draft_id}")
    assert page.status_code == 200
    assert _data(page.get_data(as_text=True), "draft-id") == str(draft_id)
    assert client.get(f"/modeler/dmn/intake?draft={draft_id}").status_code == 404
    web.ctx.run(deployment.deploy, deployment.read_model_paths([DECISION]), SYSTEM)
    assert client.get(f"/modeler/bpmn/screening_full?draft={draft_id}").status_code == 404


def test_dmn_page_opens_a_decision_with_dmn_js(web: Web) -> None:
    web.ctx.run(deployment.deploy, deployment.read_model_paths([PROCESSES_DIR / "residence_paths"]), SYSTEM)
    status, page = _page(web, "paul", "/modeler/dmn/residence_paths_25a")
    assert status == 200
    assert _data(page, "kind") == "dmn"
    assert _data(page, "source-url") == "/api/v1/process-models/residence_paths_25a/versions/1/source"
    assert "dmn-modeler.production.min.js" in page
    assert "gut integrierte Jugendliche und junge Volljährige" in page, "the heading names the decision"
    assert _page(web, "paul", "/modeler/bpmn/residence_paths_25a")[0] == 404, "a decision is not a process"


def test_new_process_form_and_empty_model(web: Web) -> None:
    status, page = _page(web, "paul", "/modeler/new")
    assert status == 200
    assert 'name="lanes" value="ABH"' in page
    status, page = _page(web, "paul", "/modeler/new?key=beratung_neu&name=Beratung+%C3%84mter&lanes=CM&lanes=ABH")
    assert status == 200
    xml = _data(page, "initial-xml")
    root = etree.fromstring(xml.encode())
    bpmn = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
    assert [lane.get("name") for lane in root.iter(f"{bpmn}lane")] == ["CM", "ABH"]
    assert root.find(f"{bpmn}process").get("name") == "Beratung Ämter"


@pytest.mark.parametrize(("query", "field"), [("key=1bad", "key"), ("key=ok&lanes=NOPE", "lanes"),
                                              ("key=a%20b", "key")])
def test_new_process_rejects_bad_ids_and_unknown_offices(web: Web, query: str, field: str) -> None:
    status, page = _page(web, "paul", f"/modeler/new?{query}")
    assert status == 422
    assert 'class="field-error"' in page


def test_new_process_xml_escapes_names() -> None:
    xml = new_process_xml("p1", '<script>"&', ["CM"], {"CM"})
    root = etree.fromstring(xml.encode())
    assert root.find("{http://www.omg.org/spec/BPMN/20100524/MODEL}process").get("name") == '<script>"&'


def test_offices_api_lists_codes_and_names(web: Web) -> None:
    response = web.api("achim", "GET", "/offices")
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert {"code": "ABH", "name": "Ausländerbehörde"} in items
    assert [i["code"] for i in items] == sorted(i["code"] for i in items)
    assert web.client().get("/api/v1/offices").status_code == 401


def test_nav_offers_the_modeler_to_process_owners_only(web: Web) -> None:
    assert "/modeler/new" in _page(web, "paul", "/inbox")[1] or "/modeler/new" in _page(web, "paul", "/models")[1]
    assert "/modeler/new" not in _page(web, "carla", "/inbox")[1]


def test_modeler_speaks_english_on_request(web: Web) -> None:
    status, page = _page(web, "paul", "/modeler/bpmn/intake?lang=en")
    assert status == 200
    assert ">Save draft</button>" in page
    assert ">Publish</button>" in page
    messages = json.loads(html.unescape(re.search(r"data-messages='([^']*)'", page).group(1)))  # type: ignore[union-attr]
    assert messages["saved"] == "Draft saved (revision {version})."
    assert messages["submitted"] == "Submitted for approval."


def test_the_page_carries_the_publish_dialog_and_german_reasons(web: Web) -> None:
    status, page = _page(web, "paul", "/modeler/bpmn/intake")
    assert status == 200
    assert 'src="/static/modeler/publish-dialog.js"' in page
    assert '<dialog id="publish-confirm"' in page
    assert ">Jetzt veröffentlichen</button>" in page
    assert '<span class="muted" id="heading-meta">intake · Version 1</span>' in page, "the script updates it"
    messages = json.loads(html.unescape(re.search(r"data-messages='([^']*)'", page).group(1)))  # type: ignore[union-attr]
    assert messages["js_no_diagram"].startswith("Sie enthält kein Diagramm")
    assert messages["upload_failed_open"].startswith("Es wurde nichts veröffentlicht: Die Datei „{name}“")
    assert messages["confirm_version"] == ("„{name}“ ({key}) wird als Version {next} veröffentlicht. Änderungen "
                                           "gegenüber Version {current}:")


def test_decisions_are_listed_by_their_names(web: Web) -> None:
    web.ctx.run(deployment.deploy, deployment.read_model_paths([PROCESSES_DIR / "residence_paths"]), SYSTEM)
    status, page = _page(web, "paul", "/models")
    assert status == 200
    row = re.search(r'<tr data-key="residence_paths_25a">(.*?)</tr>', page, re.DOTALL)
    assert row is not None
    name = "§25a AufenthG \N{EN DASH} gut integrierte Jugendliche und junge Volljährige"
    assert f"<strong>{name}</strong>" in row.group(1)
    listed = {i["process_id"]: i["name"] for i in web.api("paul", "GET", "/process-models").get_json()["items"]}
    assert listed["residence_paths_ranking"] == "Aufenthaltswege \N{EN DASH} Empfehlung (Rangfolge)"
    versions = _page(web, "paul", "/models/residence_paths_60c/versions")[1]
    assert "§60c AufenthG \N{EN DASH} Ausbildungsduldung" in versions


def test_decisions_deployed_before_names_were_stored_still_show_their_names(web: Web) -> None:
    from sqlalchemy import update

    from engine.persistence.models import ProcessDefinition

    web.ctx.run(deployment.deploy, deployment.read_model_paths([PROCESSES_DIR / "residence_paths"]), SYSTEM)
    with web.ctx.uow() as uow:  # as an older version of the product stored them: the id as name
        uow.session.execute(update(ProcessDefinition).where(ProcessDefinition.kind == "decision")
                            .values(name=ProcessDefinition.key))
        uow.commit()
    listed = {i["process_id"]: i["name"] for i in web.api("paul", "GET", "/process-models").get_json()["items"]}
    assert listed["residence_paths_16g"] == "§16g AufenthG \N{EN DASH} Aufenthaltserlaubnis zur Berufsausbildung"


def test_a_model_without_cases_is_withdrawn_from_the_models_page(web: Web) -> None:
    web.ctx.run(deployment.deploy, deployment.read_model_paths([DATA / "called_child.bpmn"]), SYSTEM)
    client = web.client()
    login(client, "paul")
    listing = client.get("/models").get_data(as_text=True)
    assert 'action="/models/called_child/retire"' in listing
    assert 'action="/models/intake/retire"' in listing, "intake never ran a case either"
    confirm = client.get("/models/called_child/retire")
    assert confirm.status_code == 200
    assert ">Endgültig zurückziehen</button>" in confirm.get_data(as_text=True)
    without_token = client.post("/models/called_child/retire")
    assert without_token.status_code in (400, 403), "CSRF protected"
    done = client.post("/models/called_child/retire", data={"csrf_token": csrf_of(client, "/models")})
    assert done.status_code == 302
    listing = client.get("/models").get_data(as_text=True)
    row = re.search(r'<tr data-key="called_child">(.*?)</tr>', listing, re.DOTALL)
    assert row is not None
    assert "zurückgezogen" in row.group(1)
    assert 'action="/models/called_child/retire"' not in listing
    assert "ist zurückgezogen: neue Fälle beginnen damit nicht mehr" in listing


def test_a_model_with_cases_offers_no_withdrawal_and_says_why(web: Web, open_case: Any) -> None:
    open_case()
    client = web.client()
    login(client, "paul")
    assert 'action="/models/intake/retire"' not in client.get("/models").get_data(as_text=True)
    page = client.get("/models/intake/retire").get_data(as_text=True)
    assert "ist schon ein Fall gelaufen" in page
    assert "Endgültig zurückziehen" not in page
    refused = client.post("/models/intake/retire", data={"csrf_token": csrf_of(client, "/models")})
    assert refused.status_code == 409
    assert "ist schon ein Fall gelaufen" in refused.get_data(as_text=True)
    caseworker = web.client()
    login(caseworker, "carla")
    assert caseworker.get("/models/intake/retire").status_code == 403
