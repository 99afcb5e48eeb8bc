"""Household screening (DOMAIN.md section 9): derived rows, the household's path, the members' deadlines.

The family: the father (main applicant, 40) is ELIGIBLE for §25b; the mother (38) lacks German A2
herself; two children, 12 and 17. The 17-year-old qualifies for §25a on her own, so her parents
and her minor brother may derive §25a Abs. 2 / §60a Abs. 2b from her until her 18th birthday
(15.08.2027). The parents' livelihood is predominantly (not fully) secured: §25a Abs. 2 is not met
and §60a Abs. 2b applies instead.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.domain.errors import InvalidInput
from engine.domain.residence_results import ScreeningResult
from tests.processes.test_residence_paths import BASE
from tests.screening.conftest import Screener, row, statuses

ADULT = {**BASE, "training": "NONE", "training_start": None, "in_education": False, "livelihood": "PREDOMINANT",
         "german_level": "A2", "minor_child_in_household": True}
FATHER = {**ADULT, "date_of_birth": "1986-04-02"}
MOTHER = {**ADULT, "date_of_birth": "1988-09-30", "german_level": "A1"}
CHILD = {**BASE, "training": "NONE", "training_start": None, "employment_hours_week": 0, "employment_insured": False,
         "employment_months": 0, "livelihood": "NONE", "basic_knowledge": False, "german_degree": False}
SON_12 = {**CHILD, "date_of_birth": "2014-06-01"}
DAUGHTER_17 = {**CHILD, "date_of_birth": "2009-08-15"}
HER_18TH = "2027-08-15"


def family(father: dict[str, Any] | None = None, mother: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [{"id": "m2", "relation": "spouse", "inputs": {**MOTHER, **(mother or {})}},
            {"id": "m3", "relation": "child", "inputs": SON_12},
            {"id": "m4", "relation": "child", "inputs": DAUGHTER_17}]


def member(result: ScreeningResult, member_id: str) -> Any:
    (found,) = [m for m in result.members if m.id == member_id]
    return found


@pytest.fixture(scope="module")
def household(screener: Screener) -> ScreeningResult:
    return screener.household(FATHER, family())


def test_the_father_is_eligible_for_25b_on_his_own(household: ScreeningResult) -> None:
    assert statuses(household)["25b"] == "ELIGIBLE"
    assert statuses(member(household, "m2"))["25b"] == "NOT_MET", "the mother lacks German A2"


def test_mother_and_both_children_derive_25b_abs4_from_the_father(household: ScreeningResult) -> None:
    for member_id in ("m2", "m3", "m4"):
        derived = row(member(household, member_id), "§25b Abs. 4", "main")
        assert (derived.status.value, derived.derived_from) == ("ELIGIBLE", "main"), member_id
    assert [member(household, m).recommended for m in ("m2", "m3")] == ["§25b Abs. 4", "§25b Abs. 4"]


def test_the_17_year_old_has_her_own_25a_row_and_is_recommended_25a(household: ScreeningResult) -> None:
    daughter = member(household, "m4")
    assert (row(daughter, "25a").status.value, row(daughter, "25a").deadline) == ("ELIGIBLE", "2036-08-14")
    assert daughter.recommended == "25a"
    assert (row(member(household, "m3"), "25a").status.value, row(member(household, "m3"), "25a").deadline) == (
        "NOT_YET", "2028-06-01"), "the 12-year-old may apply from his 14th birthday"


def test_parents_and_the_minor_brother_derive_60a_abs2b_from_the_17_year_old(household: ScreeningResult) -> None:
    for person in (household.main, member(household, "m2"), member(household, "m3")):
        derived = row(person, "§60a Abs. 2b", "m4")
        assert (derived.status.value, derived.deadline) == ("ELIGIBLE", HER_18TH), person.id
    for person in (household.main, member(household, "m2")):
        abs2 = row(person, "§25a Abs. 2", "m4")
        assert (abs2.status.value, abs2.missing) == ("NOT_MET", ("livelihood",)), "own work does not secure it"


def test_a_parent_with_secured_livelihood_gets_25a_abs2_instead_of_60a_abs2b(screener: Screener) -> None:
    result = screener.household({**FATHER, "livelihood": "SECURED"}, family())
    assert row(result, "§25a Abs. 2", "m4").status.value == "POSSIBLE"
    assert not [r for r in result.main.rows if r.path == "§60a Abs. 2b"]
    assert row(member(result, "m2"), "§60a Abs. 2b", "m4").status.value == "ELIGIBLE"


def test_the_household_follows_the_path_carrying_most_members(household: ScreeningResult) -> None:
    assert household.household is not None
    assert (household.household.recommended, household.household.carried) == ("25b", ("main", "m2", "m3", "m4"))


def test_every_members_deadlines_are_in_one_list(household: ScreeningResult) -> None:
    assert household.household is not None
    listed = {(d.member, d.path, d.deadline) for d in household.household.deadlines}
    assert {("main", "§60a Abs. 2b", HER_18TH), ("m2", "§60a Abs. 2b", HER_18TH), ("m3", "§60a Abs. 2b", HER_18TH),
            ("m4", "25a", "2036-08-14")} <= listed
    dates = [d.deadline for d in household.household.deadlines]
    assert dates == sorted(dates)
    assert ("m3", "25a", "2028-06-01") not in listed, "a NOT_YET date is no deadline"


def test_a_members_104c_permit_end_is_a_household_deadline(screener: Screener) -> None:
    result = screener.household(FATHER, family(mother={"status": "AE_104C", "holds_104c_until": "2027-04-30"}))
    assert result.household is not None
    listed = {(d.member, d.path, d.deadline) for d in result.household.deadlines}
    assert {("m2", "104c", "2027-04-30"), ("m2", "25b", "2027-04-30")} <= listed


def test_a_serious_conviction_of_the_father_turns_off_every_row_derived_from_him(screener: Screener) -> None:
    """§25b Abs. 4 follows the father: with his §25b BLOCKED nobody derives from him. His own rows derived
    from his daughter are BLOCKED (§25a Abs. 3, his own conviction); the mother's and the brother's
    §60a Abs. 2b rows come from the daughter, not from him, and stay (his conviction is not theirs)."""
    result = screener.household({**FATHER, "conviction": "SERIOUS"}, family())
    assert statuses(result)["25b"] == "BLOCKED"
    assert [r for person in result.people for r in person.rows if r.derived_from == "main"] == []
    assert {r.path: r.status.value for r in result.main.rows if r.derived_from} == {
        "§25a Abs. 2": "BLOCKED", "§60a Abs. 2b": "BLOCKED"}
    assert row(member(result, "m2"), "§60a Abs. 2b", "m4").status.value == "ELIGIBLE"


def test_a_conviction_of_the_mother_blocks_only_her_rows(screener: Screener) -> None:
    result = screener.household(FATHER, family(mother={"conviction": "SERIOUS"}))
    mother = member(result, "m2")
    assert (row(mother, "§25b Abs. 4", "main").status.value, row(mother, "§25b Abs. 4", "main").blocking) == (
        "BLOCKED", ("conviction_serious",))
    assert row(mother, "§60a Abs. 2b", "m4").status.value == "BLOCKED"
    for member_id in ("m3", "m4"):
        assert row(member(result, member_id), "§25b Abs. 4", "main").status.value == "ELIGIBLE"
    assert row(result, "§60a Abs. 2b", "m4").status.value == "ELIGIBLE", "the father is not affected"


def test_the_json_keeps_the_one_person_shape_and_adds_members(household: ScreeningResult) -> None:
    body = household.to_json()
    assert {"outputs", "recommended", "members", "household"} <= set(body)
    assert [m["id"] for m in body["members"]] == ["m2", "m3", "m4"]
    derived = [r for r in body["members"][0]["outputs"] if r["path"] == "§25b Abs. 4"]
    assert derived[0]["derived_from"] == "main"
    assert ScreeningResult.from_json(body) == household


def test_without_a_household_there_are_no_members(screener: Screener) -> None:
    body = screener.person().to_json()
    assert not {"members", "household"} & set(body)
    assert all("derived_from" not in r for r in body["outputs"])


@pytest.mark.parametrize(("household", "field"), [
    ([{"id": "m2", "relation": "cousin", "inputs": MOTHER}], "household[0].relation"),
    ([{"id": "main", "relation": "spouse", "inputs": MOTHER}], "household[0].id"),
    ([{"id": "m2", "relation": "spouse", "inputs": {**MOTHER, "conviction": "BAD"}}], "household[0].inputs.conviction"),
    ([{"id": "m2", "relation": "spouse", "inputs": {**MOTHER, "eval_date": "2026-11-21"}}],
     "household[0].inputs.eval_date"),
    ([{"id": "m2", "relation": "spouse", "inputs": MOTHER, "age": 3}], "household[0].age"),
    ([{"id": "m2", "relation": "spouse", "inputs": MOTHER}, {"id": "m2", "relation": "child", "inputs": SON_12}],
     "household[1].id"),
    ("m2", "household"),
])
def test_bad_household_entries_name_the_field(screener: Screener, household: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        screener.household(FATHER, household)
    assert list(refused.value.fields) == [field]
