"""Pages of the form editor: /forms (every form with its current version) and /forms/<key>
(schema and UI hints as JSON text, a live preview, save as a new version, earlier versions).

Saving is a plain form post, so the editor works without JavaScript; static/form-editor.js
adds the live preview through POST /api/v1/forms/preview.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.domain.errors import Conflict, InvalidInput, NotFound
from engine.forms import FORM_KEY
from engine.services.process_models import form_versions
from webapp.core.engine_messages import translate_fields, translate_message
from webapp.core.security import login_required, require_actor
from webapp.core.transactions import request_uow, run
from webapp.modeler.api_forms import preview_html, registry

forms_pages = Blueprint("forms_pages", __name__)



@forms_pages.get("/forms")
@login_required
def form_list() -> Any:
    return render_template("forms_list.html", forms=run(form_versions.list_forms, require_actor()))


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def _grouped(errors: dict[str, str]) -> dict[str, list[str]]:
    """Field errors under the text area they concern ("ui..." or "schema...")."""
    grouped: dict[str, list[str]] = {"schema": [], "ui": [], "other": []}
    for field, message in errors.items():
        area = field.split(".", 1)[0]
        where = field.split(".", 1)[1] if "." in field else ""
        grouped[area if area in grouped else "other"].append(f"{where}: {message}" if where else message)
    return grouped


def _render(key: str, schema_text: str, ui_text: str, version: int, errors: dict[str, str],
            preview: str | None, status: int = 200) -> Any:
    actor = require_actor()
    try:
        versions = run(form_versions.form_history, actor, key)
    except NotFound:
        versions = []  # a new form that was not saved yet
    current = versions[0]["version"] if versions else 0
    return render_template("forms_edit.html", key=key, schema_text=schema_text, ui_text=ui_text, version=version,
                           current_version=current, errors=_grouped(errors), preview=preview,
                           versions=versions), status


@forms_pages.get("/forms/<key>")
@login_required
def form_edit(key: str) -> Any:
    raw = request.args.get("version", "")
    version = int(raw) if raw.isdigit() and int(raw) < 1_000_000 else None
    form = run(form_versions.get_form, require_actor(), key[:200], version)
    return _render(form["key"], _pretty(form["schema"]), _pretty(form["ui"]), form["version"], {},
                   preview_html(form["schema"], form["ui"]))


@forms_pages.get("/forms/new")
@login_required
def form_new() -> Any:
    form_versions.require_editor(require_actor())
    return render_template("forms_new.html", key="", errors={})


@forms_pages.post("/forms/new")
@login_required
def form_create() -> Any:
    form_versions.require_editor(require_actor())
    key = request.form.get("key", "").strip()
    if not FORM_KEY.match(key) or key in form_versions.RESERVED_KEYS:
        return render_template("forms_new.html", key=key,
                               errors={"key": _("Nur Kleinbuchstaben, Ziffern, _ und - (höchstens 100 Zeichen).")}), 422
    known = key in registry().keys(request_uow().session)
    return redirect(url_for("forms_pages.form_edit", key=key) if known
                    else url_for("forms_pages.form_draft", key=key))


@forms_pages.get("/forms/<key>/new")
@login_required
def form_draft(key: str) -> Any:
    """An empty form for a key that has neither a file nor a stored version yet."""
    form_versions.require_editor(require_actor())
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": key, "type": "object",
              "required": [], "properties": {"notiz": {"type": "string", "title": "Notiz", "maxLength": 4000}},
              "additionalProperties": False}
    return render_template("forms_edit.html", key=key[:200], schema_text=_pretty(schema), ui_text="{}", version=0,
                           current_version=0, errors=_grouped({}), preview=preview_html(schema, {}), versions=[])


@forms_pages.post("/forms/<key>")
@login_required
def form_save(key: str) -> Any:
    actor = require_actor()
    form_versions.require_editor(actor)
    schema_text, ui_text = request.form.get("schema", ""), request.form.get("ui", "") or "{}"
    errors: dict[str, str] = {}
    body: dict[str, Any] = {}
    for name, text in (("schema", schema_text), ("ui", ui_text)):
        try:
            body[name] = json.loads(text)
        except json.JSONDecodeError as exc:
            errors[name] = _("Kein gültiges JSON (Zeile %(line)s, Spalte %(col)s): %(msg)s",
                             line=exc.lineno, col=exc.colno, msg=exc.msg)
    base = request.form.get("base_version", "")
    if base.isdigit():
        body["base_version"] = int(base)
    if not errors:
        try:
            saved = run(form_versions.save_form, actor, key[:200], body)
        except InvalidInput as exc:
            errors = translate_fields(exc.fields) or {"schema": translate_message(str(exc))}
        except Conflict as exc:
            flash(_("Das Formular wurde inzwischen von jemand anderem gespeichert. Bitte neu laden.") + f" ({exc})",
                  "error")
            return _render(key[:200], schema_text, ui_text, int(base or 0), {}, None, 409)
        else:
            flash(_("Version %(version)s gespeichert.", version=saved["version"]), "ok")
            return redirect(url_for("forms_pages.form_edit", key=saved["key"]))
    return _render(key[:200], schema_text, ui_text, int(base or 0), errors, None, 422)
