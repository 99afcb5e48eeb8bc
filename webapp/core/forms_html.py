"""Render a form's JSON Schema as HTML fields and read the posted fields back into JSON.

Supported: text (single line or multi-line), numbers, dates, enums (labels from
``oneOf``/``const``/``title`` or ``x-enum-labels``), booleans, and arrays of objects (rows).
The server validates the result with the same schema (engine.forms) before anything is
stored, so this module only converts types; it never decides what is valid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

MAX_ROWS = 50


@dataclass
class Field:
    name: str                 # HTML name, e.g. "ziele.0.titel"
    label: str
    kind: str                 # text | textarea | number | integer | date | select | checkbox | rows
    value: Any = None
    required: bool = False
    description: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None
    rows: list[list[Field]] = field(default_factory=list)
    columns: list[Field] = field(default_factory=list)


def _options(schema: Mapping[str, Any]) -> list[tuple[str, str]]:
    if "oneOf" in schema:
        return [(str(o.get("const")), str(o.get("title", o.get("const")))) for o in schema["oneOf"] if "const" in o]
    labels = schema.get("x-enum-labels", {})
    return [(str(v), str(labels.get(str(v), v))) for v in schema.get("enum", [])]


def _kind(schema: Mapping[str, Any], ui: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if "enum" in schema or "oneOf" in schema:
        return "select"
    if kind == "string":
        if schema.get("format") == "date":
            return "date"
        return "textarea" if ui.get("ui:widget") == "textarea" or schema.get("maxLength", 0) > 300 else "text"
    return {"boolean": "checkbox", "number": "number", "integer": "integer", "array": "rows"}.get(str(kind), "text")


def fields_for(schema: Mapping[str, Any], ui: Mapping[str, Any], data: Mapping[str, Any],
               errors: Mapping[str, str], prefix: str = "") -> list[Field]:
    required = set(schema.get("required", []))
    order = ui.get("ui:order") or list(schema.get("properties", {}))
    result = []
    for key in order:
        prop = schema.get("properties", {}).get(key)
        if not isinstance(prop, Mapping):
            continue
        sub_ui = ui.get(key, {}) if isinstance(ui.get(key), Mapping) else {}
        name = f"{prefix}{key}"
        item = Field(name, str(prop.get("title", key)), _kind(prop, sub_ui), data.get(key), key in required,
                     str(prop.get("description", "")), _options(prop), errors.get(name))
        if item.kind == "rows":
            item.columns, item.rows = _rows(prop, sub_ui, data.get(key), errors, name)
        result.append(item)
    return result


def _rows(prop: Mapping[str, Any], ui: Mapping[str, Any], value: Any, errors: Mapping[str, str],
          name: str) -> tuple[list[Field], list[list[Field]]]:
    item_schema = prop.get("items", {})
    item_ui = ui.get("items", {}) if isinstance(ui.get("items"), Mapping) else {}
    existing = [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []
    columns = fields_for(item_schema, item_ui, {}, {}, f"{name}.#.")
    rows = [fields_for(item_schema, item_ui, row, errors, f"{name}.{i}.") for i, row in enumerate(existing)]
    rows.append(fields_for(item_schema, item_ui, {}, {}, f"{name}.{len(existing)}."))  # one empty row to add
    return columns, rows


def _convert(schema: Mapping[str, Any], raw: str | None, present: bool) -> Any:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "boolean":
        return present and raw in ("on", "true", "1")
    if raw is None or raw.strip() == "":
        return None
    raw = raw.strip()
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw.replace(",", "."))
    except ValueError:
        return raw  # left as text: the schema check reports "falscher Typ" at the field
    return raw


def parse_posted(schema: Mapping[str, Any], form: MultiDict[str, str], prefix: str = "") -> dict[str, Any]:
    """Posted HTML fields -> JSON data; empty optional fields are left out."""
    data: dict[str, Any] = {}
    for key, prop in schema.get("properties", {}).items():
        if not isinstance(prop, Mapping):
            continue
        name = f"{prefix}{key}"
        if prop.get("type") == "array" and isinstance(prop.get("items"), Mapping):
            rows = []
            for i in range(MAX_ROWS):
                row = parse_posted(prop["items"], form, f"{name}.{i}.")
                if not any(v not in (None, False) for v in row.values()):
                    if not any(k.startswith(f"{name}.{i}.") for k in form):
                        break
                    continue
                rows.append(row)
            data[key] = rows
            continue
        value = _convert(prop, form.get(name), name in form)
        if value is not None:
            data[key] = value
    return data
