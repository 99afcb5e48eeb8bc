"""Deploy a BPMN/DMN file through the API and list deployed models (process owners, admins)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, request

from engine.bpmn.safe_xml import MAX_MODEL_BYTES
from engine.domain.errors import InvalidInput
from engine.domain.permissions import Permission, require
from engine.services.process_models import deployment, model_drafts
from webapp.core.security import require_actor
from webapp.core.serialize import to_json
from webapp.core.transactions import run
from webapp.modeler.api_models import publish_response

api_definitions = Blueprint("api_definitions", __name__, url_prefix="/api/v1")


@api_definitions.post("/process-models")
def deploy_model() -> Any:
    actor = require_actor()
    require(actor, Permission.EDIT_MODELS)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput("a BPMN or DMN file is required", {"file": "required"})
    content = upload.stream.read(MAX_MODEL_BYTES + 1)
    upload.close()  # a large upload is spooled to a temporary file: release it now
    if len(content) > MAX_MODEL_BYTES:
        abort(413, description="the file is larger than 2 MiB")
    # one check path with the drafts (webapp.modeler.api_models): same check, audit and approval rule
    return publish_response(run(model_drafts.publish_upload, actor, upload.filename, content))


@api_definitions.get("/process-models")
def list_models() -> Any:
    require_actor()
    return jsonify({"items": to_json(run(deployment.list_definitions))})


@api_definitions.get("/process-models/<process_id>/versions")
def model_versions(process_id: str) -> Any:
    require_actor()
    return jsonify({"items": to_json(run(deployment.definition_versions, process_id))})


