"""/admin/retention for admins: the next deletion run (dry run), legal holds, a person's export.

The same use cases as the API (engine.services.retention); every look and change is audited
there. Forms post with the CSRF token; bad input re-renders the page with the field named (422).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.domain.actors import Actor
from engine.domain.errors import Conflict, InvalidInput, NotFound
from engine.domain.permissions import Permission, require
from engine.services.context import UnitOfWork
from engine.services.retention import legal_hold, person_export, runs
from webapp.core.security import login_required, require_actor
from webapp.core.transactions import run

admin_retention = Blueprint("admin_retention", __name__, template_folder="templates")
MAX_REFERENCE = 64


def _admin() -> Actor:
    actor = require_actor()
    require(actor, Permission.MANAGE_RETENTION)
    return actor


def _page(actor: Actor, errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
          status: int = 200) -> Any:
    report = run(runs.preview_retention, actor)
    holds = run(legal_hold.list_legal_holds, actor)
    return render_template("admin_retention.html", report=report, holds=holds, errors=errors or {},
                           values=values or {}), status


@admin_retention.get("/admin/retention", endpoint="page")
@login_required
def page() -> Any:
    return _page(_admin())


@admin_retention.post("/admin/retention/holds")
@login_required
def set_hold() -> Any:
    actor = _admin()
    values = {"reference": request.form.get("reference", "")[:MAX_REFERENCE].strip(),
              "reason": request.form.get("reason", "")}
    try:
        view = run(legal_hold.set_legal_hold, actor, values["reference"] or "-", values["reason"])
    except NotFound:
        return _page(actor, {"reference": _("Kein Fall mit diesem Aktenzeichen.")}, values, 422)
    except InvalidInput as exc:
        return _page(actor, {"reason": _("Bitte einen Grund angeben (höchstens 1000 Zeichen).")}
                     if "reason" in exc.fields else exc.fields, values, 422)
    except Conflict:
        return _page(actor, {"reference": _("Der Inhalt dieses Falls ist bereits gelöscht.")}, values, 409)
    flash(_("Sperrvermerk für %(reference)s gesetzt.", reference=view.reference), "ok")
    return redirect(url_for("admin_retention.page"))


@admin_retention.post("/admin/retention/holds/<uuid:case_id>/release")
@login_required
def release_hold(case_id: Any) -> Any:
    actor = _admin()
    try:
        view = run(legal_hold.clear_legal_hold, actor, case_id, request.form.get("reason") or None)
    except InvalidInput as exc:
        return _page(actor, exc.fields, {}, 422)
    except Conflict:
        flash(_("Dieser Fall hat keinen Sperrvermerk."), "error")
        return redirect(url_for("admin_retention.page"))
    flash(_("Sperrvermerk für %(reference)s aufgehoben.", reference=view.reference), "ok")
    return redirect(url_for("admin_retention.page"))


@admin_retention.get("/admin/retention/export")
@login_required
def export() -> Any:
    """A person's data as a JSON download (GDPR Art. 15), by the reference of one of their cases."""
    actor = _admin()
    reference = request.args.get("reference", "")[:MAX_REFERENCE].strip()

    def export_of(uow: UnitOfWork) -> dict[str, Any]:
        return person_export.export_person(uow, actor, reference or "-")

    try:
        data = run(export_of)
    except NotFound:
        return _page(actor, {"export": _("Kein Fall mit diesem Aktenzeichen.")}, {"export": reference}, 422)
    response = jsonify(data)
    response.headers["Content-Disposition"] = f'attachment; filename="auskunft-{data["cases"][0]["reference"]}.json"'
    response.headers["Cache-Control"] = "no-store"
    return response
