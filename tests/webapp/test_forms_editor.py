"""Forms edited in the browser: REST (list, read, save a new version, preview), the rules a
stored form must meet, who may edit, and that tasks use the newest version afterwards."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from engine.persistence.models import AuditEntry
from engine.persistence.stored_forms import DatabaseForms
from tests.conftest import DATA
from tests.webapp.conftest import Web, csrf_of, login

ERSTKONTAKT = json.loads((DATA / "forms" / "erstkontakt.schema.json").read_text(encoding="utf-8"))
ERSTKONTAKT_UI = json.loads((DATA / "forms" / "erstkontakt.ui.json").read_text(encoding="utf-8"))


def _with_field(required: bool = False) -> dict[str, Any]:
    schema = copy.deepcopy(ERSTKONTAKT)
    schema["properties"]["aufenthaltsstatus"] = {"type": "string", "title": "Aufenthaltsstatus laut Ausweis",
                                                 "maxLength": 200}
    if required:
        schema["required"].append("aufenthaltsstatus")
    return schema


UI_WITH_FIELD = {**ERSTKONTAKT_UI, "ui:order": [*ERSTKONTAKT_UI["ui:order"], "aufenthaltsstatus"]}


def test_list_and_read_forms(web: Web) -> None:
    items = {f["key"]: f for f in web.api("paul", "GET", "/forms").get_json()["items"]}
    assert items["erstkontakt"] == {"key": "erstkontakt", "title": "Erstkontakt", "version": 0, "source": "file"}
    form = web.api("paul", "GET", "/forms/erstkontakt").get_json()
    assert form["schema"] == ERSTKONTAKT
    assert form["ui"] == ERSTKONTAKT_UI
    assert form["versions"] == [{"version": 0, "created_by": None, "created_at": None, "source": "file"}]
    assert web.api("paul", "GET", "/forms/gibt_es_nicht").status_code == 404


@pytest.mark.parametrize("user", ["carla", "sina", "aude"])
def test_only_process_owners_and_admins_edit_forms(web: Web, user: str) -> None:
    body = {"schema": _with_field(), "ui": {}}
    for method, path, kwargs in (("GET", "/forms", {}), ("GET", "/forms/erstkontakt", {}),
                                 ("PUT", "/forms/erstkontakt", {"json": body}),
                                 ("POST", "/forms/preview", {"json": body})):
        response = web.api(user, method, path, **kwargs)
        assert response.status_code == 403, (method, path)
        assert response.get_json()["error"] == "forbidden"
    assert web.api("paul", "GET", "/forms/erstkontakt").get_json()["version"] == 0, "nothing was saved"


def test_saving_creates_versions_and_is_audited(web: Web) -> None:
    first = web.api("paul", "PUT", "/forms/erstkontakt", json={"schema": _with_field(), "ui": UI_WITH_FIELD})
    assert first.status_code == 201, first.get_json()
    assert (first.get_json()["version"], first.get_json()["created_by"]) == (1, "paul")
    second = web.api("paul", "PUT", "/forms/erstkontakt", json={"schema": ERSTKONTAKT, "base_version": 1})
    assert second.get_json()["version"] == 2
    form = web.api("paul", "GET", "/forms/erstkontakt").get_json()
    assert (form["version"], form["source"], form["ui"]) == (2, "db", {})
    assert [v["version"] for v in form["versions"]] == [2, 1, 0]
    older = web.api("paul", "GET", "/forms/erstkontakt?version=1").get_json()
    assert "aufenthaltsstatus" in older["schema"]["properties"]
    assert web.api("paul", "GET", "/forms/erstkontakt?version=9").status_code == 404
    assert web.api("paul", "GET", "/forms/erstkontakt?version=x").status_code == 422
    listed = {f["key"]: f for f in web.api("paul", "GET", "/forms").get_json()["items"]}
    assert listed["erstkontakt"]["version"] == 2
    with web.ctx.uow(write=False) as uow:
        saves = list(uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "form.save")))
    assert [(e.actor, e.object_id, e.details["version"]) for e in saves] == [("paul", "erstkontakt", 1),
                                                                            ("paul", "erstkontakt", 2)]


def test_stale_base_version_is_a_conflict(web: Web) -> None:
    web.api("paul", "PUT", "/forms/erstkontakt", json={"schema": _with_field()})
    stale = web.api("paul", "PUT", "/forms/erstkontakt", json={"schema": ERSTKONTAKT, "base_version": 0})
    assert stale.status_code == 409
    assert web.api("paul", "GET", "/forms/erstkontakt").get_json()["version"] == 1


@pytest.mark.parametrize(("schema", "ui", "field"), [
    ({"type": 5, "properties": {}}, {}, "schema.type"),
    ({"type": "object", "properties": {"a": {"type": "string", "maxLength": -1}}}, {},
     "schema.properties.a.maxLength"),
    ({"type": "object", "properties": {"adresse": {"type": "object", "properties": {}}}}, {},
     "schema.properties.adresse.type"),
    ({"type": "object", "properties": {"a": {"$ref": "#/$defs/x"}}, "$defs": {"x": {"type": "string"}}}, {},
     "schema.$defs"),
    ({"type": "object", "properties": {"a": {"type": "string", "anyOf": [{"maxLength": 3}]}}}, {},
     "schema.properties.a.anyOf"),
    ({"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}}}}, {},
     "schema.properties.tags.items"),
    ({"type": "object", "properties": {"a": {"type": "string", "format": "ipv4"}}}, {},
     "schema.properties.a.format"),
    ({"type": "object", "required": ["b"], "properties": {"a": {"type": "string"}}}, {}, "schema.required"),
    ({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": {}}, {},
     "schema.$schema"),
    ({"type": "object", "properties": {"a": {"type": "string"}}}, {"ui:order": ["a", "b"]}, "ui.ui:order"),
    ({"type": "object", "properties": {"a": {"type": "string"}}}, {"a": {"ui:widget": "slider"}},
     "ui.a.ui:widget"),
    ({"type": "object", "properties": {"a": {"type": "string"}}}, {"b": {}}, "ui.b"),
    ({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}}, {"ui:order": ["a"]},
     "ui.ui:order"),
    ({"type": "object", "properties": {"a": {"type": "string", "default": "x"}}}, {}, "schema.properties.a.default"),
    ([], {}, "schema"),
    ({"type": "object", "properties": {}}, [], "ui"),
])
def test_unusable_forms_are_refused_at_the_field(web: Web, schema: Any, ui: Any, field: str) -> None:
    for path, method in (("/forms/erstkontakt", "PUT"), ("/forms/preview", "POST")):
        response = web.api("paul", method, path, json={"schema": schema, "ui": ui})
        assert response.status_code == 422, (path, response.get_json())
        body = response.get_json()
        assert field in body["fields"], body
    assert web.api("paul", "GET", "/forms/erstkontakt").get_json()["version"] == 0


def test_size_limit_and_bad_bodies(web: Web) -> None:
    huge = {"type": "object", "properties": {f"feld_{i}": {"type": "string", "title": "x" * 200} for i in range(400)}}
    response = web.api("paul", "PUT", "/forms/erstkontakt", json={"schema": huge})
    assert response.status_code == 422
    assert "KiB" in response.get_json()["fields"]["schema"]
    not_json = web.api("paul", "PUT", "/forms/erstkontakt", data="{nope", content_type="application/json")
    assert not_json.status_code == 400
    bad_key = web.api("paul", "PUT", "/forms/Mit%20Leerzeichen", json={"schema": ERSTKONTAKT})
    assert bad_key.status_code == 422
    assert "key" in bad_key.get_json()["fields"]
    reserved = web.api("paul", "PUT", "/forms/preview", json={"schema": ERSTKONTAKT})
    assert reserved.status_code == 422
    assert "key" in reserved.get_json()["fields"]
    assert web.api("paul", "PUT", "/forms/erstkontakt", json={"schema": ERSTKONTAKT,
                                                              "base_version": "1"}).status_code == 422


def test_preview_renders_like_the_task_page(web: Web) -> None:
    response = web.api("paul", "POST", "/forms/preview", json={"schema": _with_field(), "ui": UI_WITH_FIELD})
    assert response.status_code == 200
    html = response.get_json()["html"]
    assert 'id="f-aufenthaltsstatus"' in html
    assert "Aufenthaltsstatus laut Ausweis" in html
    assert "Arabisch" in html
    evil = _with_field()
    evil["properties"]["aufenthaltsstatus"]["title"] = "<script>alert(1)</script>"
    escaped = web.api("paul", "POST", "/forms/preview", json={"schema": evil}).get_json()["html"]
    assert "<script>" not in escaped
    assert "&lt;script&gt;" in escaped


def test_task_uses_the_newest_form_afterwards(web: Web, open_case: Callable[..., Any]) -> None:
    case = open_case()
    task_id = case["tasks"][0]["id"]
    client = web.client()
    login(client, "carla")
    assert "Aufenthaltsstatus laut Ausweis" not in client.get(f"/tasks/{task_id}").get_data(as_text=True)
    saved = web.api("paul", "PUT", "/forms/erstkontakt", json={"schema": _with_field(required=True),
                                                               "ui": UI_WITH_FIELD})
    assert saved.status_code == 201
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'id="f-aufenthaltsstatus"' in page
    assert "Aufenthaltsstatus laut Ausweis" in page
    api_form = web.api("carla", "GET", f"/tasks/{task_id}").get_json()["form"]
    assert "aufenthaltsstatus" in api_form["schema"]["properties"]
    data = {"kontakt_am": "2026-11-20", "sprache": "de", "termine": 2}
    refused = web.api("carla", "POST", f"/tasks/{task_id}/complete", json={"data": data})
    assert refused.status_code == 422, "validated with the new version: the new required field is missing"
    assert refused.get_json()["fields"] == {"aufenthaltsstatus": "Pflichtfeld"}
    done = web.api("carla", "POST", f"/tasks/{task_id}/complete",
                   json={"data": {**data, "aufenthaltsstatus": "Duldung"}})
    assert done.status_code == 200, done.get_json()


def test_other_workers_notice_a_new_version(web: Web) -> None:
    """A second worker (its own cache) sees a save made elsewhere once it re-checks."""
    other = DatabaseForms(recheck_seconds=0)
    slow = DatabaseForms(recheck_seconds=3600)

    def latest(forms: DatabaseForms) -> object:
        with web.ctx.db.session(write=False) as session:
            return forms.latest("erstkontakt", session)

    assert latest(other) is None
    assert latest(slow) is None
    web.api("paul", "PUT", "/forms/erstkontakt", json={"schema": _with_field()})
    seen = latest(other)
    assert seen is not None
    assert (seen.version, seen.source) == (1, "db")  # type: ignore[attr-defined]  # a Form
    with web.ctx.db.session(write=False) as session:
        assert other.keys(session) == ["erstkontakt"]
    assert latest(slow) is None, "cached until the next re-check"
    slow.invalidate()
    assert latest(slow) is not None


def test_editor_pages(web: Web) -> None:
    client = web.client()
    login(client, "paul")
    listing = client.get("/forms").get_data(as_text=True)
    assert 'href="/forms/erstkontakt"' in listing
    page = client.get("/forms/erstkontakt")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="schema"' in html
    assert "&#34;Datum des Erstkontakts&#34;" in html or "&quot;Datum des Erstkontakts&quot;" in html
    assert 'id="f-kontakt_am"' in html, "the preview is rendered on the server too"
    assert 'data-preview-url="/api/v1/forms/preview"' in html
    token = csrf_of(client, "/forms/erstkontakt")
    broken = client.post("/forms/erstkontakt", data={"csrf_token": token, "schema": "{\"type\": ", "ui": "{}"})
    assert broken.status_code == 422
    assert "Kein gültiges JSON" in broken.get_data(as_text=True)
    unsupported = json.dumps({"type": "object", "properties": {"adresse": {"type": "object"}}})
    refused = client.post("/forms/erstkontakt", data={"csrf_token": token, "schema": unsupported, "ui": "{}"})
    assert refused.status_code == 422
    assert "properties.adresse" in refused.get_data(as_text=True)
    saved = client.post("/forms/erstkontakt", data={"csrf_token": token, "schema": json.dumps(_with_field()),
                                                    "ui": json.dumps(UI_WITH_FIELD), "base_version": "0"})
    assert saved.status_code == 302
    after = client.get("/forms/erstkontakt").get_data(as_text=True)
    assert "Version 1 gespeichert." in after
    assert "paul" in after
    stale = client.post("/forms/erstkontakt", data={"csrf_token": token, "schema": json.dumps(ERSTKONTAKT),
                                                    "ui": "{}", "base_version": "0"})
    assert stale.status_code == 409


def test_new_form_and_page_permissions(web: Web) -> None:
    client = web.client()
    login(client, "paul")
    token = csrf_of(client, "/forms/new")
    assert client.post("/forms/new", data={"csrf_token": token, "key": "Böse Taste"}).status_code == 422
    start = client.post("/forms/new", data={"csrf_token": token, "key": "hausbesuch"})
    assert start.headers["Location"].endswith("/forms/hausbesuch/new")
    assert 'id="f-notiz"' in client.get("/forms/hausbesuch/new").get_data(as_text=True)
    schema = {"type": "object", "properties": {"besucht_am": {"type": "string", "format": "date", "title": "Besucht"}}}
    created = client.post("/forms/hausbesuch", data={"csrf_token": token, "schema": json.dumps(schema), "ui": ""})
    assert created.status_code == 302
    assert web.api("paul", "GET", "/forms/hausbesuch").get_json()["version"] == 1
    worker = web.client()
    login(worker, "carla")
    assert worker.get("/forms").status_code == 403
    assert worker.get("/forms/erstkontakt").status_code == 403
    assert worker.post("/forms/erstkontakt", data={"csrf_token": csrf_of(worker), "schema": "{}"}).status_code == 403


def test_absurdly_nested_json_is_a_bad_request(web: Web) -> None:
    body = '{"schema": ' + "[" * 20000 + "]" * 20000 + "}"
    for method, path in (("PUT", "/forms/erstkontakt"), ("POST", "/forms/preview")):
        response = web.api("paul", method, path, data=body, content_type="application/json")
        assert response.status_code == 400, path
