"""Deploy a BPMN/DMN file through the API and list deployed models (process owners, admins)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, request

from engine.bpmn.safe_xml import MAX_MODEL_BYTES
from engine.domain.actors import Actor
from engine.domain.errors import InvalidInput, NotAllowed
from engine.services.process_models import deployment, model_drafts
from webapp.core.security import engine_context, require_actor
from webapp.modeler.api_models import publish_response

api_definitions = Blueprint("api_definitions", __name__, url_prefix="/api/v1")
MODEL_ROLES = ("process_owner", "admin")


def _require_model_role(actor: Actor) -> None:
    if actor.role not in MODEL_ROLES:
        raise NotAllowed("process models are managed by process owners and admins")


@api_definitions.post("/process-models")
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
    # one check path with the drafts (webapp.modeler.api_models): same check, audit and approval rule
    return publish_response(model_drafts.publish_upload(engine_context(), actor, upload.filename, content))


@api_definitions.get("/process-models")
def list_models() -> Any:
    require_actor()
    return jsonify({"items": deployment.list_definitions(engine_context())})


@api_definitions.get("/process-models/<process_id>/versions")
def model_versions(process_id: str) -> Any:
    require_actor()
    return jsonify({"items": deployment.definition_versions(engine_context(), process_id)})


