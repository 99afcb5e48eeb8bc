"""The audit trail for the data protection officer (role auditor): read it, verify its chains."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from engine.domain.actors import Actor
from engine.domain.permissions import Permission, require
from engine.persistence import audit_log as audit
from webapp.core.queries import int_query, uuid_query
from webapp.core.security import engine_context, require_actor

api_audit = Blueprint("api_audit", __name__, url_prefix="/api/v1")


def _require_auditor(actor: Actor) -> None:
    require(actor, Permission.READ_AUDIT)


@api_audit.get("/audit")
def audit_entries() -> Any:
    actor = require_actor()
    _require_auditor(actor)
    after_id = int_query("after", 0, 0, 2**62)
    limit = int_query("limit", 100, 1, 1000)
    case = request.args.get("case_id")
    case_id = uuid_query("case_id") if case else None
    with engine_context().uow() as uow:  # reading the trail is itself recorded
        entries = audit.read_entries(uow.session, after_id, limit, case_id)
        audit.record(uow.session, actor, "audit.read", "audit", None, details={"after": after_id, "limit": limit})
        uow.commit()
    return jsonify({"items": entries, "next_after": entries[-1]["id"] if entries else after_id})


@api_audit.get("/audit/verify")
def audit_verify() -> Any:
    actor = require_actor()
    _require_auditor(actor)
    with engine_context().uow(write=False) as uow:
        check = audit.verify_chain(uow.session)
    return jsonify({"ok": check.ok, "checked": check.checked, "first_broken_id": check.first_broken_id,
                    "reason": check.reason})


