"""Retention, legal holds and a person's data export (GDPR Art. 15), for admins, under /api/v1/admin.

Views stay thin: the rules, the permission (admins only) and the audit entries live in
``engine.services.retention``. The preview is the dry run of the deletion job; the deletion
itself runs in the scheduler (daily) or with ``kim retention run``.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint, jsonify, request

from engine.domain.actors import Actor
from engine.domain.permissions import Permission, require
from engine.services.context import UnitOfWork
from engine.services.retention import legal_hold, person_export, runs
from webapp.core.openapi import UUID_PARAM, _op, _path_param, _query
from webapp.core.security import json_object_body, require_actor
from webapp.core.transactions import run

api_retention = Blueprint("api_retention", __name__, url_prefix="/api/v1/admin")


def _admin() -> Actor:
    actor = require_actor()
    require(actor, Permission.MANAGE_RETENTION)
    return actor


@api_retention.get("/retention/preview")
def retention_preview() -> Any:
    """What the next deletion run would delete (the dry run: nothing changes)."""
    return jsonify(run(runs.preview_retention, _admin()).to_json())


@api_retention.get("/legal-holds")
def legal_holds() -> Any:
    return jsonify({"items": [v.to_json() for v in run(legal_hold.list_legal_holds, _admin())]})


@api_retention.put("/cases/<uuid:case_id>/legal-hold")
def set_hold(case_id: UUID) -> Any:
    actor = _admin()
    body = json_object_body()
    return jsonify(run(legal_hold.set_legal_hold, actor, case_id, body.get("reason")).to_json())


@api_retention.delete("/cases/<uuid:case_id>/legal-hold")
def clear_hold(case_id: UUID) -> Any:
    actor = _admin()
    return jsonify(run(legal_hold.clear_legal_hold, actor, case_id, request.args.get("reason")).to_json())


@api_retention.get("/persons/<uuid:case_id>/export")
def export_person(case_id: UUID) -> Any:
    """The person of this case: all their cases and household memberships, as a JSON download."""
    actor = _admin()

    def export(uow: UnitOfWork) -> dict[str, Any]:
        return person_export.export_person(uow, actor, str(case_id))

    response = jsonify(run(export))
    response.headers["Content-Disposition"] = f'attachment; filename="auskunft-{case_id}.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


def describe() -> tuple[dict[str, Any], dict[str, Any]]:
    obj = {"type": "object"}
    hold = {"type": "object", "required": ["case_id", "reference", "held"], "properties": {
        "case_id": UUID_PARAM, "reference": {"type": "string"}, "held": {"type": "boolean"},
        "reason": {"type": ["string", "null"]}, "set_by": {"type": ["string", "null"]},
        "set_at": {"type": ["string", "null"]}, "content_deleted_at": {"type": ["string", "null"]}}}
    admin_errors = ("401", "403", "404", "409", "422")
    return {
        "/admin/retention/preview": {"get": _op(
            "Dry run of the deletion of case content past its retention period (admins only; changes nothing)",
            {"type": "object", "properties": {"rule": {"type": "string"}, "closed_before": {"type": "string"},
                                              "would_delete": {"type": "array", "items": obj},
                                              "skipped": {"type": "array", "items": obj}}},
            errors=("401", "403"))},
        "/admin/legal-holds": {"get": _op(
            "Cases under legal hold (admins only; audited)",
            {"type": "object", "properties": {"items": {"type": "array", "items": hold}}}, errors=("401", "403"))},
        "/admin/cases/{case_id}/legal-hold": {
            "put": _op("Set a legal hold with a reason: the deletion run skips the case (admins only; audited)",
                       hold, body={"type": "object", "required": ["reason"],
                                   "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 1000}}},
                       params=[_path_param("case_id")], errors=admin_errors),
            "delete": _op("Clear a case's legal hold (admins only; audited)", hold,
                          params=[_path_param("case_id"), _query("reason", {"type": "string", "maxLength": 1000})],
                          errors=admin_errors)},
        "/admin/persons/{case_id}/export": {
            "get": _op("Everything held about the person of this case, as JSON (GDPR Art. 15; admins only; "
                       "audited)", {"type": "object", "properties": {
                           "subject": obj, "cases": {"type": "array", "items": obj},
                           "household_memberships": {"type": "array", "items": obj}}},
                       params=[_path_param("case_id")], errors=("401", "403", "404"))},
    }, {}
