"""Check a form edited in the browser before it is stored: JSON Schema 2020-12, and only what
the form renderer (webapp/forms_html.py) can show.

A schema can be valid JSON Schema and still unusable as a form: a nested object or a ``$ref``
renders as nothing, so a caseworker could never fill in a required field. Rejecting such
constructs here, with the path of the offending keyword, keeps every stored form fillable.
Keep SCALAR_TYPES / FIELD_KEYWORDS in step with the renderer when it learns more.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

MAX_FORM_BYTES = 64 * 1024
DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCALAR_TYPES = {"string", "number", "integer", "boolean"}
FORMATS = {"date", "email", "uri"}
FIELD_KEYWORDS = {"type", "title", "description", "format", "maxLength", "minLength", "pattern", "minimum",
                  "maximum", "exclusiveMinimum", "exclusiveMaximum", "enum", "oneOf", "const", "x-enum-labels",
                  "items", "minItems", "maxItems", "$comment",
                  "x-kim-not-future"}  # no "default": the renderer does not prefill
ROWS_KEYWORDS = {"type", "title", "description", "required", "properties", "additionalProperties", "$comment"}
TOP_KEYWORDS = {"$schema", "$id", "$comment", "title", "description", "type", "required", "properties",
                "additionalProperties", "allOf", "if", "then", "else", "x-kim-consents"}
UI_WIDGETS = {"textarea", "text"}


def check_form(schema: Any, ui: Any) -> dict[str, str]:
    """Problems by field ("schema", "schema.properties.x.type", "ui.ui:order"); empty when fine."""
    problems: dict[str, str] = {}
    if not isinstance(schema, Mapping):
        return {"schema": "muss ein JSON-Objekt sein"}
    if ui is not None and not isinstance(ui, Mapping):
        return {"ui": "muss ein JSON-Objekt sein"}
    ui = ui or {}
    if len(json.dumps([schema, ui], ensure_ascii=False).encode()) > MAX_FORM_BYTES:
        return {"schema": f"Schema und UI-Hinweise sind zusammen größer als {MAX_FORM_BYTES // 1024} KiB"}
    if schema.get("$schema", DIALECT) != DIALECT:
        problems["schema.$schema"] = f"nur JSON Schema 2020-12 ({DIALECT})"
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        path = ".".join(str(p) for p in exc.absolute_path)
        problems[f"schema.{path}" if path else "schema"] = f"kein gültiges JSON Schema: {exc.message}"
        return problems
    _check_object(schema, "schema", TOP_KEYWORDS, problems, rows=False)
    _check_ui(ui, schema, "ui", problems)
    return problems


def _check_object(schema: Mapping[str, Any], path: str, allowed: set[str], problems: dict[str, str],
                  rows: bool) -> None:
    if schema.get("type") != "object":
        problems[f"{path}.type"] = 'muss "object" sein'
    for keyword in schema:
        if keyword not in allowed:
            problems[f"{path}.{keyword}"] = f"„{keyword}“ wird vom Formular nicht unterstützt"
    properties = schema.get("properties", {})
    if not isinstance(properties, Mapping) or (rows and not properties):
        problems[f"{path}.properties"] = "braucht mindestens ein Feld" if rows else "muss ein Objekt sein"
        return
    for name, prop in properties.items():
        _check_field(name, prop, f"{path}.properties.{name}", problems, in_rows=rows)
    for name in schema.get("required", []):
        if name not in properties:
            problems[f"{path}.required"] = f"Pflichtfeld „{name}“ ist kein Feld des Formulars"


def _check_field(name: str, prop: Any, path: str, problems: dict[str, str], in_rows: bool) -> None:
    if not isinstance(prop, Mapping):
        problems[path] = "muss ein Objekt sein"
        return
    kind = prop.get("type")
    kinds = set(kind) - {"null"} if isinstance(kind, list) else {kind}
    if len(kinds) != 1:
        problems[f"{path}.type"] = "braucht genau einen Typ (string, number, integer, boolean oder array)"
        return
    (kind,) = kinds
    if kind == "object":
        problems[f"{path}.type"] = "verschachtelte Objekte werden nicht unterstützt (als Liste mit Zeilen anlegen)"
        return
    unknown = [k for k in prop if k not in FIELD_KEYWORDS]
    if unknown:
        problems[f"{path}.{unknown[0]}"] = f"„{unknown[0]}“ wird vom Formular nicht unterstützt"
        return
    if kind == "array":
        if in_rows:
            problems[f"{path}.type"] = "Tabellen innerhalb von Tabellen werden nicht unterstützt"
            return
        items = prop.get("items")
        if not isinstance(items, Mapping) or items.get("type") != "object":
            problems[f"{path}.items"] = 'Listen brauchen "items" vom Typ "object" (eine Zeile je Eintrag)'
            return
        _check_object(items, f"{path}.items", ROWS_KEYWORDS, problems, rows=True)
    elif kind not in SCALAR_TYPES:
        problems[f"{path}.type"] = f"Typ „{kind}“ wird nicht unterstützt (verschachtelte Objekte: als Tabelle)"
    elif "items" in prop:
        problems[f"{path}.items"] = '"items" nur bei Typ "array"'
    if prop.get("format") is not None and prop.get("format") not in FORMATS:
        allowed = ", ".join(sorted(FORMATS))
        problems[f"{path}.format"] = f"Format „{prop.get('format')}“ wird nicht unterstützt ({allowed})"
    for i, option in enumerate(prop.get("oneOf", [])):
        if not isinstance(option, Mapping) or "const" not in option:
            problems[f"{path}.oneOf.{i}"] = 'Auswahlwerte brauchen "const" (und "title" als Beschriftung)'


def _check_ui(ui: Mapping[str, Any], schema: Mapping[str, Any], path: str, problems: dict[str, str]) -> None:
    properties = schema.get("properties", {}) if isinstance(schema.get("properties"), Mapping) else {}
    for key, value in ui.items():
        where = f"{path}.{key}"
        if key == "ui:order":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                problems[where] = "muss eine Liste von Feldnamen sein"
            else:
                unknown = [v for v in value if v not in properties]
                hidden = [p for p in properties if p not in value]
                if unknown:
                    problems[where] = f"unbekanntes Feld „{unknown[0]}“"
                elif hidden:  # the renderer shows only the listed fields
                    problems[where] = f"Feld „{hidden[0]}“ fehlt in der Reihenfolge und würde nicht angezeigt"
        elif key == "ui:widget":
            if value not in UI_WIDGETS:
                problems[where] = f"unbekanntes Widget (möglich: {', '.join(sorted(UI_WIDGETS))})"
        elif key == "items":
            items = schema.get("items")
            if not isinstance(value, Mapping) or not isinstance(items, Mapping):
                problems[where] = '"items" nur für Listenfelder, als Objekt'
            else:
                _check_ui(value, items, where, problems)
        elif key not in properties:
            problems[where] = f"unbekanntes Feld „{key}“"
        elif not isinstance(value, Mapping):
            problems[where] = "muss ein Objekt sein"
        else:
            _check_ui(value, properties[key], where, problems)
