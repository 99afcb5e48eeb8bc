"""What a task is about, read from its data when the step creates it (the model's ``showFrom``).

The values are copied onto the task row rather than read from the workflow when the page is shown:
the loop item a warning was created for (``household_deadline``) lives in the workflow's state only
while the task waits, and the page must not restore a workflow to say whose deadline it is.

Only plain values are kept - text, numbers, yes/no, dates, lists of those - each cut to a bounded
length; a nested object is left out. They are shown as text (escaped), never as markup. An ISO day
(YYYY-MM-DD) is kept as a date (``kind`` "date"), so each language shows it its own way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

MAX_VALUE = 200  # characters of one shown value
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def task_context(show_from: Sequence[tuple[str, str]], data: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """``[{label, value, kind}]`` for the entries found in ``data`` (kind: text, date or bool);
    None when the model names nothing or nothing was found."""
    found = []
    for label, path in show_from:
        entry = _entry(_lookup(data, path))
        if entry is not None:
            found.append({"label": label, **entry})
    return found or None


def _lookup(data: Mapping[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _entry(value: Any) -> dict[str, Any] | None:
    if isinstance(value, bool):
        return {"value": value, "kind": "bool"}
    if isinstance(value, str) and _ISO_DAY.fullmatch(value.strip()) and _is_day(value.strip()):
        return {"value": value.strip(), "kind": "date"}
    if isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value if isinstance(v, str | int | float) and str(v).strip())
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    text = " ".join(value.split())
    return {"value": text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 1] + "…", "kind": "text"}


def _is_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
