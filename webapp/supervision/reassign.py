"""The office lead's overdue list with bulk reassignment, and the workload per person.

``/supervision/overdue`` lists the overdue open tasks of the offices the lead leads: tick tasks,
choose a colleague of that office, "Zuweisen". All or nothing - a refused task is named with
its reason next to its row and nothing is changed. The same for API clients at
``POST /api/v1/tasks/reassign``. Views stay thin: the rules live in
``engine.services.casework.reassignment``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.domain.errors import InvalidInput
from engine.domain.permissions import Permission, require
from engine.services.casework import inbox, reassignment
from webapp.core.engine_messages import translate_fields, translate_message
from webapp.core.openapi import ERRORS
from webapp.core.security import json_object_body, login_required, require_actor
from webapp.core.serialize import to_json
from webapp.core.transactions import run

reassign = Blueprint("reassign", __name__, template_folder="templates")
LISTED = 200  # the overdue list shows this many, oldest due first


def _page(errors: dict[str, str], message: str | None, chosen: set[str], username: str, status: int) -> Any:
    actor = require_actor()
    require(actor, Permission.LEAD_OFFICE)
    overdue = run(inbox.list_tasks, actor, inbox.TaskFilter(view="office", overdue=True, per_page=LISTED))
    return render_template(
        "overdue.html", tasks=overdue.items, total=overdue.total, colleagues=run(reassignment.office_colleagues, actor),
        workload=run(reassignment.office_workload, actor), errors=errors, message=message, chosen=chosen,
        username=username), status


@reassign.get("/supervision/overdue", endpoint="overdue")
@login_required
def overdue_page() -> Any:
    return _page({}, None, set(), "", 200)


@reassign.post("/supervision/overdue/reassign", endpoint="reassign")
@login_required
def reassign_from_page() -> Any:
    task_ids = request.form.getlist("task_ids")
    username = request.form.get("username", "")
    try:
        done = run(reassignment.reassign_tasks, require_actor(), task_ids, username)
    except InvalidInput as exc:  # ReassignmentFailed names each refused task
        return _page(translate_fields(exc.fields), translate_message(str(exc)), set(task_ids), username, 422)
    flash(_("%(n)s Aufgaben an %(name)s zugewiesen.", n=len(done), name=username), "ok")
    return redirect(url_for("reassign.overdue"))


@reassign.post("/api/v1/tasks/reassign")
def reassign_api() -> Any:
    body = json_object_body()
    done = run(reassignment.reassign_tasks, require_actor(), body.get("task_ids"), body.get("username"))
    return jsonify({"items": [to_json(task) for task in done], "total": len(done)})


@reassign.get("/api/v1/workload")
def workload_api() -> Any:
    return jsonify({"items": [to_json(person) for person in run(reassignment.office_workload, require_actor())]})


def describe_api() -> tuple[dict[str, Any], dict[str, Any]]:
    body = {"type": "object", "required": ["task_ids", "username"], "properties": {
        "task_ids": {"type": "array", "items": {"type": "string", "format": "uuid"}, "minItems": 1,
                     "maxItems": reassignment.MAX_TASKS},
        "username": {"type": "string", "maxLength": 100}}}
    task_list = {"type": "array", "items": {"$ref": "#/components/schemas/Task"}}
    tasks = {"type": "object", "properties": {"items": task_list, "total": {"type": "integer"}}}
    person = {"type": "object", "properties": {
        "username": {"type": "string"}, "display_name": {"type": ["string", "null"]}, "office": {"type": "string"},
        "open_tasks": {"type": "integer"}, "overdue_tasks": {"type": "integer"},
        "oldest_due_at": {"type": ["string", "null"], "format": "date-time"}}}
    reassign_op = {
        "summary": "Office leads: assign several tasks to one colleague of their office, all or none; each task "
                   "is audited as task.assign. 422 names every refused task in `fields` (`task_ids.<id>`)",
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": tasks}}},
                      **{code: ERRORS[code] for code in ("400", "401", "403", "422")}}}
    workload_op = {
        "summary": "Office leads: open and overdue tasks per person of the offices they lead",
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"items": {"type": "array", "items": person}}}}}},
            **{code: ERRORS[code] for code in ("401", "403")}}}
    return {"/tasks/reassign": {"post": reassign_op}, "/workload": {"get": workload_op}}, {}
