"""Who sees why: conviction reasons reach the ABH only (DOMAIN.md sections 5 and 7)."""

from __future__ import annotations

import json

import pytest

from engine.domain.screening_audience import WITHHELD, for_audience
from engine.domain.visibility import CaseView
from tests.screening.conftest import Screener, row
from tests.screening.test_household import FATHER, family


def test_the_abh_sees_every_reason(screener: Screener) -> None:
    result = screener.person(conviction="SERIOUS")
    assert for_audience(result, CaseView.AUTHORITY) is result
    assert row(result, "25a").blocking == ("conviction_serious",)


@pytest.mark.parametrize("conviction", ["SERIOUS", "MEDIUM"])
def test_case_management_sees_the_outcome_but_not_the_conviction(screener: Screener, conviction: str) -> None:
    result = screener.person(conviction=conviction)
    seen = for_audience(result, CaseView.MANAGER)
    assert seen is not None
    assert "conviction" not in json.dumps(seen.to_json()), "no code, note or rule id names the conviction"
    assert [r.status for r in seen.main.rows] == [r.status for r in result.main.rows], "the outcome stays"
    reasons = row(seen, "25a").blocking if conviction == "SERIOUS" else row(seen, "25a").notes
    assert reasons == (WITHHELD,)
    assert row(seen, "16g").blocking == (WITHHELD,)


def test_other_reasons_stay_visible_to_case_management(screener: Screener) -> None:
    seen = for_audience(screener.person(status="DULDUNG_60B", conviction="SERIOUS"), CaseView.MANAGER)
    assert seen is not None
    assert row(seen, "25b").blocking == ("status_60b", WITHHELD)


def test_a_members_conviction_is_withheld_in_the_household_too(screener: Screener) -> None:
    result = screener.household(FATHER, family(mother={"conviction": "SERIOUS"}))
    seen = for_audience(result, CaseView.MANAGER)
    assert seen is not None
    assert "conviction" not in json.dumps(seen.to_json())
    assert row(seen.members[0], "§25b Abs. 4", "main").blocking == (WITHHELD,)


def test_status_only_offices_see_path_and_status(screener: Screener) -> None:
    seen = for_audience(screener.person(conviction="MEDIUM", passport_valid=False), CaseView.PARTNER)
    assert seen is not None
    assert {(r.missing, r.blocking, r.notes, r.rules, r.deadline) for r in seen.main.rows} == {((), (), (), (), None)}
    assert (seen.main.recommendation.date, seen.main.recommendation.text) == (None, "")


@pytest.mark.parametrize("view", [CaseView.SCHOOL, CaseView.NONE])
def test_views_without_residence_status_see_nothing(screener: Screener, view: CaseView) -> None:
    assert for_audience(screener.person(), view) is None
