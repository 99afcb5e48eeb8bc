"""OpenAPI description of the model check, draft and source routes (webapp.modeler.api_models)."""

from __future__ import annotations

from typing import Any

from webapp.core.openapi import ERRORS


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


TOO_LARGE = {"description": "the model is larger than 2 MiB", **_json(_ref("Error"))}
CHECK_FAILED = {"description": "the check found errors; `problems` lists every finding",
                **_json(_ref("CheckFailed"))}
DRAFT_ID = {"name": "draft_id", "in": "path", "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}
PROCESS_ID = {"name": "process_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 200}}
VERSION = {"name": "version", "in": "path", "required": True,
           "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}}


def _op(summary: str, responses: dict[str, Any], errors: tuple[str, ...], *, body: dict[str, Any] | None = None,
        params: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {**responses, **{e: ERRORS[e] for e in ("400", *errors)}}}
    if body is not None:
        op["requestBody"] = {"required": True, **_json(body)}
    if params:
        op["parameters"] = params
    return op


def _ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, **_json(schema)}


def _published_or_submitted(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"201": _ok(_ref("Published"), "published as the next version"),
            "202": _ok(_ref("Submitted"), "submitted: a second process owner must approve"),
            "422": CHECK_FAILED, **(extra or {})}


def _schemas() -> dict[str, Any]:
    text = {"type": "string"}
    nullable_text = {"type": ["string", "null"]}
    nullable_int = {"type": ["integer", "null"]}
    problem = {"type": "object", "required": ["element_id", "severity", "message"], "properties": {
        "element_id": nullable_text, "severity": {"type": "string", "enum": ["error", "warning"]}, "message": text}}
    draft = {"type": "object", "required": ["id", "kind", "key", "filename", "status", "problems", "version"],
             "properties": {
                 "id": {"type": "integer"}, "kind": {"type": "string", "enum": ["bpmn", "dmn"]}, "key": text,
                 "filename": text, "status": {"type": "string", "enum": ["draft", "submitted", "published",
                                                                         "discarded"]},
                 "problems": {"type": "array", "items": _ref("Problem")}, "base_definition_id": nullable_int,
                 "created_by": text, "created_at": text, "updated_by": text, "updated_at": text,
                 "submitted_by": nullable_text, "submitted_at": nullable_text, "approved_by": nullable_text,
                 "published_at": nullable_text, "published_definition_id": nullable_int,
                 "version": {"type": "integer"}, "content": {"type": "string", "description": "the XML (GET one)"}}}
    return {
        "Problem": problem,
        "Draft": draft,
        "ModelText": {"type": "object", "required": ["filename", "content"], "properties": {
            "filename": {"type": "string", "maxLength": 255, "description": "ends with .bpmn or .dmn"},
            "content": {"type": "string", "description": "the BPMN or DMN XML, at most 2 MiB as UTF-8"},
            "base_definition_id": nullable_int}},
        "DraftUpdate": {"type": "object", "required": ["content", "version"], "properties": {
            "content": text, "version": {"type": "integer", "description": "the draft version that was edited"}}},
        "CheckResult": {"type": "object", "required": ["ok", "problems"], "properties": {
            "ok": {"type": "boolean", "description": "true: no errors (warnings do not block)"},
            "problems": {"type": "array", "items": _ref("Problem")},
            "changes": {"anyOf": [_ref("PublishPreview"), {"type": "null"}],
                        "description": "what publishing would change; null when the file is no model"}}},
        "PublishPreview": {"type": "object", "required": ["process_id", "kind", "next_version"], "properties": {
            "process_id": text, "kind": {"type": "string", "enum": ["bpmn", "dmn"]}, "name": text,
            "current_version": nullable_int, "next_version": {"type": "integer"},
            "identical": {"type": "boolean", "description": "the same bytes as the current version"},
            "retired": {"type": "boolean", "description": "the current version is withdrawn"},
            "added": {"type": "array", "items": text}, "removed": {"type": "array", "items": text},
            "changed": {"type": "array", "items": {"type": "object"}},
            "names": {"type": "object", "additionalProperties": text}}},
        "Retired": {"type": "object", "required": ["process_id", "kind", "retired_at"], "properties": {
            "process_id": text, "kind": {"type": "string", "enum": ["process", "decision"]}, "name": text,
            "versions": {"type": "array", "items": {"type": "integer"}}, "retired_at": nullable_text,
            "blockers": {"type": "array", "items": text}}},
        "CheckFailed": {"type": "object", "required": ["error", "message", "fields"], "properties": {
            "error": text, "message": text, "fields": {"type": "object", "additionalProperties": text},
            "problems": {"type": "array", "items": _ref("Problem")}}},
        "Published": {"type": "object", "required": ["process_id", "version"], "properties": {
            "process_id": text, "version": {"type": "integer"}, "kind": text, "definition_id": {"type": "integer"},
            "draft_id": nullable_int, "name": text}},
        "Submitted": {"type": "object", "required": ["status"], "properties": {
            "status": {"type": "string", "enum": ["submitted"]}, "draft": _ref("Draft")}},
    }


def _paths() -> dict[str, Any]:
    draft_param = [DRAFT_ID]
    return {
        "/model-checks": {"post": {**_op(
            "Check a BPMN or DMN file before publishing and preview what publishing changes (process owners "
            "and admins); JSON text or a multipart file (its bytes unchanged)",
            {"200": _ok(_ref("CheckResult")), "413": TOO_LARGE}, ("401", "403", "422")),
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": _ref("ModelText")},
                "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                    "file": {"type": "string", "format": "binary"}}}}}}}},
        "/process-models/{process_id}/retire": {"post": _op(
            "Withdraw a model that never ran a case: no new cases, kept for history (process owners and "
            "admins); 409 with the reason when cases ran on it or a live model calls it",
            {"200": _ok(_ref("Retired"))}, ("401", "403", "404", "409"), params=[PROCESS_ID])},
        "/process-models/{process_id}/versions/{version}/source": {"get": {
            "summary": "The stored BPMN or DMN XML of one deployed version (also for decision keys)",
            "parameters": [PROCESS_ID, VERSION],
            "responses": {"200": {"description": "the XML, byte for byte as deployed",
                                  "content": {"application/xml": {"schema": {"type": "string"}}}},
                          **{e: ERRORS[e] for e in ("400", "401", "404")}}}},
        "/model-drafts": {
            "post": _op("Save a new draft (not a version: running cases never see it)",
                        {"201": _ok(_ref("Draft")), "413": TOO_LARGE}, ("401", "403", "422"),
                        body=_ref("ModelText")),
            "get": _op("Drafts, newest first", _ok_items(), ("401", "403", "422"), params=[
                {"name": "key", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 200}},
                {"name": "status", "in": "query", "required": False,
                 "schema": {"type": "string", "enum": ["draft", "submitted", "published", "discarded"]}}])},
        "/model-drafts/{draft_id}": {
            "get": _op("A draft with its content", {"200": _ok(_ref("Draft"))}, ("401", "403", "404"),
                       params=draft_param),
            "put": _op("Save the draft; 409 when `version` is not the current one",
                       {"200": _ok(_ref("Draft")), "413": TOO_LARGE}, ("401", "403", "404", "409", "422"),
                       body=_ref("DraftUpdate"), params=draft_param)},
        "/model-drafts/{draft_id}/publish": {"post": _op(
            "Check and publish as the next version (201), or submit for approval when KIM_PUBLISH_APPROVAL "
            "is true (202)", _published_or_submitted(), ("401", "403", "404", "409"), params=draft_param)},
        "/model-drafts/{draft_id}/approve": {"post": _op(
            "Approve a submitted draft (a different process owner than the submitter) and publish it; "
            "optional body {version}: the version reviewed (409 if it changed since)",
            {"201": _ok(_ref("Published")), "422": CHECK_FAILED}, ("401", "403", "404", "409"),
            params=draft_param)},
        "/model-drafts/{draft_id}/discard": {"post": _op(
            "Discard a draft", {"200": _ok(_ref("Draft"))}, ("401", "403", "404", "409"), params=draft_param)},
    }


def _ok_items() -> dict[str, Any]:
    return {"200": _ok({"type": "object", "required": ["items"],
                        "properties": {"items": {"type": "array", "items": _ref("Draft")}}})}


def describe() -> tuple[dict[str, Any], dict[str, Any]]:
    return _paths(), _schemas()
