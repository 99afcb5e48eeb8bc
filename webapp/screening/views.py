"""Views of the case's screening: thin - parse, run one use case in the request's unit of work, reply."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint, Flask, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _

from engine.domain.errors import Conflict, EngineError, InvalidInput, NotAllowed
from engine.domain.residence import screening_fields
from engine.domain.screening_audience import WITHHELD, WITHHELD_TEXT
from engine.services.screening import members, panel, plan_acceptance
from webapp.core.openapi import _op, _path_param
from webapp.core.security import json_object_body, login_required, require_actor
from webapp.core.transactions import run

screening_api = Blueprint("screening_api", __name__, url_prefix="/api/v1")
screening_ui = Blueprint("screening_ui", __name__)
MAX_MEMBER_ID = 16


@screening_api.get("/cases/<uuid:case_id>/household")
def list_household(case_id: UUID) -> Any:
    return jsonify({"items": run(members.list_members, require_actor(), case_id)})


@screening_api.put("/cases/<uuid:case_id>/household/<member_id>/inputs")
def set_member_inputs(case_id: UUID, member_id: str) -> Any:
    body = json_object_body()
    return jsonify(run(members.set_member_inputs, require_actor(), case_id, member_id[:MAX_MEMBER_ID], body))


@screening_api.get("/cases/<uuid:case_id>/screening")
def latest_screening(case_id: UUID) -> Any:
    found = panel.require_screening(run(panel.latest_screening, require_actor(), case_id))
    return jsonify(found.to_json())


@screening_api.post("/cases/<uuid:case_id>/screening/accept-goals")
def accept_goals(case_id: UUID) -> Any:
    return jsonify(run(plan_acceptance.accept_proposals, require_actor(), case_id))


@screening_ui.post("/cases/<uuid:case_id>/household/<member_id>/inputs")
@login_required
def member_inputs_form(case_id: UUID, member_id: str) -> Any:
    """The case page form: one member's inputs; empty fields are left as they are."""
    inputs = {name: _form_value(kind, request.form[name]) for name, kind in screening_fields().items()
              if request.form.get(name, "") != ""}
    try:
        run(members.set_member_inputs, require_actor(), case_id, member_id[:MAX_MEMBER_ID], {"inputs": inputs})
        flash(_("Angaben zur Prüfung gespeichert; sie zählen bei der nächsten Prüfung."), "ok")
    except InvalidInput as exc:
        flash(_("Angaben nicht gespeichert: %(fields)s", fields=", ".join(
            f"{k} ({v})" for k, v in exc.fields.items())), "error")
    except NotAllowed as exc:
        flash(str(exc), "error")
    return redirect(url_for("ui.case_page", case_id=case_id) + "#screening")


@screening_ui.post("/cases/<uuid:case_id>/screening/accept-goals")
@login_required
def accept_goals_form(case_id: UUID) -> Any:
    try:
        done = run(plan_acceptance.accept_proposals, require_actor(), case_id)
        if done["revision"]:
            flash(_("Fortschreibung des Integrationsplans angelegt: %(n)s Ziele stehen im Entwurf der Aufgabe "
                    "„Integrationsplan fortschreiben“ für das Case Management.", n=done["added"]), "ok")
        elif done["added"]:
            flash(_("%(n)s Ziele in den Integrationsplan übernommen.", n=done["added"]), "ok")
        else:
            flash(_("Keine neuen Ziele: alle Vorschläge stehen schon im Integrationsplan."), "ok")
    except (Conflict, NotAllowed) as exc:
        flash(str(exc), "error")
    return redirect(url_for("ui.case_page", case_id=case_id) + "#screening")


def _form_value(kind: str, raw: str) -> Any:
    """Form text -> the JSON value the screening expects (the check names what is still wrong)."""
    if kind == "true or false":
        return {"true": True, "false": False}.get(raw, raw)
    if kind.startswith("a whole number") or kind.startswith("a number"):
        try:
            number = float(raw.replace(",", "."))
        except ValueError:
            return raw
        return int(number) if number.is_integer() else number
    return raw


def init_views(app: Flask) -> None:
    """``case_screening(case_id)`` for the case page include: the panel as the caller may see it."""

    def case_screening(case_id: UUID) -> dict[str, Any] | None:
        actor = require_actor()
        try:
            found = run(panel.latest_screening, actor, case_id)
            household = run(members.list_members, actor, case_id)
        except EngineError:
            return None
        if found is None and not household:
            return None
        body = found.to_json() if found is not None else None
        texts = [panel.describe_change(c, found.names) for c in found.changes] if found is not None else []
        return {"panel": body, "household": household, "changes": texts, "fields": screening_fields(),
                "abh_only": sorted(members.ABH_INPUTS), "view": found.view if found else None,
                "is_abh": "ABH" in actor.office_codes}

    app.jinja_env.globals["case_screening"] = case_screening
    app.jinja_env.globals["WITHHELD"] = WITHHELD
    app.jinja_env.globals["WITHHELD_TEXT"] = WITHHELD_TEXT


def describe() -> tuple[dict[str, Any], dict[str, Any]]:
    """OpenAPI part: the household's screening inputs, the stored screening, accepting plan goals."""
    case_id = [_path_param("case_id")]
    member = [*case_id, {"name": "member_id", "in": "path", "required": True,
                         "schema": {"type": "string", "maxLength": MAX_MEMBER_ID}}]
    obj: dict[str, Any] = {"type": "object"}
    return {
        "/cases/{case_id}/household": {"get": _op(
            "Household members with their screening inputs (the ABH's inputs for the ABH only)",
            {"type": "object", "properties": {"items": {"type": "array", "items": obj}}}, params=case_id,
            errors=("401", "403", "404"))},
        "/cases/{case_id}/household/{member_id}/inputs": {"put": _op(
            "Change some screening inputs of a household member (null removes one); audited", obj, params=member,
            body={"type": "object", "additionalProperties": False,
                  "properties": {"inputs": obj, "married": {"type": "boolean"}}},
            errors=("401", "403", "404", "409", "422"))},
        "/cases/{case_id}/screening": {"get": _op(
            "The latest stored household screening, what changed since the previous one, plan-goal proposals",
            obj, params=case_id, errors=("401", "404"))},
        "/cases/{case_id}/screening/accept-goals": {"post": _op(
            "Case management: add every plan-goal proposal to the open integration-plan step, or - once the "
            "plan was agreed - start a plan revision with them in its draft. Reply: task_id (the plan step), "
            "added, goals (those added), revision (true: a revision was started)", obj,
            params=case_id, errors=("401", "403", "404", "409"))},
    }, {}
