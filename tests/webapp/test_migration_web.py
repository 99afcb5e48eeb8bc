"""Case migration over REST and in the browser pages; the instance view (roles, 404, audit)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from engine.persistence.models import AuditEntry
from engine.services.admin import directory
from tests.conftest import DATA
from tests.webapp.conftest import Web, _password_hash, csrf_of, login

V2 = DATA / "migration" / "intake_v2_added_step.bpmn"
DRY_RUN = "/process-models/intake/migrations/dry-run"


def deploy_v2(web: Web) -> None:
    with V2.open("rb") as f:
        response = web.api("paul", "POST", "/process-models", data={"file": (f, V2.name)},
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["version"] == 2


def test_dry_run_reports_each_case(web: Web, open_case: Callable[..., dict[str, Any]]) -> None:
    case = open_case()
    deploy_v2(web)
    response = web.api("paul", "POST", DRY_RUN, json={"to_version": 2})
    assert response.status_code == 200
    body = response.get_json()
    assert body["to_version"] == 2
    (item,) = body["items"]
    assert (item["case_id"], item["case_reference"], item["from_version"]) == (case["id"], case["reference"], 1)
    assert item["compatible"] is True
    assert item["positions"] == [{"bpmn_id": "erstkontakt", "name": "Erstkontakt dokumentieren",
                                  "exists_in_target": True}]
    assert [(t["bpmn_id"], t["office"], t["outcome"]) for t in item["open_tasks"]] == [("erstkontakt", "CM", "kept")]
    assert {t["outcome"] for t in item["timers"]} == {"kept"}


def test_migration_api_roles_and_errors(web: Web, open_case: Callable[..., dict[str, Any]]) -> None:
    open_case()
    deploy_v2(web)
    for user in ("carla", "sina", "aude"):
        assert web.api(user, "POST", DRY_RUN, json={"to_version": 2}).status_code == 403
        assert web.api(user, "POST", "/process-models/intake/migrations",
                       json={"to_version": 2, "all_compatible": True}).status_code == 403
    assert web.client().post(f"/api/v1{DRY_RUN}", json={"to_version": 2}).status_code == 401
    missing = web.api("paul", "POST", "/process-models/nope/migrations/dry-run", json={"to_version": 1})
    assert missing.status_code == 404
    bad = web.api("paul", "POST", DRY_RUN, json={"to_version": "zwei"})
    assert bad.status_code == 422
    assert "to_version" in bad.get_json()["fields"]
    unknown = web.api("paul", "POST", DRY_RUN, json={"to_version": 9})
    assert unknown.status_code == 422
    assert unknown.get_json()["fields"] == {"to_version": "diese Version gibt es nicht"}
    ids = web.api("paul", "POST", "/process-models/intake/migrations", json={"to_version": 2})
    assert ids.status_code == 422
    assert "instance_ids" in ids.get_json()["fields"]
    assert web.api("paul", "POST", DRY_RUN, data="kein json", content_type="text/plain").status_code == 400


def test_migrate_then_instance_view_shows_the_new_version(web: Web,
                                                          open_case: Callable[..., dict[str, Any]]) -> None:
    case = open_case()
    deploy_v2(web)
    response = web.api("paul", "POST", "/process-models/intake/migrations",
                       json={"to_version": 2, "all_compatible": True})
    assert response.status_code == 200
    (migrated,) = response.get_json()["migrated"]
    assert response.get_json()["skipped"] == []

    client = web.client()
    login(client, "paul")
    page = client.get(f"/cases/{case['id']}/instance")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "intake v2" in html
    assert "Migration" in html
    assert "paul" in html
    assert "Amina" not in html, "no personal data in the instance view"
    data = client.get(f"/cases/{case['id']}/instance.json").get_json()
    assert data["version"] == 2
    assert data["current"] == ["erstkontakt"]
    assert "start" in data["done"], "the passed start event is marked, though still in the live state"
    assert "nachfrage" in data["xml"]
    assert data["timings"][0]["bpmn_id"] == "erstkontakt"
    assert data["timings"][0]["state"] == "active"
    with web.ctx.uow(write=False) as uow:
        actions = set(uow.session.scalars(select(AuditEntry.action).where(AuditEntry.instance_id.is_not(None))
                                          .where(AuditEntry.object_id == migrated)))
    assert {"instance.migrate", "instance.read"} <= actions


def test_instance_view_roles(web: Web, open_case: Callable[..., dict[str, Any]]) -> None:
    case = open_case()
    web.ctx.run(directory.add_user, "sven", "supervisor", ["SOZ"], password_hash=_password_hash())
    expected = {"sina": 200, "paul": 200, "carla": 403, "achim": 403, "aude": 403, "sven": 404}
    for user, status in expected.items():
        client = web.client()
        login(client, user)
        assert client.get(f"/cases/{case['id']}/instance").status_code == status, user
    client = web.client()
    login(client, "sina")
    assert client.get("/cases/00000000-0000-0000-0000-000000000000/instance").status_code == 404
    assert web.client().get(f"/cases/{case['id']}/instance").status_code == 302, "not signed in: login page"


def test_case_page_links_no_instance_view_for_caseworkers(web: Web,
                                                          open_case: Callable[..., dict[str, Any]]) -> None:
    case = open_case()
    client = web.client()
    login(client, "carla")
    assert 'id="instance-link"' not in client.get(f"/cases/{case['id']}").get_data(as_text=True)


def test_migrate_page_dry_run_and_migration(web: Web, open_case: Callable[..., dict[str, Any]]) -> None:
    case = open_case()
    deploy_v2(web)
    client = web.client()
    login(client, "paul")
    page = client.get("/models/intake/migrate?to=2")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert case["reference"] in html
    assert "Erstkontakt dokumentieren" in html
    assert "kompatibel" in html
    instance_id = html.split('data-instance="')[1].split('"')[0]
    forged = client.post("/models/intake/migrate", data={"to_version": "2", "instance_id": instance_id,
                                                         "action": "selected"})
    assert forged.status_code == 403, "no CSRF token"
    token = csrf_of(client, "/models/intake/migrate")
    none_chosen = client.post("/models/intake/migrate", data={"to_version": "2", "action": "selected",
                                                              "csrf_token": token})
    assert none_chosen.status_code == 422
    done = client.post("/models/intake/migrate", data={"to_version": "2", "instance_id": instance_id,
                                                       "action": "selected", "csrf_token": token})
    assert done.status_code == 200
    assert "1 Fall/Fälle migriert, 0 übersprungen." in done.get_data(as_text=True)
    assert web.api("paul", "POST", DRY_RUN, json={"to_version": 2}).get_json()["items"] == []
    assert client.get("/models/intake/migrate?to=x").status_code == 422
    assert client.get("/models/nope/migrate").status_code == 404
    carla = web.client()
    login(carla, "carla")
    assert carla.get("/models/intake/migrate").status_code == 403


def test_instance_view_in_english(web: Web, open_case: Callable[..., dict[str, Any]]) -> None:
    case = open_case()
    client = web.client()
    login(client, "sina")
    html = client.get(f"/cases/{case['id']}/instance?lang=en").get_data(as_text=True)
    assert "Process instance" in html
    assert "running" in html
    timings = client.get(f"/cases/{case['id']}/instance.json").get_json()["timings"]
    assert timings[0]["label"] == "waiting for 0.0 days"


def test_instance_view_shows_waiting_timers(web: Web, open_case: Callable[..., dict[str, Any]]) -> None:
    timers = DATA / "timers.bpmn"
    with timers.open("rb") as f:
        assert web.api("paul", "POST", "/process-models", data={"file": (f, timers.name)},
                       content_type="multipart/form-data").status_code == 201
    case = open_case(process_id="timer_intermediate")
    client = web.client()
    login(client, "paul")
    data = client.get(f"/cases/{case['id']}/instance.json").get_json()
    assert data["current"] == ["tw_wait"]
    assert data["timings"] == [{"bpmn_id": "tw_wait", "state": "active", "label": "wartet seit 0,0 Tagen"}]
    html = client.get(f"/cases/{case['id']}/instance").get_data(as_text=True)
    assert "(tw_wait)" in html


def test_migrate_all_respects_the_version_filter(web: Web, open_case: Callable[..., dict[str, Any]]) -> None:
    first = open_case()
    rerouted = DATA / "migration" / "intake_v2_rerouted.bpmn"
    with rerouted.open("rb") as f:
        assert web.api("paul", "POST", "/process-models", data={"file": (f, rerouted.name)},
                       content_type="multipart/form-data").get_json()["version"] == 2
    second = open_case()
    with V2.open("rb") as f:
        assert web.api("paul", "POST", "/process-models", data={"file": (f, V2.name)},
                       content_type="multipart/form-data").get_json()["version"] == 3
    client = web.client()
    login(client, "paul")
    assert second["reference"] in client.get("/models/intake/migrate?to=3&from=2").get_data(as_text=True)
    token = csrf_of(client, "/models/intake/migrate")
    done = client.post("/models/intake/migrate", data={"to_version": "3", "from_version": "2", "action": "all",
                                                       "csrf_token": token})
    assert "1 Fall/Fälle migriert" in done.get_data(as_text=True)
    left = web.api("paul", "POST", DRY_RUN, json={"to_version": 3}).get_json()["items"]
    assert [item["case_id"] for item in left] == [first["id"]], "the case on version 1 was not touched"
