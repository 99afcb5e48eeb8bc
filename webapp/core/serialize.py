"""Service results to JSON: the web layer's one serialiser.

Use cases return frozen dataclasses holding dates, UUIDs and enums; the API answers JSON with
ISO 8601 strings. Fields a record lists in ``hidden`` (need to know) are left out, as are
fields marked as bookkeeping (``metadata={"hidden_field": True}``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID


def to_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        hidden: frozenset[str] = getattr(value, "hidden", frozenset())
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not f.metadata.get("hidden_field") and f.name not in hidden}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        return [to_json(v) for v in value]
    return value
