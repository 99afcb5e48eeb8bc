"""A §60b holder never gets an ELIGIBLE or POSSIBLE row, whatever the other inputs (DOMAIN.md section 5).

Hypothesis draws the other inputs; the screening runs on the deployed tables. The §60b status
is a refusal ground or an exclusion for every path (§25a: no qualifying Duldung, §25b Abs. 2
Nr. 1, §60b Abs. 5 S. 2 for work and training), derived household rows included.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.domain.residence import (
    Conviction,
    GermanLevel,
    HeldPath,
    Identity,
    Livelihood,
    LivelihoodException,
    Training,
)
from tests.processes.test_residence_paths import BASE
from tests.screening.conftest import Screener
from tests.screening.test_household import FATHER, family

FLAGS = ("minor_child_in_household", "german_degree", "in_education", "basic_knowledge", "livelihood_expected",
         "employment_insured", "identity_in_time_60c", "identity_in_time_60d", "passport_valid", "work_ban",
         "deportation_measures", "children_school_ok", "special_achievements", "fdgo", "qualified_job_offer",
         "adequate_housing", "qualified_work_route", "current_obstruction")
GOOD_OR_BAD = {"ELIGIBLE", "POSSIBLE"}


def enum(kind: Any) -> st.SearchStrategy[str]:
    return st.sampled_from([member.value for member in kind])


# BASE opens every path for a plain Duldung (checked below); a draw changes a few facts of it, so
# that a table which let a §60b holder through would show up, not hide behind an unrelated gap.
OPEN_EVERYWHERE = {**BASE, "qualified_work_route": True}
CHANGES: dict[str, st.SearchStrategy[Any]] = {
    **{flag: st.booleans() for flag in FLAGS},
    "eval_date": st.sampled_from(["2025-06-30", "2025-12-31", "2026-11-20", "2027-07-01"]),
    "date_of_birth": st.integers(1960, 2012).map(lambda year: f"{year}-03-10"),
    "duldung_months": st.integers(0, 120), "months_60b": st.integers(0, 120), "stay_years": st.integers(0, 25),
    "school_success_years": st.integers(0, 10), "german_level": enum(GermanLevel), "livelihood": enum(Livelihood),
    "livelihood_exception": enum(LivelihoodException), "employment_hours_week": st.integers(0, 45),
    "employment_months": st.integers(0, 60), "identity": enum(Identity), "conviction": enum(Conviction),
    "training": enum(Training), "entry_date": st.sampled_from(["2015-01-01", "2023-01-01"]),
    "holds_path": st.none() | enum(HeldPath),
}


@st.composite
def inputs_60b(draw: st.DrawFn) -> dict[str, Any]:
    values: dict[str, Any] = {**OPEN_EVERYWHERE, "status": "DULDUNG_60B"}
    for name in draw(st.lists(st.sampled_from(sorted(CHANGES)), max_size=5, unique=True)):
        values[name] = draw(CHANGES[name])
    if values["training"] not in ("CONTRACT", "ONGOING"):
        values["training_start"] = None
    values["holds_path_until"] = "2028-01-31" if values.get("holds_path") else None
    return values


def test_the_drawn_facts_start_from_a_person_every_path_is_open_to(screener: Screener) -> None:
    result = screener.person(**OPEN_EVERYWHERE)
    opened = {row.path for row in result.main.rows if row.status.value == "ELIGIBLE"}
    assert opened >= {"25a", "25b", "16g", "60c", "60d", "19d"}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs_60b())
def test_a_60b_holder_never_gets_an_eligible_or_possible_row(screener: Screener, values: dict[str, Any]) -> None:
    result = screener.person(**values)
    assert {row.path: row.status.value for row in result.main.rows if row.status.value in GOOD_OR_BAD} == {}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["m2", "m3", "m4"]), enum(Conviction), enum(Identity))
def test_a_60b_member_derives_no_eligible_or_possible_row(screener: Screener, member_id: str, conviction: str,
                                                          identity: str) -> None:
    members = family()
    for entry in members:
        if entry["id"] == member_id:
            entry["inputs"] = {**entry["inputs"], "status": "DULDUNG_60B", "conviction": conviction,
                               "identity": identity}
    result = screener.household(FATHER, members)
    (holder,) = [m for m in result.members if m.id == member_id]
    assert [(row.path, row.status.value) for row in holder.rows if row.status.value in GOOD_OR_BAD] == []
