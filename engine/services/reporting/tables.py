"""Report tables as the dashboard's pages, CSV and JSON show them (suppressed by
:mod:`engine.services.reporting.disclosure`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

LABEL, COUNT, TOTAL, MEASURE = "label", "count", "total", "measure"


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # German msgid (translated on pages; German in CSV exports)
    kind: str = COUNT
    bases: tuple[str, ...] = ()  # TOTAL: the count columns it sums; MEASURE: those it is computed from


@dataclass
class Row:
    values: dict[str, Any]
    suppressed: set[str] = field(default_factory=set)

    def shown(self, key: str) -> Any:
        return None if key in self.suppressed else self.values.get(key)


@dataclass
class Table:
    """A suppressed report table: what pages, CSV and JSON all show."""

    name: str
    title: str
    scope: str  # "now": a snapshot at the moment of the request; "range": over the chosen dates
    columns: list[Column]
    rows: list[Row]
    total: Row | None = None

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "scope": self.scope,
                "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in self.columns],
                "rows": [_row_json(self.columns, r) for r in self.rows],
                "total": _row_json(self.columns, self.total) if self.total is not None else None}


def _row_json(columns: Sequence[Column], row: Row) -> dict[str, Any]:
    values = {c.key: _plain(row.shown(c.key)) for c in columns}
    return {"values": values, "suppressed": sorted(row.suppressed)}


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value
