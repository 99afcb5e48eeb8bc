"""The one place where small counts are withheld (DOMAIN.md section 7), for every report.

Every aggregated number the supervisor dashboard and the indicators show, export or serve
passes through here, so the rule "counts under 5 are not shown" cannot be forgotten by one view.
The threshold itself is :data:`engine.domain.disclosure.SUPPRESS_BELOW`.

The rule, cell by cell:

1. *Primary*: a count from 1 to 4 is hidden (``None`` plus the column key in ``suppressed``).
   A zero is shown: "nobody" identifies no one, and hiding zeros would blank most charts.
2. *Totals*: a total that would let a reader compute a hidden cell is hidden too. A row total is
   hidden when exactly one of the cells it sums is hidden; a cell of the total row is hidden
   when exactly one cell of its column is hidden; the grand total also when exactly one row
   total is hidden. With two or more hidden cells a total gives away only their sum.
3. *Measures* (median, share, ...) are hidden when a count they are computed from is hidden, or
   when they are taken over fewer than 5 cases (their first base), because a median of three
   waiting times is three people's waiting times. A share of 0 late among 12 waiting reveals
   nothing the shown 0 does not, and stays visible.

Differencing across *different* tables (e.g. the sum of the per-step table against the office
table's grand total) is not prevented; the per-step table has no total row for that reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from engine.domain.disclosure import SUPPRESS_BELOW, is_small_count
from engine.services.reporting.tables import COUNT, MEASURE, TOTAL, Column, Row, Table


def withhold(count: int) -> tuple[int | None, bool]:
    """A count as reports show it: (value, False), or (None, True) for 1 to 4."""
    return (None, True) if is_small_count(count) else (count, False)


class BreakdownCell(Protocol):
    value: float | None
    suppressed: bool


def protect_breakdown(total: int, total_hidden: bool, cells: Sequence[BreakdownCell],
                      counts: Sequence[int]) -> None:
    """A shown total minus the shown cells must not reveal the one hidden cell: when exactly one
    cell is hidden and the cells add up to the total, the next smallest shown cell is hidden too."""
    hidden = [c for c in cells if c.suppressed]
    if total_hidden or len(hidden) != 1 or sum(counts) != total:
        return
    shown = [c for c in cells if not c.suppressed and c.value]
    if shown:
        smallest = min(shown, key=lambda c: c.value or 0)
        smallest.value, smallest.suppressed = None, True


def is_small(value: Any) -> bool:
    return is_small_count(value)


def suppress(name: str, title: str, scope: str, columns: Sequence[Column], rows: Iterable[Mapping[str, Any]],
             total: Mapping[str, Any] | None = None) -> Table:
    """Build a table from raw values, hiding small counts and the totals that would reveal them."""
    cols = list(columns)
    counts = [c.key for c in cols if c.kind == COUNT]
    totals = [c for c in cols if c.kind == TOTAL]
    body = [Row(dict(values)) for values in rows]
    total_row = Row(dict(total)) if total is not None else None
    for row in [*body, *([total_row] if total_row else [])]:
        row.suppressed = {k for k in (*counts, *(t.key for t in totals)) if is_small(row.values.get(k))}
    for row in body:
        _protect_row_totals(row, totals)
    if total_row is not None:
        for key in counts:
            if sum(key in row.suppressed for row in body) == 1:
                total_row.suppressed.add(key)
        _protect_row_totals(total_row, totals)
        for total_column in totals:
            if sum(total_column.key in row.suppressed for row in body) == 1:
                total_row.suppressed.add(total_column.key)
    for row in [*body, *([total_row] if total_row else [])]:
        _suppress_measures(row, cols)
    return Table(name, title, scope, cols, body, total_row)


def _protect_row_totals(row: Row, totals: Sequence[Column]) -> None:
    for total in totals:
        if sum(k in row.suppressed for k in total.bases) == 1:
            row.suppressed.add(total.key)


def _suppress_measures(row: Row, columns: Sequence[Column]) -> None:
    for column in columns:
        if column.kind != MEASURE or row.values.get(column.key) is None:
            continue
        cases = row.values.get(column.bases[0]) if column.bases else None  # what the measure is taken over
        if any(b in row.suppressed for b in column.bases) or (isinstance(cases, int) and cases < SUPPRESS_BELOW):
            row.suppressed.add(column.key)
