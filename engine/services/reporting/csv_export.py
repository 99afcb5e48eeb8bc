"""The one CSV writer of the reports (dashboard tables and indicators), for German Excel:
UTF-8 with BOM, ``;`` between fields, dates TT.MM.JJJJ, decimal comma.

In dashboard tables hidden (suppressed) cells are empty and the last column names the hidden
columns of the row, so a reader can tell "fewer than 5" from "no value"; the indicators write
"<5" in place of a withheld value. Text that Excel would run as a formula
(starting with = + - @) is prefixed with an apostrophe, in every report: step names come from
uploaded models, referral sources and option labels from people.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from engine import clock
from engine.services.reporting.tables import Row, Table

SUPPRESSED_HEADER = "unterdrückt (weniger als 5)"
BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(clock.BERLIN).strftime("%d.%m.%Y")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([cell(h) for h in headers])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return (BOM + buffer.getvalue()).encode("utf-8")


def table_csv(table: Table) -> bytes:
    def line(row: Row) -> list[Any]:
        hidden = ", ".join(c.label for c in table.columns if c.key in row.suppressed)
        return [*(row.shown(c.key) for c in table.columns), hidden]

    rows = [line(r) for r in table.rows] + ([line(table.total)] if table.total is not None else [])
    return write_csv([*(c.label for c in table.columns), SUPPRESSED_HEADER], rows)


ESCALATED_HEADERS = ("Amt", "Prozess", "Schritt-ID", "Schritt", "Eskalationsstufe", "fällig am",
                     "überfällig (Arbeitstage)", "Aufgabe", "Aktenzeichen")


def escalated_csv(items: Sequence[dict[str, Any]]) -> bytes:
    return write_csv(ESCALATED_HEADERS, [
        [i["office"], i["process"], i["step"], i["name"], i["escalation_level"],
         datetime.fromisoformat(i["due_at"]) if i["due_at"] else None, i["overdue_working_days"],
         i["task_id"], i["case_reference"]] for i in items])
