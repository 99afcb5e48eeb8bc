"""The residence-path screening (DOMAIN.md section 5), evaluated through the deployed DMN tables.

Every rule line of section 5 is exercised at least once, with both sides of each age and duration
boundary. The tables are deployed from ``processes/residence_paths`` into the test database once
per backend, so these tests prove the DMN files, not a Python copy of the rules. That every rule
of every table decides a case is checked rule by rule in ``tests/screening/test_table_rules.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from engine.domain import residence
from engine.domain.actors import SYSTEM
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from engine.services.screening.decisions import evaluate_decision
from engine.services.wiring import create_context
from tests.conftest import fresh_database

TABLES = Path(__file__).resolve().parents[2] / "processes" / "residence_paths"

# 2026-11-20: a Duldung holder aged 22 with everything in order; each case changes a few facts.
BASE: dict[str, Any] = {
    "eval_date": "2026-11-20", "status": "DULDUNG", "duldung_months": 24, "stay_years": 7,
    "date_of_birth": "2004-03-10", "minor_child_in_household": False, "school_success_years": 4,
    "german_degree": True, "in_education": True, "german_level": "B1", "basic_knowledge": True,
    "livelihood": "SECURED", "livelihood_expected": False, "livelihood_exception": "NONE",
    "employment_hours_week": 30, "employment_insured": True, "employment_months": 18, "training": "CONTRACT",
    "training_start": "2027-03-01", "identity": "CLARIFIED_PASSPORT", "identity_in_time_60c": True,
    "identity_in_time_60d": True, "passport_valid": True, "current_obstruction": False, "conviction": "NONE",
    "entry_date": "2018-05-01", "work_ban": False, "deportation_measures": False, "children_school_ok": True,
    "special_achievements": False, "holds_104c_until": None, "fdgo": True, "qualified_job_offer": True,
    "adequate_housing": True,
}
HOLDER = {"status": "AE_104C", "holds_104c_until": "2027-03-31"}
DAY_BEFORE_27 = "2031-03-09"


@dataclass(frozen=True)
class Case:
    id: str
    changes: dict[str, Any]
    path: str
    status: str
    missing: tuple[str, ...] = ()
    blocking: tuple[str, ...] = ()
    deadline: str | None = None
    notes: tuple[str, ...] | None = None  # None: not checked
    recommended: str | None = None        # None: not checked
    extra: dict[str, str] = field(default_factory=dict)  # other path -> status


def c(case_id: str, path: str, status: str, **kw: Any) -> Case:
    changes = kw.pop("changes", {})
    return Case(case_id, changes, path, status, **kw)


CASES_25A = [
    c("25a gestattung not applicable", "25a", "NOT_APPLICABLE", changes={"status": "GESTATTUNG"}),
    c("25a other status not applicable", "25a", "NOT_APPLICABLE", changes={"status": "OTHER"}),
    # Corrected (DOMAIN.md section 5): a §60b status is no qualifying Duldung for §25a (§60b Abs. 5 S. 1);
    # the old tables answered ELIGIBLE.
    c("25a 60b duldung not applicable", "25a", "NOT_APPLICABLE", changes={"status": "DULDUNG_60B"},
      blocking=("status_60b",)),
    c("25a 27th birthday not met", "25a", "NOT_MET", changes={"date_of_birth": "1999-11-20"},
      notes=("age_limit_27",)),
    c("25a 26 years 364 days eligible, deadline today", "25a", "ELIGIBLE",
      changes={"date_of_birth": "1999-11-21"}, deadline="2026-11-20"),
    c("25a born 29 february: 27 on 1 march", "25a", "ELIGIBLE",
      changes={"eval_date": "2027-02-28", "date_of_birth": "2000-02-29"}, deadline="2027-02-28"),
    c("25a born 29 february: 27 on 1 march, too late", "25a", "NOT_MET",
      changes={"eval_date": "2027-03-01", "date_of_birth": "2000-02-29"}),
    c("25a 13 years not yet until 14th birthday", "25a", "NOT_YET", changes={"date_of_birth": "2012-11-21"},
      missing=("age_14",), deadline="2026-11-21"),
    c("25a 14th birthday eligible", "25a", "ELIGIBLE", changes={"date_of_birth": "2012-11-20"},
      deadline="2039-11-19"),
    c("25a identity deception blocked", "25a", "BLOCKED", changes={"identity": "ACTIVE_DECEPTION"},
      blocking=("identity_deception",)),
    c("25a serious conviction blocked", "25a", "BLOCKED", changes={"conviction": "SERIOUS"},
      blocking=("conviction_serious",)),
    c("25a both blockers listed", "25a", "BLOCKED", changes={"identity": "ACTIVE_DECEPTION", "conviction": "SERIOUS"},
      blocking=("identity_deception", "conviction_serious")),
    c("25a duldung 11 months not yet", "25a", "NOT_YET", changes={"duldung_months": 11},
      missing=("duldung_months",), deadline="2026-12-20"),
    c("25a duldung 12 months eligible", "25a", "ELIGIBLE", changes={"duldung_months": 12}, deadline="2031-03-09"),
    c("25a 104c holder needs no duldung months", "25a", "ELIGIBLE", changes={**HOLDER, "duldung_months": 0},
      deadline="2027-03-31", notes=("apply_before_104c_ends",)),
    c("25a 104c holder deadline at most 2027-06-30", "25a", "ELIGIBLE",
      changes={**HOLDER, "holds_104c_until": "2027-09-30"}, deadline="2027-06-30"),
    c("25a 104c holder deadline 27th birthday first", "25a", "ELIGIBLE",
      changes={**HOLDER, "date_of_birth": "2000-01-15"}, deadline="2027-01-14"),
    # Corrected: NOT_MET and POSSIBLE rows carry the application deadline too (the day before the 27th
    # birthday is a hard deadline whatever the status, DOMAIN.md sections 3 and 5); the old rows had none.
    c("25a stay 2 years not met", "25a", "NOT_MET", changes={"stay_years": 2.9}, missing=("stay_years",),
      deadline=DAY_BEFORE_27),
    c("25a stay 3 years eligible", "25a", "ELIGIBLE", changes={"stay_years": 3}),
    c("25a school 2 years without degree not met", "25a", "NOT_MET",
      changes={"school_success_years": 2, "german_degree": False}, missing=("school_success",),
      deadline=DAY_BEFORE_27),
    c("25a school 2 years with degree eligible", "25a", "ELIGIBLE", changes={"school_success_years": 2}),
    c("25a school 3 years without degree eligible", "25a", "ELIGIBLE",
      changes={"school_success_years": 3, "german_degree": False}),
    c("25a stay and school both listed", "25a", "NOT_MET",
      changes={"stay_years": 2, "school_success_years": 0, "german_degree": False},
      missing=("stay_years", "school_success"), deadline=DAY_BEFORE_27),
    c("25a medium conviction possible", "25a", "POSSIBLE", changes={"conviction": "MEDIUM"},
      notes=("conviction_medium",), deadline=DAY_BEFORE_27),
    c("25a minor conviction eligible", "25a", "ELIGIBLE", changes={"conviction": "MINOR"}),
    c("25a efforts documented possible", "25a", "POSSIBLE", changes={"identity": "EFFORTS_DOCUMENTED"},
      missing=("identity",), deadline=DAY_BEFORE_27),
    c("25a identity not clarified possible", "25a", "POSSIBLE", changes={"identity": "NOT_CLARIFIED"},
      missing=("identity",), deadline=DAY_BEFORE_27),
    c("25a identity other documents eligible", "25a", "ELIGIBLE", changes={"identity": "CLARIFIED_OTHER"}),
    c("25a no passport possible", "25a", "POSSIBLE", changes={"passport_valid": False}, missing=("passport",),
      deadline=DAY_BEFORE_27),
    c("25a not in education, livelihood predominant possible", "25a", "POSSIBLE",
      changes={"in_education": False, "livelihood": "PREDOMINANT"}, missing=("livelihood",), deadline=DAY_BEFORE_27),
    c("25a not in education, livelihood secured eligible", "25a", "ELIGIBLE", changes={"in_education": False}),
    c("25a in education, livelihood low eligible", "25a", "ELIGIBLE", changes={"livelihood": "LOW"}),
    c("25a all discretion reasons listed", "25a", "POSSIBLE",
      changes={"conviction": "MEDIUM", "identity": "NOT_CLARIFIED", "passport_valid": False},
      missing=("identity", "passport"), notes=("conviction_medium",), deadline=DAY_BEFORE_27),
    c("25a eligible until day before 27th birthday", "25a", "ELIGIBLE", deadline="2031-03-09", notes=()),
]

CASES_25B = [
    c("25b gestattung not applicable", "25b", "NOT_APPLICABLE", changes={"status": "GESTATTUNG"}),
    # Corrected (DOMAIN.md section 5): a §60b status is a refusal ground of §25b Abs. 2 Nr. 1; the old
    # tables answered ELIGIBLE.
    c("25b 60b duldung blocked", "25b", "BLOCKED", changes={"status": "DULDUNG_60B"}, blocking=("status_60b",)),
    c("25b 60d duldung applies", "25b", "ELIGIBLE", changes={"status": "BESCHAEFTIGUNGSDULDUNG_60D"}),
    c("25b current obstruction blocked", "25b", "BLOCKED", changes={"current_obstruction": True},
      blocking=("current_obstruction",)),
    c("25b active deception blocked", "25b", "BLOCKED", changes={"identity": "ACTIVE_DECEPTION"},
      blocking=("identity_deception",)),
    c("25b serious conviction blocked", "25b", "BLOCKED", changes={"conviction": "SERIOUS"},
      blocking=("conviction_serious",)),
    c("25b stay 5 years not met", "25b", "NOT_MET", changes={"stay_years": 5}, missing=("stay_years",)),
    c("25b stay 6 years eligible", "25b", "ELIGIBLE", changes={"stay_years": 6}),
    c("25b stay 3 years with minor child not met", "25b", "NOT_MET",
      changes={"stay_years": 3, "minor_child_in_household": True}, missing=("stay_years",)),
    c("25b stay 4 years with minor child eligible", "25b", "ELIGIBLE",
      changes={"stay_years": 4, "minor_child_in_household": True}),
    c("25b no basic knowledge not met", "25b", "NOT_MET", changes={"basic_knowledge": False},
      missing=("basic_knowledge",)),
    c("25b livelihood substantial not met", "25b", "NOT_MET", changes={"livelihood": "SUBSTANTIAL"},
      missing=("livelihood",)),
    c("25b livelihood predominant eligible", "25b", "ELIGIBLE", changes={"livelihood": "PREDOMINANT"}),
    c("25b trainee exception eligible", "25b", "ELIGIBLE",
      changes={"livelihood": "NONE", "livelihood_exception": "TRAINEE_STUDENT"}),
    c("25b single parent exception eligible", "25b", "ELIGIBLE",
      changes={"livelihood": "LOW", "livelihood_exception": "SINGLE_PARENT_U3"}),
    c("25b carer exception eligible", "25b", "ELIGIBLE",
      changes={"livelihood": "LOW", "livelihood_exception": "CARER"}),
    c("25b german A1 not met", "25b", "NOT_MET", changes={"german_level": "A1"}, missing=("german_a2",)),
    c("25b german A2 eligible", "25b", "ELIGIBLE", changes={"german_level": "A2"}),
    c("25b children not at school not met", "25b", "NOT_MET", changes={"children_school_ok": False},
      missing=("children_school",)),
    c("25b every unmet requirement listed", "25b", "NOT_MET",
      changes={"stay_years": 5, "german_level": "NONE", "basic_knowledge": False},
      missing=("stay_years", "basic_knowledge", "german_a2")),
    c("25b special achievements make up for years", "25b", "POSSIBLE",
      changes={"stay_years": 5, "special_achievements": True}, missing=("stay_years",),
      notes=("special_achievements",)),
    c("25b special achievements make up for livelihood", "25b", "POSSIBLE",
      changes={"livelihood": "LOW", "special_achievements": True}, missing=("livelihood",)),
    c("25b special achievements make up for A2", "25b", "POSSIBLE",
      changes={"german_level": "A1", "special_achievements": True}, missing=("german_a2",)),
    c("25b special achievements not for basic knowledge", "25b", "NOT_MET",
      changes={"basic_knowledge": False, "special_achievements": True}, missing=("basic_knowledge",)),
    c("25b special achievements not for two gaps", "25b", "NOT_MET",
      changes={"stay_years": 5, "german_level": "A1", "special_achievements": True},
      missing=("stay_years", "german_a2")),
    c("25b family top-up substantial by assessment", "25b", "POSSIBLE",
      changes={"livelihood": "SUBSTANTIAL", "livelihood_exception": "FAMILY_TEMP_TOPUP"},
      missing=("livelihood",), notes=("requirement_by_assessment",)),  # renamed: Abs. 3 also covers A2
    c("25b family top-up low not met", "25b", "NOT_MET",
      changes={"livelihood": "LOW", "livelihood_exception": "FAMILY_TEMP_TOPUP"}, missing=("livelihood",)),
    c("25b illness by assessment", "25b", "POSSIBLE",
      changes={"livelihood": "NONE", "livelihood_exception": "ILLNESS_DISABILITY_AGE"}, missing=("livelihood",)),
    c("25b job offer by assessment", "25b", "POSSIBLE",
      changes={"livelihood": "LOW", "livelihood_expected": True}, missing=("livelihood",)),
    c("25b medium conviction possible", "25b", "POSSIBLE", changes={"conviction": "MEDIUM"},
      notes=("conviction_medium",)),
    c("25b identity not clarified possible", "25b", "POSSIBLE", changes={"identity": "EFFORTS_DOCUMENTED"},
      missing=("identity",)),
    c("25b no passport possible", "25b", "POSSIBLE", changes={"passport_valid": False}, missing=("passport",)),
    c("25b 104c holder deadline permit end", "25b", "ELIGIBLE", changes=HOLDER, deadline="2027-03-31",
      notes=("apply_before_104c_ends",)),
    c("25b 104c holder deadline at most 2027-06-30", "25b", "ELIGIBLE",
      changes={**HOLDER, "holds_104c_until": "2027-12-31"}, deadline="2027-06-30"),
    c("25b eligible", "25b", "ELIGIBLE", notes=()),
]

CASES_104C = [
    c("104c holder transition", "104c", "ELIGIBLE", changes=HOLDER, deadline="2027-03-31", notes=("transition",)),
    c("104c holder transition at most 2027-06-30", "104c", "ELIGIBLE",
      changes={**HOLDER, "holds_104c_until": "2028-01-31"}, deadline="2027-06-30"),
    c("104c new application 2026-01-01 closed", "104c", "CLOSED", changes={"eval_date": "2026-01-01"},
      notes=("rule_expired_2025_12_31",)),
    c("104c new application 2025-12-31 legal review", "104c", "LEGAL_REVIEW", changes={"eval_date": "2025-12-31"}),
    c("104c gestattung 2025 not applicable", "104c", "NOT_APPLICABLE",
      changes={"eval_date": "2025-12-31", "status": "GESTATTUNG"}),
]


def training_cases(path: str) -> list[Case]:
    """§16g and §60c share their rules (DOMAIN.md section 5)."""
    return [
        c(f"{path} gestattung not applicable", path, "NOT_APPLICABLE", changes={"status": "GESTATTUNG"}),
        c(f"{path} work ban blocked", path, "BLOCKED", changes={"work_ban": True}, blocking=("work_ban",)),
        c(f"{path} medium conviction blocked", path, "BLOCKED", changes={"conviction": "MEDIUM"},
          blocking=("conviction",)),
        c(f"{path} serious conviction blocked", path, "BLOCKED", changes={"conviction": "SERIOUS"},
          blocking=("conviction",)),
        c(f"{path} deportation measures blocked", path, "BLOCKED", changes={"deportation_measures": True},
          blocking=("deportation_measures",)),
        c(f"{path} identity not in time blocked", path, "BLOCKED", changes={"identity_in_time_60c": False},
          blocking=("identity_not_in_time",)),
        c(f"{path} no training not applicable", path, "NOT_APPLICABLE",
          changes={"training": "NONE", "training_start": None}, notes=("no_training",)),
        c(f"{path} completed training not applicable", path, "NOT_APPLICABLE", changes={"training": "COMPLETED_DE"}),
        c(f"{path} ongoing training eligible", path, "ELIGIBLE",
          changes={"training": "ONGOING", "training_start": "2025-09-01"}),
        c(f"{path} duldung 2 months not yet", path, "NOT_YET", changes={"duldung_months": 2},
          missing=("duldung_months",), deadline="2026-12-20"),
        c(f"{path} duldung 3 months eligible", path, "ELIGIBLE", changes={"duldung_months": 3}),
        c(f"{path} start in 7 months and 1 day not yet", path, "NOT_YET", changes={"training_start": "2027-06-21"},
          missing=("training_window",), deadline="2026-11-21"),
        c(f"{path} start in exactly 7 months eligible", path, "ELIGIBLE", changes={"training_start": "2027-06-20"}),
    ]


CASES_TRAINING = [
    *training_cases("16g"), *training_cases("60c"),
    c("16g livelihood not secured not met, 60c eligible", "16g", "NOT_MET", changes={"livelihood": "PREDOMINANT"},
      missing=("livelihood",), extra={"60c": "ELIGIBLE"}),
    c("16g no passport not met, 60c eligible", "16g", "NOT_MET", changes={"passport_valid": False},
      missing=("passport",), extra={"60c": "ELIGIBLE"}),
    c("16g both listed", "16g", "NOT_MET", changes={"passport_valid": False, "livelihood": "LOW"},
      missing=("livelihood", "passport")),
]

CASES_60D = [
    c("60d gestattung not applicable", "60d", "NOT_APPLICABLE", changes={"status": "GESTATTUNG"}),
    c("60d entry 2023-01-01 blocked", "60d", "BLOCKED", changes={"entry_date": "2023-01-01"},
      blocking=("entry_after_2022_12_31",)),
    c("60d entry 2022-12-31 eligible", "60d", "ELIGIBLE", changes={"entry_date": "2022-12-31"}),
    c("60d work ban blocked", "60d", "BLOCKED", changes={"work_ban": True}, blocking=("work_ban",)),
    c("60d medium conviction blocked", "60d", "BLOCKED", changes={"conviction": "MEDIUM"}, blocking=("conviction",)),
    c("60d serious conviction blocked", "60d", "BLOCKED", changes={"conviction": "SERIOUS"}, blocking=("conviction",)),
    c("60d minor conviction eligible", "60d", "ELIGIBLE", changes={"conviction": "MINOR"}),
    c("60d identity not in time blocked", "60d", "BLOCKED", changes={"identity_in_time_60d": False},
      blocking=("identity_not_in_time",)),
    c("60d duldung 11 months not met", "60d", "NOT_MET", changes={"duldung_months": 11}, missing=("duldung_months",)),
    c("60d duldung 12 months eligible", "60d", "ELIGIBLE", changes={"duldung_months": 12}),
    c("60d 19.5 hours not met", "60d", "NOT_MET", changes={"employment_hours_week": 19.5},
      missing=("employment_hours",)),
    c("60d 20 hours eligible", "60d", "ELIGIBLE", changes={"employment_hours_week": 20}),
    c("60d not insured not met", "60d", "NOT_MET", changes={"employment_insured": False},
      missing=("employment_insured",)),
    c("60d employed 11 months not met", "60d", "NOT_MET", changes={"employment_months": 11},
      missing=("employment_months",)),
    c("60d employed 12 months eligible", "60d", "ELIGIBLE", changes={"employment_months": 12}),
    c("60d livelihood not secured not met", "60d", "NOT_MET", changes={"livelihood": "PREDOMINANT"},
      missing=("livelihood",)),
    c("60d german A1 not met", "60d", "NOT_MET", changes={"german_level": "A1"}, missing=("german_a2",)),
    c("60d german A2 eligible", "60d", "ELIGIBLE", changes={"german_level": "A2"}),
    c("60d children not at school not met", "60d", "NOT_MET", changes={"children_school_ok": False},
      missing=("children_school",)),
    c("60d every gap listed", "60d", "NOT_MET",
      changes={"duldung_months": 6, "employment_hours_week": 10, "employment_insured": False,
               "employment_months": 3, "livelihood": "LOW", "german_level": "NONE", "children_school_ok": False},
      missing=("duldung_months", "employment_hours", "employment_insured", "employment_months", "livelihood",
               "german_a2", "children_school")),
]

QUALIFIED = {"training": "COMPLETED_DE", "training_start": None}
CASES_19D = [
    c("19d gestattung not applicable", "19d", "NOT_APPLICABLE", changes={**QUALIFIED, "status": "GESTATTUNG"}),
    c("19d medium conviction blocked", "19d", "BLOCKED", changes={**QUALIFIED, "conviction": "MEDIUM"},
      blocking=("conviction",)),
    c("19d serious conviction blocked", "19d", "BLOCKED", changes={**QUALIFIED, "conviction": "SERIOUS"},
      blocking=("conviction",)),
    c("19d deception blocked", "19d", "BLOCKED", changes={**QUALIFIED, "identity": "ACTIVE_DECEPTION"},
      blocking=("identity_deception",)),
    c("19d obstruction blocked", "19d", "BLOCKED", changes={**QUALIFIED, "current_obstruction": True},
      blocking=("current_obstruction",)),
    c("19d no german qualification not applicable", "19d", "NOT_APPLICABLE", notes=("no_qualification",)),
    c("19d qualified work route eligible", "19d", "ELIGIBLE", changes={"qualified_work_route": True}),
    c("19d german A2 not met", "19d", "NOT_MET", changes={**QUALIFIED, "german_level": "A2"}, missing=("german_b1",)),
    c("19d livelihood not secured not met", "19d", "NOT_MET", changes={**QUALIFIED, "livelihood": "PREDOMINANT"},
      missing=("livelihood",)),
    c("19d no passport not met", "19d", "NOT_MET", changes={**QUALIFIED, "passport_valid": False},
      missing=("passport",)),
    c("19d identity not clarified not met", "19d", "NOT_MET", changes={**QUALIFIED, "identity": "EFFORTS_DOCUMENTED"},
      missing=("identity",)),
    c("19d german B1 eligible", "19d", "ELIGIBLE", changes=QUALIFIED),
]

TOO_OLD = {"date_of_birth": "1990-01-01"}
CASES_RANKING = [
    c("ranking 25a first", "LEGAL_REVIEW", "NOT_APPLICABLE", recommended="25a"),
    # Corrected (DOMAIN.md section 5): the best status ranks first, the path order only inside one status;
    # the old table recommended the POSSIBLE §25a over ELIGIBLE paths.
    c("ranking eligible 25b beats possible 25a", "25a", "POSSIBLE", changes={"in_education": False,
                                                                              "livelihood": "PREDOMINANT"},
      missing=("livelihood",), deadline=DAY_BEFORE_27, recommended="25b", extra={"25b": "ELIGIBLE", "60c": "ELIGIBLE"}),
    c("ranking 25b second", "25b", "ELIGIBLE", changes=TOO_OLD, recommended="25b"),
    c("ranking 19d third", "19d", "ELIGIBLE", changes={**TOO_OLD, **QUALIFIED, "stay_years": 5}, recommended="19d"),
    c("ranking 16g fourth", "16g", "ELIGIBLE", changes={**TOO_OLD, "stay_years": 5}, recommended="16g"),
    c("ranking 60c fifth", "60c", "ELIGIBLE", changes={**TOO_OLD, "stay_years": 5, "livelihood": "PREDOMINANT"},
      recommended="60c"),
    c("ranking 60d sixth", "60d", "ELIGIBLE", changes={**TOO_OLD, "stay_years": 5, "training": "NONE",
                                                         "training_start": None}, recommended="60d"),
    c("ranking legal review when nothing fits", "LEGAL_REVIEW", "LEGAL_REVIEW",
      changes={**TOO_OLD, "stay_years": 5, "training": "NONE", "training_start": None, "entry_date": "2023-02-01"},
      recommended="LEGAL_REVIEW"),
    # Corrected (DOMAIN.md section 5): legal review only when no path is ELIGIBLE, POSSIBLE or NOT_YET, and
    # the running §104c permit is ELIGIBLE as the transition: meet the §25b requirements before it ends.
    c("ranking 104c transition before legal review", "104c", "ELIGIBLE",
      changes={**HOLDER, **TOO_OLD, "basic_knowledge": False}, deadline="2027-03-31", recommended="104c",
      extra={"LEGAL_REVIEW": "NOT_APPLICABLE", "25b": "NOT_MET"}),
]

CASES = [*CASES_25A, *CASES_25B, *CASES_104C, *CASES_TRAINING, *CASES_60D, *CASES_19D, *CASES_RANKING]

Screen = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture(scope="module")
def screen(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Screen]:
    """Deploy the tables once per database; each call screens BASE changed by ``changes``."""
    tmp = tmp_path_factory.mktemp("residence_paths")
    context: EngineContext = create_context({"KIM_DATABASE_URL": fresh_database(database_url, tmp),
                                             "KIM_INSTANCE_PATH": str(tmp)})
    context.run(deployment.deploy, deployment.read_model_paths([TABLES]), SYSTEM)

    def run(changes: dict[str, Any]) -> dict[str, Any]:
        return evaluate_decision(context, "residence_paths", {**BASE, **changes}).to_json()

    yield run
    context.db.dispose()


def _rows(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["path"]: row for row in result["outputs"]}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_rule(screen: Screen, case: Case) -> None:
    result = screen(case.changes)
    rows = _rows(result)
    row = rows[case.path]
    assert (row["status"], tuple(row["missing"]), tuple(row["blocking"])) == (case.status, case.missing, case.blocking)
    if case.deadline is not None or case.status != "ELIGIBLE":
        assert row["deadline"] == case.deadline
    if case.notes is not None:
        assert tuple(row["notes"]) == case.notes
    if case.recommended is not None:
        assert result["recommended"] == case.recommended
    assert {path: rows[path]["status"] for path in case.extra} == case.extra


def test_baseline_gives_every_row_in_order(screen: Screen) -> None:
    result = screen({})
    assert [(r["path"], r["status"]) for r in result["outputs"]] == [
        ("25a", "ELIGIBLE"), ("25b", "ELIGIBLE"), ("104c", "CLOSED"), ("16g", "ELIGIBLE"), ("60c", "ELIGIBLE"),
        ("60d", "ELIGIBLE"), ("19d", "NOT_APPLICABLE"), ("LEGAL_REVIEW", "NOT_APPLICABLE")]
    assert result["recommended"] == "25a"
    assert set(result["versions"]) == set(residence.PERSON_DECISIONS)
    assert result["outputs"][0]["rules"] == ["residence_paths_25a_r14"]


def test_ranking_table_ranks_60a_2b_before_legal_review(ctx: EngineContext) -> None:
    ctx.run(deployment.deploy, deployment.read_model_paths([TABLES / "ranking.dmn"]), SYSTEM)
    keys = ("25a", "25a_abs2", "25b", "25b_abs4", "19d", "16g", "60c", "60d", "104c")
    statuses = {f"status_{key}": "NOT_MET" for key in keys}
    ranked = evaluate_decision(ctx, "residence_paths_ranking", {**statuses, "status_60a_2b": "POSSIBLE"})
    assert ranked.outputs == [{"recommended": "§60a Abs. 2b", "action": "APPLY", "legal_review": "NOT_APPLICABLE"}]
    nothing = evaluate_decision(ctx, "residence_paths_ranking", {**statuses, "status_60a_2b": "NOT_APPLICABLE"})
    assert nothing.outputs == [{"recommended": "LEGAL_REVIEW", "action": "LEGAL_REVIEW",
                                "legal_review": "LEGAL_REVIEW"}]


def test_the_folder_deploys_as_every_screening_decision(ctx: EngineContext) -> None:
    deployed = ctx.run(deployment.deploy, deployment.read_model_paths([TABLES]), SYSTEM)
    assert sorted(d.key for d in deployed) == sorted(residence.ALL_DECISIONS)
    assert {(d.kind, d.version) for d in deployed} == {("decision", 1)}
