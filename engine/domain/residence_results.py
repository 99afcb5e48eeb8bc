"""What a residence-path screening answers (DOMAIN.md sections 5 and 9): rows, recommendation, household.

The DMN tables decide; this module assembles their answers into frozen result objects with a
``to_json`` for the API and the process data, and reads such JSON back (``from_json``) so that a
stored screening can be filtered for an audience or turned into plan-goal proposals later.
Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from engine.domain.residence import DerivedPath, MatchedRule, PathStatus, ResidencePath, parse_iso_date

STATUS_PREFERENCE: Final = (PathStatus.ELIGIBLE, PathStatus.POSSIBLE, PathStatus.NOT_YET, PathStatus.ACTIVE,
                            PathStatus.NOT_MET, PathStatus.BLOCKED, PathStatus.CLOSED, PathStatus.LEGAL_REVIEW,
                            PathStatus.NOT_APPLICABLE)
"""Which of two rows of the same derived path (from two sources) feeds the ranking: the better one."""

MAIN: Final = "main"


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
    """One output row; ``rules`` names the table rules that gave it, ``derived_from`` its source person."""

    path: str
    status: PathStatus
    missing: tuple[str, ...] = ()
    blocking: tuple[str, ...] = ()
    deadline: str | None = None
    notes: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    derived_from: str | None = None

    def to_json(self) -> dict[str, Any]:
        body = {"path": self.path, "status": self.status.value, "missing": list(self.missing),
                "blocking": list(self.blocking), "deadline": self.deadline, "notes": list(self.notes),
                "rules": list(self.rules)}
        if self.derived_from is not None:
            body["derived_from"] = self.derived_from
        return body

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> PathResult:
        def codes(key: str) -> tuple[str, ...]:
            return tuple(str(code) for code in body.get(key) or ())

        derived_from = body.get("derived_from")
        return cls(str(body["path"]), PathStatus(body["status"]), codes("missing"), codes("blocking"),
                   _deadline(body.get("deadline")), codes("notes"), codes("rules"),
                   str(derived_from) if derived_from is not None else None)


def path_result(path: str, matched: Sequence[MatchedRule], requirements: RequirementSummary | None = None,
                derived_from: str | None = None) -> PathResult:
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
                      _deadline(first.outputs.get("deadline")), _codes([], same, "note"), tuple(rules), derived_from)


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


RANKING_KEYS: Final = {
    ResidencePath.P25A.value: "25a", DerivedPath.P25A_ABS2.value: "25a_abs2", ResidencePath.P25B.value: "25b",
    DerivedPath.P25B_ABS4.value: "25b_abs4", ResidencePath.P19D.value: "19d", ResidencePath.P16G.value: "16g",
    ResidencePath.P60C.value: "60c", ResidencePath.P60D.value: "60d", DerivedPath.P60A_2B.value: "60a_2b",
    ResidencePath.P104C.value: "104c",
}
"""Row path -> ranking table input ``status_<key>``."""


def ranking_inputs(rows: Sequence[PathResult]) -> dict[str, str]:
    """The ranking table's inputs: per path the best status of its rows (NOT_APPLICABLE without a row)."""
    inputs: dict[str, str] = {}
    for path, key in RANKING_KEYS.items():
        row = best_row(r for r in rows if r.path == path)
        inputs[f"status_{key}"] = (row.status if row else PathStatus.NOT_APPLICABLE).value
    return inputs


def best_row(rows: Iterable[PathResult]) -> PathResult | None:
    """The row with the best status (first of equals), for ranking paths derived from several sources."""
    ordered = sorted(rows, key=lambda row: STATUS_PREFERENCE.index(row.status))
    return ordered[0] if ordered else None


# --- recommendation ----------------------------------------------------------------------------------

ACTIONS: Final = {
    "APPLY": "Antrag nach {path} stellen{until}",
    "WAIT": "Abwarten und am {date} erneut prüfen ({path})",
    "KEEP": "Bestehenden Weg {path} fortführen{ends}",
    "PREPARE": "Fehlende Voraussetzungen für §25a oder §25b vor Ablauf der §104c-Erlaubnis{until} erfüllen "
               "und rechtzeitig den Antrag stellen",
    "LEGAL_REVIEW": "Rechtliche Prüfung durch die ABH (§25 Abs. 5, Eingabe an die Härtefallkommission)",
}


def path_label(path: str) -> str:
    """``25a`` -> ``§25a``; derived paths already carry their paragraph."""
    if path == ResidencePath.LEGAL_REVIEW:
        return "rechtliche Prüfung"
    return path if path.startswith("§") else f"§{path}"


def german_date(value: str) -> str:
    """ISO date -> TT.MM.JJJJ for user-facing text."""
    return date.fromisoformat(value).strftime("%d.%m.%Y")


@dataclass(frozen=True)
class Recommendation:
    """The ranking's answer: which path, what to do (APPLY, WAIT, KEEP, PREPARE, LEGAL_REVIEW), until when."""

    path: str
    action: str
    status: PathStatus
    date: str | None = None   # apply by / re-screen on / held until
    text: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "action": self.action, "status": self.status.value, "date": self.date,
                "text": self.text}

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Recommendation:
        return cls(str(body["path"]), str(body["action"]), PathStatus(body["status"]), body.get("date"),
                   str(body.get("text") or ""))


def recommend(path: str, action: str, rows: Sequence[PathResult]) -> Recommendation:
    """The recommendation for the ranking's answer, with the date of the recommended row."""
    row = best_row(r for r in rows if r.path == path)
    status = row.status if row else PathStatus.LEGAL_REVIEW
    day = row.deadline if row else None
    shown = german_date(day) if day else ""
    text = ACTIONS.get(action, "{path}").format(path=path_label(path), date=shown,
                                                until=f" (Frist: {shown})" if shown else "",
                                                ends=f" (endet am {shown})" if shown else "")
    return Recommendation(path, action, status, day, text)


# --- people, household, result -------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonScreening:
    """One person's rows (own and derived) and recommendation; ``id`` is ``main`` or the member id."""

    id: str
    rows: tuple[PathResult, ...]
    recommendation: Recommendation
    eval_date: str
    screened_status: str
    relation: str | None = None

    @property
    def recommended(self) -> str:
        return self.recommendation.path

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"outputs": [row.to_json() for row in self.rows], "recommended": self.recommended,
                                "recommendation": self.recommendation.to_json(), "eval_date": self.eval_date,
                                "screened_status": self.screened_status}
        if self.id != MAIN:
            body = {"id": self.id, "relation": self.relation, **body}
        return body

    @classmethod
    def from_json(cls, body: Mapping[str, Any], person_id: str = MAIN) -> PersonScreening:
        return cls(str(body.get("id", person_id)), tuple(PathResult.from_json(r) for r in body["outputs"]),
                   Recommendation.from_json(body["recommendation"]), str(body["eval_date"]),
                   str(body["screened_status"]), body.get("relation"))


@dataclass(frozen=True)
class HouseholdDeadline:
    """A legal deadline of one member: the path it belongs to and, for derived paths, its source."""

    member: str
    path: str
    status: PathStatus
    deadline: str
    derived_from: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"member": self.member, "path": self.path, "status": self.status.value, "deadline": self.deadline,
                "derived_from": self.derived_from}

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> HouseholdDeadline:
        return cls(str(body["member"]), str(body["path"]), PathStatus(body["status"]), str(body["deadline"]),
                   body.get("derived_from"))


@dataclass(frozen=True)
class HouseholdSummary:
    """The household's recommendation (the path carrying the most members) and every member's deadlines."""

    recommended: str
    carried: tuple[str, ...]
    deadlines: tuple[HouseholdDeadline, ...]

    def to_json(self) -> dict[str, Any]:
        return {"recommended": self.recommended, "carried": list(self.carried),
                "deadlines": [d.to_json() for d in self.deadlines]}

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> HouseholdSummary:
        return cls(str(body["recommended"]), tuple(body.get("carried") or ()),
                   tuple(HouseholdDeadline.from_json(d) for d in body.get("deadlines") or ()))


@dataclass(frozen=True)
class ScreeningResult:
    """The screening of a person, or of a household (``members`` and ``household`` then filled)."""

    main: PersonScreening
    members: tuple[PersonScreening, ...] = ()
    household: HouseholdSummary | None = None
    versions: Mapping[str, int] = field(default_factory=dict)  # decision id -> version that answered

    @property
    def outputs(self) -> list[dict[str, Any]]:
        return [row.to_json() for row in self.main.rows]

    @property
    def recommended(self) -> str:
        return self.main.recommended

    @property
    def people(self) -> tuple[PersonScreening, ...]:
        return (self.main, *self.members)

    def to_json(self) -> dict[str, Any]:
        body = {**self.main.to_json(), "versions": dict(self.versions)}
        if self.household is not None:
            body["members"] = [member.to_json() for member in self.members]
            body["household"] = self.household.to_json()
        return body

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ScreeningResult:
        """A stored screening (``to_json`` output) as a result object again."""
        household = body.get("household")
        return cls(PersonScreening.from_json(body),
                   tuple(PersonScreening.from_json(m) for m in body.get("members") or ()),
                   HouseholdSummary.from_json(household) if household is not None else None,
                   dict(body.get("versions") or {}))
