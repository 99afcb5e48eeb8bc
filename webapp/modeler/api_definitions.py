"""Deploy a BPMN/DMN file through the API, list deployed models, withdraw a mistaken one."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from engine.domain.actors import Actor
from engine.domain.errors import NotAllowed
from engine.services.process_models import deployment, model_drafts, model_retirement
from webapp.core.security import engine_context, require_actor
from webapp.modeler.api_models import publish_response, uploaded_file

api_definitions = Blueprint("api_definitions", __name__, url_prefix="/api/v1")
MODEL_ROLES = ("process_owner", "admin")


def _require_model_role(actor: Actor) -> None:
    if actor.role not in MODEL_ROLES:
        raise NotAllowed("process models are managed by process owners and admins")


@api_definitions.post("/process-models")
def deploy_model() -> Any:
    actor = require_actor()
    _require_model_role(actor)
    filename, content = uploaded_file()  # the file's bytes, unchanged
    # one check path with the drafts (webapp.modeler.api_models): same check, audit and approval rule
    return publish_response(model_drafts.publish_upload(engine_context(), actor, filename, content))


@api_definitions.post("/process-models/<process_id>/retire")
def retire_model(process_id: str) -> Any:
    """Withdraw a model that never ran a case (409 with the reason otherwise)."""
    return jsonify(model_retirement.retire_model(engine_context(), require_actor(), process_id[:200]))


@api_definitions.get("/process-models")
def list_models() -> Any:
    require_actor()
    return jsonify({"items": deployment.list_definitions(engine_context())})


@api_definitions.get("/process-models/<process_id>/versions")
def model_versions(process_id: str) -> Any:
    require_actor()
    return jsonify({"items": deployment.definition_versions(engine_context(), process_id)})


