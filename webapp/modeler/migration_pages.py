"""Pages /models/<key>/migrate (dry run and migration of running cases) and the instance view
/cases/<case_id>/instance (diagram with position, path and timings; versions the case ran on).

Both pages are complete without JavaScript; static/instance-view.js draws the diagram with
bpmn-js and puts the markers and day counts on it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint, abort, flash, jsonify, render_template, request
from flask_babel import format_decimal
from flask_babel import gettext as _

from engine.domain.errors import InvalidInput
from engine.domain.permissions import Permission, require
from engine.services.process_models import deployment, instance_migration
from engine.services.process_models.deployment import DefinitionView
from engine.services.process_models.instance_view import instance_view
from webapp.core.security import login_required, require_actor
from webapp.core.transactions import run, run_batch

migration_pages = Blueprint("migration_pages", __name__, template_folder="templates")



def _process_versions(key: str) -> list[DefinitionView]:
    versions = [v for v in run(deployment.definition_versions, key) if v.kind == "process"]
    if not versions:
        abort(404, description="no such process")
    return versions


def _version_arg(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 1_000_000:
        raise InvalidInput(_("Ungültige Versionsnummer."), {name: _("Versionsnummer ungültig")})
    return int(raw)


def _page(key: str, to_version: int | None, from_version: int | None,
          result: dict[str, Any] | None = None, status: int = 200) -> Any:
    actor = require_actor()
    require(actor, Permission.MIGRATE_CASES)
    versions = _process_versions(key)
    report = None
    if to_version is not None:
        body: dict[str, Any] = {"to_version": to_version}
        if from_version is not None:
            body["from_version"] = from_version
        report = run(instance_migration.dry_run, actor, key, body)
    return render_template("migrate.html", key=key, versions=versions, to_version=to_version,
                           from_version=from_version, report=report, result=result), status


@migration_pages.get("/models/<key>/migrate")
@login_required
def migrate_page(key: str) -> Any:
    return _page(key[:200], _version_arg(request.args.get("to"), "to"),
                 _version_arg(request.args.get("from"), "from"))


@migration_pages.post("/models/<key>/migrate")
@login_required
def migrate_cases(key: str) -> Any:
    key = key[:200]
    to_version = _version_arg(request.form.get("to_version"), "to_version")
    body: dict[str, Any] = {"to_version": to_version}
    from_version = _version_arg(request.form.get("from_version"), "from_version")
    if from_version is not None:
        body["from_version"] = from_version
    if request.form.get("action") == "all":
        body["all_compatible"] = True
    else:
        body["instance_ids"] = request.form.getlist("instance_id")
    try:
        result = run_batch(instance_migration.migrate, require_actor(), key, body)
    except InvalidInput as exc:
        if "instance_ids" not in exc.fields:
            raise
        flash(_("Bitte mindestens einen Fall auswählen."), "error")
        return _page(key, to_version, from_version, status=422)
    flash(_("%(n)s Fall/Fälle migriert, %(s)s übersprungen.", n=len(result["migrated"]),
            s=len(result["skipped"])), "ok")
    return _page(key, to_version, from_version, result)


def _days(value: float) -> str:
    return str(format_decimal(value, format="#,##0.0"))


def _timings(view: dict[str, Any]) -> list[dict[str, str]]:
    """Overlay texts per element: how long the last run of a step took, how long the current waits."""
    labels: dict[str, dict[str, str]] = {}
    for step in view["completed"]:
        labels[step["bpmn_id"]] = {"bpmn_id": step["bpmn_id"], "state": "done",
                                   "label": _("%(d)s Tage", d=_days(step["days"]))}
    for step in [*view["active"], *view["timers"]]:
        labels[step["bpmn_id"]] = {"bpmn_id": step["bpmn_id"], "state": "active",
                                   "label": _("wartet seit %(d)s Tagen", d=_days(step["days"]))}
    return list(labels.values())


@migration_pages.get("/cases/<uuid:case_id>/instance")
@login_required
def instance_page(case_id: UUID) -> Any:
    view = run(instance_view, require_actor(), case_id)
    return render_template("instance.html", view=view, timings=_timings(view), days=_days)


@migration_pages.get("/cases/<uuid:case_id>/instance.json")
@login_required
def instance_json(case_id: UUID) -> Any:
    """Diagram source, markers and day counts for the bpmn-js viewer of the instance view."""
    view = run(instance_view, require_actor(), case_id)
    return jsonify({"xml": view["xml"], "current": view["current"], "done": view["done"],
                    "timings": _timings(view), "version": view["version"]})



