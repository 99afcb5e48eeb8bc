"""Small input checks shared by use cases: every problem is reported with its field name."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from engine.domain.errors import InvalidInput


class Fields:
    """Collects field errors, then raises them all at once (a form shows every message)."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def text(self, data: Mapping[str, Any], name: str, prefix: str = "", required: bool = True,
             max_length: int = 200) -> str | None:
        key = f"{prefix}{name}"
        value = data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.errors[key] = "required"
            return None
        if not isinstance(value, str):
            self.errors[key] = "must be text"
            return None
        if len(value) > max_length:
            self.errors[key] = f"at most {max_length} characters"
            return None
        return value.strip()

    def day(self, data: Mapping[str, Any], name: str, prefix: str = "", required: bool = False,
            not_after: date | None = None) -> date | None:
        key = f"{prefix}{name}"
        value = data.get(name)
        if value is None or value == "":
            if required:
                self.errors[key] = "required"
            return None
        try:
            parsed = date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None:
            self.errors[key] = "must be a date (YYYY-MM-DD)"
            return None
        if parsed.year < 1900 or (not_after is not None and parsed > not_after):
            self.errors[key] = "date out of range"
            return None
        return parsed

    def mapping(self, data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
        value = data.get(name)
        if not isinstance(value, Mapping):
            self.errors[name] = "required (an object)"
            return {}
        return value

    def raise_if_any(self, message: str = "the input is invalid") -> None:
        if self.errors:
            raise InvalidInput(message, self.errors)
