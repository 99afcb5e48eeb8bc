"""Query-string arguments of API views, checked: a bad one is a 422 naming it, never a 500."""

from __future__ import annotations

from uuid import UUID

from flask import request

from engine.domain.errors import InvalidInput


def int_query(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidInput(f"'{name}' must be a whole number from {low} to {high}", {name: "out of range"})
    return int(raw)


def uuid_query(name: str) -> UUID:
    try:
        return UUID(request.args.get(name, ""))
    except ValueError as exc:
        raise InvalidInput(f"'{name}' must be a UUID", {name: "not a UUID"}) from exc
