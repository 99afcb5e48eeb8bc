"""Pages /models (every deployed process and decision), /models/<key>/versions,
/models/<key>/diff and /models/<key>/retire (withdraw a model that never ran a case), plus
GET /api/v1/process-models/<key>/diff.

The diff page is complete without JavaScript (a list of changes); static/model-diff.js adds
two bpmn-js viewers side by side with added, removed and changed elements coloured.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.domain.errors import Conflict, InvalidInput
from engine.domain.permissions import Permission, has
from engine.services.process_models import model_retirement, model_versions
from webapp.core.engine_messages import translate_message
from webapp.core.openapi import _op
from webapp.core.security import login_required, require_actor
from webapp.core.transactions import run

models_pages = Blueprint("models_pages", __name__)
api_model_diff = Blueprint("api_model_diff", __name__, url_prefix="/api/v1")


def _version_arg(name: str) -> int:
    raw = request.args.get(name, "")
    if not raw.isdigit() or not 1 <= int(raw) <= 1_000_000:
        raise InvalidInput(f"'{name}' must be a version number", {name: "Versionsnummer fehlt oder ungültig"})
    return int(raw)


@models_pages.get("/models")
@login_required
def model_list() -> Any:
    actor = require_actor()
    return render_template("models_list.html", models=run(model_versions.models_overview, actor),
                           can_edit=has(actor, Permission.EDIT_MODELS))


@models_pages.get("/models/<key>/retire")
@login_required
def retire_page(key: str) -> Any:
    """Confirmation before withdrawing a model, or why it cannot be withdrawn."""
    status = run(model_retirement.retirement_status, require_actor(), key[:200])
    return render_template("models_retire.html", model=status, error=None)


@models_pages.post("/models/<key>/retire")
@login_required
def retire(key: str) -> Any:
    actor = require_actor()
    try:
        done = run(model_retirement.retire_model, actor, key[:200])
    except Conflict as exc:
        status = run(model_retirement.retirement_status, actor, key[:200])
        return render_template("models_retire.html", model=status, error=translate_message(str(exc))), 409
    flash(_("„%(name)s“ ist zurückgezogen: neue Fälle beginnen damit nicht mehr, die Versionen bleiben "
            "für die Nachvollziehbarkeit erhalten.", name=done["name"]), "ok")
    return redirect(url_for("models_pages.model_list"))


@models_pages.get("/models/<key>/versions")
@login_required
def model_version_list(key: str) -> Any:
    actor = require_actor()
    listing = run(model_versions.version_list, actor, key[:200])
    return render_template("models_versions.html", listing=listing,
                           can_edit=has(actor, Permission.EDIT_MODELS))


def _default_pair(key: str) -> tuple[int, int]:
    """Without from/to: the newest version against the one before."""
    items = run(model_versions.version_list, require_actor(), key)["items"]
    newest = items[0]["version"]
    return (items[1]["version"] if len(items) > 1 else newest), newest


@models_pages.get("/models/<key>/diff")
@login_required
def model_diff(key: str) -> Any:
    key = key[:200]
    if "from" in request.args or "to" in request.args:
        old, new = _version_arg("from"), _version_arg("to")
    else:
        old, new = _default_pair(key)
    diff = run(model_versions.diff_versions, require_actor(), key, old, new)
    listing = run(model_versions.version_list, require_actor(), key)
    data_url = url_for("models_pages.model_diff_data", key=key) + f"?from={old}&to={new}"
    return render_template("models_diff.html", diff=diff, listing=listing, data_url=data_url)


@models_pages.get("/models/<key>/diff.json")
@login_required
def model_diff_data(key: str) -> Any:
    """Both sources and the diff, for the viewers on the diff page."""
    diff = run(model_versions.diff_versions, require_actor(), key[:200], _version_arg("from"),
                                        _version_arg("to"), with_sources=True)
    return jsonify(diff)


@api_model_diff.get("/process-models/<process_id>/diff")
def api_diff(process_id: str) -> Any:
    actor = require_actor()
    return jsonify(run(model_versions.diff_versions, actor, process_id[:200], _version_arg("from"),
                                                _version_arg("to")))


def describe() -> tuple[dict[str, Any], dict[str, Any]]:
    version = {"type": "integer", "minimum": 1, "maximum": 1000000}
    params = [{"name": "process_id", "in": "path", "required": True, "schema": {"type": "string"}},
              {"name": "from", "in": "query", "required": True, "schema": version},
              {"name": "to", "in": "query", "required": True, "schema": version}]
    ids = {"type": "array", "items": {"type": "string"}}
    diff = {"type": "object", "required": ["added", "removed", "changed"], "properties": {
        "process_id": {"type": "string"}, "from": {"type": "integer"}, "to": {"type": "integer"},
        "kind": {"type": "string", "enum": ["bpmn", "dmn"]}, "added": ids, "removed": ids,
        "changed": {"type": "array", "items": {"type": "object", "required": ["id", "name", "changes"], "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "changes": ids}}},
        "names": {"type": "object", "additionalProperties": {"type": "string"}}}}
    paths = {"/process-models/{process_id}/diff": {"get": _op(
        "What changed between two versions, element by element (process owners, admins, office leads)",
        {"$ref": "#/components/schemas/ModelDiff"}, params=params, errors=("401", "403", "404", "422"))}}
    return paths, {"ModelDiff": diff}
