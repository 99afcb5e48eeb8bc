"""Directory data for clients: the offices that lanes and candidateGroups may name.

The modeler's lane and task panels offer exactly these codes, so a model names only offices
the engine can route to. Office codes and names are not personal data: every signed-in
user may read them.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify

from engine.services.process_models.modeler import list_offices
from webapp.core.openapi import _op, _ref
from webapp.core.security import current_actor
from webapp.core.transactions import run

api_directory = Blueprint("api_directory", __name__, url_prefix="/api/v1")


@api_directory.get("/offices")
def offices() -> Any:
    if current_actor() is None:
        abort(401, description="sign in or send 'Authorization: Bearer <token>'")
    return jsonify({"items": run(list_offices)})


def describe() -> tuple[dict[str, Any], dict[str, Any]]:
    text = {"type": "string"}
    schemas = {"Office": {"type": "object", "required": ["code", "name"],
                          "properties": {"code": text, "name": text}}}
    listing = {"type": "object", "required": ["items"],
               "properties": {"items": {"type": "array", "items": _ref("Office")}}}
    return {"/offices": {"get": _op("Offices that lanes and candidateGroups may name", listing,
                                    errors=("401",))}}, schemas


