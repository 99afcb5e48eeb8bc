"""What the task page's script needs to know about a form beyond its fields: which fields become
required by another answer (``allOf``/``if``/``then``), and which dates may not lie in the future.

The server checks both (engine.forms); the script only shows the asterisk and the date limit as
the answers change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine import clock
from engine.forms import NOT_FUTURE


def field_rules(schema: Mapping[str, Any]) -> dict[str, Any]:
    required_if: list[dict[str, Any]] = []
    for clause in schema.get("allOf") or []:
        if not isinstance(clause, Mapping):
            continue
        condition = (clause.get("if") or {}).get("properties") or {}
        then = (clause.get("then") or {}).get("required") or []
        for field, test in condition.items():
            if isinstance(test, Mapping) and "const" in test and then:
                required_if.append({"field": field, "value": test["const"], "required": list(then)})
    not_future = [name for name, prop in (schema.get("properties") or {}).items()
                  if isinstance(prop, Mapping) and prop.get(NOT_FUTURE) is True]
    return {"required_if": required_if, "not_future": not_future,
            "today": clock.local_now().date().isoformat()}
