"""The REST API (INTERFACES.md section 5), mounted at /api/v1. Views stay thin: parse, call
one use case, render JSON; engine errors become HTTP errors in webapp.errors."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint, abort, current_app, jsonify, request

from engine.bpmn.safe_xml import MAX_MODEL_BYTES
from engine.domain.actors import Actor
from engine.domain.errors import InvalidInput, NotAllowed
from engine.persistence import audit_log as audit
from engine.services.casework import cases, inbox, instances
from engine.services.process_models import deployment, model_drafts
from engine.services.screening import decisions
from webapp.api_models import publish_response
from webapp.openapi import openapi_document
from webapp.security import engine_context, json_object_body, require_actor

api = Blueprint("api", __name__, url_prefix="/api/v1")
MODEL_ROLES = ("process_owner", "admin")




@api.get("/openapi.json")
def openapi() -> Any:
    return jsonify(openapi_document())


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


def _require_model_role(actor: Actor) -> None:
    if actor.role not in MODEL_ROLES:
        raise NotAllowed("process models are managed by process owners and admins")


@api.post("/process-models")
def deploy_model() -> Any:
    actor = require_actor()
    _require_model_role(actor)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput("a BPMN or DMN file is required", {"file": "required"})
    content = upload.stream.read(MAX_MODEL_BYTES + 1)
    upload.close()  # a large upload is spooled to a temporary file: release it now
    if len(content) > MAX_MODEL_BYTES:
        abort(413, description="the file is larger than 2 MiB")
    # one check path with the drafts (webapp.api_models): same check, audit and approval rule
    return publish_response(model_drafts.publish_upload(engine_context(), actor, upload.filename, content))


@api.get("/process-models")
def list_models() -> Any:
    require_actor()
    return jsonify({"items": deployment.list_definitions(engine_context())})


@api.get("/process-models/<process_id>/versions")
def model_versions(process_id: str) -> Any:
    require_actor()
    return jsonify({"items": deployment.definition_versions(engine_context(), process_id)})


@api.post("/decisions/<decision_id>/evaluate")
def evaluate_decision(decision_id: str) -> Any:
    require_actor()
    inputs = json_object_body().get("inputs")
    if not isinstance(inputs, dict):
        raise InvalidInput("the inputs are missing", {"inputs": "required (an object)"})
    return jsonify(decisions.evaluate_decision(engine_context(), decision_id[:200], inputs).to_json())


def _require_auditor(actor: Actor) -> None:
    if actor.role != "auditor":
        raise NotAllowed("the audit trail is for auditors (data protection officer)")


@api.get("/audit")
def audit_entries() -> Any:
    actor = require_actor()
    _require_auditor(actor)
    after_id = _int_query("after", 0, 0, 2**62)
    limit = _int_query("limit", 100, 1, 1000)
    case = request.args.get("case_id")
    case_id = _uuid_query("case_id") if case else None
    with engine_context().uow() as uow:  # reading the trail is itself recorded
        entries = audit.read_entries(uow.session, after_id, limit, case_id)
        audit.record(uow.session, actor, "audit.read", "audit", None, details={"after": after_id, "limit": limit})
        uow.commit()
    return jsonify({"items": entries, "next_after": entries[-1]["id"] if entries else after_id})


@api.get("/audit/verify")
def audit_verify() -> Any:
    actor = require_actor()
    _require_auditor(actor)
    with engine_context().uow(write=False) as uow:
        check = audit.verify_chain(uow.session)
    return jsonify({"ok": check.ok, "checked": check.checked, "first_broken_id": check.first_broken_id,
                    "reason": check.reason})


def _int_query(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidInput(f"'{name}' must be a whole number from {low} to {high}", {name: "out of range"})
    return int(raw)


def _uuid_query(name: str) -> UUID:
    try:
        return UUID(request.args.get(name, ""))
    except ValueError as exc:
        raise InvalidInput(f"'{name}' must be a UUID", {name: "not a UUID"}) from exc
