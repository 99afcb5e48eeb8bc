"""REST routes for moving running instances to another process version (issue 6, item 4).

Thin views over engine.services.process_models.instance_migration: a dry run that changes nothing, and the
migration itself. Process owners and admins only (the service answers 403 to others).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from engine.services.process_models import instance_migration
from webapp.core.security import json_object_body, require_actor
from webapp.core.transactions import run, run_batch

api_migration = Blueprint("api_migration", __name__, url_prefix="/api/v1")




@api_migration.post("/process-models/<process_id>/migrations/dry-run")
def dry_run(process_id: str) -> Any:
    actor = require_actor()
    return jsonify(run(instance_migration.dry_run, actor, process_id, json_object_body()))


@api_migration.post("/process-models/<process_id>/migrations")
def migrate(process_id: str) -> Any:
    actor = require_actor()
    return jsonify(run_batch(instance_migration.migrate, actor, process_id, json_object_body()))


def _schemas() -> dict[str, Any]:
    text = {"type": "string"}
    nullable = {"type": ["string", "null"]}
    outcome = {"type": "string", "enum": ["kept", "rerouted", "removed"]}
    return {
        "MigrationRequest": {"type": "object", "required": ["to_version"], "properties": {
            "to_version": {"type": "integer", "minimum": 1, "maximum": 1000000},
            "from_version": {"type": "integer", "minimum": 1, "maximum": 1000000},
            "instance_ids": {"type": "array", "maxItems": 1000, "items": {"type": "string", "format": "uuid"}},
            "all_compatible": {"type": "boolean"}}},
        "MigrationItem": {"type": "object", "required": ["instance_id", "compatible", "positions", "reasons"],
                          "properties": {
            "instance_id": {"type": "string", "format": "uuid"}, "case_id": nullable, "case_reference": nullable,
            "from_version": {"type": "integer"}, "status": text, "compatible": {"type": "boolean"},
            "positions": {"type": "array", "items": {"type": "object", "properties": {
                "bpmn_id": text, "name": text, "exists_in_target": {"type": "boolean"}}}},
            "open_tasks": {"type": "array", "items": {"type": "object", "properties": {
                "id": text, "bpmn_id": text, "name": text, "office": nullable, "new_office": text,
                "outcome": outcome}}},
            "timers": {"type": "array", "items": {"type": "object", "properties": {
                "bpmn_id": text, "kind": text, "fire_at": {"type": "string", "format": "date-time"},
                "outcome": {"type": "string", "enum": ["kept", "removed"]}}}},
            "reasons": {"type": "array", "items": text}}},
        "MigrationReport": {"type": "object", "required": ["to_version", "items"], "properties": {
            "process_id": text, "to_version": {"type": "integer"},
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/MigrationItem"}}}},
        "MigrationResult": {"type": "object", "required": ["migrated", "skipped"], "properties": {
            "to_version": {"type": "integer"},
            "migrated": {"type": "array", "items": {"type": "string", "format": "uuid"}},
            "skipped": {"type": "array", "items": {"type": "object", "properties": {
                "instance_id": text, "reasons": {"type": "array", "items": text}}}}}},
    }


def describe() -> tuple[dict[str, Any], dict[str, Any]]:
    errors = {code: {"description": text, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}}
        for code, text in {"400": "malformed request", "401": "not signed in",
                           "403": "process owners and admins only", "404": "no such process",
                           "422": "invalid input; `fields` names what is wrong"}.items()}
    param = [{"name": "process_id", "in": "path", "required": True, "schema": {"type": "string"}}]
    body = {"required": True, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/MigrationRequest"}}}}

    def op(summary: str, schema: str) -> dict[str, Any]:
        return {"summary": summary, "parameters": param, "requestBody": body, "responses": {
            "200": {"description": "OK", "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{schema}"}}}}, **errors}}

    paths = {
        "/process-models/{process_id}/migrations/dry-run": {"post": op(
            "What migrating the running instances to `to_version` would do (changes nothing)",
            "MigrationReport")},
        "/process-models/{process_id}/migrations": {"post": op(
            "Migrate the named instances (`instance_ids`) or all compatible ones (`all_compatible: true`)",
            "MigrationResult")},
    }
    return paths, _schemas()


