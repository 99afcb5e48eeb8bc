"""Deploy a BPMN/DMN file through the API, list deployed models, withdraw a mistaken one."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from engine.domain.permissions import Permission, require
from engine.services.process_models import deployment, model_drafts, model_retirement
from webapp.core.security import require_actor
from webapp.core.serialize import to_json
from webapp.core.transactions import run
from webapp.modeler.api_models import publish_response, uploaded_file

api_definitions = Blueprint("api_definitions", __name__, url_prefix="/api/v1")
@api_definitions.post("/process-models")
def deploy_model() -> Any:
    actor = require_actor()
    require(actor, Permission.EDIT_MODELS)
    filename, content = uploaded_file()  # the file's bytes, unchanged
    # one check path with the drafts (webapp.modeler.api_models): same check, audit and approval rule
    return publish_response(run(model_drafts.publish_upload, actor, filename, content))


@api_definitions.post("/process-models/<process_id>/retire")
def retire_model(process_id: str) -> Any:
    """Withdraw a model that never ran a case (409 with the reason otherwise)."""
    return jsonify(to_json(run(model_retirement.retire_model, require_actor(), process_id[:200])))


@api_definitions.get("/process-models")
def list_models() -> Any:
    require_actor()
    return jsonify({"items": to_json(run(deployment.list_definitions))})


@api_definitions.get("/process-models/<process_id>/versions")
def model_versions(process_id: str) -> Any:
    require_actor()
    return jsonify({"items": to_json(run(deployment.definition_versions, process_id))})


