"""What would open a path (DOMAIN.md section 5): missing requirements as plan-goal proposals with dates.

For every NOT_MET row, each missing item becomes a proposal of the plan goal the plan-goal table
(``residence_paths_plan_goals``, a [default] each municipality may edit) names for it, with owner
office and usual duration, and the date by which it must be reached for the path to open before
its deadline (the row's deadline: the §104c permit's end, the day before the 27th birthday, the
child's 18th birthday). A BLOCKED or NOT_APPLICABLE row is included when it names blocking reasons
and every one of them has a plan goal (the §60b status: "take the identity steps and have the §60b
status lifted"); a reason no plan goal removes (a conviction, deception) keeps the path shut. Items without a
plan goal (a length of stay, an age) are listed as ``without_goal``: they come with time.
Pure: the plan-goal table's answers come in as data.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

from engine.domain.durations import Duration, DurationError, parse_deadline
from engine.domain.residence import DerivedPath, PathStatus, ResidencePath
from engine.domain.residence_results import (
    PathResult,
    PersonScreening,
    ScreeningResult,
    german_date,
    path_label,
)
from engine.domain.residence_values import add_months

_CANDIDATES: Final = frozenset({PathStatus.NOT_MET, PathStatus.BLOCKED, PathStatus.NOT_APPLICABLE})
_DEADLINE_REASONS: Final = {
    ResidencePath.P25A.value: "vor dem 27. Geburtstag",
    DerivedPath.P25A_ABS2.value: "solange das Kind minderjährig ist",
    DerivedPath.P60A_2B.value: "vor dem 18. Geburtstag des Kindes",
    DerivedPath.P25B_ABS4.value: "innerhalb der Frist der stammberechtigten Person",
}


@dataclass(frozen=True)
class GoalTemplate:
    """The plan-goal table's answer for one missing item; an empty ``goal`` means "no plan goal"."""

    goal: str
    title: str
    offices: tuple[str, ...]   # the first owns the goal, the others help
    duration: str              # ISO 8601, e.g. P6M


@dataclass(frozen=True)
class GoalProposal:
    """A plan goal that would close one gap, and by when it must be reached (None: no deadline)."""

    missing: str
    goal: str
    title: str
    offices: tuple[str, ...]
    duration: str
    reach_by: str | None
    start_by: str | None
    late: bool   # the usual duration no longer fits before reach_by
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"missing": self.missing, "goal": self.goal, "title": self.title, "offices": list(self.offices),
                "duration": self.duration, "reach_by": self.reach_by, "start_by": self.start_by,
                "late": self.late, "text": self.text}


@dataclass(frozen=True)
class PathOpener:
    """The plan goals that would open one row of one person."""

    member: str
    path: str
    status: PathStatus
    deadline: str | None
    proposals: tuple[GoalProposal, ...]
    without_goal: tuple[str, ...]
    derived_from: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"member": self.member, "path": self.path, "status": self.status.value, "deadline": self.deadline,
                "derived_from": self.derived_from, "proposals": [p.to_json() for p in self.proposals],
                "without_goal": list(self.without_goal)}


def lookups(result: ScreeningResult) -> set[tuple[str, str]]:
    """The (screened status, missing item) pairs the plan-goal table must answer for this result."""
    return {(person.screened_status, code) for person, row in _candidates(result) for code in _gaps(row)}


def what_would_open(result: ScreeningResult,
                    templates: Mapping[tuple[str, str], GoalTemplate]) -> tuple[PathOpener, ...]:
    """For every NOT_MET row (and every row blocked only for reasons a plan goal removes) the proposals.

    ``templates`` maps (screened status, missing item) -> the plan-goal table's answer, for every
    pair :func:`lookups` names.
    """
    openers: list[PathOpener] = []
    for person, row in _candidates(result):
        found = {code: templates[(person.screened_status, code)] for code in _gaps(row)}
        if row.status is not PathStatus.NOT_MET and not all(t.goal for t in found.values()):
            continue  # a reason no plan goal removes (a conviction, deception) keeps the path shut
        proposals = tuple(_proposal(code, template, row, person.eval_date)
                          for code, template in found.items() if template.goal)
        without = tuple(code for code, template in found.items() if not template.goal)
        if proposals or without:
            openers.append(PathOpener(person.id, row.path, row.status, row.deadline, proposals, without,
                                      row.derived_from))
    return tuple(openers)


def _candidates(result: ScreeningResult) -> Iterator[tuple[PersonScreening, PathResult]]:
    for person in result.people:
        for row in person.rows:
            if row.status in _CANDIDATES and _gaps(row):
                yield person, row


def _gaps(row: PathResult) -> tuple[str, ...]:
    return row.missing if row.status is PathStatus.NOT_MET else row.blocking


def _proposal(code: str, template: GoalTemplate, row: PathResult, eval_date: str) -> GoalProposal:
    start = _start_by(row.deadline, template.duration)
    late = start is not None and start < eval_date
    text = f"Für {path_label(row.path)}: {template.title}"
    if row.deadline:
        reason = _reason(row)
        text += f", erreicht bis {german_date(row.deadline)}" + (f" ({reason})" if reason else "")
        if start and not late:
            text += f"; spätestens am {german_date(start)} beginnen"
        elif late:
            text += "; sofort beginnen, die übliche Dauer reicht nicht mehr"
    else:
        text += ", ohne Frist"
    return GoalProposal(code, template.goal, template.title, template.offices, template.duration, row.deadline,
                        start, late, text)


def _reason(row: PathResult) -> str:
    if "apply_before_104c_ends" in row.notes or row.path == ResidencePath.P25B.value:
        return "vor Ablauf der §104c-Erlaubnis"  # §25b rows carry a deadline only for §104c holders
    return _DEADLINE_REASONS.get(row.path, "")


def _start_by(deadline: str | None, duration: str) -> str | None:
    """The deadline minus the usual duration; None without a deadline or for working days."""
    if not deadline or not duration:
        return None
    try:
        parsed = parse_deadline(duration)
    except DurationError:
        return None
    if not isinstance(parsed, Duration):
        return None
    day = add_months(date.fromisoformat(deadline), -parsed.calendar_months) - timedelta(days=parsed.calendar_days)
    return day.isoformat()
