"""The household screening on the case page and through the API: who sees why (DOMAIN.md section 7),
the members' inputs form, accepting the plan-goal proposals with one button."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from engine.demo.walker import CaseWalker, office_actors
from tests.processes.test_kim_pathway import consent_rows
from tests.screening.test_case_screening import FAMILY, FATHER, HOUSEHOLD, REFERRAL, _abh_part, _cm_part
from tests.webapp.conftest import Web, csrf_of, login


@pytest.fixture
def web(frozen_clock: object, shipped_web: Web) -> Web:
    """The web app with the shipped forms and models, made with the clock stopped (frozen_clock first)."""
    return shipped_web


@pytest.fixture
def family(web: Web) -> tuple[str, CaseWalker]:
    """A family case worked up to the ABH's inputs; the ABH records a serious conviction of the mother."""
    created = web.api("carla", "POST", "/cases", json={"person": FATHER, "referral": REFERRAL, "household": HOUSEHOLD,
                                                  "process_id": "kim_pathway"})
    assert created.status_code == 201, created.get_json()
    case_id = created.get_json()["id"]
    for member_id, inputs in FAMILY.items():
        saved = web.api("carla", "PUT", f"/cases/{case_id}/household/{member_id}/inputs",
                        json={"inputs": _cm_part(inputs)})
        assert saved.status_code == 200, saved.get_json()
    actors = {**office_actors(web.ctx)}
    walker = CaseWalker.for_case(web.ctx, actors, UUID(case_id))
    walker.complete("intake")
    scope = consent_rows("ABH", "AA", "JC", "SOZ")
    walker.record_consents(scope)
    walker.complete("consent", consent_scope=scope)
    walker.complete("counselling")
    walker.complete("assessment", minor_child_in_household=True, livelihood="PREDOMINANT")
    for member_id, inputs in FAMILY.items():
        given = {**_abh_part(inputs), **({"conviction": "SERIOUS"} if member_id == "m1" else {})}
        saved = web.api("achim", "PUT", f"/cases/{case_id}/household/{member_id}/inputs", json={"inputs": given})
        assert saved.status_code == 200, saved.get_json()
    walker.complete("abh_inputs")
    return case_id, walker


def test_section_7_case_management_sees_blocked_reason_held_by_the_abh_on_the_page(
        web: Web, family: tuple[str, CaseWalker]) -> None:
    case_id, _walker = family
    with web.client() as client:
        login(client, "carla")
        html = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Aufenthaltsperspektiven des Haushalts" in html
    assert "Leila Haddad" in html
    assert "Yasmin Haddad" in html
    assert "§25b Abs. 4" in html
    assert "gesperrt - Grund liegt bei der ABH" in html
    assert "conviction_" not in html
    with web.client() as client:
        login(client, "achim")
        html = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "conviction_serious" in html


def test_section_7_the_stored_screening_api_withholds_conviction_reasons_from_case_management(
        web: Web, family: tuple[str, CaseWalker]) -> None:
    case_id, _walker = family
    cm = web.api("carla", "GET", f"/cases/{case_id}/screening")
    assert cm.status_code == 200
    assert "conviction_" not in cm.get_data(as_text=True)
    assert "reason_held_by_abh" in cm.get_data(as_text=True)
    abh = web.api("achim", "GET", f"/cases/{case_id}/screening").get_json()
    assert "conviction_serious" in str(abh["screening"]["members"])
    household = web.api("carla", "GET", f"/cases/{case_id}/household").get_json()["items"]
    assert all("conviction" not in m["inputs"] for m in household)
    refused = web.api("carla", "PUT", f"/cases/{case_id}/household/m1/inputs", json={"inputs": {"conviction": "NONE"}})
    assert refused.status_code == 422
    assert "inputs.conviction" in refused.get_json()["fields"]
    assert web.api("sofia", "GET", f"/cases/{case_id}/household").status_code in (403, 404)


def test_household_section_9_member_inputs_are_edited_on_the_case_page(
        web: Web, family: tuple[str, CaseWalker]) -> None:
    case_id, _walker = family
    with web.client() as client:
        login(client, "carla")
        token = csrf_of(client, f"/cases/{case_id}")
        bad = client.post(f"/cases/{case_id}/household/m2/inputs",
                          data={"csrf_token": token, "german_level": "C9"}, follow_redirects=True)
        assert "german_level" in bad.get_data(as_text=True)
        good = client.post(f"/cases/{case_id}/household/m2/inputs",
                           data={"csrf_token": token, "german_level": "A2", "school_success_years": "5"})
        assert good.status_code == 302
    inputs = {m["id"]: m["inputs"] for m in web.api("carla", "GET", f"/cases/{case_id}/household").get_json()["items"]}
    assert (inputs["m2"]["german_level"], inputs["m2"]["school_success_years"]) == ("A2", 5)


def test_section_5_case_management_accepts_the_plan_goal_proposals_with_one_button(
        web: Web, family: tuple[str, CaseWalker]) -> None:
    case_id, walker = family
    walker.complete("abh_precheck")
    with web.client() as client:
        login(client, "carla")
        page = client.get(f"/cases/{case_id}").get_data(as_text=True)
        assert "Vorschläge in den Integrationsplan übernehmen" in page
        token = csrf_of(client, f"/cases/{case_id}")
        done = client.post(f"/cases/{case_id}/screening/accept-goals", data={"csrf_token": token})
        assert done.status_code == 302
    plan = web.api("carla", "GET", f"/tasks/{walker.task('plan').id}").get_json()
    goals: list[dict[str, Any]] = plan["data"]["plan_goals"]
    assert any(goal["title"].startswith("Karim Haddad:") for goal in goals)
    again = web.api("carla", "POST", f"/cases/{case_id}/screening/accept-goals")
    assert again.status_code == 200
    assert again.get_json()["added"] == 0
    assert web.api("achim", "POST", f"/cases/{case_id}/screening/accept-goals").status_code == 403


def _accept_on_page(web: Web, case_id: str) -> str:
    """Case management presses the button on the case page; the page it comes back to."""
    with web.client() as client:
        login(client, "carla")
        token = csrf_of(client, f"/cases/{case_id}")
        return str(client.post(f"/cases/{case_id}/screening/accept-goals", data={"csrf_token": token},
                               follow_redirects=True).get_data(as_text=True))


def test_section_5_accepting_after_the_plan_was_agreed_creates_a_revision_task_for_case_management(
        web: Web, family: tuple[str, CaseWalker]) -> None:
    """The usual moment to accept: a later screening, the plan long agreed. The button starts a plan
    revision and the case page says so; the API tells the same with ``revision``."""
    case_id, walker = family
    walker.complete("abh_precheck")
    walker.complete("plan")
    page = _accept_on_page(web, case_id)
    assert "Fortschreibung des Integrationsplans angelegt" in page
    assert "„Integrationsplan fortschreiben“ für das Case Management" in page
    revision = walker.task("plan_revision")
    assert revision.office == "CM"
    draft = web.api("carla", "GET", f"/tasks/{revision.id}").get_json()
    assert any(goal["title"].startswith("Karim Haddad:") for goal in draft["data"]["plan_goals"])
    again = web.api("carla", "POST", f"/cases/{case_id}/screening/accept-goals")
    assert again.status_code == 200
    body = again.get_json()
    assert (body["revision"], body["added"], body["task_id"], body["goals"]) == (False, 0, str(revision.id), [])
    assert web.api("achim", "POST", f"/cases/{case_id}/screening/accept-goals").status_code == 403
    page = _accept_on_page(web, case_id)
    assert "Keine neuen Ziele" in page
    timeline = page[page.index('id="timeline"'):]
    assert "Vorgeschlagene Ziele in den Integrationsplan übernommen von carla (CM)" in timeline
    assert "Prozess angestoßen von carla (CM): integrationsplan_fortschreiben" in timeline
    assert "Aufenthaltsperspektiven geprüft" in timeline
    assert "Angaben eines Haushaltsmitglieds geändert von" in timeline
    assert "Vorgang" not in timeline, "no audit codes in the case's story"
