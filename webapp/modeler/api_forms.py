"""REST for forms edited in the browser (/api/v1/forms): list, read, save a new version, preview.

The preview renders with the same macro as the task page, so what the process owner sees
while typing is what a caseworker will get.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template, request
from markupsafe import Markup

from engine.domain.errors import InvalidInput
from engine.forms import FormRegistry
from engine.services.process_models import form_versions
from webapp.core.forms_html import fields_for
from webapp.core.openapi import _op, _ref
from webapp.core.security import engine_context, json_object_body, require_actor
from webapp.core.transactions import run

api_forms = Blueprint("api_forms", __name__, url_prefix="/api/v1")




def registry() -> FormRegistry:
    return engine_context().forms


def _version_query() -> int | None:
    raw = request.args.get("version")
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or int(raw) > 1_000_000:
        raise InvalidInput("'version' must be a whole number", {"version": "ungültig"})
    return int(raw)


@api_forms.get("/forms")
def list_forms() -> Any:
    return jsonify({"items": run(form_versions.list_forms, require_actor())})


@api_forms.get("/forms/<key>")
def get_form(key: str) -> Any:
    actor = require_actor()
    form = run(form_versions.get_form, actor, key[:200], _version_query())
    form["versions"] = run(form_versions.form_history, actor, key[:200])
    return jsonify(form)


@api_forms.put("/forms/<key>")
def save_form(key: str) -> Any:
    saved = run(form_versions.save_form, require_actor(), key[:200], json_object_body())
    return jsonify(saved), 201


def preview_html(schema: dict[str, Any], ui: dict[str, Any]) -> Markup:
    """The fields as the task page shows them; Markup because the template escaped every value."""
    return Markup(render_template("forms_preview.html", fields=fields_for(schema, ui, {}, {})))  # noqa: S704


@api_forms.post("/forms/preview")
def preview() -> Any:
    form_versions.require_editor(require_actor())
    schema, ui = form_versions.check_body(json_object_body())
    return jsonify({"html": str(preview_html(schema, ui))})


def describe() -> tuple[dict[str, Any], dict[str, Any]]:
    key = [{"name": "key", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 100}}]
    body = {"type": "object", "required": ["schema"], "properties": {
        "schema": {"type": "object", "description": "JSON Schema 2020-12 the form renderer supports"},
        "ui": {"type": "object", "description": "UI hints: ui:order, <field>.ui:widget = textarea, items"},
        "base_version": {"type": "integer", "minimum": 0, "description": "409 if the form changed since"}}}
    versions = {"type": "array", "items": {"type": "object", "properties": {
        "version": {"type": "integer"}, "created_by": {"type": ["string", "null"]},
        "created_at": {"type": ["string", "null"]}, "source": {"type": "string", "enum": ["file", "db"]}}}}
    paths = {
        "/forms": {"get": _op("Forms with their current version (process owners, admins)",
                              {"type": "object", "properties": {"items": {"type": "array",
                                                                          "items": _ref("FormSummary")}}},
                              errors=("401", "403"))},
        "/forms/{key}": {
            "get": _op("The current form (or ?version=N; 0 is the file) and its versions",
                       {**_ref("FormVersion")}, params=[*key, {"name": "version", "in": "query", "required": False,
                                                               "schema": {"type": "integer", "minimum": 0}}],
                       errors=("401", "403", "404", "422")),
            "put": _op("Save a new version; tasks use it from then on", _ref("FormVersion"), status="201",
                       body=body, params=key, errors=("401", "403", "409", "422")),
        },
        "/forms/preview": {"post": _op("Render a form as the task page would",
                                       {"type": "object", "required": ["html"],
                                        "properties": {"html": {"type": "string"}}},
                                       body=body, errors=("401", "403", "422"))},
    }
    schemas = {
        "FormSummary": {"type": "object", "required": ["key", "title", "version", "source"], "properties": {
            "key": {"type": "string"}, "title": {"type": "string"}, "version": {"type": "integer"},
            "source": {"type": "string", "enum": ["file", "db"]}}},
        "FormVersion": {"type": "object", "required": ["key", "schema", "ui", "version"], "properties": {
            "key": {"type": "string"}, "schema": {"type": "object"}, "ui": {"type": "object"},
            "version": {"type": "integer"}, "source": {"type": "string", "enum": ["file", "db"]},
            "versions": versions}},
    }
    return paths, schemas

