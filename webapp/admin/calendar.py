"""The working-day calendar for admins: /admin/calendar and /api/v1/calendar/closing-days.

Shows a year's NRW public holidays, the closing days from ``KIM_CLOSING_DAYS`` (read-only: they
belong to the deployment's configuration) and the municipal closing days stored in the
database, which admins add and delete here. The rules (past days, duplicates, holidays) and the
audit live in ``engine.services.admin.closing_days``; the engine's calendar picks the change up in
every process (see that module).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import clock
from engine.domain.actors import Actor
from engine.domain.errors import InvalidInput, NotFound
from engine.domain.permissions import Permission, require
from engine.services.admin import closing_days
from webapp.core.engine_messages import translate_fields
from webapp.core.openapi import DATE, _op, _query
from webapp.core.security import engine_context, login_required, require_actor
from webapp.core.serialize import to_json
from webapp.core.transactions import run

admin_calendar = Blueprint("admin_calendar", __name__, template_folder="templates")


def _admin() -> Actor:
    actor = require_actor()
    require(actor, Permission.MANAGE_CALENDAR)
    return actor


def _year(raw: str | None) -> int:
    if raw is None or raw == "":
        return clock.local_now().year
    if not raw.isdigit() or len(raw) != 4:
        raise InvalidInput("'year' must be a year like 2027", {"year": "a four-digit year"})
    return int(raw)


@admin_calendar.get("/api/v1/calendar/closing-days")
def list_api() -> Any:
    actor = _admin()
    raw = request.args.get("year")
    year = _year(raw) if raw else None
    calendar = engine_context().calendar
    configured = sorted(d for d in calendar.closing_days if year is None or d.year == year)
    return jsonify({"items": to_json(run(closing_days.list_closing_days, actor, year)),
                    "configured": [{"day": d.isoformat(), "source": "configuration"} for d in configured]})


@admin_calendar.post("/api/v1/calendar/closing-days")
def add_api() -> Any:
    actor = _admin()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, description="the request body must be a JSON object")
    return jsonify(to_json(run(closing_days.add_closing_day, actor, body))), 201


@admin_calendar.delete("/api/v1/calendar/closing-days/<day>")
def delete_api(day: str) -> Any:
    actor = _admin()
    try:
        parsed = closing_days.parse_day(day[:20])
    except InvalidInput as exc:
        raise NotFound(f"no closing day '{day[:20]}'") from exc
    run(closing_days.delete_closing_day, actor, parsed)
    return "", 204


@admin_calendar.get("/admin/calendar", endpoint="page")
@login_required
def page() -> Any:
    actor = _admin()
    try:
        year = _year(request.args.get("year"))
        data = run(closing_days.calendar_year, actor, year)
    except InvalidInput as exc:
        year = clock.local_now().year
        data = run(closing_days.calendar_year, actor, year)
        return render_template("admin_calendar.html", data=data, errors=translate_fields(exc.fields), values={}), 422
    return render_template("admin_calendar.html", data=data, errors={}, values={})


@admin_calendar.post("/admin/calendar/closing-days")
@login_required
def add_page() -> Any:
    actor = _admin()
    values = {"day": request.form.get("day", ""), "label": request.form.get("label", "")}
    try:
        added = run(closing_days.add_closing_day, actor, values)
    except InvalidInput as exc:
        year = _year_of(values["day"])
        data = run(closing_days.calendar_year, actor, year)
        return render_template("admin_calendar.html", data=data,
                               errors=translate_fields(exc.fields), values=values), 422
    flash(_("Schließtag %(day)s hinzugefügt.", day=_de(added.day.isoformat())), "ok")
    return redirect(url_for("admin_calendar.page", year=added.day.year))


@admin_calendar.post("/admin/calendar/closing-days/<day>/delete")
@login_required
def delete_page(day: str) -> Any:
    actor = _admin()
    try:
        parsed = closing_days.parse_day(day[:20])
    except InvalidInput:
        abort(404)
    run(closing_days.delete_closing_day, actor, parsed)
    flash(_("Schließtag %(day)s gelöscht.", day=_de(parsed.isoformat())), "ok")
    return redirect(url_for("admin_calendar.page", year=parsed.year))


def _year_of(day: str) -> int:
    return int(day[:4]) if len(day) >= 4 and day[:4].isdigit() and 1900 <= int(day[:4]) <= 2200 \
        else clock.local_now().year


def _de(iso: str) -> str:
    return f"{iso[8:10]}.{iso[5:7]}.{iso[:4]}"


def describe() -> tuple[dict[str, Any], dict[str, Any]]:
    day_item = {"$ref": "#/components/schemas/ClosingDay"}
    listing = {"type": "object", "required": ["items", "configured"], "properties": {
        "items": {"type": "array", "items": day_item},
        "configured": {"type": "array", "items": {"type": "object", "properties": {
            "day": DATE, "source": {"type": "string", "const": "configuration"}}}}}}
    delete = _op("Delete a stored closing day (admins)", {"type": "object"}, status="204",
                 params=[{"name": "day", "in": "path", "required": True, "schema": DATE}],
                 errors=("401", "403", "404"))
    delete["responses"]["204"] = {"description": "deleted"}
    paths = {
        "/calendar/closing-days": {
            "get": _op("Municipal closing days (admins); `configured` lists KIM_CLOSING_DAYS, read-only", listing,
                       params=[_query("year", {"type": "string", "pattern": "^[0-9]{4}$"})],
                       errors=("401", "403", "422")),
            "post": _op("Add a closing day (admins): 422 for a bad, past, configured, holiday or duplicate date",
                        day_item, status="201", errors=("401", "403", "422"),
                        body={"type": "object", "required": ["day"], "properties": {
                            "day": DATE, "label": {"type": "string", "maxLength": 200}}}),
        },
        "/calendar/closing-days/{day}": {"delete": delete},
    }
    schemas = {"ClosingDay": {"type": "object", "required": ["day", "label"], "properties": {
        "day": DATE, "label": {"type": "string"}, "created_by": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"}, "source": {"type": "string"}}}}
    return paths, schemas


