"""The audit trail for the data protection officer (role auditor): read it, verify its chains."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from engine.services.admin import audit_trail
from webapp.core.queries import int_query, uuid_query
from webapp.core.security import require_actor
from webapp.core.serialize import to_json
from webapp.core.transactions import run

api_audit = Blueprint("api_audit", __name__, url_prefix="/api/v1")


@api_audit.get("/audit")
def audit_entries() -> Any:
    actor = require_actor()
    after_id = int_query("after", 0, 0, 2**62)
    limit = int_query("limit", 100, 1, 1000)
    case_id = uuid_query("case_id") if request.args.get("case_id") else None
    return jsonify(to_json(run(audit_trail.read_trail, actor, after_id, limit, case_id)))


@api_audit.get("/audit/verify")
def audit_verify() -> Any:
    return jsonify(to_json(run(audit_trail.verify_trail, require_actor())))
