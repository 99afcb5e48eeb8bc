"""Every rule row of every residence-path table decides at least one case named after it.

Each case names the rule it expects to decide (the first matching rule of a FIRST table; for the
COLLECT requirement table: one of the findings of the §25b row) and the status it expects. The
path tables are reached through a full screening of BASE changed by a few facts; the status,
derivation, ranking and plan-goal tables are evaluated directly on their inputs.
``test_every_rule_row_has_a_case`` fails when a row is added to a table without a case here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from engine.bpmn.safe_xml import parse_model_xml
from tests.screening.conftest import TABLES, Screener, row

DMN_NS = "{https://www.omg.org/spec/DMN/20191111/MODEL/}"
HOLDER = {"status": "AE_104C", "holds_104c_until": "2027-03-31"}
QUALIFIED = {"training": "COMPLETED_DE", "training_start": None}
GESTATTUNG = {"status": "GESTATTUNG"}


@dataclass(frozen=True)
class Case:
    table: str                      # decision id without the "residence_paths_" prefix
    rule: str                       # rule id suffix, e.g. "r5"
    status: str | None = None       # expected status of the row (screened cases)
    path: str | None = None         # screened cases: the row to look at
    changes: dict[str, Any] = field(default_factory=dict)  # screened: changes to BASE; direct: the inputs
    direct: bool = False

    @property
    def rule_id(self) -> str:
        return f"residence_paths_{self.table}_{self.rule}"

    @property
    def name(self) -> str:
        return f"{self.table} {self.rule} {self.status or ''}".strip()


def screened(table: str, rule: str, expected: str, row_path: str | None = None, **changes: Any) -> Case:
    return Case(table, rule, expected, row_path or table, changes)


def direct(table: str, rule: str, **inputs: Any) -> Case:
    return Case(table, rule, changes=inputs, direct=True)


STATUS_BASE = {"status": "AE_104C", "application_filed_on": None, "holds_104c_until": "2027-03-31",
               "eval_date": "2026-11-20"}
STATUS_CASES = [
    direct("status", "r1", **{**STATUS_BASE, "application_filed_on": "2026-11-01"}),
    direct("status", "r2", **STATUS_BASE),
    direct("status", "r3", **{**STATUS_BASE, "holds_104c_until": "2026-10-31"}),
    direct("status", "r4", **{**STATUS_BASE, "status": "DULDUNG", "holds_104c_until": None}),
]

CASES_104C = [
    screened("104c", "r5", "ACTIVE", **HOLDER, application_filed_on="2026-11-01"),
    screened("104c", "r1", "ELIGIBLE", **HOLDER),
    screened("104c", "r6", "CLOSED", **{**HOLDER, "holds_104c_until": "2026-10-31"}),
    screened("104c", "r2", "CLOSED"),
    screened("104c", "r3", "NOT_APPLICABLE", eval_date="2025-12-31", **GESTATTUNG),
    screened("104c", "r4", "LEGAL_REVIEW", eval_date="2025-12-31"),
]

CASES_25A = [
    screened("25a", "r15", "ACTIVE", status="OTHER", holds_path="25a", holds_path_until="2028-01-31"),
    screened("25a", "r16", "NOT_APPLICABLE", status="DULDUNG_60B"),
    screened("25a", "r1", "NOT_APPLICABLE", **GESTATTUNG),
    screened("25a", "r2", "NOT_MET", date_of_birth="1999-11-20"),
    screened("25a", "r3", "NOT_YET", date_of_birth="2012-11-21"),
    screened("25a", "r4", "BLOCKED", identity="ACTIVE_DECEPTION"),
    screened("25a", "r5", "BLOCKED", conviction="SERIOUS"),
    screened("25a", "r6", "NOT_YET", duldung_months=11),
    screened("25a", "r7", "NOT_MET", stay_years=2.9),
    screened("25a", "r8", "NOT_MET", school_success_years=2, german_degree=False),
    screened("25a", "r17", "NOT_MET", fdgo=False),
    screened("25a", "r9", "POSSIBLE", conviction="MEDIUM"),
    screened("25a", "r10", "POSSIBLE", identity="EFFORTS_DOCUMENTED"),
    screened("25a", "r11", "POSSIBLE", passport_valid=False),
    screened("25a", "r12", "POSSIBLE", in_education=False, livelihood="PREDOMINANT"),
    screened("25a", "r13", "ELIGIBLE", **HOLDER),
    screened("25a", "r14", "ELIGIBLE"),
]

CASES_25B_REQUIREMENTS = [  # COLLECT: the finding shows in the §25b row's rules
    screened("25b_requirements", "r1", "NOT_MET", "25b", stay_years=5),
    screened("25b_requirements", "r2", "NOT_MET", "25b", stay_years=3, minor_child_in_household=True),
    screened("25b_requirements", "r3", "NOT_MET", "25b", basic_knowledge=False),
    screened("25b_requirements", "r4", "NOT_MET", "25b", livelihood="LOW"),
    screened("25b_requirements", "r5", "NOT_MET", "25b", livelihood="LOW", livelihood_exception="FAMILY_TEMP_TOPUP"),
    screened("25b_requirements", "r6", "POSSIBLE", "25b", livelihood="SUBSTANTIAL",
             livelihood_exception="FAMILY_TEMP_TOPUP"),
    screened("25b_requirements", "r7", "POSSIBLE", "25b", livelihood="NONE",
             livelihood_exception="ILLNESS_DISABILITY_AGE"),
    screened("25b_requirements", "r8", "POSSIBLE", "25b", livelihood="LOW", livelihood_expected=True),
    screened("25b_requirements", "r9", "NOT_MET", "25b", german_level="A1"),
    screened("25b_requirements", "r11", "POSSIBLE", "25b", german_level="A1",
             livelihood_exception="ILLNESS_DISABILITY_AGE"),
    screened("25b_requirements", "r10", "NOT_MET", "25b", children_school_ok=False),
    screened("25b_requirements", "r12", "NOT_MET", "25b", fdgo=False),
]

CASES_25B = [
    screened("25b", "r13", "ACTIVE", status="OTHER", holds_path="25b", holds_path_until="2028-01-31"),
    screened("25b", "r1", "NOT_APPLICABLE", **GESTATTUNG),
    screened("25b", "r14", "BLOCKED", status="DULDUNG_60B"),
    screened("25b", "r2", "BLOCKED", current_obstruction=True),
    screened("25b", "r3", "BLOCKED", identity="ACTIVE_DECEPTION"),
    screened("25b", "r4", "BLOCKED", conviction="SERIOUS"),
    screened("25b", "r5", "POSSIBLE", stay_years=5, special_achievements=True),
    screened("25b", "r6", "NOT_MET", stay_years=5),
    screened("25b", "r7", "POSSIBLE", livelihood="SUBSTANTIAL", livelihood_exception="FAMILY_TEMP_TOPUP"),
    screened("25b", "r8", "POSSIBLE", conviction="MEDIUM"),
    screened("25b", "r9", "POSSIBLE", identity="EFFORTS_DOCUMENTED"),
    screened("25b", "r10", "POSSIBLE", passport_valid=False),
    screened("25b", "r11", "ELIGIBLE", **HOLDER),
    screened("25b", "r12", "ELIGIBLE"),
]


def training_cases(path: str, ids: dict[str, str]) -> list[Case]:
    """§16g and §60c share their rules; ``ids`` maps the rules added later to their ids."""
    cases = [
        screened(path, ids["active"], "ACTIVE", holds_path=path, holds_path_until="2028-08-31"),
        screened(path, "r1", "NOT_APPLICABLE", **GESTATTUNG),
        screened(path, ids["60b"], "BLOCKED", status="DULDUNG_60B"),
        screened(path, "r2", "BLOCKED", work_ban=True),
        screened(path, "r3", "BLOCKED", conviction="MEDIUM"),
        screened(path, "r4", "BLOCKED", deportation_measures=True),
        screened(path, ids["deception"], "BLOCKED", identity="ACTIVE_DECEPTION"),
        screened(path, ids["not_clarified"], "BLOCKED", identity="NOT_CLARIFIED"),
        screened(path, "r5", "BLOCKED", identity_in_time_60c=False),
        screened(path, "r6", "NOT_APPLICABLE", training="NONE", training_start=None),
        screened(path, "r7", "NOT_YET", duldung_months=2),
        screened(path, "r8", "NOT_YET", training_start="2027-06-21"),
        screened(path, ids["efforts"], "POSSIBLE", identity="EFFORTS_DOCUMENTED"),
        screened(path, ids["eligible"], "ELIGIBLE"),
    ]
    if path == "60c":
        cases.append(screened(path, ids["status_active"], "ACTIVE", status="AUSBILDUNGSDULDUNG_60C"))
    else:
        cases += [screened(path, "r9", "NOT_MET", livelihood="PREDOMINANT"),
                  screened(path, "r10", "NOT_MET", passport_valid=False)]
    return cases


CASES_TRAINING = [
    *training_cases("16g", {"active": "r12", "60b": "r13", "deception": "r14", "not_clarified": "r15",
                            "efforts": "r16", "eligible": "r11"}),
    *training_cases("60c", {"active": "r10", "status_active": "r11", "60b": "r12", "deception": "r13",
                            "not_clarified": "r14", "efforts": "r15", "eligible": "r9"}),
]

CASES_60D = [
    screened("60d", "r14", "ACTIVE", holds_path="60d", holds_path_until="2027-12-31"),
    screened("60d", "r15", "ACTIVE", status="BESCHAEFTIGUNGSDULDUNG_60D"),
    screened("60d", "r1", "NOT_APPLICABLE", **GESTATTUNG),
    screened("60d", "r16", "BLOCKED", status="DULDUNG_60B"),
    screened("60d", "r20", "NOT_APPLICABLE", date_of_birth="2012-11-21"),  # 14: §60d Abs. 2, with the parent
    screened("60d", "r2", "BLOCKED", entry_date="2023-01-01"),
    screened("60d", "r3", "BLOCKED", work_ban=True),
    screened("60d", "r4", "BLOCKED", conviction="SERIOUS"),
    screened("60d", "r17", "BLOCKED", identity="ACTIVE_DECEPTION"),
    screened("60d", "r18", "BLOCKED", identity="NOT_CLARIFIED"),
    screened("60d", "r5", "BLOCKED", identity_in_time_60d=False),
    screened("60d", "r6", "NOT_MET", duldung_months=11),
    screened("60d", "r7", "NOT_MET", employment_hours_week=19.5),
    screened("60d", "r8", "NOT_MET", employment_insured=False),
    screened("60d", "r9", "NOT_MET", employment_months=11),
    screened("60d", "r10", "NOT_MET", livelihood="PREDOMINANT"),
    screened("60d", "r11", "NOT_MET", german_level="A1"),
    screened("60d", "r12", "NOT_MET", children_school_ok=False),
    screened("60d", "r19", "POSSIBLE", identity="EFFORTS_DOCUMENTED"),
    screened("60d", "r13", "ELIGIBLE"),
]

CASES_19D = [
    screened("19d", "r11", "ACTIVE", status="OTHER", holds_path="19d", holds_path_until="2028-01-31"),
    screened("19d", "r1", "NOT_APPLICABLE", **QUALIFIED, **GESTATTUNG),
    screened("19d", "r12", "BLOCKED", **QUALIFIED, status="DULDUNG_60B"),
    screened("19d", "r2", "BLOCKED", **QUALIFIED, conviction="MEDIUM"),
    screened("19d", "r3", "BLOCKED", **QUALIFIED, identity="ACTIVE_DECEPTION"),
    screened("19d", "r4", "BLOCKED", **QUALIFIED, current_obstruction=True),
    screened("19d", "r5", "NOT_APPLICABLE"),
    screened("19d", "r6", "NOT_MET", **QUALIFIED, german_level="A2"),
    screened("19d", "r7", "NOT_MET", **QUALIFIED, livelihood="PREDOMINANT"),
    screened("19d", "r13", "NOT_MET", **QUALIFIED, qualified_job_offer=False),
    screened("19d", "r14", "NOT_MET", **QUALIFIED, adequate_housing=None),
    screened("19d", "r8", "NOT_MET", **QUALIFIED, passport_valid=False),
    screened("19d", "r9", "NOT_MET", **QUALIFIED, identity="EFFORTS_DOCUMENTED"),
    screened("19d", "r10", "ELIGIBLE", qualified_work_route=True),
]

BIRTHDAYS_17 = [f"{2009 + n}-08-15" for n in range(121)]
DAYS_BEFORE_17 = [f"{2009 + n}-08-14" for n in range(121)]
PAIR = {"relation": "spouse", "age": 38, "married": True, "source_age": 17, "source_status_25a": "ELIGIBLE",
        "source_status_25b": "ELIGIBLE", "source_deadline_25b": None, "source_birthdays": BIRTHDAYS_17,
        "source_last_day_before_birthday": DAYS_BEFORE_17, "status_25a_abs2": "NOT_MET",
        "screened_status": "DULDUNG", "conviction": "NONE", "identity": "CLARIFIED_PASSPORT",
        "current_obstruction": False, "livelihood": "SECURED"}
PARENT = {**PAIR, "relation": "parent"}
CHILD = {**PAIR, "relation": "child", "age": 12, "married": False}

CASES_DERIVED = [
    direct("25b_abs4", "r1", **PARENT),
    direct("25b_abs4", "r2", **{**CHILD, "age": 18}),
    direct("25b_abs4", "r3", **{**CHILD, "married": True}),
    direct("25b_abs4", "r4", **{**PAIR, "source_status_25b": "NOT_MET"}),
    direct("25b_abs4", "r5", **{**PAIR, "screened_status": "DULDUNG_60B"}),
    direct("25b_abs4", "r6", **{**PAIR, "conviction": "SERIOUS"}),
    direct("25b_abs4", "r7", **{**PAIR, "identity": "ACTIVE_DECEPTION"}),
    direct("25b_abs4", "r8", **{**PAIR, "current_obstruction": True}),
    direct("25b_abs4", "r9", **{**PAIR, "conviction": "MEDIUM"}),
    direct("25b_abs4", "r10", **{**CHILD, "source_status_25b": "POSSIBLE"}),
    direct("25b_abs4", "r11", **PAIR),
    direct("25a_abs2", "r1", **{**PAIR, "relation": "sibling"}),
    direct("25a_abs2", "r2", **{**PARENT, "source_age": 18}),
    direct("25a_abs2", "r3", **{**PARENT, "source_status_25a": "NOT_YET"}),
    direct("25a_abs2", "r4", **{**PARENT, "screened_status": "DULDUNG_60B"}),
    direct("25a_abs2", "r5", **{**PARENT, "identity": "ACTIVE_DECEPTION"}),
    direct("25a_abs2", "r6", **{**PARENT, "current_obstruction": True}),
    direct("25a_abs2", "r7", **{**PARENT, "conviction": "MEDIUM"}),
    direct("25a_abs2", "r8", **{**PARENT, "livelihood": "PREDOMINANT"}),
    direct("25a_abs2", "r9", **{**PARENT, "source_status_25a": "ACTIVE"}),
    direct("60a_2b", "r1", **PAIR),
    direct("60a_2b", "r2", **{**PAIR, "relation": "sibling", "age": 18}),
    direct("60a_2b", "r3", **{**PARENT, "source_age": 18}),
    direct("60a_2b", "r4", **{**PARENT, "source_status_25a": "BLOCKED"}),
    direct("60a_2b", "r5", **{**PARENT, "status_25a_abs2": "POSSIBLE"}),
    direct("60a_2b", "r6", **{**PARENT, "screened_status": "DULDUNG_60B"}),
    direct("60a_2b", "r7", **{**PARENT, "identity": "ACTIVE_DECEPTION"}),
    direct("60a_2b", "r8", **{**PARENT, "conviction": "SERIOUS"}),
    direct("60a_2b", "r9", **{**PAIR, "relation": "sibling", "age": 12, "source_status_25a": "POSSIBLE"}),
    direct("60a_2b", "r10", **PARENT),
]

RANKED = ("25a", "25a_abs2", "25b", "25b_abs4", "19d", "16g", "60c", "60d", "60a_2b")
NOTHING = {f"status_{key}": "NOT_APPLICABLE" for key in (*RANKED, "104c")}
CASES_RANKING = [
    *(direct("ranking", f"{tier.lower()}_{key}", **{**NOTHING, f"status_{key}": tier})
      for tier in ("ELIGIBLE", "POSSIBLE", "NOT_YET") for key in RANKED),
    *(direct("ranking", f"active_{key}", **{**NOTHING, f"status_{key}": "ACTIVE"})
      for key in ("25a", "25b", "19d", "16g", "60c", "60d", "104c")),
    direct("ranking", "transition_104c", **{**NOTHING, "status_104c": "ELIGIBLE"}),
    direct("ranking", "legal_review", **{**NOTHING, "status_25b": "NOT_MET", "status_104c": "CLOSED"}),
]

CASES_PLAN_GOALS = [
    *(direct("plan_goals", rule, missing=missing, screened_status="DULDUNG") for rule, missing in (
        ("r1", "german_a2"), ("r2", "german_b1"), ("r3", "basic_knowledge"), ("r5", "livelihood"),
        ("r6", "passport"), ("r7", "status_60b"), ("r8", "children_school"), ("r9", "fdgo"),
        ("r10", "qualified_job_offer"), ("r11", "adequate_housing"), ("r12", "employment_insured"),
        ("r13", "stay_years"))),
    direct("plan_goals", "r4", missing="livelihood", screened_status="AE_104C"),
]

CASES = [*STATUS_CASES, *CASES_104C, *CASES_25A, *CASES_25B_REQUIREMENTS, *CASES_25B, *CASES_TRAINING, *CASES_60D,
         *CASES_19D, *CASES_DERIVED, *CASES_RANKING, *CASES_PLAN_GOALS]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_rule_decides_its_case(screener: Screener, case: Case) -> None:
    if case.direct:
        assert screener.rules(f"residence_paths_{case.table}", case.changes)[:1] == [case.rule_id]
        return
    found = row(screener.person(**case.changes), case.path or case.table)
    assert found.status.value == case.status
    if case.table == "25b_requirements":
        assert case.rule_id in found.rules, "the requirement table's finding is part of the §25b row"
    else:
        assert found.rules[0] == case.rule_id, "the first matching rule decides"


def _all_rule_ids() -> set[str]:
    ids: set[str] = set()
    for path in TABLES.glob("*.dmn"):
        root = parse_model_xml(path.read_bytes())
        ids.update(str(rule.get("id")) for rule in root.iter(f"{DMN_NS}rule"))
    return ids


def test_every_rule_row_has_a_case() -> None:
    named = {case.rule_id for case in CASES}
    assert len(_all_rule_ids()) > 190, "the tables were found"
    assert _all_rule_ids() - named == set(), "rows without a case: add one above"
    assert named - _all_rule_ids() == set(), "cases naming rules the tables do not have"
