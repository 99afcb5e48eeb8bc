"""The supervisor dashboard ("Steuerung") for office leads, the KIM coordination and admins.

Pages and CSV downloads under /supervision, the same report as JSON for integrators at
GET /api/v1/reports/dashboard. Views stay thin: parse the filter, call
``engine.services.reporting.supervision``, render. Charts and the heatmap are drawn by
static/dashboard.js from the JSON endpoint (no inline script under the CSP).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request

from engine.domain.errors import InvalidInput
from engine.domain.permissions import Permission, has
from engine.services.reporting import csv_export as export
from engine.services.reporting.supervision.dashboard import (
    ESCALATED_LIMIT,
    build_dashboard,
    process_diagram,
    selectable_offices,
)
from engine.services.reporting.supervision.scope import parse_query, require_dashboard_role
from webapp.core.engine_messages import translate_fields
from webapp.core.openapi import DATE, ERRORS
from webapp.core.security import login_required, require_actor
from webapp.core.transactions import run

dashboard = Blueprint("dashboard", __name__, template_folder="templates")
TABLES = ("overdue", "overdue_steps", "workload", "escalations", "escalations_period", "waiting", "daily",
          "heatmap", "escalated")





@dashboard.get("/supervision", endpoint="page")
@login_required
def page() -> Any:
    actor = require_actor()
    require_dashboard_role(actor)
    args = {k: request.args.get(k, "") for k in ("from", "to", "office")}
    offices = run(selectable_offices, actor)
    try:
        board = run(build_dashboard, actor, parse_query(args))
    except InvalidInput as exc:
        return render_template("dashboard.html", board=None, args=args, offices=offices,
                               errors=translate_fields(exc.fields)), 422
    args.update({"from": board.period_start.isoformat(), "to": board.period_end.isoformat()})
    csv_args = {k: v for k, v in args.items() if v}  # the same filter for downloads and the charts' JSON
    return render_template("dashboard.html", board=board, args=args, offices=offices, errors={}, csv_args=csv_args,
                           escalated_limit=ESCALATED_LIMIT, may_reassign=has(actor, Permission.LEAD_OFFICE))


@dashboard.get("/supervision/<any(" + ", ".join(TABLES) + "):name>.csv")
@login_required
def table_csv(name: str) -> Any:
    actor = require_actor()
    require_dashboard_role(actor)
    board = run(build_dashboard, actor, parse_query(request.args))
    content = export.escalated_csv(board.escalated) if name == "escalated" else export.table_csv(board.tables[name])
    filename = f"steuerung-{name}-{board.period_start.isoformat()}-{board.period_end.isoformat()}.csv"
    return Response(content, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


@dashboard.get("/supervision/heatmap/<process_id>.json")
@login_required
def heatmap_diagram(process_id: str) -> Any:
    """The BPMN XML the heatmap is drawn on (the counts come from the report JSON)."""
    return jsonify(run(process_diagram, require_actor(), process_id))


@dashboard.get("/api/v1/reports/dashboard")
def api_dashboard() -> Any:
    actor = require_actor()
    require_dashboard_role(actor)
    return jsonify(run(build_dashboard, actor, parse_query(request.args)).to_json())


def describe_api() -> tuple[dict[str, Any], dict[str, Any]]:
    nullable_number = {"type": ["number", "null"]}
    cell = {"type": ["string", "number", "null"]}
    row = {"type": "object", "required": ["values", "suppressed"], "properties": {
        "values": {"type": "object", "additionalProperties": cell},
        "suppressed": {"type": "array", "items": {"type": "string"},
                       "description": "keys of cells hidden because fewer than 5 (value null)"}}}
    table = {"type": "object", "required": ["name", "columns", "rows"], "properties": {
        "name": {"type": "string"}, "title": {"type": "string"}, "scope": {"type": "string", "enum": ["now", "range"]},
        "columns": {"type": "array", "items": {"type": "object", "properties": {
            "key": {"type": "string"}, "label": {"type": "string"},
            "kind": {"type": "string", "enum": ["label", "count", "total", "measure"]}}}},
        "rows": {"type": "array", "items": row}, "total": {"oneOf": [row, {"type": "null"}]}}}
    escalated = {"type": "object", "properties": {
        "office": {"type": "string"}, "process": {"type": "string"}, "step": {"type": "string"},
        "name": {"type": "string"}, "escalation_level": {"type": "integer"},
        "due_at": {"type": ["string", "null"], "format": "date-time"}, "overdue_working_days": nullable_number,
        "task_id": {"type": ["string", "null"], "description": "only for callers who may open the task"},
        "case_id": {"type": ["string", "null"], "description": "only for callers who may open the task"},
        "case_reference": {"type": ["string", "null"], "description": "only for callers who may see the case"}}}
    report = {"type": "object", "required": ["from", "to", "offices", "tables", "escalated_tasks"], "properties": {
        "from": DATE, "to": DATE, "offices": {"type": "array", "items": {"type": "string"}},
        "generated_at": {"type": "string", "format": "date-time"}, "suppressed_below": {"type": "integer"},
        "tables": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/ReportTable"}},
        "escalated_tasks": {"type": "array", "items": escalated}}}
    params = [
        {"name": "from", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 10},
         "description": "first day, YYYY-MM-DD or TT.MM.JJJJ (default: 29 days before `to`)"},
        {"name": "to", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 10},
         "description": "last day, included (default: today); at most 366 days after `from`"},
        {"name": "office", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 16},
         "description": "one office code; default every office the caller leads (KI and admins: all)"}]
    operation = {
        "summary": "Supervisor dashboard: overdue tasks by office, step and age, escalations, workload, "
                   "waiting times, due vs completed per day and the process heatmap; counts below 5 are null",
        "parameters": params,
        "responses": {"200": {"description": "OK", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/ReportDashboard"}}}},
            **{code: ERRORS[code] for code in ("400", "401", "403", "422")}}}
    return {"/reports/dashboard": {"get": operation}}, {"ReportDashboard": report, "ReportTable": table}
