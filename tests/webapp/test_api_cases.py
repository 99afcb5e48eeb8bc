"""REST: opening and reading cases, with need-to-know filtering and consents."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.webapp.conftest import NEW_CASE, Web


def test_open_case_returns_the_case_and_starts_its_process(web: Web, open_case: Callable[..., Any]) -> None:
    case = open_case(household=[{"given_name": "Lana", "relation": "CHILD", "date_of_birth": "2019-02-01"}])
    assert case["household"] == [{"given_name": "Lana", "family_name": None, "relation": "CHILD",
                                  "date_of_birth": "2019-02-01"}]
    assert case["reference"].startswith("KIM-")
    assert case["person"]["family_name"] == "Haddad"
    assert case["referral"]["source"] == "ABH"
    assert [t["name"] for t in case["tasks"]] == ["Erstkontakt dokumentieren"]
    assert case["tasks"][0]["office"] == "CM"


@pytest.mark.parametrize(("body", "field"), [
    ({**NEW_CASE, "person": {"family_name": "Haddad"}}, "person.given_name"),
    ({**NEW_CASE, "person": {**NEW_CASE["person"], "date_of_birth": "17.04.2003"}}, "person.date_of_birth"),
    ({**NEW_CASE, "person": {**NEW_CASE["person"], "date_of_birth": "2999-01-01"}}, "person.date_of_birth"),
    ({**NEW_CASE, "referral": {"source": "ABH"}}, "referral.reason"),
    ({"person": NEW_CASE["person"]}, "referral"),
    ({**NEW_CASE, "person": {**NEW_CASE["person"], "given_name": 42}}, "person.given_name"),
    ({**NEW_CASE, "household": [{"given_name": "Lana", "relation": "COUSIN"}]}, "household.0.relation"),
    ({**NEW_CASE, "household": "Lana"}, "household"),
])
def test_bad_case_input_names_the_field(web: Web, body: dict[str, Any], field: str) -> None:
    response = web.api("carla", "POST", "/cases", json=body)
    assert response.status_code == 422
    assert field in response.get_json()["fields"]


def test_malformed_and_unauthenticated_requests(web: Web) -> None:
    bad_json = web.api("carla", "POST", "/cases", data="{not json", content_type="application/json")
    assert bad_json.status_code == 400
    assert bad_json.get_json()["error"] == "bad_request"
    deeply_nested = web.api("carla", "POST", "/cases", data="[" * 100_000 + "]" * 100_000,
                            content_type="application/json")
    assert deeply_nested.status_code == 400
    assert deeply_nested.get_json()["error"] == "bad_request"
    anonymous = web.client().post("/api/v1/cases", json=NEW_CASE)
    assert anonymous.status_code == 401
    wrong_token = web.client().get("/api/v1/tasks", headers={"Authorization": "Bearer kim_nope"})
    assert wrong_token.status_code == 401


def test_unknown_process_is_404(web: Web) -> None:
    response = web.api("carla", "POST", "/cases", json={**NEW_CASE, "process_id": "gibt_es_nicht"})
    assert response.status_code == 404


def test_need_to_know(web: Web, open_case: Callable[..., Any]) -> None:
    case = open_case()
    path = f"/cases/{case['id']}"
    assert web.api("conrad", "GET", path).status_code == 200       # same case management office
    assert web.api("achim", "GET", path).status_code == 404        # ABH: no task, no consent
    assert web.api("sina", "GET", path).status_code == 404         # office lead: task metadata only
    assert web.api("paul", "GET", path).status_code == 404         # process owner: no case content
    assert web.api("carla", "GET", "/cases/00000000-0000-0000-0000-000000000000").status_code == 404


def _complete(web: Web, user: str, task_id: str, data: dict[str, Any]) -> Any:
    return web.api(user, "POST", f"/tasks/{task_id}/complete", json={"data": data})


def _tasks(web: Web, user: str, case_id: str) -> list[tuple[str, str, str]]:
    tasks = web.api(user, "GET", f"/cases/{case_id}").get_json()["tasks"]
    return [(t["office"], t["bpmn_id"], t["state"]) for t in tasks]


def test_hand_over_waits_for_consent(web: Web, open_case: Callable[..., Any]) -> None:
    case = open_case()
    first = {"kontakt_am": "2026-11-20", "sprache": "ar", "termine": 2}
    done = _complete(web, "carla", case["tasks"][0]["id"], first)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["next_tasks"] == [], "the next task belongs to the ABH, not to carla"
    assert _tasks(web, "carla", case["id"]) == [("CM", "erstkontakt", "completed"), ("ABH", "vorpruefung", "held"),
                                               ("CM", "consent_request:ABH", "open")]
    assert web.api("achim", "GET", "/tasks").get_json()["total"] == 0, "no consent: the ABH gets nothing"
    path = f"/cases/{case['id']}"
    assert web.api("achim", "GET", path).status_code == 404
    consent = web.api("carla", "POST", f"{path}/consents",
                      json={"office": "ABH", "categories": ["aufenthalt", "identitaet"], "purpose": "Vorprüfung"})
    assert consent.status_code == 201
    assert _tasks(web, "carla", case["id"]) == [("CM", "erstkontakt", "completed"), ("ABH", "vorpruefung", "open"),
                                               ("CM", "consent_request:ABH", "completed")]
    inbox = web.api("achim", "GET", "/tasks").get_json()["items"]
    assert [t["name"] for t in inbox] == ["Vorprüfung der Ausländerbehörde"]
    assert inbox[0]["due_at"], "released with a fresh due date"
    seen = web.api("achim", "GET", path).get_json()
    assert seen["person"]["family_name"] == "Haddad"
    assert [t["office"] for t in seen["tasks"]] == ["ABH"], "the ABH sees its own tasks only"
    assert "household" not in seen


def test_withdrawing_consent_takes_the_tasks_away(web: Web, open_case: Callable[..., Any]) -> None:
    case = open_case()
    path = f"/cases/{case['id']}"
    consent = web.api("carla", "POST", f"{path}/consents", json={"office": "ABH", "purpose": "Vorprüfung"}).get_json()
    _complete(web, "carla", case["tasks"][0]["id"], {"kontakt_am": "2026-11-20", "sprache": "de", "termine": 1})
    abh_task = web.api("achim", "GET", "/tasks").get_json()["items"][0]["id"]
    withdrawn = web.api("carla", "POST", f"{path}/consents/{consent['id']}/withdraw")
    assert withdrawn.status_code == 200
    assert withdrawn.get_json()["withdrawn_at"]
    assert _tasks(web, "carla", case["id"]) == [("CM", "erstkontakt", "completed"), ("ABH", "vorpruefung", "held"),
                                               ("CM", "consent_request:ABH", "open")]
    assert web.api("achim", "GET", path).status_code == 404
    assert web.api("achim", "GET", f"/tasks/{abh_task}").status_code == 404
    completion = web.api("achim", "POST", f"/tasks/{abh_task}/complete", json={"data": {"ergebnis": "OFFEN"}})
    assert completion.status_code == 404
    again = web.api("carla", "POST", f"{path}/consents/{consent['id']}/withdraw")
    assert again.status_code == 409
    assert web.api("achim", "POST", f"{path}/consents", json={"office": "ABH", "purpose": "x"}).status_code == 404
    request = next(t for t in web.api("carla", "GET", "/tasks").get_json()["items"]
                   if t["bpmn_id"] == "consent_request:ABH")
    answered = _complete(web, "carla", request["id"], {"erteilt": True, "kategorien": [{"kategorie": "aufenthalt"}],
                                                      "zweck": "Vorprüfung"})
    assert answered.status_code == 200, answered.get_json()
    assert web.api("achim", "GET", "/tasks").get_json()["total"] == 1, "a new consent releases the task"


def test_a_consent_form_records_the_consents_it_grants(web: Web, open_case: Callable[..., Any]) -> None:
    from engine.domain.actors import SYSTEM
    from engine.services.process_models import deployment
    from tests.conftest import DATA

    web.ctx.run(deployment.deploy, deployment.read_model_paths([DATA / "consent_flow.bpmn"]), SYSTEM)
    granted = open_case(process_id="consent_flow")
    scope = [{"office": "ABH", "purpose": "Vorprüfung", "cat_residence": True}]
    done = _complete(web, "carla", granted["tasks"][0]["id"], {"consent_decision": "GRANTED", "consent_scope": scope})
    assert done.status_code == 200, done.get_json()
    case = web.api("carla", "GET", f"/cases/{granted['id']}").get_json()
    assert [(c["office"], c["categories"]) for c in case["consents"]] == [("ABH", ["residence"])]
    assert [(t["office"], t["state"]) for t in case["tasks"]] == [("CM", "completed"), ("ABH", "open")]
    refused = open_case(process_id="consent_flow")
    _complete(web, "carla", refused["tasks"][0]["id"], {"consent_decision": "REFUSED", "consent_scope": scope})
    case = web.api("carla", "GET", f"/cases/{refused['id']}").get_json()
    assert case["consents"] == []
    assert ("ABH", "held") in [(t["office"], t["state"]) for t in case["tasks"]]


def test_cases_of_a_welfare_organisation_are_worked_there(web: Web) -> None:
    from engine.services.admin import directory

    web.ctx.run(directory.add_user, "fiona", "caseworker", ["FW"])
    token = web.ctx.run(directory.create_token, "fiona")
    web.tokens["fiona"] = token
    created = web.api("fiona", "POST", "/cases", json={
        "person": {"given_name": "Samir", "family_name": "Haidari"},
        "referral": {"source": "Caritas", "reason": "Beratung"}, "process_id": "intake"})
    assert created.status_code == 201, created.get_json()
    assert [t["office"] for t in created.get_json()["tasks"]] == ["FW"], "lane CM means the case's owner"
    assert web.api("carla", "GET", f"/cases/{created.get_json()['id']}").status_code == 404
    assert web.api("fiona", "GET", "/tasks").get_json()["total"] == 1
