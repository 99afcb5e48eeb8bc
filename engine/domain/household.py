"""Households in the residence-path screening (DOMAIN.md section 9): members, relations, derived rows.

A household is the main person plus members ``{"id", "relation", "inputs", "married"?}`` whose
relation is given to the main person. The derivation rules themselves (§25b Abs. 4, §25a Abs. 2,
§60a Abs. 2b) are DMN tables evaluated for every ordered pair *source -> member*; this module
checks the members, works out how two members are related to each other (declarative table
below), gathers the source's facts a derivation table reads, and folds the people's rows into the
household view (the path carrying the most members, every member's deadlines). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from engine.domain.errors import InvalidInput
from engine.domain.residence import DerivedPath, PathStatus, ResidencePath, check_screening_inputs
from engine.domain.residence_results import (
    MAIN,
    HouseholdDeadline,
    PathResult,
    PersonScreening,
)

MAX_MEMBERS: Final = 20


class Relation(StrEnum):
    """How a member is related to the main person (a partner counts as spouse)."""

    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"
    SIBLING = "sibling"


# (relation of A to main, relation of B to main) -> relation of B to A; None stands for the main
# person. Pairs missing here (grandparents, in-laws, ...) derive nothing. [default] assumptions:
# the main person's spouse is the other parent of the main person's children, and two parents
# of the main person are a couple.
_RELATIONS: Final[dict[tuple[Relation | None, Relation | None], Relation]] = {
    (None, Relation.SPOUSE): Relation.SPOUSE, (None, Relation.CHILD): Relation.CHILD,
    (None, Relation.PARENT): Relation.PARENT, (None, Relation.SIBLING): Relation.SIBLING,
    (Relation.SPOUSE, None): Relation.SPOUSE, (Relation.CHILD, None): Relation.PARENT,
    (Relation.PARENT, None): Relation.CHILD, (Relation.SIBLING, None): Relation.SIBLING,
    (Relation.SPOUSE, Relation.CHILD): Relation.CHILD, (Relation.CHILD, Relation.SPOUSE): Relation.PARENT,
    (Relation.CHILD, Relation.CHILD): Relation.SIBLING, (Relation.SIBLING, Relation.SIBLING): Relation.SIBLING,
    (Relation.SIBLING, Relation.PARENT): Relation.PARENT, (Relation.PARENT, Relation.SIBLING): Relation.CHILD,
    (Relation.PARENT, Relation.PARENT): Relation.SPOUSE,
}

# Row path -> the path family it counts for in the household recommendation [default].
FAMILIES: Final = {
    ResidencePath.P25A.value: ResidencePath.P25A.value, DerivedPath.P25A_ABS2.value: ResidencePath.P25A.value,
    ResidencePath.P25B.value: ResidencePath.P25B.value, DerivedPath.P25B_ABS4.value: ResidencePath.P25B.value,
    ResidencePath.P19D.value: ResidencePath.P19D.value, ResidencePath.P16G.value: ResidencePath.P16G.value,
    ResidencePath.P60C.value: ResidencePath.P60C.value, ResidencePath.P60D.value: ResidencePath.P60D.value,
    DerivedPath.P60A_2B.value: DerivedPath.P60A_2B.value,
}
CARRYING: Final = frozenset({PathStatus.ELIGIBLE, PathStatus.POSSIBLE, PathStatus.ACTIVE})
"""A member counts for a path family when one of their rows in it has one of these statuses."""
WITH_DEADLINE: Final = frozenset({PathStatus.ELIGIBLE, PathStatus.POSSIBLE, PathStatus.NOT_MET, PathStatus.ACTIVE})
"""Rows whose deadline is a legal deadline (NOT_YET dates say when a path may open, not until when)."""


@dataclass(frozen=True)
class Member:
    """A checked household member; ``relation`` None is the main person."""

    id: str
    relation: Relation | None
    inputs: Mapping[str, Any]
    married: bool = False


def validate_household(main_raw: Mapping[str, Any], household: Any) -> tuple[Member, ...]:
    """The main person and the members, checked; InvalidInput names every bad field.

    Member fields are named ``household[<index>].<field>`` (inputs: ``household[<index>].inputs.<name>``).
    A member without ``eval_date`` is screened on the main person's; a different one is refused,
    because a household is screened on one day.
    """
    main_values, problems = check_screening_inputs(main_raw)
    members: list[Member] = [Member(MAIN, None, main_values)]
    if household is None:
        household = []
    if not isinstance(household, list | tuple) or len(household) > MAX_MEMBERS:
        problems["household"] = f"must be a list of at most {MAX_MEMBERS} members"
        household = []
    seen: set[str] = {MAIN}
    for index, entry in enumerate(household):
        member, found = _member(index, entry, main_values.get("eval_date"), seen)
        problems.update(found)
        if member is not None:
            members.append(member)
    if problems:
        raise InvalidInput("the screening inputs are incomplete or invalid", problems)
    return tuple(members)


def _member(index: int, entry: Any, eval_date: Any, seen: set[str]) -> tuple[Member | None, dict[str, str]]:
    where = f"household[{index}]"
    if not isinstance(entry, Mapping):
        return None, {where: "must be an object {id, relation, inputs}"}
    problems = {f"{where}.{key}": "unknown field" for key in entry if key not in ("id", "relation", "inputs",
                                                                                  "married")}
    member_id, relation, inputs, married = (entry.get(k) for k in ("id", "relation", "inputs", "married"))
    if not isinstance(member_id, str) or not member_id.strip() or member_id in seen or len(member_id) > 64:
        problems[f"{where}.id"] = "must be a unique text of at most 64 characters, not 'main'"
    else:
        seen.add(member_id)
    if relation not in [r.value for r in Relation]:
        problems[f"{where}.relation"] = "one of " + ", ".join(r.value for r in Relation)
    if married is not None and not isinstance(married, bool):
        problems[f"{where}.married"] = "must be true or false"
    if not isinstance(inputs, Mapping):
        problems[f"{where}.inputs"] = "must be an object"
        return None, problems
    raw = dict(inputs)
    if raw.get("eval_date") is None:
        raw["eval_date"] = eval_date
    elif raw["eval_date"] != eval_date:
        problems[f"{where}.inputs.eval_date"] = "must be the main person's eval_date"
    values, found = check_screening_inputs(raw)
    problems.update({f"{where}.inputs.{name}": text for name, text in found.items()})
    if problems:
        return None, problems
    return Member(str(member_id), Relation(str(relation)), values, bool(married)), {}


def relation_between(source: Member, target: Member) -> Relation | None:
    """How ``target`` is related to ``source`` (None: no derivation between them)."""
    return _RELATIONS.get((source.relation, target.relation))


def source_facts(source_data: Mapping[str, Any], source_rows: Sequence[PathResult]) -> dict[str, Any]:
    """What a derivation table reads about the source person: age, birthdays, own §25a and §25b rows."""
    own = {row.path: row for row in source_rows if row.derived_from is None}
    row_25a, row_25b = own.get(ResidencePath.P25A.value), own.get(ResidencePath.P25B.value)
    return {
        "source_age": source_data["age"],
        "source_birthdays": source_data["birthdays"],
        "source_last_day_before_birthday": source_data["last_day_before_birthday"],
        "source_status_25a": (row_25a.status if row_25a else PathStatus.NOT_APPLICABLE).value,
        "source_status_25b": (row_25b.status if row_25b else PathStatus.NOT_APPLICABLE).value,
        "source_deadline_25b": row_25b.deadline if row_25b else None,
    }


def carried_members(people: Sequence[PersonScreening]) -> dict[str, tuple[str, ...]]:
    """Path family -> the people (ids, in household order) one of whose rows in it is ELIGIBLE, POSSIBLE
    or ACTIVE; families nobody is carried by are left out."""
    carried: dict[str, list[str]] = {}
    for person in people:
        for family in dict.fromkeys(FAMILIES[row.path] for row in person.rows
                                    if row.path in FAMILIES and row.status in CARRYING):
            carried.setdefault(family, []).append(person.id)
    return {family: tuple(ids) for family, ids in carried.items()}


def most_carrying(carried: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """The families that carry the most members (more than one on a tie; the ranking breaks it)."""
    if not carried:
        return ()
    most = max(len(ids) for ids in carried.values())
    return tuple(family for family, ids in carried.items() if len(ids) == most)


def household_deadlines(people: Sequence[PersonScreening]) -> tuple[HouseholdDeadline, ...]:
    """Every member's legal deadlines in one list, earliest first."""
    found = [HouseholdDeadline(person.id, row.path, row.status, row.deadline, row.derived_from)
             for person in people for row in person.rows
             if row.deadline is not None and row.status in WITH_DEADLINE]
    order = {person.id: index for index, person in enumerate(people)}
    return tuple(sorted(found, key=lambda d: (d.deadline, order[d.member])))
