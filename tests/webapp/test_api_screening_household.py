"""REST: the residence-path screening of a household, and who sees why (DOMAIN.md sections 5, 7 and 9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.domain.actors import SYSTEM
from engine.services.process_models import deployment
from tests.screening.test_household import FATHER, family
from tests.webapp.conftest import Web

PROCESSES = Path(__file__).resolve().parents[2] / "processes" / "residence_paths"
EVALUATE = "/decisions/residence_paths/evaluate"


@pytest.fixture
def deployed(web: Web) -> Web:
    web.ctx.run(deployment.deploy, deployment.read_model_paths([PROCESSES]), SYSTEM)
    return web


def _derived(body: dict, member_id: str) -> list[dict]:
    (member,) = [m for m in body["members"] if m["id"] == member_id]
    return [row for row in member["outputs"] if "derived_from" in row]


def test_household_section_9_members_get_rows_derived_from_the_main_applicant(deployed: Web) -> None:
    response = deployed.api("achim", "POST", EVALUATE, json={"inputs": FATHER, "household": family()})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["recommended"]
    assert {"outputs", "members", "household"} <= body.keys()
    assert [m["id"] for m in body["members"]] == ["m2", "m3", "m4"]
    for member_id in ("m2", "m3", "m4"):
        derived = [r for r in _derived(body, member_id) if r["path"] == "§25b Abs. 4"]
        assert derived
        assert derived[0]["derived_from"] == "main"
        assert derived[0]["status"] == "ELIGIBLE"
    assert all("recommended" in m for m in body["members"])


def test_household_member_with_a_bad_input_is_refused_naming_the_member_field(deployed: Web) -> None:
    members = family()
    members[1]["inputs"] = {**members[1]["inputs"], "german_level": "C9"}
    response = deployed.api("achim", "POST", EVALUATE, json={"inputs": FATHER, "household": members})
    assert response.status_code == 422
    assert "household[1].inputs.german_level" in response.get_json()["fields"]
    wrong_relation = [{"id": "m2", "relation": "cousin", "inputs": FATHER}]
    response = deployed.api("achim", "POST", EVALUATE, json={"inputs": FATHER, "household": wrong_relation})
    assert response.status_code == 422
    assert "household[0].relation" in response.get_json()["fields"]
    response = deployed.api("achim", "POST", EVALUATE, json={"inputs": FATHER, "household": {"m2": 1}})
    assert response.status_code == 422
    assert "household" in response.get_json()["fields"]
    response = deployed.api("achim", "POST", EVALUATE, json={"inputs": FATHER, "housefold": []})
    assert response.status_code == 422
    assert "housefold" in response.get_json()["fields"]


def test_conviction_reason_section_7_reaches_the_abh_only_case_management_sees_it_held(deployed: Web) -> None:
    convicted = {**FATHER, "conviction": "SERIOUS"}
    abh = deployed.api("achim", "POST", EVALUATE, json={"inputs": convicted}).get_json()
    cm = deployed.api("carla", "POST", EVALUATE, json={"inputs": convicted}).get_json()
    abh_codes = {code for row in abh["outputs"] for code in row["blocking"]}
    cm_codes = {code for row in cm["outputs"] for code in row["blocking"]}
    assert any(code.startswith("conviction") for code in abh_codes)
    assert not any(code.startswith("conviction") for code in cm_codes)
    assert "reason_held_by_abh" in cm_codes
    assert all(row["rules"] == [] for row in cm["outputs"]), "a rule id would name the conviction rule"
    assert [row["status"] for row in cm["outputs"]] == [row["status"] for row in abh["outputs"]]


def test_conviction_reason_section_7_is_held_in_single_tables_too(deployed: Web) -> None:
    inputs = {"screened_status": "DULDUNG", "current_obstruction": False, "identity": "CLARIFIED_PASSPORT",
              "conviction": "SERIOUS", "unmet_count": 0, "compensable_unmet_count": 0, "special_achievements": False,
              "assessment_count": 0, "passport_valid": True, "holds_path": None, "permit_104c": "NONE",
              "deadline_104c": None, "livelihood_expected": False}
    path = "/decisions/residence_paths_25b/evaluate"
    abh = deployed.api("achim", "POST", path, json={"inputs": inputs})
    assert abh.status_code == 200, abh.get_json()
    assert "conviction_serious" in abh.get_data(as_text=True)
    cm = deployed.api("carla", "POST", path, json={"inputs": inputs})
    assert cm.status_code == 200
    assert "conviction_" not in cm.get_data(as_text=True)
    assert "reason_held_by_abh" in cm.get_data(as_text=True)
