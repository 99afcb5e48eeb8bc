"""What would open a path: missing requirements as plan-goal proposals with the date to reach them by."""

from __future__ import annotations

from typing import Any

from engine.domain.path_openers import GoalTemplate, what_would_open
from engine.domain.residence import PathStatus
from engine.domain.residence_results import PathResult, PersonScreening, Recommendation, ScreeningResult
from engine.services.screening.openers import propose_plan_goals
from tests.screening.conftest import Screener

HOLDER = {"status": "AE_104C", "holds_104c_until": "2027-06-30"}


def openers_for(screener: Screener, path: str, **changes: object) -> list[dict[str, Any]]:
    result = screener.person(**changes)
    return [o.to_json() for o in propose_plan_goals(screener.ctx, result) if o.path == path]


def test_german_a2_by_the_end_of_the_104c_permit_for_25b(screener: Screener) -> None:
    (opener,) = openers_for(screener, "25b", **HOLDER, german_level="A1")
    assert (opener["status"], opener["deadline"], opener["without_goal"]) == ("NOT_MET", "2027-06-30", [])
    assert opener["proposals"] == [{
        "missing": "german_a2", "goal": "language_course_a2", "title": "Sprachkurs (Ziel Deutsch A2)",
        "offices": ["CM"], "duration": "P6M", "reach_by": "2027-06-30", "start_by": "2026-12-30", "late": False,
        "text": "Für §25b: Sprachkurs (Ziel Deutsch A2), erreicht bis 30.06.2027 (vor Ablauf der "
                "§104c-Erlaubnis); spätestens am 30.12.2026 beginnen"}]


def test_a_goal_that_no_longer_fits_before_the_deadline_is_late(screener: Screener) -> None:
    (opener,) = openers_for(screener, "25b", status="AE_104C", holds_104c_until="2027-03-31", german_level="A1")
    (proposal,) = opener["proposals"]
    assert (proposal["start_by"], proposal["late"]) == ("2026-09-30", True)
    assert str(proposal["text"]).endswith("sofort beginnen, die übliche Dauer reicht nicht mehr")


def test_livelihood_goes_to_the_jobcenter_for_104c_holders_and_to_the_aa_for_a_duldung(screener: Screener) -> None:
    (holder,) = openers_for(screener, "25b", **HOLDER, livelihood="LOW")
    (tolerated,) = openers_for(screener, "25b", livelihood="LOW")
    assert [p["offices"] for p in holder["proposals"]] == [["JC"]]
    assert [p["offices"] for p in tolerated["proposals"]] == [["AA"]]
    assert tolerated["deadline"] is None, "a plain Duldung has no §25b deadline"


def test_a_60b_status_proposes_to_have_it_lifted_for_every_path_it_blocks(screener: Screener) -> None:
    result = screener.person(status="DULDUNG_60B")
    openers = {o.path: o for o in propose_plan_goals(screener.ctx, result)}
    assert set(openers) == {"25a", "25b", "16g", "60c", "60d", "19d"}
    for opener in openers.values():
        assert [(p.goal, p.offices) for p in opener.proposals] == [("lift_60b", ("ABH", "CM"))]


def test_a_conviction_opens_nothing(screener: Screener) -> None:
    assert openers_for(screener, "25b", conviction="SERIOUS") == []
    assert openers_for(screener, "60c", conviction="MEDIUM") == []


def test_time_alone_is_no_plan_goal(screener: Screener) -> None:
    (opener,) = openers_for(screener, "25b", stay_years=5)
    assert (opener["proposals"], opener["without_goal"]) == ([], ["stay_years"])


def test_eligible_rows_open_nothing_more(screener: Screener) -> None:
    assert propose_plan_goals(screener.ctx, screener.person(training="NONE", training_start=None)) == ()


def test_the_pure_function_needs_only_the_result_and_the_plan_goal_answers() -> None:
    rows = (PathResult("25b", PathStatus.BLOCKED, blocking=("status_60b", "conviction_serious")),
            PathResult("§25a Abs. 2", PathStatus.NOT_MET, missing=("livelihood",), deadline="2027-08-14",
                       derived_from="m4"))
    person = PersonScreening("main", rows, Recommendation("LEGAL_REVIEW", "LEGAL_REVIEW", PathStatus.LEGAL_REVIEW),
                             "2026-11-20", "DULDUNG")
    templates = {("DULDUNG", "status_60b"): GoalTemplate("lift_60b", "Aufheben", ("ABH", "CM"), "P4W"),
                 ("DULDUNG", "conviction_serious"): GoalTemplate("", "", (), ""),
                 ("DULDUNG", "livelihood"): GoalTemplate("job_placement", "Arbeit", ("AA",), "P6M")}
    (opener,) = what_would_open(ScreeningResult(person), templates)
    assert (opener.path, opener.derived_from, opener.proposals[0].start_by) == ("§25a Abs. 2", "m4", "2027-02-14")
    assert opener.proposals[0].text == ("Für §25a Abs. 2: Arbeit, erreicht bis 14.08.2027 (solange das Kind "
                                        "minderjährig ist); spätestens am 14.02.2027 beginnen")
