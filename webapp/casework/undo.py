"""An "undo" offered once, right after an action that is cheap to reverse (a task released, a
consent withdrawn by mistake): the next page shows a button that posts the reversing action."""

from __future__ import annotations

from typing import Any

from flask import session

KEY = "kim_undo"


def offer_undo(label: str, action: str, back: str) -> None:
    session[KEY] = {"label": label, "action": action, "back": back}


def take_undo() -> dict[str, Any] | None:
    """The offer, once (a reload does not show it again)."""
    offer = session.pop(KEY, None)
    return offer if isinstance(offer, dict) else None
