"""Small-count suppression (DOMAIN.md section 7): the one function every report number passes."""

from __future__ import annotations

from engine.services.reporting.disclosure import suppress
from engine.services.reporting.tables import COUNT, LABEL, MEASURE, TOTAL, Column

COLS = [Column("office", "Amt", LABEL), Column("a", "A", COUNT), Column("b", "B", COUNT),
        Column("sum", "Summe", TOTAL, ("a", "b"))]


def _table(rows: list[dict[str, object]], total: dict[str, object] | None = None) -> dict[str, object]:
    return suppress("t", "T", "now", COLS, rows, total).to_json()


def test_counts_from_one_to_four_are_hidden_zero_and_five_are_shown() -> None:
    rows = [{"office": o, "a": a, "b": 10, "sum": a + 10} for o, a in (("X", 0), ("Y", 1), ("Z", 4), ("W", 5))]
    shown = [r["values"]["a"] for r in _table(rows)["rows"]]  # type: ignore[index]
    assert shown == [0, None, None, 5]


def test_row_total_hidden_when_exactly_one_part_is_hidden() -> None:
    table = _table([{"office": "X", "a": 3, "b": 10, "sum": 13}])
    row = table["rows"][0]  # type: ignore[index]
    assert row["values"] == {"office": "X", "a": None, "b": 10, "sum": None}
    assert row["suppressed"] == ["a", "sum"]


def test_row_total_shown_when_two_parts_are_hidden() -> None:
    row = _table([{"office": "X", "a": 3, "b": 2, "sum": 5}])["rows"][0]  # type: ignore[index]
    assert row["values"]["sum"] == 5
    assert row["suppressed"] == ["a", "b"]


def test_column_total_and_grand_total_protect_a_single_hidden_cell() -> None:
    rows = [{"office": "X", "a": 3, "b": 10, "sum": 13}, {"office": "Y", "a": 9, "b": 10, "sum": 19}]
    total = {"office": "Gesamt", "a": 12, "b": 20, "sum": 32}
    result = _table(rows, total)["total"]
    assert result["values"] == {"office": "Gesamt", "a": None, "b": 20, "sum": None}  # type: ignore[index]


def test_column_total_shown_when_two_cells_of_the_column_are_hidden() -> None:
    rows = [{"office": "X", "a": 3, "b": 0, "sum": 3}, {"office": "Y", "a": 4, "b": 0, "sum": 4}]
    result = _table(rows, {"office": "Gesamt", "a": 7, "b": 0, "sum": 7})["total"]
    assert result["values"] == {"office": "Gesamt", "a": 7, "b": 0, "sum": 7}  # type: ignore[index]


def test_measures_follow_their_counts() -> None:
    cols = [Column("n", "n"), Column("median", "Median", MEASURE, ("n",))]
    rows = suppress("w", "W", "range", cols, [{"n": 4, "median": 2.5}, {"n": 5, "median": 3.0},
                                              {"n": 0, "median": None}]).to_json()["rows"]
    assert [r["values"]["median"] for r in rows] == [None, 3.0, None]
    assert [r["suppressed"] for r in rows] == [["median", "n"], [], []]
