"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json.

Written by hand next to the views it describes; tests/webapp/test_openapi.py checks that
every route is documented and schemathesis checks the implementation against it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
    "422": "invalid input; `fields` names what is wrong", "413": "the upload is too large"}.items()}


def _op(summary: str, ok: dict[str, Any], *, status: str = "200", body: dict[str, Any] | None = None,
        params: list[dict[str, Any]] | None = None, errors: tuple[str, ...] = ("401", "404", "422")) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {status: {"description": "OK", **_json(ok)},
                                                            **{e: ERRORS[e] for e in ("400", *errors)}}}
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


TASK_QUERY = [
    _query("view", {"type": "string", "enum": ["mine", "office", "all"]}, "default office"),
    _query("state", {"type": "string", "enum": ["open", "claimed", "completed", "cancelled", "any"]}),
    _query("office", {"type": "string", "maxLength": 16}),
    _query("overdue", {"type": "string", "enum": ["true", "false"]}),
    _query("assignee", {"type": "string", "maxLength": 100}),
    _query("step", {"type": "string", "maxLength": 200}, "BPMN id of the step"),
    _query("due_from", DATE), _query("due_to", DATE),
    _query("q", {"type": "string", "maxLength": 100}, "case reference or name"),
    _query("include_follow_up", {"type": "string", "enum": ["true", "false"]}),
    _query("sort", {"type": "string", "enum": ["due_at", "-due_at", "created_at", "-created_at", "name", "-name",
                                               "escalation_level", "-escalation_level"]}),
    _query("page", {"type": "integer", "minimum": 1, "maximum": 100000}),
    _query("per_page", {"type": "integer", "minimum": 1, "maximum": 200}),
]


def _schemas() -> dict[str, Any]:
    text = {"type": "string"}
    nullable_text = {"type": ["string", "null"]}
    return {
        "Error": {"type": "object", "required": ["error", "message", "fields"], "properties": {
            "error": text, "message": text, "fields": {"type": "object", "additionalProperties": text}}},
        "Task": {"type": "object", "required": ["id", "name", "office", "state"], "properties": {
            "id": UUID_PARAM, "case_id": nullable_text, "case_reference": nullable_text, "person_name": nullable_text,
            "process_instance_id": UUID_PARAM, "process_id": text, "bpmn_id": text, "name": text, "office": text,
            "assignee": nullable_text, "state": {"type": "string", "enum": ["open", "claimed", "completed",
                                                                           "cancelled", "held"]},
            "created_at": {"type": "string", "format": "date-time"}, "due_at": DATETIME_OR_NULL,
            "follow_up_at": DATETIME_OR_NULL, "escalation_level": {"type": "integer"}, "form_key": nullable_text,
            "completed_at": DATETIME_OR_NULL, "completed_by": nullable_text, "version": {"type": "integer"},
            "data": {"type": "object"}, "form": {"type": ["object", "null"]}}},
        "TaskList": {"type": "object", "required": ["items", "total"], "properties": {
            "items": {"type": "array", "items": _ref("Task")}, "total": {"type": "integer"},
            "total_capped": {"type": "boolean", "description": "true: more than `total` tasks match"},
            "page": {"type": "integer"}, "per_page": {"type": "integer"}}},
        "Person": {"type": "object", "required": ["given_name", "family_name"], "properties": {
            "given_name": {"type": "string", "minLength": 1, "maxLength": 200},
            "family_name": {"type": "string", "minLength": 1, "maxLength": 200},
            "date_of_birth": {"type": ["string", "null"], "format": "date"},
            "nationality": {"type": ["string", "null"], "maxLength": 100}}},
        "Referral": {"type": "object", "required": ["source", "reason"], "properties": {
            "source": {"type": "string", "minLength": 1, "maxLength": 100},
            "reason": {"type": "string", "minLength": 1, "maxLength": 4000},
            "referred_at": {"type": ["string", "null"], "format": "date"}}},
        "NewCase": {"type": "object", "required": ["person", "referral"], "properties": {
            "person": _ref("Person"), "referral": _ref("Referral"), "process_id": {"type": "string"},
            "household": {"type": "array", "maxItems": 20, "items": _ref("HouseholdMember")}}},
        "HouseholdMember": {"type": "object", "required": ["given_name", "relation"], "properties": {
            "given_name": {"type": "string", "minLength": 1, "maxLength": 200},
            "family_name": {"type": ["string", "null"], "maxLength": 200},
            "relation": {"type": "string", "enum": ["SPOUSE", "CHILD", "PARENT", "SIBLING", "OTHER"]},
            "date_of_birth": {"type": ["string", "null"], "format": "date"}}},
        "Consent": {"type": "object", "properties": {
            "id": UUID_PARAM, "office": text, "categories": {"type": "array", "items": text}, "purpose": text,
            "granted_at": {"type": "string", "format": "date-time"}, "withdrawn_at": DATETIME_OR_NULL}},
        "NewConsent": {"type": "object", "required": ["office", "purpose"], "properties": {
            "office": {"type": "string", "maxLength": 16}, "purpose": {"type": "string", "maxLength": 2000},
            "categories": {"type": "array", "items": {"type": "string", "maxLength": 64}}}},
        "Case": {"type": "object", "required": ["id", "reference"], "properties": {
            "id": UUID_PARAM, "reference": text, "status": text, "opened_at": {"type": "string"},
            "closed_at": DATETIME_OR_NULL, "person": {"type": "object"},
            "household": {"type": "array", "items": {"type": "object"}},
            "referral": {"type": "object"}, "tasks": {"type": "array", "items": _ref("Task")},
            "consents": {"type": "array", "items": _ref("Consent")}}},
        "Definition": {"type": "object", "properties": {
            "id": {"type": "integer"}, "process_id": text, "kind": {"type": "string", "enum": ["process", "decision"]},
            "version": {"type": "integer"}, "name": text, "deployed_at": text, "deployed_by": nullable_text,
            "sha256": text}},
        "Deployed": {"type": "object", "required": ["process_id", "version"], "properties": {
            "process_id": text, "version": {"type": "integer"}, "kind": text, "deployed": {"type": "array"}}},
    }


def _paths() -> dict[str, Any]:
    task_id = [_path_param("task_id")]
    data_body = {"type": "object", "properties": {"data": {"type": "object"}}}
    listing = {"type": "object", "properties": {"items": {"type": "array", "items": _ref("Definition")}}}
    return {
        "/cases": {"post": _op("Open a case and start its process", _ref("Case"), status="201",
                               body=_ref("NewCase"), errors=("401", "403", "404", "422"))},
        "/cases/{case_id}": {"get": _op("A case, with only what the caller may see", _ref("Case"),
                                        params=[_path_param("case_id")])},
        "/cases/{case_id}/consents": {"post": _op(
            "Record a consent for an office", _ref("Consent"), status="201", body=_ref("NewConsent"),
            params=[_path_param("case_id")], errors=("401", "403", "404", "422"))},
        "/cases/{case_id}/consents/{consent_id}/withdraw": {"post": _op(
            "Withdraw a consent; open tasks of that office in the case are cancelled", _ref("Consent"),
            params=[_path_param("case_id"), _path_param("consent_id")], errors=("401", "403", "404", "409"))},
        "/tasks": {"get": _op("The inbox", _ref("TaskList"), params=TASK_QUERY, errors=("401", "403", "422"))},
        "/tasks/{task_id}": {"get": _op("A task with its form and current data", _ref("Task"), params=task_id)},
        "/tasks/{task_id}/claim": {"post": _op("Claim", _ref("Task"), params=task_id, errors=("401", "404", "409"))},
        "/tasks/{task_id}/release": {"post": _op("Release", _ref("Task"), params=task_id,
                                                 errors=("401", "404", "409"))},
        "/tasks/{task_id}/assign": {"post": _op(
            "Assign to a colleague of the task's office", _ref("Task"), params=task_id,
            body={"type": "object", "required": ["username"], "properties": {"username": {"type": "string"}}},
            errors=("401", "404", "409", "422"))},
        "/tasks/{task_id}/follow-up": {"post": _op(
            "Set or clear the follow-up date (Wiedervorlage)", _ref("Task"), params=task_id,
            body={"type": "object", "required": ["date"], "properties": {"date": {"type": ["string", "null"],
                                                                                  "format": "date"}}},
            errors=("401", "404", "409", "422"))},
        "/tasks/{task_id}/draft": {"post": _op("Save form data without completing", _ref("Task"), params=task_id,
                                               body=data_body, errors=("401", "404", "409", "422"))},
        "/tasks/{task_id}/complete": {"post": _op(
            "Validate, complete and advance the process",
            {"type": "object", "properties": {"task": _ref("Task"),
                                              "next_tasks": {"type": "array", "items": _ref("Task")}}},
            params=task_id, body=data_body, errors=("401", "404", "409", "422"))},
        "/overdue": {"get": _op("Overdue open tasks of the caller's offices (office leads)", _ref("TaskList"),
                                params=[_query("office", {"type": "string", "maxLength": 16}),
                                        _query("page", {"type": "integer", "minimum": 1, "maximum": 100000}),
                                        _query("per_page", {"type": "integer", "minimum": 1, "maximum": 200})],
                                errors=("401", "403", "422"))},
        "/process-models": {
            "get": _op("Deployed processes and decisions (newest versions)", listing, errors=("401",)),
            "post": {**_with_submitted(_op("Deploy a BPMN or DMN file (at most 2 MiB, else 413); with "
                                           "KIM_PUBLISH_APPROVAL=true it becomes a submitted draft (202)",
                                           _ref("Deployed"), status="201", errors=("401", "403", "413", "422"))),
                     "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                         "type": "object", "required": ["file"],
                         "properties": {"file": {"type": "string", "format": "binary"}}}}}}},
        },
        "/decisions/{decision_id}/evaluate": {"post": _op(
            "Evaluate a deployed DMN decision (e.g. residence_paths, the residence-path screening)",
            {"type": "object", "required": ["outputs"], "properties": {
                "outputs": {"type": "array", "items": {"type": "object"}}, "recommended": {"type": "string"},
                "versions": {"type": "object"}}},
            params=[{"name": "decision_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            body={"type": "object", "required": ["inputs"], "properties": {"inputs": {"type": "object"}}},
            errors=("401", "404", "422"))},
        "/audit": {"get": _op(
            "Audit entries in order (auditors only); page with `after` = the last id seen",
            {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object"}},
                                              "next_after": {"type": "integer"}}},
            params=[_query("after", {"type": "integer", "minimum": 0, "maximum": 2**62}),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
                    _query("case_id", UUID_PARAM)], errors=("401", "403", "422"))},
        "/audit/verify": {"get": _op(
            "Recompute the hash chain (auditors only)",
            {"type": "object", "properties": {"ok": {"type": "boolean"}, "checked": {"type": "integer"},
                                              "first_broken_id": {"type": ["integer", "null"]},
                                              "reason": {"type": ["string", "null"]}}},
            errors=("401", "403"))},
        "/process-models/{process_id}/versions": {"get": _op(
            "All versions of a process or decision", listing,
            params=[{"name": "process_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            errors=("401", "404"))},
    }


PathsAndSchemas = Callable[[], tuple[dict[str, Any], dict[str, Any]]]
_EXTENSIONS: list[PathsAndSchemas] = []


def register_openapi(describe: PathsAndSchemas) -> None:
    """Let an API module add its paths and component schemas, documented next to its views."""
    if describe not in _EXTENSIONS:
        _EXTENSIONS.append(describe)


def openapi_document() -> dict[str, Any]:
    paths, schemas = _paths(), _schemas()
    for describe in _EXTENSIONS:
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
