"""In-app notifications: the page /notifications and GET/POST /api/v1/notifications.

Everyone signed in sees only their own notifications; anyone else's id answers 404. Views stay
thin and call :mod:`engine.services.notifications.notify`; the unread badge in the navigation comes from
the count the UI's context processor adds (``counts["notifications"]``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import ngettext

from engine.domain.errors import InvalidInput
from engine.domain.permissions import Role
from engine.services.notifications import notify as service
from webapp.core.openapi import ERRORS
from webapp.core.security import login_required, require_actor
from webapp.core.serialize import to_json
from webapp.core.transactions import run

notifications = Blueprint("notifications", __name__, template_folder="templates")
ALL_ROLES = tuple(role.value for role in Role)
MAX_ID = 2**62  # larger ids do not exist (and would overflow SQLite)





def _listing_args() -> tuple[bool, int]:
    """``unread`` and ``limit`` from the query string; bad values are named (422)."""
    errors: dict[str, str] = {}
    unread = (request.args.get("unread") or "false").lower()
    if unread not in ("true", "false", "1", "0"):
        errors["unread"] = "true or false"
    raw = request.args.get("limit") or "50"
    limit = int(raw) if raw.isdigit() and 1 <= int(raw) <= service.MAX_PAGE else 0
    if not limit:
        errors["limit"] = f"a whole number from 1 to {service.MAX_PAGE}"
    if errors:
        raise InvalidInput("invalid query", errors)
    return unread in ("true", "1"), limit


def _checked_id(notification_id: int) -> int:
    if not 1 <= notification_id <= MAX_ID:
        abort(404, description="no such notification")
    return notification_id


# --- pages -----------------------------------------------------------------------------------


@notifications.get("/notifications", endpoint="page")
@login_required
def page() -> Any:
    unread_only = request.args.get("unread") == "true"
    listing = run(service.list_notifications, require_actor(), unread_only=unread_only, limit=100)
    return render_template("notifications.html", listing=listing, unread_only=unread_only)


@notifications.post("/notifications/<bigint:notification_id>/read", endpoint="read")
@login_required
def read(notification_id: int) -> Any:
    row = run(service.mark_read, require_actor(), _checked_id(notification_id))
    if request.form.get("open") and row.link and row.link.startswith("/") and not row.link.startswith("//"):
        return redirect(row.link)
    return redirect(url_for("notifications.page"))


@notifications.post("/notifications/read-all", endpoint="read_all")
@login_required
def read_all() -> Any:
    count = run(service.mark_all_read, require_actor())
    flash(ngettext("%(num)d Benachrichtigung als gelesen markiert.",
                   "%(num)d Benachrichtigungen als gelesen markiert.", count), "ok")
    return redirect(url_for("notifications.page"))


# --- API -------------------------------------------------------------------------------------


@notifications.get("/api/v1/notifications")
def api_list() -> Any:
    actor = require_actor()
    unread_only, limit = _listing_args()
    return jsonify(to_json(run(service.list_notifications, actor, unread_only=unread_only, limit=limit)))


@notifications.post("/api/v1/notifications/<bigint:notification_id>/read")
def api_read(notification_id: int) -> Any:
    actor = require_actor()
    return jsonify(to_json(run(service.mark_read, actor, _checked_id(notification_id))))


@notifications.post("/api/v1/notifications/read-all")
def api_read_all() -> Any:
    return jsonify({"marked": run(service.mark_all_read, require_actor())})


def describe_api() -> tuple[dict[str, Any], dict[str, Any]]:
    def ok(schema: dict[str, Any]) -> dict[str, Any]:
        return {"description": "OK", "content": {"application/json": {"schema": schema}}}

    def errors(*codes: str) -> dict[str, Any]:
        return {code: ERRORS[code] for code in ("400", *codes)}

    ref = {"$ref": "#/components/schemas/Notification"}
    id_param = {"name": "notification_id", "in": "path", "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}
    paths = {
        "/notifications": {"get": {
            "summary": "The caller's own notifications, newest first",
            "parameters": [
                {"name": "unread", "in": "query", "required": False,
                 "schema": {"type": "string", "enum": ["true", "false"]}, "description": "only unread ones"},
                {"name": "limit", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": service.MAX_PAGE}}],
            "responses": {"200": ok({"type": "object", "required": ["items", "unread"], "properties": {
                "items": {"type": "array", "items": ref}, "unread": {"type": "integer"}}}),
                **errors("401", "422")}}},
        "/notifications/{notification_id}/read": {"post": {
            "summary": "Mark one of the caller's notifications read (404 for anyone else's)",
            "parameters": [id_param], "responses": {"200": ok(ref), **errors("401", "404")}}},
        "/notifications/read-all": {"post": {
            "summary": "Mark all of the caller's notifications read",
            "responses": {"200": ok({"type": "object", "required": ["marked"],
                                     "properties": {"marked": {"type": "integer"}}}), **errors("401")}}},
    }
    nullable = {"type": ["string", "null"]}
    schemas = {"Notification": {"type": "object", "required": ["id", "kind", "subject", "created_at"], "properties": {
        "id": {"type": "integer"},
        "kind": {"type": "string", "enum": [k.value for k in service.Kind]},
        "subject": {"type": "string"}, "body": {"type": "string"}, "link": nullable,
        "task_id": {**nullable, "format": "uuid"}, "case_id": {**nullable, "format": "uuid"},
        "created_at": {"type": "string", "format": "date-time"},
        "read_at": {**nullable, "format": "date-time"},
        "mail_state": {"type": "string", "enum": ["none", "pending", "sent", "failed"]}}}}
    return paths, schemas
