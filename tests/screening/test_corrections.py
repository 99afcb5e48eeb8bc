"""What the earlier tables got wrong in law (DOMAIN.md section 5), one test per correction.

Each test names the legal reason. BASE (tests/processes/test_residence_paths.py) is a 22-year-old
with a Duldung and everything in order on 2026-11-20.
"""

from __future__ import annotations

import pytest

from engine.domain.errors import InvalidInput
from engine.services.screening.openers import propose_plan_goals
from tests.screening.conftest import Screener, row, statuses

HOLDER = {"status": "AE_104C", "holds_104c_until": "2027-03-31"}
TOO_OLD = {"date_of_birth": "1990-01-01"}
WORK_AND_TRAINING = ("16g", "60c", "60d", "19d")


def test_60b_status_blocks_work_and_training_paths_60b_abs5_s2(screener: Screener) -> None:
    result = screener.person(status="DULDUNG_60B", training="COMPLETED_DE", training_start=None)
    for path in WORK_AND_TRAINING:
        assert (row(result, path).status.value, row(result, path).blocking) == ("BLOCKED", ("status_60b",)), path


def test_60b_status_is_a_refusal_ground_for_25b_abs2_nr1(screener: Screener) -> None:
    found = row(screener.person(status="DULDUNG_60B"), "25b")
    assert (found.status.value, found.blocking) == ("BLOCKED", ("status_60b",))


def test_60b_status_is_no_qualifying_duldung_for_25a_60b_abs5_s1(screener: Screener) -> None:
    found = row(screener.person(status="DULDUNG_60B"), "25a")
    assert (found.status.value, found.blocking) == ("NOT_APPLICABLE", ("status_60b",))


def test_60b_status_leaves_no_eligible_or_possible_path(screener: Screener) -> None:
    result = screener.person(status="DULDUNG_60B")
    assert not {"ELIGIBLE", "POSSIBLE"} & set(statuses(result).values())
    assert result.recommended == "LEGAL_REVIEW"


def test_60b_months_do_not_count_toward_duldung_and_stay_60b_abs5_s1(screener: Screener) -> None:
    result = screener.person(duldung_months=24, stay_years=7, months_60b=14)
    assert (row(result, "25a").status.value, row(result, "25a").deadline) == ("NOT_YET", "2027-01-20")
    assert row(result, "25b").missing == ("stay_years",), "7 years less 14 months of §60b time: under 6"
    holder = screener.person(**HOLDER, stay_years=7, months_60b=14)
    assert row(holder, "25b").status.value == "ELIGIBLE", "§104c holders: §60b time counts"


def test_not_clarified_identity_blocks_training_and_employment_even_if_ticked_in_time_60c_abs2_nr3(
        screener: Screener) -> None:
    result = screener.person(identity="NOT_CLARIFIED", identity_in_time_60c=True, identity_in_time_60d=True)
    for path in ("16g", "60c", "60d"):
        assert row(result, path).blocking == ("identity_not_clarified",), path


def test_identity_deadlines_of_60c_and_60d_are_separate(screener: Screener) -> None:
    late_60c = screener.person(identity_in_time_60c=False, identity_in_time_60d=True)
    assert (statuses(late_60c)["60c"], statuses(late_60c)["16g"], statuses(late_60c)["60d"]) == (
        "BLOCKED", "BLOCKED", "ELIGIBLE")
    late_60d = screener.person(identity_in_time_60c=True, identity_in_time_60d=False)
    assert (statuses(late_60d)["60c"], statuses(late_60d)["60d"]) == ("ELIGIBLE", "BLOCKED")


def test_identity_efforts_only_are_at_most_possible_60c_abs7_60d_abs4(screener: Screener) -> None:
    result = screener.person(identity="EFFORTS_DOCUMENTED")
    for path in ("16g", "60c", "60d"):
        assert (row(result, path).status.value, row(result, path).notes) == ("POSSIBLE", ("identity_efforts_only",))
    assert statuses(screener.person(identity="EFFORTS_DOCUMENTED", identity_in_time_60c=False))["60c"] == "BLOCKED"


def test_the_single_identity_in_time_flag_is_refused() -> None:
    from engine.domain.residence import validate_screening_inputs
    from tests.processes.test_residence_paths import BASE

    with pytest.raises(InvalidInput) as refused:
        validate_screening_inputs({**BASE, "identity_in_time": True})
    assert list(refused.value.fields) == ["identity_in_time"]
    assert "identity_in_time_60c and identity_in_time_60d" in refused.value.fields["identity_in_time"]


def test_ended_104c_permit_is_closed_and_every_path_screened_as_a_duldung_104c(screener: Screener) -> None:
    result = screener.person(**{**HOLDER, "holds_104c_until": "2026-10-31"}, **TOO_OLD)
    assert (row(result, "104c").status.value, row(result, "104c").notes[0]) == (
        "CLOSED", "permit_ended_without_application")
    assert (row(result, "25b").status.value, row(result, "25b").deadline) == ("ELIGIBLE", None), \
        "no deadline in the past"
    assert result.main.screened_status == "DULDUNG"
    assert statuses(result)["60d"] == "ELIGIBLE", "the Duldung paths are open again"
    assert all(r.deadline is None or r.deadline >= "2026-11-20" for r in result.main.rows)


def test_running_104c_permit_is_the_transition_with_the_permit_end_as_deadline_104c(screener: Screener) -> None:
    result = screener.person(**HOLDER)
    assert (row(result, "104c").status.value, row(result, "104c").deadline) == ("ELIGIBLE", "2027-03-31")
    assert row(result, "25b").deadline == "2027-03-31"


def test_application_before_the_104c_end_keeps_the_permit_active_81_abs4(screener: Screener) -> None:
    result = screener.person(**{**HOLDER, "holds_104c_until": "2026-10-31"}, application_filed_on="2026-10-15")
    assert (row(result, "104c").status.value, row(result, "104c").notes) == ("ACTIVE", ("fiction_81_4",))
    assert result.main.screened_status == "AE_104C"
    assert row(result, "25b").status.value == "ELIGIBLE"
    assert all(r.deadline is None or r.deadline >= "2026-11-20" for r in result.main.rows)
    late = screener.person(**{**HOLDER, "holds_104c_until": "2026-10-31"}, application_filed_on="2026-11-02")
    assert row(late, "104c").status.value == "CLOSED", "an application after the end continues nothing"


def test_19d_needs_a_qualified_job_offer_and_adequate_housing_19d_abs1_nr1_nr2(screener: Screener) -> None:
    qualified = {"training": "COMPLETED_DE", "training_start": None}
    result = screener.person(**qualified, qualified_job_offer=False, adequate_housing=False)
    assert (row(result, "19d").status.value, row(result, "19d").missing) == (
        "NOT_MET", ("qualified_job_offer", "adequate_housing"))
    unanswered = screener.person(**qualified, qualified_job_offer=None, adequate_housing=None)
    assert statuses(unanswered)["19d"] == "NOT_MET", "a missing answer is not a yes"
    assert row(screener.person(**qualified), "19d").notes == ("ba_approval_needed",)


def test_illness_waives_livelihood_and_a2_but_only_by_assessment_25b_abs3(screener: Screener) -> None:
    result = screener.person(livelihood_exception="ILLNESS_DISABILITY_AGE", livelihood="NONE", german_level="A1")
    assert (row(result, "25b").status.value, row(result, "25b").missing) == ("POSSIBLE", ("livelihood", "german_a2"))
    no_knowledge = screener.person(livelihood_exception="ILLNESS_DISABILITY_AGE", german_level="A1",
                                   basic_knowledge=False)
    assert statuses(no_knowledge)["25b"] == "NOT_MET", "Abs. 3 does not waive basic knowledge"


def test_missing_fdgo_commitment_is_not_met_even_with_illness_25b_abs1_nr2(screener: Screener) -> None:
    found = row(screener.person(fdgo=False, livelihood_exception="ILLNESS_DISABILITY_AGE"), "25b")
    assert (found.status.value, found.missing) == ("NOT_MET", ("fdgo",))


def test_not_yet_path_is_recommended_as_wait_and_rescreen_not_hardship_review(screener: Screener) -> None:
    result = screener.person(date_of_birth="2013-05-01", stay_years=5, training="NONE", training_start=None,
                             entry_date="2023-02-01")
    assert statuses(result)["25a"] == "NOT_YET"
    assert result.main.recommendation.to_json() == {
        "path": "25a", "action": "WAIT", "status": "NOT_YET", "date": "2027-05-01",
        "text": "Abwarten und am 01.05.2027 erneut prüfen (§25a)"}
    assert statuses(result)["LEGAL_REVIEW"] == "NOT_APPLICABLE"


def test_best_status_ranks_before_the_path_order(screener: Screener) -> None:
    result = screener.person(passport_valid=False, livelihood="PREDOMINANT", in_education=False)
    assert (statuses(result)["25a"], statuses(result)["25b"], statuses(result)["60c"]) == (
        "POSSIBLE", "POSSIBLE", "ELIGIBLE")
    assert (result.recommended, result.main.recommendation.action) == ("60c", "APPLY")


def test_a_held_path_is_active_until_its_end(screener: Screener) -> None:
    result = screener.person(status="AUSBILDUNGSDULDUNG_60C", holds_path="60c", holds_path_until="2028-08-31",
                             **TOO_OLD, stay_years=5, entry_date="2023-02-01", livelihood="PREDOMINANT")
    assert (row(result, "60c").status.value, row(result, "60c").deadline) == ("ACTIVE", "2028-08-31")
    assert (result.recommended, result.main.recommendation.action) == ("60c", "KEEP")
    assert statuses(result)["LEGAL_REVIEW"] == "NOT_APPLICABLE"


def test_a_child_under_15_has_no_employment_toleration_of_its_own_60d_abs2(screener: Screener) -> None:
    """A child may not be employed (§5 JArbSchG): a 12-year-old's own §60d row is not applicable - it gets the
    toleration with the employed parent (§60d Abs. 2) - and the screening proposes no job for the child. At 15
    the person is screened on her own employment again."""
    child = screener.person(date_of_birth="2014-06-01", employment_hours_week=0, employment_insured=False,
                            employment_months=0)
    assert (row(child, "60d").status.value, row(child, "60d").notes) == ("NOT_APPLICABLE",
                                                                          ("child_with_parent_60d_abs2",))
    opened = {o.path: {p.goal for p in o.proposals} for o in propose_plan_goals(screener.ctx, child)}
    assert "60d" not in opened, "no insured employment of 20 hours for a child"
    youth = screener.person(date_of_birth="2011-11-20", employment_hours_week=0)  # 15 on the screening day
    assert row(youth, "60d").status.value == "NOT_MET"
