"""OpenAPI part of deploying and listing process models."""

from __future__ import annotations

from typing import Any

from webapp.core.openapi import _op, _ref, _with_submitted


def _schemas() -> dict[str, Any]:
    text = {"type": "string"}
    nullable_text = {"type": ["string", "null"]}
    return {
        "Definition": {"type": "object", "properties": {
            "id": {"type": "integer"}, "process_id": text, "kind": {"type": "string", "enum": ["process", "decision"]},
            "version": {"type": "integer"}, "name": text, "deployed_at": text, "deployed_by": nullable_text,
            "sha256": text}},
        "Deployed": {"type": "object", "required": ["process_id", "version"], "properties": {
            "process_id": text, "version": {"type": "integer"}, "kind": text, "deployed": {"type": "array"}}},
    }


def _paths() -> dict[str, Any]:
    listing = {"type": "object", "properties": {"items": {"type": "array", "items": _ref("Definition")}}}
    return {
        "/process-models": {
            "get": _op("Deployed processes and decisions (newest versions)", listing, errors=("401",)),
            "post": {**_with_submitted(_op("Deploy a BPMN or DMN file (at most 2 MiB, else 413); with "
                                           "KIM_PUBLISH_APPROVAL=true it becomes a submitted draft (202)",
                                           _ref("Deployed"), status="201", errors=("401", "403", "413", "422"))),
                     "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                         "type": "object", "required": ["file"],
                         "properties": {"file": {"type": "string", "format": "binary"}}}}}}},
        },
        "/process-models/{process_id}/versions": {"get": _op(
            "All versions of a process or decision", listing,
            params=[{"name": "process_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            errors=("401", "404"))},
    }


def describe() -> tuple[dict[str, Any], dict[str, Any]]:
    return _paths(), _schemas()
