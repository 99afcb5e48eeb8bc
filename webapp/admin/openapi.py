"""OpenAPI part of the audit trail (auditors)."""

from __future__ import annotations

from typing import Any

from webapp.core.openapi import UUID_PARAM, _op, _query


def _paths() -> dict[str, Any]:
    return {
        "/audit": {"get": _op(
            "Audit entries in order (auditors only); page with `after` = the last id seen",
            {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object"}},
                                              "next_after": {"type": "integer"}}},
            params=[_query("after", {"type": "integer", "minimum": 0, "maximum": 2**62}),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
                    _query("case_id", UUID_PARAM)], errors=("401", "403", "422"))},
        "/audit/verify": {"get": _op(
            "Recompute every chain, compare its end with its head and check the signed checkpoints "
            "(auditors only)",
            {"type": "object", "properties": {"ok": {"type": "boolean"}, "checked": {"type": "integer"},
                                              "chains": {"type": "integer"}, "checkpoints": {"type": "integer"},
                                              "first_broken_id": {"type": ["integer", "null"]},
                                              "broken_chain": {"type": ["string", "null"]},
                                              "reason": {"type": ["string", "null"]},
                                              "notes": {"type": "array", "items": {"type": "string"}}}},
            errors=("401", "403"))},
    }


def describe() -> tuple[dict[str, Any], dict[str, Any]]:
    return _paths(), {}
