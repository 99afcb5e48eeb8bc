"""REST routes for editing process models: check, drafts, publish/approve, stored sources.

Thin views over engine.services.process_models.model_check and model_drafts (issue 6 contract). Model files are
untrusted: bodies above 2 MiB get 413 before anything parses them, and only process owners and
admins may check, draft or publish (the services enforce it; others get 403).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, jsonify, request

from engine.bpmn.safe_xml import MAX_MODEL_BYTES
from engine.domain.errors import InvalidInput
from engine.domain.permissions import Permission, require
from engine.services.process_models import model_check, model_drafts, model_versions
from engine.services.process_models.model_drafts import DraftView, ModelCheckFailed, Published
from webapp.core.errors import error_response
from webapp.core.security import json_object_body, require_actor
from webapp.core.serialize import to_json
from webapp.core.transactions import run

api_models = Blueprint("api_models", __name__, url_prefix="/api/v1")


def _content(body: dict[str, Any]) -> bytes:
    """The model text as the UTF-8 bytes that will be stored (and served back) unchanged."""
    text = body.get("content")
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("Der Modellinhalt fehlt.", {"content": "required (the BPMN or DMN XML as text)"})
    try:
        content = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput("Der Modellinhalt ist kein gültiger Unicode-Text.", {"content": "invalid text"}) from exc
    if len(content) > MAX_MODEL_BYTES:
        abort(413, description="the model is larger than 2 MiB")
    return content


def publish_response(result: Published | DraftView) -> Any:
    if isinstance(result, Published):
        return jsonify(to_json(result)), 201
    return jsonify({"status": "submitted", "draft": to_json(result)}), 202


@api_models.post("/model-checks")
def check() -> Any:
    """JSON ``{filename, content}`` (the editor's text) or multipart ``file`` (a file's bytes, unchanged).

    Besides the findings, ``changes`` says what publishing would do: the key and version, and the
    diff against the current version (null when the file is no model)."""
    actor = require_actor()
    require(actor, Permission.EDIT_MODELS)
    if request.mimetype == "multipart/form-data":
        filename, content = uploaded_file()
    else:
        body = json_object_body()
        filename, content = model_drafts.clean_filename(body.get("filename")), _content(body)
    problems = run(model_check.check_model, filename, content)
    return jsonify({"ok": not model_check.has_errors(problems), "problems": [p.to_json() for p in problems],
                    "changes": run(model_versions.publish_preview, content)})


def uploaded_file() -> tuple[str, bytes]:
    """The multipart field ``file``: its name and its bytes exactly as sent (413 above 2 MiB)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput("Eine BPMN- oder DMN-Datei fehlt.", {"file": "required"})
    content = upload.stream.read(MAX_MODEL_BYTES + 1)
    upload.close()  # a large upload is spooled to a temporary file: release it now
    if len(content) > MAX_MODEL_BYTES:
        abort(413, description="the file is larger than 2 MiB")
    return model_drafts.clean_filename(upload.filename), content


@api_models.get("/process-models/<process_id>/versions/<int:version>/source")
def version_source(process_id: str, version: int) -> Any:
    require_actor()  # models are shown to every signed-in user (the case page draws the diagram)
    source = run(model_drafts.version_source, process_id, version)
    response = Response(source.content, mimetype="application/xml")
    # Served from our origin: never let a browser render it as a document (XHTML in a model).
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Content-Disposition"] = "attachment; filename=" + _ascii_name(source.filename)
    return response


def _ascii_name(filename: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in filename) or "model.xml"


@api_models.post("/model-drafts")
def create_draft() -> Any:
    actor = require_actor()
    require(actor, Permission.EDIT_MODELS)
    body = json_object_body()
    draft = run(model_drafts.create_draft, actor, body.get("filename"), _content(body),
                                      body.get("base_definition_id"))
    return jsonify(to_json(draft)), 201


@api_models.get("/model-drafts")
def list_drafts() -> Any:
    key = request.args.get("key") or None
    status = request.args.get("status") or None
    return jsonify({"items": to_json(run(model_drafts.list_drafts, require_actor(), key, status))})


@api_models.get("/model-drafts/<int:draft_id>")
def get_draft(draft_id: int) -> Any:
    return jsonify(to_json(run(model_drafts.get_draft, require_actor(), draft_id)))


@api_models.put("/model-drafts/<int:draft_id>")
def update_draft(draft_id: int) -> Any:
    actor = require_actor()
    require(actor, Permission.EDIT_MODELS)
    body = json_object_body()
    return jsonify(to_json(run(model_drafts.update_draft, actor, draft_id, _content(body), body.get("version"))))


@api_models.post("/model-drafts/<int:draft_id>/publish")
def publish_draft(draft_id: int) -> Any:
    return publish_response(run(model_drafts.publish_draft, require_actor(), draft_id))


@api_models.post("/model-drafts/<int:draft_id>/approve")
def approve_draft(draft_id: int) -> Any:
    body = request.get_json(silent=True)
    seen = body.get("version") if isinstance(body, dict) else None
    return publish_response(run(model_drafts.approve_draft, require_actor(), draft_id, seen))


@api_models.post("/model-drafts/<int:draft_id>/discard")
def discard_draft(draft_id: int) -> Any:
    return jsonify(to_json(run(model_drafts.discard_draft, require_actor(), draft_id)))


def check_failed(exc: ModelCheckFailed) -> Any:
    """422 with every finding, so the modeler can mark each element on the diagram."""
    fields: dict[str, str] = {}
    for p in exc.checked:  # every message, also several on one element
        if p.severity == model_check.ERROR:
            key = p.element_id or "file"
            fields[key] = f"{fields[key]} {p.message}" if key in fields else p.message
    if not request.path.startswith("/api/"):
        return error_response(422, exc.code, str(exc), fields)
    response = jsonify({"error": exc.code, "message": str(exc), "fields": fields,
                        "problems": [p.to_json() for p in exc.checked]})
    response.status_code = 422
    return response


