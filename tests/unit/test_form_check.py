"""engine.form_check: every shipped form passes (so it can be edited and saved as it is), and
what the renderer cannot show is refused with the path of the offending keyword."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.form_check import MAX_FORM_BYTES, check_form
from engine.forms import DEFAULT_FORMS_DIR
from tests.conftest import DATA

SHIPPED = sorted([*DEFAULT_FORMS_DIR.glob("*.schema.json"), *(DATA / "forms").glob("*.schema.json")])


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_forms_pass(path: Path) -> None:
    ui_path = path.with_name(path.name.replace(".schema.json", ".ui.json"))
    ui = json.loads(ui_path.read_text(encoding="utf-8")) if ui_path.is_file() else {}
    assert check_form(json.loads(path.read_text(encoding="utf-8")), ui) == {}


def test_rows_may_not_nest_and_need_fields() -> None:
    nested = {"type": "object", "properties": {"rows": {"type": "array", "items": {
        "type": "object", "properties": {"inner": {"type": "array", "items": {"type": "object",
                                                                              "properties": {}}}}}}}}
    problems = check_form(nested, {})
    assert problems == {"schema.properties.rows.items.properties.inner.type":
                        "Tabellen innerhalb von Tabellen werden nicht unterstützt"}
    empty_rows = {"type": "object", "properties": {"rows": {"type": "array", "items": {"type": "object"}}}}
    assert "schema.properties.rows.items.properties" in check_form(empty_rows, {})


def test_options_need_const_and_one_type() -> None:
    schema = {"type": "object", "properties": {
        "a": {"type": "string", "oneOf": [{"title": "ohne Wert"}]},
        "b": {"type": ["string", "integer"]}}}
    problems = check_form(schema, {})
    assert set(problems) == {"schema.properties.a.oneOf.0", "schema.properties.b.type"}


def test_ui_hints_for_rows_are_checked_against_the_row_fields() -> None:
    schema = {"type": "object", "properties": {"rows": {"type": "array", "items": {
        "type": "object", "properties": {"titel": {"type": "string"}}}}}}
    assert check_form(schema, {"rows": {"items": {"ui:order": ["titel"]}}}) == {}
    assert check_form(schema, {"rows": {"items": {"ui:order": ["x", "titel"]}}}) == {
        "ui.rows.items.ui:order": "unbekanntes Feld „x“"}


def test_size_limit() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string", "description": "x" * MAX_FORM_BYTES}}}
    assert list(check_form(schema, {})) == ["schema"]
