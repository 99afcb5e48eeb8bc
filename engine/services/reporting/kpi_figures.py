"""The shape of an indicator report and its data-protection rules (used by engine.services.reporting.kpis).

A report is a list of indicators; each has a value and/or a breakdown of cells, each cell
naming what it counts in ``dimension``. Counts from 1 to 4 are suppressed (value ``None``,
``suppressed``), and so are medians over fewer than 5 cases (DOMAIN.md section 7). When a
breakdown that adds up to its shown total has exactly one suppressed cell, the next smallest cell
is suppressed as well, because the total minus the shown cells would reveal it (secondary
suppression). Labels of coded answers come from the forms' ``oneOf`` titles, so a municipality
that renames an option in its form sees its own wording in the report.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from engine.domain.disclosure import SUPPRESS_BELOW
from engine.domain.periods import LocalDays
from engine.forms import DEFAULT_FORMS_DIR
from engine.services.reporting.disclosure import protect_breakdown, withhold

MIN_COUNT = SUPPRESS_BELOW  # counts below this are suppressed (engine/domain/disclosure.py)


Range = LocalDays  # the indicators' date range (engine/domain/periods.py)


@dataclass
class Cell:
    """One breakdown row: ``dimension`` names what it counts, e.g. {"office": "ABH", "age": "8-30"}."""

    dimension: dict[str, str]
    label: str
    value: float | None
    unit: str = "count"
    n: int | None = None  # cases behind a duration
    suppressed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"dimension": self.dimension, "label": self.label, "value": self.value, "unit": self.unit,
                "n": self.n, "suppressed": self.suppressed}


@dataclass
class Indicator:
    key: str
    label: str
    unit: str  # count | days | working_days | percent
    definition: str
    value: float | None = None
    suppressed: bool = False
    breakdown: list[Cell] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "unit": self.unit, "definition": self.definition,
                "value": self.value, "suppressed": self.suppressed,
                "breakdown": [c.to_json() for c in self.breakdown]}


suppress = withhold  # the indicators' name for it


def counted(key: str, label: str, definition: str, total: int,
            cells: Iterable[tuple[dict[str, str], str, int]] = ()) -> Indicator:
    """A count with an optional breakdown, suppressed (primary and secondary)."""
    value, hidden = suppress(total)
    indicator = Indicator(key, label, "count", definition, value, hidden)
    cells_list = list(cells)
    for dimension, cell_label, count in cells_list:
        cell_value, cell_hidden = suppress(count)
        indicator.breakdown.append(Cell(dimension, cell_label, cell_value, suppressed=cell_hidden))
    protect_breakdown(total, hidden, indicator.breakdown, [count for *_, count in cells_list])
    return indicator


def median_cell(dimension: dict[str, str], label: str, values: list[float], unit: str) -> Cell:
    """Median with the number of cases; withheld for 1 to 4 cases, empty (not withheld) for none."""
    if len(values) < MIN_COUNT:
        return Cell(dimension, label, None, unit, None, bool(values))
    return Cell(dimension, label, round(statistics.median(values), 1), unit, len(values))


# --- labels from the forms ---------------------------------------------------------------------------


@cache
def option_titles(form_key: str, *path: str) -> dict[str, str]:
    """German titles of an enumerated field (``oneOf`` const/title) from the shipped form schema."""
    try:
        node: Any = json.loads((DEFAULT_FORMS_DIR / f"{form_key}.schema.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    for part in path:
        node = node.get("items", node) if part == "[]" else node.get("properties", {}).get(part, {})
    return {str(o["const"]): str(o.get("title", o["const"])) for o in node.get("oneOf", []) if "const" in o}


def title(form_key: str, field_name: str, code: object, *path: str) -> str:
    if code is None or code == "":
        return "ohne Angabe"
    return option_titles(form_key, *(path or (field_name,))).get(str(code), str(code))
