"""The case-work REST API (INTERFACES.md section 5), mounted at /api/v1. Views stay thin: parse,
run one use case in the request's unit of work, serialise; engine errors become HTTP errors in
webapp.core.errors."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint, current_app, jsonify, request

from engine.domain.errors import InvalidInput
from engine.domain.permissions import Permission, require
from engine.services.casework import cases, conferences, consents, inbox, instances, task_actions
from engine.services.screening import decisions
from webapp.core.openapi import openapi_document
from webapp.core.security import engine_context, json_object_body, require_actor
from webapp.core.serialize import to_json
from webapp.core.transactions import request_uow, run

api = Blueprint("api", __name__, url_prefix="/api/v1")


@api.get("/openapi.json")
def openapi() -> Any:
    return jsonify(openapi_document(current_app._get_current_object()))  # type: ignore[attr-defined]  # the real app


@api.post("/cases")
def open_case() -> Any:
    return jsonify(run(cases.open_case, require_actor(), json_object_body())), 201


@api.get("/cases/<uuid:case_id>")
def get_case(case_id: UUID) -> Any:
    return jsonify(run(cases.get_case, require_actor(), case_id))


@api.post("/cases/<uuid:case_id>/consents")
def record_consent(case_id: UUID) -> Any:
    return jsonify(run(consents.record_consent, require_actor(), case_id, json_object_body())), 201


@api.post("/cases/<uuid:case_id>/consents/<uuid:consent_id>/withdraw")
def withdraw_consent(case_id: UUID, consent_id: UUID) -> Any:
    return jsonify(run(consents.withdraw_consent, require_actor(), case_id, consent_id))


@api.post("/cases/<uuid:case_id>/conferences")
def convene_conference(case_id: UUID) -> Any:
    body = json_object_body()
    return jsonify(run(conferences.convene_conference, require_actor(), case_id, body)), 201


@api.get("/cases/<uuid:case_id>/conferences")
def list_conferences(case_id: UUID) -> Any:
    return jsonify({"items": to_json(run(conferences.list_conferences, require_actor(), case_id))})


@api.get("/conferences/<uuid:conference_id>")
def get_conference(conference_id: UUID) -> Any:
    return jsonify(run(conferences.get_conference, require_actor(), conference_id))


@api.get("/tasks")
def list_tasks() -> Any:
    actor = require_actor()
    return jsonify(run(inbox.list_tasks, actor, inbox.parse_filter(request.args)))


@api.get("/tasks/<uuid:task_id>")
def get_task(task_id: UUID) -> Any:
    task = to_json(run(task_actions.get_task, require_actor(), task_id))
    task["form"] = None
    if task["form_key"]:
        loaded = engine_context().forms.get(task["form_key"], request_uow().session)
        task["form"] = {"schema": loaded.schema, "ui": loaded.ui}
    return jsonify(task)


@api.post("/tasks/<uuid:task_id>/claim")
def claim(task_id: UUID) -> Any:
    return jsonify(run(task_actions.claim_task, require_actor(), task_id))


@api.post("/tasks/<uuid:task_id>/release")
def release(task_id: UUID) -> Any:
    return jsonify(run(task_actions.release_task, require_actor(), task_id))


@api.post("/tasks/<uuid:task_id>/assign")
def assign(task_id: UUID) -> Any:
    username = json_object_body().get("username")
    return jsonify(run(task_actions.assign_task, require_actor(), task_id, username))


@api.post("/tasks/<uuid:task_id>/follow-up")
def follow_up(task_id: UUID) -> Any:
    body = json_object_body()
    if "date" not in body:
        raise InvalidInput("the follow-up date is missing", {"date": "required (a date or null)"})
    return jsonify(to_json(run(task_actions.set_follow_up, require_actor(), task_id, body["date"],
                                   body.get("reason"))))


@api.post("/tasks/<uuid:task_id>/draft")
def save_draft(task_id: UUID) -> Any:
    data = json_object_body().get("data")
    return jsonify(run(task_actions.save_draft, require_actor(), task_id, data))


@api.post("/tasks/<uuid:task_id>/complete")
def complete(task_id: UUID) -> Any:
    data = json_object_body().get("data", {})
    if not isinstance(data, dict):
        raise InvalidInput("data must be an object", {"data": "must be an object"})
    return jsonify(run(instances.complete_task, task_id, require_actor(), data))


@api.get("/overdue")
def overdue() -> Any:
    actor = require_actor()
    require(actor, Permission.LEAD_OFFICE)
    args = {"view": "office", "overdue": "true", "per_page": request.args.get("per_page", "200"),
            "page": request.args.get("page", "1"), "office": request.args.get("office", ""),
            "sort": "due_at"}
    return jsonify(run(inbox.list_tasks, actor, inbox.parse_filter(args)))


@api.post("/decisions/<decision_id>/evaluate")
def evaluate_decision(decision_id: str) -> Any:
    actor = require_actor()
    body = json_object_body()
    unknown = {key: "unknown field" for key in body if key not in ("inputs", "household")}
    if unknown:
        raise InvalidInput("the request has unknown fields", unknown)
    return jsonify(decisions.evaluate_for(engine_context(), actor, decision_id[:200], body.get("inputs"),
                                          body.get("household")))
