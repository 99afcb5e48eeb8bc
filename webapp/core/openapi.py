"""The OpenAPI 3.1 description of /api/v1, assembled from the parts each area registers.

Each area describes its own paths and schemas next to its views (``<area>/openapi.py`` or a
``describe`` function) and registers them in its ``init_app``; tests/webapp/test_openapi.py
checks that every route is documented and schemathesis checks the implementation against it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

UUID_PARAM = {"type": "string", "format": "uuid"}
DATE = {"type": "string", "format": "date"}
DATETIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


ERRORS = {code: {"description": text, **_json(_ref("Error"))} for code, text in {
    "400": "malformed request", "401": "not signed in", "403": "not allowed",
    "404": "not found (also for objects the caller may not see)", "409": "state conflict",
    "422": "invalid input; `fields` names what is wrong", "413": "the upload is too large",
    "503": "the database cannot be reached just now: nothing was changed, try again after `Retry-After` seconds",
}.items()}
ERRORS["503"]["headers"] = {"Retry-After": {"description": "seconds to wait before trying again",
                                            "schema": {"type": "integer"}}}


def _op(summary: str, ok: dict[str, Any], *, status: str = "200", body: dict[str, Any] | None = None,
        params: list[dict[str, Any]] | None = None, errors: tuple[str, ...] = ("401", "404", "422")) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {status: {"description": "OK", **_json(ok)},
                                                            **{e: ERRORS[e] for e in ("400", *errors, "503")}}}
    if body is not None:
        op["requestBody"] = {"required": True, **_json(body)}
    if params:
        op["parameters"] = params
    return op


def _with_submitted(op: dict[str, Any]) -> dict[str, Any]:
    op["responses"]["202"] = {"description": "submitted: a second process owner must approve", **_json(
        {"type": "object", "required": ["status"], "properties": {"status": {"type": "string", "enum": ["submitted"]},
                                                                   "draft": {"type": "object"}}})}
    return op


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": UUID_PARAM}


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


PathsAndSchemas = Callable[[], tuple[dict[str, Any], dict[str, Any]]]


def _core_schemas() -> dict[str, Any]:
    text = {"type": "string"}
    return {"Error": {"type": "object", "required": ["error", "message", "fields"], "properties": {
        "error": text, "message": text, "fields": {"type": "object", "additionalProperties": text}}}}


def register_openapi(app: Flask, describe: PathsAndSchemas) -> None:
    """Let an area add its paths and component schemas, documented next to its views."""
    parts: list[PathsAndSchemas] = app.extensions.setdefault("kim_openapi", [])
    if describe not in parts:
        parts.append(describe)


def openapi_document(app: Flask) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas = _core_schemas()
    for describe in app.extensions.get("kim_openapi", []):
        more_paths, more_schemas = describe()
        paths.update(more_paths)
        schemas.update(more_schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "KIM Casework API", "version": "1.0.0",
                 "description": "Cases, tasks and process models of the Kommunales Integrationsmanagement."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}, {"cookieAuth": []}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "description": "token from `kim users token`"},
            "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session",
                           "description": "browser session; changes need the X-CSRF-Token header"}}},
    }
