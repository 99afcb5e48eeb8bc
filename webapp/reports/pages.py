"""Indicators (Kennzahlen): ``GET /api/v1/reports/kpis`` (JSON or CSV) and the page /reports/kpis.

Who may see them is decided in ``engine.services.reporting.kpis`` (office leads, KIM coordination, admins,
auditors); the figures are aggregates with small counts suppressed, never case data. The CSV is
what the KIM coordination hands in for the Land's proof-of-use report: UTF-8 with a BOM and
``;`` separators so that a German spreadsheet opens it without an import dialogue.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, jsonify, render_template, request

from engine.domain.actors import Actor
from engine.domain.errors import InvalidInput
from engine.services.reporting import kpis
from webapp.core.engine_messages import translate_fields
from webapp.core.openapi import DATE, ERRORS, _json, _query
from webapp.core.security import current_actor, login_required
from webapp.core.transactions import run

reports = Blueprint("reports", __name__, template_folder="templates")
FORMATS = ("json", "csv")


def _api_actor() -> Actor:
    actor = current_actor()
    if actor is None:
        abort(401, description="sign in or send 'Authorization: Bearer <token>'")
    return actor


def _format() -> str:
    chosen = request.args.get("format", "json") or "json"
    if chosen not in FORMATS:
        raise InvalidInput("'format' must be json or csv", {"format": "json or csv"})
    return chosen


def csv_response(report: dict[str, Any]) -> Response:
    name = f"kim-kennzahlen_{report['from']}_{report['to']}.csv"
    return Response(kpis.kpi_csv(report), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _report(fixed_format: str | None = None) -> tuple[str, dict[str, Any]]:
    actor = _api_actor()
    kpis.require_report_access(actor)  # 403 before looking at the parameters
    output = fixed_format or _format()
    return output, run(kpis.kpi_report, actor, kpis.parse_range(request.args), output)


@reports.get("/api/v1/reports/kpis")
def kpis_api() -> Any:
    output, report = _report()
    return csv_response(report) if output == "csv" else jsonify(report)


@reports.get("/api/v1/reports/kpis.csv")
def kpis_csv() -> Any:
    return csv_response(_report("csv")[1])


@reports.get("/reports/kpis", endpoint="kpis_page")
@login_required
def kpis_page() -> Any:
    actor = current_actor()
    assert actor is not None  # noqa: S101  # guaranteed by @login_required
    kpis.require_report_access(actor)
    args = {k: request.args.get(k, "") for k in ("from", "to")}
    try:
        period = kpis.parse_range(args)
    except InvalidInput as exc:
        return render_template("kpis.html", report=None, args=args, errors=translate_fields(exc.fields)), 422
    report = run(kpis.kpi_report, actor, period, "page")
    return render_template("kpis.html", report=report, args={"from": report["from"], "to": report["to"]},
                           errors={})


def describe() -> tuple[dict[str, Any], dict[str, Any]]:
    params = [_query("from", DATE, "first day (inclusive, Europe/Berlin); default: first day of this month"),
              _query("to", DATE, "last day (inclusive); default: last day of this month; at most 3 years")]
    errors = {code: ERRORS[code] for code in ("400", "401", "403", "422")}
    csv_content: dict[str, Any] = {"text/csv": {"schema": {"type": "string"}}}
    csv_body = {"description": "CSV (UTF-8 with BOM, `;`), one row per indicator and breakdown cell",
                "content": csv_content}
    json_content: dict[str, Any] = _json({"$ref": "#/components/schemas/KpiReport"})["content"]
    paths = {
        "/reports/kpis": {"get": {
            "summary": "Indicators of DOMAIN.md section 8 (office leads, KIM coordination, admins, auditors)",
            "parameters": [*params, _query("format", {"type": "string", "enum": list(FORMATS)}, "default json")],
            "responses": {"200": {"description": "JSON, or CSV with format=csv", "content": {
                **json_content, **csv_content}}, **errors}}},
        "/reports/kpis.csv": {"get": {"summary": "The indicators as CSV for the Land's proof-of-use report",
                                      "parameters": params, "responses": {"200": csv_body, **errors}}},
    }
    number = {"type": ["number", "null"]}
    cell = {"type": "object", "required": ["dimension", "label", "value", "unit", "suppressed"], "properties": {
        "dimension": {"type": "object", "additionalProperties": {"type": "string"},
                      "description": "what the cell counts, e.g. {office: ABH, age: ...}"},
        "label": {"type": "string"}, "value": number, "unit": {"type": "string"},
        "n": {"type": ["integer", "null"], "description": "cases behind a median"},
        "suppressed": {"type": "boolean", "description": "true: fewer than 5, value withheld"}}}
    schemas = {
        "KpiCell": cell,
        "KpiIndicator": {"type": "object", "required": ["key", "label", "unit", "definition", "value", "suppressed",
                                                        "breakdown"], "properties": {
            "key": {"type": "string"}, "label": {"type": "string"},
            "unit": {"type": "string", "enum": ["count", "days", "working_days", "percent"]},
            "definition": {"type": "string"}, "value": number, "suppressed": {"type": "boolean"},
            "breakdown": {"type": "array", "items": {"$ref": "#/components/schemas/KpiCell"}}}},
        "KpiReport": {"type": "object", "required": ["from", "to", "as_of", "generated_at", "indicators"],
                      "properties": {
                          "from": DATE, "to": DATE, "as_of": {"type": "string", "format": "date-time"},
                          "generated_at": {"type": "string", "format": "date-time"},
                          "suppression_threshold": {"type": "integer"},
                          "indicators": {"type": "array", "items": {"$ref": "#/components/schemas/KpiIndicator"}}}},
    }
    return paths, schemas


