"""Residence-path screening (DOMAIN.md section 5): vocabulary and the check of the inputs.

The legal rules live in the DMN tables under ``processes/residence_paths/`` where a process owner
can edit them. This module names the values those tables speak about and checks the inputs a
caller hands in, so that a typo or a missing answer is refused with the field named instead of
silently screening a different person. Derived values (age, counted months) are in
:mod:`engine.domain.residence_values`, result rows in :mod:`engine.domain.residence_results`.
Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Final

from engine.domain.errors import InvalidInput


class ResidenceStatus(StrEnum):
    DULDUNG = "DULDUNG"
    DULDUNG_60B = "DULDUNG_60B"  # Duldung für Personen mit ungeklärter Identität
    AE_104C = "AE_104C"
    AUSBILDUNGSDULDUNG_60C = "AUSBILDUNGSDULDUNG_60C"
    BESCHAEFTIGUNGSDULDUNG_60D = "BESCHAEFTIGUNGSDULDUNG_60D"
    GESTATTUNG = "GESTATTUNG"
    OTHER = "OTHER"


class GermanLevel(StrEnum):
    NONE = "NONE"
    A1 = "A1"
    A2 = "A2"
    B1 = "B1"
    B2 = "B2"


class Livelihood(StrEnum):
    SECURED = "SECURED"          # >= 100 % of the household's need from earned income
    PREDOMINANT = "PREDOMINANT"  # > 50 %
    SUBSTANTIAL = "SUBSTANTIAL"  # 33-50 %
    LOW = "LOW"                  # < 33 %
    NONE = "NONE"


class LivelihoodException(StrEnum):
    NONE = "NONE"
    TRAINEE_STUDENT = "TRAINEE_STUDENT"
    SINGLE_PARENT_U3 = "SINGLE_PARENT_U3"
    CARER = "CARER"
    FAMILY_TEMP_TOPUP = "FAMILY_TEMP_TOPUP"
    ILLNESS_DISABILITY_AGE = "ILLNESS_DISABILITY_AGE"


class Training(StrEnum):
    NONE = "NONE"
    CONTRACT = "CONTRACT"
    ONGOING = "ONGOING"
    COMPLETED_DE = "COMPLETED_DE"


class Identity(StrEnum):
    CLARIFIED_PASSPORT = "CLARIFIED_PASSPORT"
    CLARIFIED_OTHER = "CLARIFIED_OTHER"
    EFFORTS_DOCUMENTED = "EFFORTS_DOCUMENTED"
    NOT_CLARIFIED = "NOT_CLARIFIED"
    ACTIVE_DECEPTION = "ACTIVE_DECEPTION"


class Conviction(StrEnum):
    NONE = "NONE"
    MINOR = "MINOR"      # <= 50 daily rates (<= 90 for offences only foreigners can commit)
    MEDIUM = "MEDIUM"
    SERIOUS = "SERIOUS"


class Benefits(StrEnum):
    NONE = "NONE"
    ASYLBLG = "ASYLBLG"
    SGB2 = "SGB2"
    SGB12 = "SGB12"


class HeldPath(StrEnum):
    """Paths a person can already hold (``holds_path``); §104c is held through ``status``."""

    P25A = "25a"
    P25B = "25b"
    P19D = "19d"
    P16G = "16g"
    P60C = "60c"
    P60D = "60d"


class PathStatus(StrEnum):
    ELIGIBLE = "ELIGIBLE"
    POSSIBLE = "POSSIBLE"          # ABH discretion
    NOT_YET = "NOT_YET"            # with the date it may change
    NOT_MET = "NOT_MET"            # missing items become plan goals
    BLOCKED = "BLOCKED"
    CLOSED = "CLOSED"
    LEGAL_REVIEW = "LEGAL_REVIEW"
    NOT_APPLICABLE = "NOT_APPLICABLE"
    ACTIVE = "ACTIVE"              # the person holds this path now; deadline = its end


class ResidencePath(StrEnum):
    """Codes of the paths screened for each person; the value of ``path`` in their rows."""

    P25A = "25a"
    P25B = "25b"
    P104C = "104c"
    P16G = "16g"
    P60C = "60c"
    P60D = "60d"
    P19D = "19d"
    LEGAL_REVIEW = "LEGAL_REVIEW"  # §25 Abs. 5 / hardship commission


class DerivedPath(StrEnum):
    """Paths a household member takes from another member (DOMAIN.md section 9), named by paragraph."""

    P25B_ABS4 = "§25b Abs. 4"
    P25A_ABS2 = "§25a Abs. 2"
    P60A_2B = "§60a Abs. 2b"


SCREENING_DECISION: Final = "residence_paths"
STATUS_DECISION: Final = "residence_paths_status"
REQUIREMENTS_25B: Final = "residence_paths_25b_requirements"
PATH_DECISIONS: Final = {
    ResidencePath.P25A: "residence_paths_25a",
    ResidencePath.P25B: "residence_paths_25b",
    ResidencePath.P104C: "residence_paths_104c",
    ResidencePath.P16G: "residence_paths_16g",
    ResidencePath.P60C: "residence_paths_60c",
    ResidencePath.P60D: "residence_paths_60d",
    ResidencePath.P19D: "residence_paths_19d",
}
# In this order: §60a Abs. 2b reads the parent's §25a Abs. 2 result for the same child.
DERIVED_DECISIONS: Final = {
    DerivedPath.P25B_ABS4: "residence_paths_25b_abs4",
    DerivedPath.P25A_ABS2: "residence_paths_25a_abs2",
    DerivedPath.P60A_2B: "residence_paths_60a_2b",
}
RANKING: Final = "residence_paths_ranking"
PLAN_GOALS: Final = "residence_paths_plan_goals"
PERSON_DECISIONS: Final = (STATUS_DECISION, REQUIREMENTS_25B, *PATH_DECISIONS.values(), RANKING)
HOUSEHOLD_DECISIONS: Final = (*PERSON_DECISIONS, *DERIVED_DECISIONS.values())
ALL_DECISIONS: Final = (*HOUSEHOLD_DECISIONS, PLAN_GOALS)
"""Every table of ``processes/residence_paths``."""

MAX_AGE: Final = 120
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# name -> kind; an enum class, or one of "date", "bool", "count" (whole number >= 0), "number" (>= 0)
_FIELDS: Final[dict[str, Any]] = {
    "eval_date": "date", "status": ResidenceStatus, "duldung_months": "count", "stay_years": "number",
    "date_of_birth": "date", "minor_child_in_household": "bool", "school_success_years": "number",
    "german_degree": "bool", "in_education": "bool", "german_level": GermanLevel, "basic_knowledge": "bool",
    "livelihood": Livelihood, "livelihood_expected": "bool", "livelihood_exception": LivelihoodException,
    "employment_hours_week": "number", "employment_insured": "bool", "employment_months": "count",
    "training": Training, "training_start": "date", "identity": Identity, "identity_in_time_60c": "bool",
    "identity_in_time_60d": "bool", "passport_valid": "bool", "current_obstruction": "bool",
    "conviction": Conviction, "entry_date": "date", "work_ban": "bool", "deportation_measures": "bool",
    "children_school_ok": "bool", "special_achievements": "bool", "holds_104c_until": "date", "fdgo": "bool",
    "qualified_job_offer": "bool", "adequate_housing": "bool", "application_filed_on": "date",
    "holds_path": HeldPath, "holds_path_until": "date", "benefits": Benefits, "months_60b": "count",
    "qualified_work_route": "bool",
}
# Optional inputs and their value when absent. A missing answer must never read as the favourable
# one: absent qualified_job_offer / adequate_housing stay None, which the §19d table treats as
# "not shown". training_start, holds_104c_until and holds_path_until are required where a rule
# needs them (see _conditional_problems). Our additions to DOMAIN.md: qualified_work_route (the
# §19d route "foreign degree + qualified employment"), holds_path_until (the end of the held path)
# and months_60b (months with a §60b status inside duldung_months and stay_years).
_OPTIONAL: Final[dict[str, Any]] = {
    "training_start": None, "holds_104c_until": None, "qualified_work_route": False, "qualified_job_offer": None,
    "adequate_housing": None, "application_filed_on": None, "holds_path": None, "holds_path_until": None,
    "benefits": None, "months_60b": 0,
}
_RETIRED: Final = {
    "identity_in_time": "no longer accepted: §60c and §60d have different identity deadlines, "
                        "give identity_in_time_60c and identity_in_time_60d",
}


def screening_fields() -> dict[str, str]:
    """Input name -> description of the allowed values (for forms and API documentation)."""
    return {name: _describe(kind) for name, kind in _FIELDS.items()}


def _describe(kind: Any) -> str:
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        return "one of " + ", ".join(m.value for m in kind)
    return {"date": "a date (YYYY-MM-DD)", "bool": "true or false", "count": "a whole number >= 0",
            "number": "a number >= 0"}[str(kind)]


def validate_screening_inputs(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs as plain JSON values (dates as ISO text), or InvalidInput naming every bad field.

    Every input of DOMAIN.md section 5 that a rule always needs is required: a screening that
    silently assumed "no conviction" or "passport valid" for a missing answer would mislead the ABH.
    """
    values, problems = check_screening_inputs(raw)
    if problems:
        raise InvalidInput("the screening inputs are incomplete or invalid", problems)
    return values


def check_screening_inputs(raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The inputs as plain JSON values, and field name -> what is wrong (empty when all is fine)."""
    problems = {str(name): _RETIRED.get(str(name), "unknown input") for name in raw if name not in _FIELDS}
    values: dict[str, Any] = {}
    for name, kind in _FIELDS.items():
        value = raw.get(name)
        if value is None:
            if name not in _OPTIONAL:
                problems[name] = "required"
            values[name] = _OPTIONAL.get(name)
            continue
        checked, problem = _check_value(kind, value)
        if problem:
            problems[name] = problem
        values[name] = checked
    if not problems:
        problems.update(_conditional_problems(values))
    return values, problems


def _check_value(kind: Any, value: Any) -> tuple[Any, str | None]:
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        allowed = [m.value for m in kind]
        return (kind(value).value, None) if isinstance(value, str) and value in allowed else (None, _describe(kind))
    if kind == "bool":
        return (value, None) if isinstance(value, bool) else (None, "must be true or false")
    if kind == "date":
        parsed = parse_iso_date(value)
        return (parsed.isoformat(), None) if parsed else (None, "must be a date (YYYY-MM-DD)")
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value or value < 0:
        return None, _describe(kind)
    if kind == "count" and not float(value).is_integer():
        return None, _describe(kind)
    if value > 10_000:
        return None, "out of range"
    return (int(value) if kind == "count" else value), None


def parse_iso_date(value: Any) -> date | None:
    """A ``date`` from ``YYYY-MM-DD`` text (or a date), else None."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _conditional_problems(values: Mapping[str, Any]) -> dict[str, str]:
    problems: dict[str, str] = {}
    eval_date = values["eval_date"]
    born = date.fromisoformat(values["date_of_birth"])
    if values["date_of_birth"] > eval_date:
        problems["date_of_birth"] = "must not be after eval_date"
    elif date.fromisoformat(eval_date).year - born.year > MAX_AGE:
        problems["date_of_birth"] = "out of range"
    if values["training"] in (Training.CONTRACT, Training.ONGOING) and values["training_start"] is None:
        problems["training_start"] = "required when training is CONTRACT or ONGOING"
    if values["status"] == ResidenceStatus.AE_104C and values["holds_104c_until"] is None:
        problems["holds_104c_until"] = "required when status is AE_104C"
    if values["holds_path"] is not None and values["holds_path_until"] is None:
        problems["holds_path_until"] = "required when holds_path is given (the end of the held path)"
    filed = values["application_filed_on"]
    if filed is not None and filed > eval_date:
        problems["application_filed_on"] = "must not be after eval_date"
    return problems


@dataclass(frozen=True)
class MatchedRule:
    """A rule that matched, by id (for the audit trail and the ABH), with its output cells."""

    rule_id: str
    outputs: Mapping[str, Any]
