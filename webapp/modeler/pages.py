"""The modeler pages: BPMN (bpmn-js) and DMN (dmn-js) editors for process owners and admins.

The pages are thin shells: the server checks who may edit and that the model, version or
draft exists (403/404 before any script runs), then hands the browser the URLs of the JSON
API it talks to (sources, drafts, checks, publishing) in data-* attributes, because the CSP
forbids inline scripts. Everything the modeler saves goes through that same API.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _

from engine.domain.actors import Actor
from engine.domain.errors import InvalidInput
from engine.services.process_models import modeler as modeler_service
from engine.services.process_models.model_drafts import approval_required
from webapp.core.engine_messages import translate_fields
from webapp.core.security import csrf_token, engine_context, login_required, require_actor
from webapp.core.transactions import run

modeler = Blueprint("modeler", __name__, template_folder="templates")


def _actor() -> Actor:
    actor = require_actor()
    modeler_service.require_model_editor(actor)
    return actor


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    if raw == "":
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise InvalidInput(f"'{name}' must be a whole number", {name: "not a number"})
    return int(raw)


def _messages() -> dict[str, str]:
    """Texts the script shows, translated here (the script itself stays language-free)."""
    return {
        "saved": _("Entwurf gespeichert (Stand %(version)s).", version="{version}"),
        "check_ok": _("Prüfung ohne Befund."),
        "problems": _("Befunde der Prüfung"),
        "published": _("Veröffentlicht als Version %(version)s.", version="{version}"),
        "submitted": _("Zur Freigabe eingereicht."),
        "approved": _("Freigegeben und veröffentlicht als Version %(version)s.", version="{version}"),
        "discarded": _("Entwurf verworfen."),
        "confirm_discard": _("Diesen Entwurf wirklich verwerfen? Die Änderungen gehen verloren."),
        "stale": _("Der Entwurf wurde inzwischen von jemand anderem geändert. Bitte neu laden."),
        "error": _("Fehler"),
        "load_failed": _("Das Modell konnte nicht geladen werden"),
        "import_warnings": _("Nicht erkannte Inhalte (gehen beim Speichern verloren)"),
        "no_selection": _("Element im Diagramm auswählen, um es zu bearbeiten."),
        "unsaved": _("Ungespeicherte Änderungen"),
        "open_drafts": _("Offene Entwürfe zu diesem Modell"),
        "draft_status": _("Entwurf %(id)s, Status: %(status)s", id="{id}", status="{status}"),
        "uploaded": _("Datei geladen: %(name)s", name="{name}"),
        "error_label": _("Fehler"),
        "warning_label": _("Warnung"),
        "whole_model": _("ganzes Modell"),
        "status_draft": _("in Bearbeitung"),
        "status_submitted": _("zur Freigabe eingereicht"),
        "status_published": _("veröffentlicht"),
        "status_discarded": _("verworfen"),
        "version_label": _("Version"),
        "nothing_published": _("Es wurde nichts veröffentlicht."),
        "check_refused": _("Es wurde nichts veröffentlicht: Die Prüfung hat %(count)s Fehler gefunden (siehe "
                           "Befunde der Prüfung).", count="{count}"),
        "cancelled": _("Nicht veröffentlicht: abgebrochen."),
        "no_diagram": _("Es ist kein Modell geöffnet, das sich speichern oder veröffentlichen lässt."),
        "open_failed": _("Die Datei „%(name)s“ ließ sich nicht öffnen: %(reason)s Das bisherige Modell bleibt "
                         "geöffnet; es wurde nichts veröffentlicht.", name="{name}", reason="{reason}"),
        "upload_failed_open": _("Es wurde nichts veröffentlicht: Die Datei „%(name)s“ ließ sich nicht öffnen. "
                                "Veröffentlicht wird nur eine Datei, die der Modeler anzeigen kann.", name="{name}"),
        "upload_none": _("Es wurde nichts veröffentlicht: Bitte zuerst mit „Datei öffnen“ eine Datei wählen."),
        "upload_changed": _("Es wurde nichts veröffentlicht: Die Datei „%(name)s“ wurde im Modeler geändert. "
                            "„Hochladen und veröffentlichen“ veröffentlicht die Datei nur unverändert; die "
                            "Änderungen veröffentlichen Sie mit „Veröffentlichen“.", name="{name}"),
        "js_unparsable": _("Sie ist kein lesbares XML."),
        "js_no_diagram": _("Sie enthält kein Diagramm (keine Angaben zur Darstellung der Elemente); der Modeler "
                           "öffnet nur Modelle mit Diagramm."),
        "js_not_bpmn": _("Sie ist kein BPMN-2.0-Prozessmodell."),
        "js_not_dmn": _("Sie ist keine DMN-Entscheidungstabelle."),
        "js_unknown": _("Der Modeler kann sie nicht darstellen."),
        "confirm_unknown": _("Was sich ändert, lässt sich nicht bestimmen."),
        "confirm_new": _("„%(name)s“ (%(key)s) ist neu und wird als Version %(next)s veröffentlicht.",
                         name="{name}", key="{key}", next="{next}"),
        "confirm_version": _("„%(name)s“ (%(key)s) wird als Version %(next)s veröffentlicht. Änderungen gegenüber "
                             "Version %(current)s:", name="{name}", key="{key}", next="{next}",
                             current="{current}"),
        "confirm_identical": _("Der Inhalt ist derselbe wie in Version %(current)s; es entsteht keine neue "
                               "Version.", current="{current}"),
        "confirm_no_changes": _("Keine fachlichen Änderungen (nur Layout)."),
        "confirm_retired": _("„%(key)s“ ist zurückgezogen; mit dieser Version beginnen darauf wieder neue Fälle.",
                             key="{key}"),
        "confirm_other_key": _("Achtung: Das veröffentlicht das Modell „%(key)s“, nicht das geöffnete „%(opened)s“.",
                               key="{key}", opened="{opened}"),
        "confirm_approval": _("Es wird zur Freigabe eingereicht; veröffentlicht wird es, wenn ein zweiter "
                              "Prozessverantwortlicher freigibt."),
        "confirm_approve": _("Freigeben und veröffentlichen"),
        "added": _("Hinzugefügt"),
        "removed": _("Entfernt"),
        "changed": _("Geändert"),
    }


def _render(kind: str, key: str, version: int | None, draft_id: int | None, initial_xml: str | None = None) -> Any:
    actor = _actor()
    ctx = engine_context()
    target = run(modeler_service.modeler_target, actor, kind, key, version, draft_id) if initial_xml is None \
        else modeler_service.ModelerTarget(kind, key, None, None, key)
    source_url = (f"/api/v1/process-models/{quote(target.key, safe='')}/versions/{target.version}/source"
                  if target.version is not None else "")
    return render_template(
        "modeler.html", target=target, initial_xml=initial_xml or "", source_url=source_url,
        csrf_value=csrf_token(), messages=_messages(), publish_approval=approval_required(ctx.config),
        upload_url=url_for("api_definitions.deploy_model"))


@modeler.get("/modeler/bpmn/<key>")
@login_required
def bpmn_page(key: str) -> Any:
    return _render("bpmn", key, _int_arg("version"), _int_arg("draft"))


@modeler.get("/modeler/dmn/<key>")
@login_required
def dmn_page(key: str) -> Any:
    return _render("dmn", key, _int_arg("version"), _int_arg("draft"))


@modeler.get("/modeler/new")
@login_required
def new_page() -> Any:
    """Without a process id: a short form. With one: the modeler on an empty pool with lanes."""
    _actor()
    offices = run(modeler_service.list_offices)
    key = request.args.get("key", "").strip()
    if not key:
        return render_template("modeler_new.html", offices=offices, values={"lanes": ["CM"]}, errors={})
    lanes = request.args.getlist("lanes")
    try:
        xml = modeler_service.new_process_xml(key, request.args.get("name", ""), lanes,
                                              {o["code"] for o in offices})
    except InvalidInput as exc:
        values = {"key": key, "name": request.args.get("name", ""), "lanes": lanes}
        return render_template("modeler_new.html", offices=offices, values=values,
                               errors=translate_fields(exc.fields)), 422
    return _render("bpmn", key, None, None, initial_xml=xml)


