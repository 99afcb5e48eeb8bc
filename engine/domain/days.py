"""Days as people type them: TT.MM.JJJJ (the German UI) or YYYY-MM-DD (the API, date inputs).

One parser for every date a person enters - inbox filters, follow-up dates, report ranges - so a
caseworker who types 10.12.2026 is understood wherever a day is asked for.
"""

from __future__ import annotations

import re
from datetime import date

GERMAN_DAY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_day(value: object) -> date | None:
    """The day written in ``value``, or None when it is no valid day in either form."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        german = GERMAN_DAY.fullmatch(text)
        if german:
            return date(int(german.group(3)), int(german.group(2)), int(german.group(1)))
        return date.fromisoformat(text) if ISO_DAY.fullmatch(text) else None
    except ValueError:
        return None
