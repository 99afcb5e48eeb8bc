"""REST: model check, drafts, publish (alone or with a second process owner), stored sources."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from engine.persistence.models import CaseFile, ProcessDefinition, ProcessInstance
from engine.services.admin import directory
from tests.conftest import DATA
from tests.webapp.conftest import NEW_CASE, Web, _password_hash

INTAKE = (DATA / "intake.bpmn").read_text(encoding="utf-8")
INTAKE_V2 = INTAKE.replace('name="Vorprüfung der Ausländerbehörde"', 'name="Vorprüfung durch die ABH (neu)"')
UNKNOWN_OFFICE = INTAKE.replace('name="Ausländerbehörde"', 'name="Hausmeisterei"')
VALID = {"kontakt_am": "2026-11-20", "sprache": "ar", "termine": 2, "dolmetscher": True,
         "ziele": [{"titel": "Sprachkurs B1", "faellig_am": "2027-05-31"}]}


def _draft(web: Web, content: str = INTAKE_V2, user: str = "paul", **extra: Any) -> dict[str, Any]:
    response = web.api(user, "POST", "/model-drafts", json={"filename": "intake.bpmn", "content": content, **extra})
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def _versions(web: Web, key: str = "intake") -> list[int]:
    return [v["version"] for v in web.api("paul", "GET", f"/process-models/{key}/versions").get_json()["items"]]


def _audit_actions(web: Web) -> list[str]:
    return [e["action"] for e in web.api("aude", "GET", "/audit?limit=1000").get_json()["items"]]


def _second_owner(web: Web) -> None:
    web.ctx.run(directory.add_user, "petra", "process_owner", [], password_hash=_password_hash())
    web.tokens["petra"] = web.ctx.run(directory.create_token, "petra")


@pytest.mark.parametrize("user", ["carla", "sina", "aude"])
def test_only_process_owners_and_admins_check_draft_and_publish(web: Web, user: str) -> None:
    draft = _draft(web)
    body = {"filename": "intake.bpmn", "content": INTAKE_V2}
    calls = [("POST", "/model-checks", body), ("POST", "/model-drafts", body), ("GET", "/model-drafts", None),
             ("GET", f"/model-drafts/{draft['id']}", None),
             ("PUT", f"/model-drafts/{draft['id']}", {"content": INTAKE_V2, "version": 1}),
             ("POST", f"/model-drafts/{draft['id']}/publish", None),
             ("POST", f"/model-drafts/{draft['id']}/approve", None),
             ("POST", f"/model-drafts/{draft['id']}/discard", None)]
    for method, path, json in calls:
        response = web.api(user, method, path, json=json)
        assert response.status_code == 403, (method, path, response.get_json())
    upload = web.api(user, "POST", "/process-models", data={"file": (io.BytesIO(INTAKE_V2.encode()), "intake.bpmn")})
    assert upload.status_code == 403
    assert web.client().post("/api/v1/model-checks", json=body).status_code == 401
    assert _versions(web) == [1], "nothing was published"


def test_check_reports_problems_with_element_ids(web: Web) -> None:
    good = web.api("paul", "POST", "/model-checks", json={"filename": "intake.bpmn", "content": INTAKE})
    assert good.status_code == 200
    assert {k: good.get_json()[k] for k in ("ok", "problems")} == {"ok": True, "problems": []}
    bad = web.api("paul", "POST", "/model-checks", json={"filename": "intake.bpmn", "content": UNKNOWN_OFFICE})
    assert {k: bad.get_json()[k] for k in ("ok", "problems")} == {"ok": False, "problems": [{
        "element_id": "vorpruefung", "severity": "error",
        "message": "Die Lane „Hausmeisterei“ ist kein bekanntes Stellenkürzel und kein bekannter Stellenname."}]}


@pytest.mark.parametrize(("body", "field"), [
    ({"content": INTAKE}, "filename"), ({"filename": "intake.exe", "content": INTAKE}, "filename"),
    ({"filename": "intake.bpmn"}, "content"), ({"filename": "intake.bpmn", "content": 42}, "content"),
])
def test_check_names_the_missing_field(web: Web, body: dict[str, Any], field: str) -> None:
    response = web.api("paul", "POST", "/model-checks", json=body)
    assert response.status_code == 422
    assert field in response.get_json()["fields"]


def test_models_over_two_mebibytes_are_refused_with_413(web: Web) -> None:
    huge = INTAKE.replace("</bpmn:definitions>", "<!--" + "x" * (2 * 1024 * 1024) + "--></bpmn:definitions>")
    assert web.api("paul", "POST", "/model-checks", json={"filename": "a.bpmn", "content": huge}).status_code == 413
    assert web.api("paul", "POST", "/model-drafts", json={"filename": "a.bpmn", "content": huge}).status_code == 413
    # a ready-made multipart body: from a dict the test client spools it to a file it never closes
    body = (b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="a.bpmn"\r\n\r\n'
            + huge.encode() + b"\r\n--b0undary--\r\n")
    upload = web.api("paul", "POST", "/process-models", data=body,
                     content_type="multipart/form-data; boundary=b0undary")
    assert upload.status_code == 413


def test_draft_create_update_publish(web: Web) -> None:
    base = web.api("paul", "GET", "/process-models/intake/versions").get_json()["items"][0]
    draft = _draft(web, INTAKE, base_definition_id=base["id"])
    assert {k: draft[k] for k in ("kind", "key", "filename", "status", "version", "created_by", "problems",
                                  "base_definition_id", "published_definition_id")} == {
        "kind": "bpmn", "key": "intake", "filename": "intake.bpmn", "status": "draft", "version": 1,
        "created_by": "paul", "problems": [], "base_definition_id": base["id"], "published_definition_id": None}
    saved = web.api("paul", "PUT", f"/model-drafts/{draft['id']}", json={"content": UNKNOWN_OFFICE, "version": 1})
    assert saved.status_code == 200
    assert saved.get_json()["version"] == 2
    assert [p["element_id"] for p in saved.get_json()["problems"]] == ["vorpruefung"], "saving shows the check"
    stale = web.api("paul", "PUT", f"/model-drafts/{draft['id']}", json={"content": INTAKE_V2, "version": 1})
    assert stale.status_code == 409
    assert web.api("paul", "PUT", f"/model-drafts/{draft['id']}", json={"content": INTAKE_V2}).status_code == 422
    again = web.api("paul", "PUT", f"/model-drafts/{draft['id']}", json={"content": INTAKE_V2, "version": 2})
    assert again.get_json()["problems"] == []
    listed = web.api("paul", "GET", "/model-drafts?key=intake&status=draft").get_json()["items"]
    assert [d["id"] for d in listed] == [draft["id"]]
    assert web.api("paul", "GET", "/model-drafts?status=published").get_json()["items"] == []
    assert web.api("paul", "GET", "/model-drafts?status=bogus").status_code == 422
    published = web.api("paul", "POST", f"/model-drafts/{draft['id']}/publish")
    assert published.status_code == 201
    assert published.get_json()["process_id"] == "intake"
    assert published.get_json()["version"] == 2
    assert _versions(web) == [2, 1]
    after = web.api("paul", "GET", f"/model-drafts/{draft['id']}").get_json()
    assert after["status"] == "published"
    assert after["published_definition_id"] == published.get_json()["definition_id"]
    assert web.api("paul", "PUT", f"/model-drafts/{draft['id']}",
                   json={"content": INTAKE, "version": after["version"]}).status_code == 409
    assert web.api("paul", "POST", f"/model-drafts/{draft['id']}/discard").status_code == 409
    assert web.api("paul", "POST", f"/model-drafts/{draft['id']}/publish").status_code == 409
    assert {"model_draft.create", "model_draft.update", "model.publish"} <= set(_audit_actions(web))


def test_publish_is_refused_with_every_problem(web: Web) -> None:
    draft = _draft(web, UNKNOWN_OFFICE)
    refused = web.api("paul", "POST", f"/model-drafts/{draft['id']}/publish")
    assert refused.status_code == 422
    body = refused.get_json()
    assert body["error"] == "model_invalid"
    assert body["fields"] == {"vorpruefung": "Die Lane „Hausmeisterei“ ist kein bekanntes Stellenkürzel und "
                                             "kein bekannter Stellenname."}
    assert [(p["element_id"], p["severity"]) for p in body["problems"]] == [("vorpruefung", "error")]
    assert _versions(web) == [1]
    assert web.api("paul", "GET", f"/model-drafts/{draft['id']}").get_json()["status"] == "draft"


def test_unknown_drafts_and_versions_are_404(web: Web) -> None:
    for method, path in [("GET", "/model-drafts/999"), ("POST", "/model-drafts/999/publish"),
                         ("POST", "/model-drafts/999/discard"), ("POST", "/model-drafts/999/approve"),
                         ("GET", "/model-drafts/99999999999"), ("GET", "/process-models/intake/versions/9/source"),
                         ("GET", "/process-models/nope/versions/1/source")]:
        assert web.api("paul", method, path).status_code == 404, path
    bad_base = web.api("paul", "POST", "/model-drafts",
                       json={"filename": "intake.bpmn", "content": INTAKE, "base_definition_id": 999})
    assert bad_base.status_code == 422
    assert "base_definition_id" in bad_base.get_json()["fields"]


def test_discarded_drafts_cannot_be_published(web: Web) -> None:
    draft = _draft(web)
    discarded = web.api("paul", "POST", f"/model-drafts/{draft['id']}/discard")
    assert discarded.status_code == 200
    assert discarded.get_json()["status"] == "discarded"
    assert web.api("paul", "POST", f"/model-drafts/{draft['id']}/publish").status_code == 409
    assert "model_draft.discard" in _audit_actions(web)


def test_with_approval_a_second_process_owner_publishes(web: Web) -> None:
    _second_owner(web)
    web.ctx.config["KIM_PUBLISH_APPROVAL"] = "true"  # type: ignore[index]  # a plain dict in tests
    draft = _draft(web)
    submitted = web.api("paul", "POST", f"/model-drafts/{draft['id']}/publish")
    assert submitted.status_code == 202
    assert submitted.get_json()["status"] == "submitted"
    assert submitted.get_json()["draft"]["submitted_by"] == "paul"
    assert _versions(web) == [1], "nothing is published before the approval"
    assert web.api("paul", "POST", f"/model-drafts/{draft['id']}/publish").status_code == 409
    assert web.api("paul", "POST", f"/model-drafts/{draft['id']}/approve").status_code == 403
    assert web.api("petra", "POST", f"/model-drafts/{draft['id']}/approve", json={"version": 1}).status_code == 409, \
        "the approver reviewed an older version"
    approved = web.api("petra", "POST", f"/model-drafts/{draft['id']}/approve", json={"version": 2})
    assert approved.status_code == 201
    assert approved.get_json()["version"] == 2
    assert _versions(web) == [2, 1]
    after = web.api("paul", "GET", f"/model-drafts/{draft['id']}").get_json()
    assert (after["status"], after["submitted_by"], after["approved_by"]) == ("published", "paul", "petra")
    assert web.api("petra", "POST", f"/model-drafts/{draft['id']}/approve").status_code == 409
    assert {"model_draft.submit", "model_draft.approve", "model.publish"} <= set(_audit_actions(web))


def test_changing_a_submitted_draft_withdraws_the_submission(web: Web) -> None:
    _second_owner(web)
    web.ctx.config["KIM_PUBLISH_APPROVAL"] = "true"  # type: ignore[index]  # a plain dict in tests
    draft = _draft(web)
    assert web.api("paul", "POST", f"/model-drafts/{draft['id']}/publish").status_code == 202
    changed = web.api("paul", "PUT", f"/model-drafts/{draft['id']}", json={"content": INTAKE, "version": 2})
    assert changed.status_code == 200
    assert (changed.get_json()["status"], changed.get_json()["submitted_by"]) == ("draft", None)
    assert web.api("petra", "POST", f"/model-drafts/{draft['id']}/approve").status_code == 409
    assert _versions(web) == [1]


def test_with_approval_uploads_do_not_bypass_the_second_owner(web: Web) -> None:
    web.ctx.config["KIM_PUBLISH_APPROVAL"] = "true"  # type: ignore[index]  # a plain dict in tests
    upload = web.api("paul", "POST", "/process-models", data={"file": (io.BytesIO(INTAKE_V2.encode()), "intake.bpmn")})
    assert upload.status_code == 202
    assert upload.get_json()["draft"]["status"] == "submitted"
    assert _versions(web) == [1]
    draft = _draft(web)
    assert web.api("paul", "POST", f"/model-drafts/{draft['id']}/approve").status_code == 409, "not submitted"


def test_upload_shares_the_check_and_is_audited(web: Web) -> None:
    bad = web.api("paul", "POST", "/process-models",
                  data={"file": (io.BytesIO(UNKNOWN_OFFICE.encode()), "intake.bpmn")})
    assert bad.status_code == 422
    assert bad.get_json()["problems"][0]["element_id"] == "vorpruefung"
    assert bad.get_json()["fields"]["vorpruefung"].startswith("Die Lane „Hausmeisterei“")
    good = web.api("paul", "POST", "/process-models", data={"file": (io.BytesIO(INTAKE_V2.encode()), "intake.bpmn")})
    assert good.status_code == 201
    assert (good.get_json()["process_id"], good.get_json()["version"]) == ("intake", 2)
    assert "model.publish" in _audit_actions(web)
    assert web.api("paul", "POST", "/process-models", data={}).status_code == 422


def test_a_stored_model_round_trips_byte_for_byte(web: Web) -> None:
    content = INTAKE_V2.replace("Erledigt", "Erledigt \u2013 Größe, Übergabe, Maßnahme ✓").replace("\n", "\r\n")
    draft = _draft(web, content)
    assert web.api("paul", "GET", f"/model-drafts/{draft['id']}").get_json()["content"] == content
    published = web.api("paul", "POST", f"/model-drafts/{draft['id']}/publish").get_json()
    source = web.api("carla", "GET", f"/process-models/intake/versions/{published['version']}/source")
    assert source.status_code == 200, "every signed-in user may read a deployed model"
    assert source.mimetype == "application/xml"
    assert source.data == content.encode("utf-8")
    assert "sandbox" in source.headers["Content-Security-Policy"]
    v1 = web.api("paul", "GET", "/process-models/intake/versions/1/source")
    assert v1.data == (DATA / "intake.bpmn").read_bytes()


def test_decisions_are_drafted_and_their_source_served(web: Web) -> None:
    from tests.integration.test_model_check import DMN

    dmn = DMN.replace("OUTPUT", '"jung"')
    created = web.api("paul", "POST", "/model-drafts", json={"filename": "einstufung.dmn", "content": dmn})
    assert (created.get_json()["kind"], created.get_json()["key"]) == ("dmn", "einstufung")
    published = web.api("paul", "POST", f"/model-drafts/{created.get_json()['id']}/publish")
    assert published.get_json()["process_id"] == "einstufung"
    assert web.api("paul", "GET", "/process-models/einstufung/versions/1/source").data == dmn.encode()


def test_running_cases_stay_on_their_version(web: Web, open_case: Callable[..., dict[str, Any]]) -> None:
    old_case = open_case()
    draft = _draft(web)
    assert web.api("paul", "POST", f"/model-drafts/{draft['id']}/publish").get_json()["version"] == 2
    new_case = open_case()
    for case in (old_case, new_case):
        web.api("carla", "POST", f"/cases/{case['id']}/consents", json={"office": "ABH", "purpose": "Vorprüfung"})
        task_id = case["tasks"][0]["id"]
        assert web.api("carla", "POST", f"/tasks/{task_id}/complete", json={"data": VALID}).status_code == 200
    names = {t["case_id"]: t["name"] for t in web.api("achim", "GET", "/tasks").get_json()["items"]}
    assert names == {old_case["id"]: "Vorprüfung der Ausländerbehörde",
                     new_case["id"]: "Vorprüfung durch die ABH (neu)"}
    with web.ctx.uow(write=False) as uow:
        versions = dict(uow.session.execute(
            select(CaseFile.reference, ProcessDefinition.version)
            .join(ProcessInstance, ProcessInstance.case_id == CaseFile.id)
            .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)).all())
    assert versions == {old_case["reference"]: 1, new_case["reference"]: 2}


def _upload(web: Web, content: bytes, filename: str = "intake.bpmn", path: str = "/process-models",
            user: str = "paul") -> Any:
    return web.api(user, "POST", path, data={"file": (io.BytesIO(content), filename)})


def _drafts(web: Web) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = web.api("paul", "GET", "/model-drafts").get_json()["items"]
    return items


def test_check_previews_what_publishing_changes(web: Web) -> None:
    changes = web.api("paul", "POST", "/model-checks",
                      json={"filename": "intake.bpmn", "content": INTAKE_V2}).get_json()["changes"]
    assert {k: changes[k] for k in ("process_id", "kind", "name", "current_version", "next_version", "identical",
                                    "retired", "added", "removed")} == {
        "process_id": "intake", "kind": "bpmn", "name": "Erstkontakt und Vorprüfung", "current_version": 1,
        "next_version": 2, "identical": False, "retired": False, "added": [], "removed": []}
    assert changes["changed"] == [{"id": "vorpruefung", "name": "Vorprüfung durch die ABH (neu)", "changes": [
        "Name: „Vorprüfung der Ausländerbehörde“ → „Vorprüfung durch die ABH (neu)“"]}]
    new = web.api("paul", "POST", "/model-checks", json={"filename": "neu.bpmn",
                                                         "content": INTAKE.replace('id="intake"', 'id="neu"')})
    assert (new.get_json()["changes"]["current_version"], new.get_json()["changes"]["next_version"]) == (None, 1)
    garbage = web.api("paul", "POST", "/model-checks", json={"filename": "x.bpmn", "content": "kein XML"})
    assert (garbage.get_json()["ok"], garbage.get_json()["changes"]) == (False, None)


def test_check_of_a_file_takes_its_bytes_unchanged(web: Web) -> None:
    same = _upload(web, (DATA / "intake.bpmn").read_bytes(), path="/model-checks")
    assert same.status_code == 200
    assert same.get_json()["changes"]["identical"] is True, "the bytes as deployed: nothing re-serialised"
    doctype = _upload(web, (DATA / "bad_xxe.bpmn").read_bytes(), "xxe.bpmn", path="/model-checks")
    assert doctype.get_json()["ok"] is False
    assert doctype.get_json()["problems"][0]["message"].startswith("DOCTYPE-Deklarationen sind nicht erlaubt")
    assert _upload(web, b"<x/>", "bild.png", path="/model-checks").status_code == 422
    assert web.api("paul", "POST", "/model-checks", data={"datei": "x"},
                   content_type="multipart/form-data").status_code == 422, "no file field"


def test_a_refused_upload_leaves_no_draft_behind(web: Web) -> None:
    web.ctx.config["KIM_PUBLISH_APPROVAL"] = "true"  # type: ignore[index]  # a plain dict in tests
    saved = _draft(web)  # the owner's own draft: it stays
    refused = _upload(web, UNKNOWN_OFFICE.encode())
    assert refused.status_code == 422
    assert refused.get_json()["message"] == "Das Modell hat 1 Fehler und wurde nicht veröffentlicht."
    assert [(d["id"], d["status"]) for d in _drafts(web)] == [(saved["id"], "draft")]
    assert _upload(web, b"kein XML").status_code == 422
    assert [d["id"] for d in _drafts(web)] == [saved["id"]]
    assert _versions(web) == [1]


def test_several_problems_of_one_element_are_all_reported(web: Web) -> None:
    two = UNKNOWN_OFFICE.replace('name="dueIn" value="P14D"', 'name="dueIn" value="bald"')
    refused = _upload(web, two.encode())
    assert refused.status_code == 422, refused.get_json()
    assert [p["element_id"] for p in refused.get_json()["problems"]] == ["vorpruefung", "vorpruefung"]
    field = refused.get_json()["fields"]["vorpruefung"]
    assert "Hausmeisterei" in field
    assert "„bald“" in field


def _retire(web: Web, key: str, user: str = "paul") -> Any:
    return web.api(user, "POST", f"/process-models/{key}/retire")


def _listed(web: Web, key: str) -> dict[str, Any]:
    items = web.api("carla", "GET", "/process-models").get_json()["items"]
    return next(i for i in items if i["process_id"] == key)


def test_a_model_that_never_ran_a_case_is_withdrawn(web: Web, open_case: Callable[..., dict[str, Any]]) -> None:
    child = (DATA / "called_child.bpmn").read_bytes()
    assert _upload(web, child, "called_child.bpmn").status_code == 201
    retired = _retire(web, "called_child")
    assert retired.status_code == 200, retired.get_json()
    assert {k: retired.get_json()[k] for k in ("process_id", "kind", "name", "versions")} == {
        "process_id": "called_child", "kind": "process", "name": "Aufgerufener Prozess", "versions": [1]}
    assert _listed(web, "called_child")["retired"] is True, "listed as withdrawn, kept for history"
    assert web.api("paul", "GET", "/process-models/called_child/versions/1/source").data == child
    refused = web.api("carla", "POST", "/cases", json={**NEW_CASE, "process_id": "called_child"})
    assert refused.status_code == 409
    assert "zurückgezogen" in refused.get_json()["message"]
    again = _retire(web, "called_child")
    assert (again.status_code, again.get_json()["message"]) == (
        409, "„Aufgerufener Prozess“ ist bereits zurückgezogen.")
    assert "model.retire" in _audit_actions(web)
    republished = _upload(web, child, "called_child.bpmn")  # the same file again: live again, as version 2
    assert (republished.status_code, republished.get_json()["version"]) == (201, 2)
    assert _listed(web, "called_child")["retired"] is False
    open_case(process_id="called_child")


def test_a_model_with_cases_cannot_be_withdrawn(web: Web, open_case: Callable[..., dict[str, Any]]) -> None:
    open_case()
    refused = _retire(web, "intake")
    assert refused.status_code == 409
    assert refused.get_json()["message"].startswith("Mit „Erstkontakt und Vorprüfung“ ist schon ein Fall gelaufen.")
    assert _listed(web, "intake")["retired"] is False
    open_case()


def test_a_model_another_live_model_calls_cannot_be_withdrawn(web: Web) -> None:
    assert _upload(web, (DATA / "called_child.bpmn").read_bytes(), "called_child.bpmn").status_code == 201
    assert _upload(web, (DATA / "shapes.bpmn").read_bytes(), "shapes.bpmn").status_code == 201
    refused = _retire(web, "called_child")
    assert refused.status_code == 409
    assert refused.get_json()["message"] == ("„Aufgerufener Prozess“ wird von „Aufrufaktivität in Schleife“ "
                                             "(call_loop) aufgerufen; entfernen Sie zuerst diesen Aufruf.")
    assert _retire(web, "call_loop").status_code == 200
    assert _retire(web, "called_child").status_code == 200, "its only caller is withdrawn"


def test_only_process_owners_and_admins_withdraw_models(web: Web) -> None:
    for user in ("carla", "sina", "aude"):
        assert _retire(web, "intake", user).status_code == 403
    assert _retire(web, "gibt_es_nicht").status_code == 404
    assert _listed(web, "intake")["retired"] is False
