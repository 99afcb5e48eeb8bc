"""The residence-path screening of a person or a household (DOMAIN.md sections 5 and 9).

Every member is screened on their own inputs; then the derivation tables (§25b Abs. 4, §25a
Abs. 2, §60a Abs. 2b) run for every ordered pair *source -> member* that are related (see
:mod:`engine.domain.household`), their rows are added to the member with ``derived_from``, and
each person is ranked on own and derived rows together. The household view names the path
family carrying the most members and lists every member's legal deadlines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.bpmn.script_engine import KimScriptEngine
from engine.domain import residence
from engine.domain.household import (
    FAMILIES,
    Member,
    carried_members,
    household_deadlines,
    most_carrying,
    relation_between,
    source_facts,
    validate_household,
)
from engine.domain.residence import PathStatus
from engine.domain.residence_results import (
    RANKING_KEYS,
    HouseholdSummary,
    PathResult,
    PersonScreening,
    ScreeningResult,
)
from engine.services.context import EngineContext
from engine.services.screening.person import own_rows, prepare, ranked_first, screened_person, table_row
from engine.services.screening.tables import Loaded, load


def evaluate_screening(ctx: EngineContext, inputs: Mapping[str, Any],
                       household: Sequence[Mapping[str, Any]] | None = None) -> ScreeningResult:
    """Screen the main person, and with ``household`` every member and the household as a whole.

    ``inputs`` are the main person's screening inputs (DOMAIN.md section 5, ``eval_date``
    included). ``household`` is a list of ``{"id": "m2", "relation": "spouse" | "child" |
    "parent" | "sibling", "inputs": {...}, "married": false}`` (relation to the main person;
    ``married`` only matters for children, default false; a member's ``eval_date`` defaults to the
    main person's). Without a household the result has the one-person shape
    ``{"outputs", "recommended", ...}``; with one (even an empty list) it adds ``members`` and
    ``household``.

    Raises InvalidInput (``fields`` name each bad input, member inputs as
    ``household[<i>].inputs.<name>``), NotFound when a table is not deployed and ModelInvalid
    when a table cannot answer.
    """
    members = validate_household(inputs, household)
    tables = load(ctx, residence.HOUSEHOLD_DECISIONS if len(members) > 1 else residence.PERSON_DECISIONS)
    engine = KimScriptEngine(ctx.calendar)
    data = {m.id: {**prepare(tables, engine, m.inputs), "married": m.married} for m in members}
    rows = {m.id: own_rows(tables, engine, data[m.id]) for m in members}
    derived = _derived_rows(tables, engine, members, data, rows)
    people = tuple(screened_person(tables, engine, m.id, m.relation.value if m.relation else None, data[m.id],
                                   [*rows[m.id], *derived.get(m.id, [])]) for m in members)
    summary = _summary(tables, engine, people) if household is not None else None
    return ScreeningResult(people[0], people[1:], summary, dict(tables.versions))


def _derived_rows(tables: Loaded, engine: KimScriptEngine, members: Sequence[Member],
                  data: Mapping[str, Mapping[str, Any]],
                  rows: Mapping[str, Sequence[PathResult]]) -> dict[str, list[PathResult]]:
    """Member id -> rows derived from other members; a NOT_APPLICABLE derivation gives no row."""
    derived: dict[str, list[PathResult]] = {}
    for source in members:
        facts = source_facts(data[source.id], rows[source.id])
        for target in members:
            relation = relation_between(source, target) if target.id != source.id else None
            if relation is None:
                continue
            pair: dict[str, Any] = {**data[target.id], **facts, "relation": relation.value}
            for path, decision_id in residence.DERIVED_DECISIONS.items():
                row = table_row(tables[decision_id], path.value, pair, engine, derived_from=source.id)
                pair[f"status_{RANKING_KEYS[path.value]}"] = row.status.value
                if row.status is not PathStatus.NOT_APPLICABLE:
                    derived.setdefault(target.id, []).append(row)
    return derived


def _summary(tables: Loaded, engine: KimScriptEngine, people: Sequence[PersonScreening]) -> HouseholdSummary:
    """The path family carrying the most members (ties: the ranking's order), and all deadlines."""
    carried = carried_members(people)
    top = most_carrying(carried)
    if len(top) > 1:
        first = ranked_first(tables, engine, {f"status_{RANKING_KEYS[family]}": PathStatus.ELIGIBLE.value
                                              for family in top})
        top = (FAMILIES.get(first or "", top[0]),)
    recommended = top[0] if top else people[0].recommended
    return HouseholdSummary(recommended, carried.get(recommended, ()), household_deadlines(people))
