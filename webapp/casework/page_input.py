"""What the case-work pages read from posted forms before a use case sees them: dates typed as
TT.MM.JJJJ, and the consent entry (office list, category checkboxes, signed-on date, custodian)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from werkzeug.datastructures import MultiDict

from engine.services.casework.consent_options import CATEGORY_LABELS

GERMAN_DAY = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*$")


def iso_day(raw: str | None) -> str | None:
    """TT.MM.JJJJ (as the pages ask for it) or JJJJ-MM-TT (a date input) -> JJJJ-MM-TT; None if
    it is neither or no real day."""
    if not raw:
        return None
    match = GERMAN_DAY.match(raw)
    try:
        day = date(int(match[3]), int(match[2]), int(match[1])) if match else date.fromisoformat(raw.strip())
    except ValueError:
        return None
    return day.isoformat()


def consent_body(form: MultiDict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The consent as the API takes it, and what the page can already tell is missing or wrong."""
    problems: dict[str, str] = {}
    categories = [c for c in form.getlist("categories") if c in CATEGORY_LABELS]
    if not categories:
        problems["categories"] = "required"
    if not (form.get("office") or "").strip():
        problems["office"] = "required"
    if not (form.get("purpose") or "").strip():
        problems["purpose"] = "required"
    raw_day = (form.get("signed_on") or "").strip()
    signed_on = iso_day(raw_day)
    if signed_on is None:
        problems["signed_on"] = "TT.MM.JJJJ"
    body = {"office": form.get("office", ""), "purpose": form.get("purpose", ""), "categories": categories,
            "signed_on": signed_on, "custodian": (form.get("custodian") or "").strip() or None}
    return body, problems
