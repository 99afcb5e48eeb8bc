"""OpenAPI part of the case-work API: cases, consents, tasks, overdue lists, decisions."""

from __future__ import annotations

from typing import Any

from webapp.core.openapi import DATE, DATETIME_OR_NULL, UUID_PARAM, _op, _path_param, _query, _ref

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
        "Task": {"type": "object", "required": ["id", "name", "office", "state"], "properties": {
            "id": UUID_PARAM, "case_id": nullable_text, "case_reference": nullable_text, "person_name": nullable_text,
            "process_instance_id": UUID_PARAM, "process_id": text, "bpmn_id": text, "name": text, "office": text,
            "assignee": nullable_text, "state": {"type": "string", "enum": ["open", "claimed", "completed",
                                                                           "cancelled", "held"]},
            "created_at": {"type": "string", "format": "date-time"}, "due_at": DATETIME_OR_NULL,
            "follow_up_at": DATETIME_OR_NULL, "follow_up_reason": nullable_text,
            "escalation_level": {"type": "integer"}, "form_key": nullable_text,
            "completed_at": DATETIME_OR_NULL, "completed_by": nullable_text, "version": {"type": "integer"},
            "audience": {"type": ["string", "null"], "enum": ["lead", None],
                         "description": "lead: for the office's leads only"},
            "data": {"type": "object"}, "form": {"type": ["object", "null"]},
            "context": {"type": "array", "description": "what the task is about (the model's showFrom); "
                                                       "only in the task detail, only with its data",
                        "items": {"type": "object", "required": ["label", "value"], "properties": {
                            "label": text, "value": {"type": ["string", "boolean"],
                                                     "description": "text, a day (YYYY-MM-DD) or yes/no"}}}}}},
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
            "granted_at": {"type": "string", "format": "date-time"}, "withdrawn_at": DATETIME_OR_NULL,
            "signed_on": {"type": ["string", "null"], "format": "date"}, "custodian": nullable_text}},
        "NewConsent": {"type": "object", "required": ["office", "purpose"], "properties": {
            "office": {"type": "string", "maxLength": 16}, "purpose": {"type": "string", "maxLength": 2000},
            "categories": {"type": "array", "items": {"type": "string", "maxLength": 64}},
            "signed_on": {"type": ["string", "null"], "format": "date",
                          "description": "the day the person signed; not in the future"},
            "custodian": {"type": ["string", "null"], "maxLength": 200,
                          "description": "who signed for a minor (required when the person was under 18 that day)"}}},
        "NewConference": {"type": "object", "required": ["offices", "date", "agenda"], "properties": {
            "offices": {"type": "array", "minItems": 1, "maxItems": 10, "items": {"type": "string", "maxLength": 16},
                        "description": "offices to invite; each needs a valid consent for the case (the case "
                                       "management running it excepted)"},
            "date": {"type": "string", "format": "date", "description": "the day of the conference (today or later)"},
            "agenda": {"type": "string", "minLength": 1, "maxLength": 4000}}},
        "Conference": {"type": "object", "required": ["id", "case_id", "convener_office", "held_on", "offices"],
                       "properties": {
            "id": UUID_PARAM, "case_id": UUID_PARAM, "case_reference": text, "convener_office": text,
            "convened_by": text, "convened_at": {"type": "string", "format": "date-time"},
            "held_on": {"type": "string", "format": "date"}, "agenda": text,
            "offices": {"type": "array", "items": text}, "status": text, "minutes_recorded": {"type": "boolean"},
            "minutes": {"type": ["object", "null"], "description": "the minutes (participants only)"}}},
        "Case": {"type": "object", "required": ["id", "reference"], "properties": {
            "id": UUID_PARAM, "reference": text, "status": text, "opened_at": {"type": "string"},
            "closed_at": DATETIME_OR_NULL, "person": {"type": "object"},
            "household": {"type": "array", "items": {"type": "object"}},
            "referral": {"type": "object"}, "tasks": {"type": "array", "items": _ref("Task")},
            "consents": {"type": "array", "items": _ref("Consent")}}},
    }


def _paths() -> dict[str, Any]:
    task_id = [_path_param("task_id")]
    data_body = {"type": "object", "properties": {"data": {"type": "object"}}}
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
        "/cases/{case_id}/conferences": {
            "post": _op("Convene a case conference (case management of the case, or the KIM coordination); "
                        "refused (422) for an office without a valid consent", _ref("Conference"), status="201",
                        body=_ref("NewConference"), params=[_path_param("case_id")],
                        errors=("401", "403", "404", "409", "422")),
            "get": _op("The case conferences of a case the caller may know of (without minutes)",
                       {"type": "object", "properties": {"items": {"type": "array", "items": _ref("Conference")}}},
                       params=[_path_param("case_id")])},
        "/conferences/{conference_id}": {"get": _op(
            "A case conference with its minutes, for its participants only (everyone else: 404); audited",
            _ref("Conference"), params=[_path_param("conference_id")])},
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
            body={"type": "object", "required": ["date"], "properties": {
                "date": {"type": ["string", "null"], "format": "date"},
                "reason": {"type": ["string", "null"], "maxLength": 500}}},
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
        "/decisions/{decision_id}/evaluate": {"post": _op(
            "Evaluate a deployed DMN decision (e.g. residence_paths, the residence-path screening)",
            {"type": "object", "required": ["outputs"], "properties": {
                "outputs": {"type": "array", "items": {"type": "object"}},
                "recommended": {"type": ["string", "null"]}, "versions": {"type": "object"},
                "members": {"type": "array", "items": {"type": "object", "properties": {
                    "id": {"type": "string"}, "outputs": {"type": "array", "items": {"type": "object"}},
                    "recommended": {"type": "string"}}}},
                "household": {"type": "object"}}},
            params=[{"name": "decision_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            body={"type": "object", "required": ["inputs"], "additionalProperties": False, "properties": {
                "inputs": {"type": "object"},
                "household": {"type": "array", "maxItems": 20, "items": {
                    "type": "object", "required": ["id", "relation", "inputs"], "properties": {
                        "id": {"type": "string", "maxLength": 64},
                        "relation": {"type": "string", "enum": ["spouse", "child", "parent", "sibling"]},
                        "married": {"type": "boolean"}, "inputs": {"type": "object"}}}}}},
            errors=("401", "404", "422"))},
    }


def describe() -> tuple[dict[str, Any], dict[str, Any]]:
    return _paths(), _schemas()
