"""The REST API (INTERFACES.md section 5), mounted at /api/v1. Views stay thin: parse, call
one use case, render JSON; engine errors become HTTP errors in webapp.errors."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint, current_app, jsonify, request

from engine.domain.errors import InvalidInput, NotAllowed
from engine.services.casework import cases, inbox, instances
from engine.services.screening import decisions
from webapp.core.openapi import openapi_document
from webapp.core.security import engine_context, json_object_body, require_actor

api = Blueprint("api", __name__, url_prefix="/api/v1")




@api.get("/openapi.json")
def openapi() -> Any:
    return jsonify(openapi_document(current_app._get_current_object()))  # type: ignore[attr-defined]  # the real app


@api.post("/cases")
def open_case() -> Any:
    return jsonify(cases.open_case(engine_context(), require_actor(), json_object_body())), 201


@api.get("/cases/<uuid:case_id>")
def get_case(case_id: UUID) -> Any:
    return jsonify(cases.get_case(engine_context(), require_actor(), case_id))


@api.post("/cases/<uuid:case_id>/consents")
def record_consent(case_id: UUID) -> Any:
    return jsonify(cases.record_consent(engine_context(), require_actor(), case_id, json_object_body())), 201


@api.post("/cases/<uuid:case_id>/consents/<uuid:consent_id>/withdraw")
def withdraw_consent(case_id: UUID, consent_id: UUID) -> Any:
    return jsonify(cases.withdraw_consent(engine_context(), require_actor(), case_id, consent_id))


@api.get("/tasks")
def list_tasks() -> Any:
    actor = require_actor()
    return jsonify(inbox.list_tasks(engine_context(), actor, inbox.parse_filter(request.args)))


@api.get("/tasks/<uuid:task_id>")
def get_task(task_id: UUID) -> Any:
    task = inbox.get_task(engine_context(), require_actor(), task_id)
    form = current_app.extensions["kim_forms"]
    task["form"] = None
    if task["form_key"]:
        loaded = form.get(task["form_key"])
        task["form"] = {"schema": loaded.schema, "ui": loaded.ui}
    return jsonify(task)


@api.post("/tasks/<uuid:task_id>/claim")
def claim(task_id: UUID) -> Any:
    return jsonify(inbox.claim_task(engine_context(), require_actor(), task_id))


@api.post("/tasks/<uuid:task_id>/release")
def release(task_id: UUID) -> Any:
    return jsonify(inbox.release_task(engine_context(), require_actor(), task_id))


@api.post("/tasks/<uuid:task_id>/assign")
def assign(task_id: UUID) -> Any:
    return jsonify(inbox.assign_task(engine_context(), require_actor(), task_id, json_object_body().get("username")))


@api.post("/tasks/<uuid:task_id>/follow-up")
def follow_up(task_id: UUID) -> Any:
    body = json_object_body()
    if "date" not in body:
        raise InvalidInput("the follow-up date is missing", {"date": "required (a date or null)"})
    return jsonify(inbox.set_follow_up(engine_context(), require_actor(), task_id, body["date"]))


@api.post("/tasks/<uuid:task_id>/draft")
def save_draft(task_id: UUID) -> Any:
    data = json_object_body().get("data")
    return jsonify(inbox.save_draft(engine_context(), require_actor(), task_id, data))


@api.post("/tasks/<uuid:task_id>/complete")
def complete(task_id: UUID) -> Any:
    data = json_object_body().get("data", {})
    if not isinstance(data, dict):
        raise InvalidInput("data must be an object", {"data": "must be an object"})
    actor, ctx = require_actor(), engine_context()
    done = instances.complete_task(ctx, task_id, actor, data, forms=current_app.extensions["kim_forms"])
    return jsonify({"task": inbox.task_summary(ctx, actor, done.task_id),
                    "next_tasks": [inbox.task_summary(ctx, actor, t) for t in done.next_task_ids]})


@api.get("/overdue")
def overdue() -> Any:
    actor = require_actor()
    if actor.role != "supervisor":
        raise NotAllowed("overdue lists are for office leads")
    args = {"view": "office", "overdue": "true", "per_page": request.args.get("per_page", "200"),
            "page": request.args.get("page", "1"), "office": request.args.get("office", ""),
            "sort": "due_at"}
    return jsonify(inbox.list_tasks(engine_context(), actor, inbox.parse_filter(args)))


@api.post("/decisions/<decision_id>/evaluate")
def evaluate_decision(decision_id: str) -> Any:
    require_actor()
    inputs = json_object_body().get("inputs")
    if not isinstance(inputs, dict):
        raise InvalidInput("the inputs are missing", {"inputs": "required (an object)"})
    return jsonify(decisions.evaluate_decision(engine_context(), decision_id[:200], inputs).to_json())


