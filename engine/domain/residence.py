"""Residence-path screening (DOMAIN.md section 5): vocabulary, input checks, derived values, results.

The legal rules live in the DMN tables under ``processes/residence_paths/`` where a process owner
can edit them. This module only does what a decision-table cell cannot do in one simple
expression: it checks the inputs against the vocabulary, turns dates into the numbers and dates
the cells compare against (age at ``eval_date``, months until the training starts, the date on
which the Duldung reaches *n* months, ...) and assembles the table answers into result rows.

Derived values that depend on a threshold are offered as lists indexed by that threshold
(``birthdays[27]``, ``duldung_months_reached_on[12]``, ``training_start_minus_months[7]``) so that
the threshold itself stays in the table, next to the rule that uses it. Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from calendar import monthrange
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Final

from engine.domain.errors import InvalidInput


class ResidenceStatus(StrEnum):
    DULDUNG = "DULDUNG"
    DULDUNG_60B = "DULDUNG_60B"
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


class PathStatus(StrEnum):
    ELIGIBLE = "ELIGIBLE"
    POSSIBLE = "POSSIBLE"          # ABH discretion
    NOT_YET = "NOT_YET"            # with the date it may change
    NOT_MET = "NOT_MET"            # missing items become plan goals
    BLOCKED = "BLOCKED"
    CLOSED = "CLOSED"
    LEGAL_REVIEW = "LEGAL_REVIEW"
    NOT_APPLICABLE = "NOT_APPLICABLE"


class ResidencePath(StrEnum):
    """Path codes; the value of ``path`` in each result row and of ``recommended``."""

    P25A = "25a"
    P25B = "25b"
    P104C = "104c"
    P16G = "16g"
    P60C = "60c"
    P60D = "60d"
    P19D = "19d"
    P60A_2B = "60a_2b"             # ranked, but not screened: needs household data
    LEGAL_REVIEW = "LEGAL_REVIEW"  # §25 Abs. 5 / hardship commission


SCREENING_DECISION: Final = "residence_paths"
PATH_DECISIONS: Final = {
    ResidencePath.P25A: "residence_paths_25a",
    ResidencePath.P25B: "residence_paths_25b",
    ResidencePath.P104C: "residence_paths_104c",
    ResidencePath.P16G: "residence_paths_16g",
    ResidencePath.P60C: "residence_paths_60c",
    ResidencePath.P60D: "residence_paths_60d",
    ResidencePath.P19D: "residence_paths_19d",
}
REQUIREMENTS_25B: Final = "residence_paths_25b_requirements"
RANKING: Final = "residence_paths_ranking"
ALL_DECISIONS: Final = (REQUIREMENTS_25B, *PATH_DECISIONS.values(), RANKING)

MAX_AGE: Final = 120
MAX_MONTHS_INDEX: Final = 120
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# name -> kind; an enum class, or one of "date", "bool", "count" (whole number >= 0), "number" (>= 0)
_FIELDS: Final[dict[str, Any]] = {
    "eval_date": "date", "status": ResidenceStatus, "duldung_months": "count", "stay_years": "number",
    "date_of_birth": "date", "minor_child_in_household": "bool", "school_success_years": "number",
    "german_degree": "bool", "in_education": "bool", "german_level": GermanLevel, "basic_knowledge": "bool",
    "livelihood": Livelihood, "livelihood_expected": "bool", "livelihood_exception": LivelihoodException,
    "employment_hours_week": "number", "employment_insured": "bool", "employment_months": "count",
    "training": Training, "training_start": "date", "identity": Identity, "identity_in_time": "bool",
    "passport_valid": "bool", "current_obstruction": "bool", "conviction": Conviction, "entry_date": "date",
    "work_ban": "bool", "deportation_measures": "bool", "children_school_ok": "bool",
    "special_achievements": "bool", "holds_104c_until": "date", "qualified_work_route": "bool",
}
# Optional inputs and their value when absent. training_start and holds_104c_until are required
# only where a rule needs them (see _conditional_problems); qualified_work_route is our addition
# for the §19d route "foreign degree + qualified employment", which DOMAIN.md has no input for.
_OPTIONAL: Final[dict[str, Any]] = {"training_start": None, "holds_104c_until": None,
                                    "qualified_work_route": False}


def screening_fields() -> dict[str, str]:
    """Input name -> description of the allowed values (for forms and API documentation)."""
    return {name: _describe(kind) for name, kind in _FIELDS.items()}


def _describe(kind: Any) -> str:
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        return "one of " + ", ".join(m.value for m in kind)
    return {"date": "a date (YYYY-MM-DD)", "bool": "true or false", "count": "a whole number >= 0",
            "number": "a number >= 0"}[str(kind)]


# TRANSITIONAL, delete with the rewrite of the inputs to DOMAIN.md section 5: the shipped models
# already pass that list (two identity deadlines, fdgo, benefits, ...). While this module still
# knows the single ``identity_in_time`` of the old tables, the new names are mapped onto it.
_NEW_INPUTS_NOT_YET_READ: Final = frozenset({"fdgo", "qualified_job_offer", "adequate_housing",
                                             "application_filed_on", "holds_path", "benefits"})


def _bridge_new_input_names(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    if "identity_in_time" not in _FIELDS or "identity_in_time" in raw:
        return raw
    bridged = {k: v for k, v in raw.items() if k not in _NEW_INPUTS_NOT_YET_READ}
    if "identity_in_time_60c" in bridged or "identity_in_time_60d" in bridged:
        in_time = [bridged.pop("identity_in_time_60c", None), bridged.pop("identity_in_time_60d", None)]
        bridged["identity_in_time"] = None if None in in_time else all(in_time)
    return bridged


def validate_screening_inputs(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs as plain JSON values (dates as ISO text), or InvalidInput naming every bad field.

    Every input of DOMAIN.md section 5 is required: a screening that silently assumed "no
    conviction" or "passport valid" for a missing answer would mislead the ABH.
    """
    raw = _bridge_new_input_names(raw)
    problems: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name in raw:
        if name not in _FIELDS:
            problems[str(name)] = "unknown input"
    for name, kind in _FIELDS.items():
        value = raw.get(name)
        if value is None:
            if name in _OPTIONAL:
                values[name] = _OPTIONAL[name]
            else:
                problems[name] = "required"
            continue
        checked, problem = _check_value(kind, value)
        if problem:
            problems[name] = problem
        else:
            values[name] = checked
    if not problems:
        problems.update(_conditional_problems(values))
    if problems:
        raise InvalidInput("the screening inputs are incomplete or invalid", problems)
    return values


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
    eval_date = date.fromisoformat(values["eval_date"])
    born = date.fromisoformat(values["date_of_birth"])
    if born > eval_date:
        problems["date_of_birth"] = "must not be after eval_date"
    elif age_on(born, eval_date) > MAX_AGE:
        problems["date_of_birth"] = "out of range"
    if values["training"] in (Training.CONTRACT, Training.ONGOING) and values["training_start"] is None:
        problems["training_start"] = "required when training is CONTRACT or ONGOING"
    if values["status"] == ResidenceStatus.AE_104C and values["holds_104c_until"] is None:
        problems["holds_104c_until"] = "required when status is AE_104C"
    return problems


# --- date arithmetic (BGB §§ 187, 188) ----------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months; a missing day becomes the month's last (§188 Abs. 3 BGB)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, monthrange(year, month + 1)[1]))


def birthday(born: date, years: int) -> date:
    """The day the person turns ``years``; born on 29 February: 1 March in common years."""
    year = born.year + years
    if born.month == 2 and born.day == 29 and monthrange(year, 2)[1] == 28:
        return date(year, 3, 1)
    return date(year, born.month, born.day)


def age_on(born: date, day: date) -> int:
    """Completed years of life on ``day`` (the birthday itself counts, §187 Abs. 2 BGB)."""
    years = day.year - born.year
    return years if birthday(born, years) <= day else years - 1


def months_before(start: date, day: date) -> float:
    """How many months ``day`` lies before ``start`` (negative after it), counted back from ``start``.

    Exactly seven months before gives 7.0, one day earlier a little more than 7, so a table cell
    ``> 7`` separates "7 months + 1 day" from "exactly 7 months".
    """
    if day > start:
        return -_months_after(start, day)
    whole = (start.year - day.year) * 12 + start.month - day.month
    while add_months(start, -whole) < day:
        whole -= 1
    base, previous = add_months(start, -whole), add_months(start, -whole - 1)
    return whole + (base - day).days / (base - previous).days


def _months_after(start: date, day: date) -> float:
    whole = (day.year - start.year) * 12 + day.month - start.month
    while add_months(start, whole) > day:
        whole -= 1
    base, following = add_months(start, whole), add_months(start, whole + 1)
    return whole + (day - base).days / (following - base).days


def derive(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validated inputs plus the derived values the tables compare against (all JSON values)."""
    eval_date = date.fromisoformat(values["eval_date"])
    born = date.fromisoformat(values["date_of_birth"])
    held = int(values["duldung_months"])
    start = parse_iso_date(values["training_start"])
    derived = dict(values)
    derived.update(
        age=age_on(born, eval_date),
        birthdays=[birthday(born, n).isoformat() for n in range(MAX_AGE + 1)],
        last_day_before_birthday=[(birthday(born, n) - timedelta(days=1)).isoformat() for n in range(MAX_AGE + 1)],
        duldung_months_reached_on=[add_months(eval_date, max(0, n - held)).isoformat()
                                   for n in range(MAX_MONTHS_INDEX + 1)],
        months_until_training_start=round(months_before(start, eval_date), 6) if start else None,
        training_start_minus_months=([add_months(start, -n).isoformat() for n in range(MAX_MONTHS_INDEX + 1)]
                                     if start else None),
    )
    return derived


# --- results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatchedRule:
    """A rule that matched, by id (for the audit trail and the ABH), with its output cells."""

    rule_id: str
    outputs: Mapping[str, Any]


@dataclass(frozen=True)
class RequirementSummary:
    """What the §25b requirement table found: unmet requirements and those met only by assessment."""

    unmet: tuple[str, ...] = ()
    compensable: tuple[str, ...] = ()   # unmet ones that special achievements may make up for
    by_assessment: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()

    def as_inputs(self) -> dict[str, int]:
        return {"unmet_count": len(self.unmet), "compensable_unmet_count": len(self.compensable),
                "assessment_count": len(self.by_assessment)}


def summarize_requirements(matched: Iterable[MatchedRule]) -> RequirementSummary:
    """Fold the rules of the COLLECT requirement table (one finding each) into counts."""
    unmet: list[str] = []
    compensable: list[str] = []
    assessed: list[str] = []
    rules: list[str] = []
    for rule in matched:
        name = str(rule.outputs.get("requirement") or "")
        if not name:
            continue
        rules.append(rule.rule_id)
        if str(rule.outputs.get("kind") or "UNMET") == "ASSESSMENT":
            assessed.append(name)
            continue
        unmet.append(name)
        if rule.outputs.get("compensable") is True:
            compensable.append(name)
    return RequirementSummary(*(tuple(dict.fromkeys(x)) for x in (unmet, compensable, assessed, rules)))


@dataclass(frozen=True)
class PathResult:
    """One output row of the screening; ``rules`` names the table rules that gave it."""

    path: str
    status: PathStatus
    missing: tuple[str, ...] = ()
    blocking: tuple[str, ...] = ()
    deadline: str | None = None
    notes: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "status": self.status.value, "missing": list(self.missing),
                "blocking": list(self.blocking), "deadline": self.deadline, "notes": list(self.notes),
                "rules": list(self.rules)}


def path_result(path: str, matched: Sequence[MatchedRule],
                requirements: RequirementSummary | None = None) -> PathResult:
    """Assemble a row from the rules that matched, in table order.

    The first rule decides the status and the deadline (hit policy FIRST). The ``missing``,
    ``blocking`` and ``note`` cells of every later matching rule *with the same status* are
    collected too, so "NOT_MET" lists every unmet requirement, not only the first one. Findings of
    a requirement table count as missing for NOT_MET and POSSIBLE (they become plan goals).
    """
    if not matched:
        raise ValueError(f"no rule of the table for path {path} matched: the table needs a last catch-all rule")
    first = matched[0]
    try:
        status = PathStatus(str(first.outputs.get("status")))
    except ValueError:
        raise ValueError(f"rule {first.rule_id} gives the unknown status {first.outputs.get('status')!r}") from None
    same = [m.outputs for m in matched if m.outputs.get("status") == status.value]
    found = requirements or RequirementSummary()
    extra = [*found.unmet, *found.by_assessment] if status in (PathStatus.NOT_MET, PathStatus.POSSIBLE) else []
    rules = [m.rule_id for m in matched] + (list(found.rules) if extra else [])
    return PathResult(path, status, _codes(extra, same, "missing"), _codes([], same, "blocking"),
                      _deadline(matched[0].outputs.get("deadline")), _codes([], same, "note"), tuple(rules))


def _codes(start: list[str], rows: Sequence[Mapping[str, Any]], key: str) -> tuple[str, ...]:
    found = [*start, *(str(r[key]) for r in rows if r.get(key))]
    return tuple(dict.fromkeys(found))


def _deadline(value: Any) -> str | None:
    if value in (None, ""):
        return None
    parsed = parse_iso_date(value)
    if parsed is None:
        raise ValueError(f"the deadline {value!r} is not a date (YYYY-MM-DD)")
    return parsed.isoformat()
