"""The screening accepts every input of DOMAIN.md section 5 and names each bad one (the API answers 422)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.domain.errors import InvalidInput
from engine.domain.residence import screening_fields, validate_screening_inputs
from engine.services.screening.decisions import evaluate_decision
from tests.processes.test_residence_paths import BASE
from tests.screening.conftest import Screener

DOMAIN_INPUTS = {
    "status", "duldung_months", "stay_years", "date_of_birth", "minor_child_in_household", "school_success_years",
    "german_degree", "in_education", "german_level", "basic_knowledge", "livelihood", "livelihood_expected",
    "livelihood_exception", "employment_hours_week", "employment_insured", "employment_months", "training",
    "training_start", "identity", "identity_in_time_60c", "identity_in_time_60d", "passport_valid",
    "current_obstruction", "conviction", "entry_date", "work_ban", "deportation_measures", "children_school_ok",
    "special_achievements", "holds_104c_until", "fdgo", "qualified_job_offer", "adequate_housing",
    "application_filed_on", "holds_path", "benefits",
}
# qualified_work_route: the §19d route over a foreign degree; holds_path_until: the end of the held
# path (its deadline); months_60b: §60b months inside duldung_months and stay_years.
OUR_ADDITIONS = {"eval_date", "qualified_work_route", "holds_path_until", "months_60b"}
EVERY_INPUT = {**BASE, "application_filed_on": "2026-10-01", "holds_path": "60c", "holds_path_until": "2027-08-31",
               "benefits": "ASYLBLG", "months_60b": 3, "qualified_work_route": False}


def test_every_input_of_domain_section_5_is_accepted() -> None:
    assert set(screening_fields()) == DOMAIN_INPUTS | OUR_ADDITIONS
    assert set(EVERY_INPUT) == DOMAIN_INPUTS | OUR_ADDITIONS
    checked = validate_screening_inputs(EVERY_INPUT)
    assert (checked["benefits"], checked["holds_path"], checked["months_60b"]) == ("ASYLBLG", "60c", 3)


def test_optional_inputs_never_default_to_the_favourable_answer() -> None:
    checked = validate_screening_inputs({k: v for k, v in BASE.items()
                                         if k not in ("qualified_job_offer", "adequate_housing")})
    assert (checked["qualified_job_offer"], checked["adequate_housing"], checked["application_filed_on"],
            checked["holds_path"], checked["months_60b"]) == (None, None, None, None, 0)


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"fdgo": None}, "fdgo", "required"),
    ({"identity_in_time_60d": None}, "identity_in_time_60d", "required"),
    ({"identity_in_time": True}, "identity_in_time", "identity_in_time_60c and identity_in_time_60d"),
    ({"holds_path": "60c"}, "holds_path_until", "required when holds_path is given"),
    ({"holds_path": "104c", "holds_path_until": "2027-01-01"}, "holds_path", "one of 25a, 25b, 19d, 16g, 60c, 60d"),
    ({"application_filed_on": "2026-11-21"}, "application_filed_on", "must not be after eval_date"),
    ({"benefits": "HARTZ"}, "benefits", "one of NONE, ASYLBLG, SGB2, SGB12"),
    ({"months_60b": -1}, "months_60b", "whole number"),
    ({"qualified_job_offer": "ja"}, "qualified_job_offer", "true or false"),
])
def test_bad_inputs_name_the_field(changes: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_screening_inputs({**BASE, **changes})
    assert list(refused.value.fields) == [field]
    assert message in refused.value.fields[field]


def test_only_the_screening_takes_a_household(screener: Screener) -> None:
    with pytest.raises(InvalidInput) as refused:
        evaluate_decision(screener.ctx, "residence_paths_ranking", {}, household=[])
    assert list(refused.value.fields) == ["household"]
    body = evaluate_decision(screener.ctx, "residence_paths", BASE, household=[]).to_json()
    assert (body["members"], body["household"]["recommended"]) == ([], "25a")
