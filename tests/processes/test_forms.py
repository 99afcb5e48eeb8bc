"""The forms of the processes: one valid form per formKey, German labels, and the rules the models rely on.

A form is what an office records, and its fields become process data that gateways and scripts
read; a misspelt enum value or a missing required field would silently send a case down the
wrong path, so these tests pin the contract between forms/ and processes/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from lxml import etree
from werkzeug.datastructures import MultiDict

from engine.demo.samples import PROCESSES_DIR, SAMPLES, form_data
from engine.domain.errors import InvalidInput
from engine.forms import DEFAULT_FORMS_DIR, FormRegistry
from webapp.core.forms_html import fields_for, parse_posted

SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
REGISTRY = FormRegistry()
GERMAN_HINT = re.compile(r"[äöüßÄÖÜ]|\b(der|die|das|und|oder|mit|nach|von|für|am|bis|zur|zum|des|ein|eine)\b", re.I)


def used_form_keys() -> dict[str, set[str]]:
    """formKey -> ids of the user tasks that use it, across processes/."""
    keys: dict[str, set[str]] = {}
    for path in sorted(PROCESSES_DIR.glob("*.bpmn")):
        for prop in etree.parse(str(path)).iter(f"{SPIFF}property"):
            if prop.get("name") == "formKey":
                task = prop.getparent().getparent().getparent()
                keys.setdefault(str(prop.get("value")), set()).add(f"{path.stem}:{task.get('id')}")
    return keys


USED = sorted(used_form_keys())


def properties(schema: Mapping[str, Any], path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every property of a form, including the columns of its tables (arrays of objects)."""
    for name, prop in schema.get("properties", {}).items():
        yield f"{path}{name}", prop
        items = prop.get("items", {})
        if prop.get("type") == "array" and items.get("type") == "object":
            yield from properties(items, f"{path}{name}[].")


def test_the_processes_use_forms() -> None:
    assert len(USED) >= 25, USED


@pytest.mark.parametrize("key", USED)
def test_every_form_key_has_a_valid_form_with_a_title(key: str) -> None:
    form = REGISTRY.get(key)  # NotFound for a missing file or a schema that is not valid JSON Schema 2020-12
    assert form.schema["type"] == "object"
    assert form.schema.get("additionalProperties") is False, "unknown fields must not reach the process data"
    assert GERMAN_HINT.search(form.schema["title"] + " " + form.schema["description"])


@pytest.mark.parametrize("key", REGISTRY.keys())
def test_every_form_has_titles_on_all_properties(key: str) -> None:
    for name, prop in properties(REGISTRY.get(key).schema):
        title = str(prop.get("title", "")).strip()
        assert title, f"{key}: '{name}' has no title"
        assert title != name.split(".")[-1], f"{key}: '{name}' has no title of its own"
        readable = "_" not in title and (title[0].isupper() or title[0] in "§„")
        assert readable, f"{key}: '{name}' has the title '{title}'"


@pytest.mark.parametrize("key", USED)
def test_field_names_are_snake_case_and_enums_have_german_labels(key: str) -> None:
    for name, prop in properties(REGISTRY.get(key).schema):
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name.split(".")[-1].removesuffix("[]")), f"{key}: {name}"
        assert "enum" not in prop, f"{key}: '{name}' needs labels: use oneOf with const and title"
        for option in prop.get("oneOf", []):
            assert option["title"] != option["const"] or option["const"] in {"A1", "A2", "B1"}, \
                f"{key}: '{name}' option {option['const']} has no label"


@pytest.mark.parametrize("key", USED)
def test_ui_schema_orders_exactly_the_form_fields(key: str) -> None:
    form = REGISTRY.get(key)
    assert form.ui["ui:order"] == list(form.schema["properties"]), key
    for name, ui in form.ui.items():
        if isinstance(ui, dict) and ui.get("ui:widget") == "textarea":
            assert form.schema["properties"][name]["type"] == "string", f"{key}: {name}"


@pytest.mark.parametrize("key", USED)
def test_the_demo_data_of_every_form_is_valid(key: str) -> None:
    assert key in SAMPLES, f"no demo data for {key}"
    REGISTRY.validate(key, form_data(key))


def test_every_form_file_is_used_by_a_process_or_the_engine() -> None:
    engine_forms = {"einwilligung_einholen"}  # the consent request of engine.services.casework.consent_gate
    assert set(REGISTRY.keys()) - engine_forms == set(USED)


DOMAIN_INPUTS = {  # DOMAIN.md section 5
    "status", "duldung_months", "stay_years", "date_of_birth", "minor_child_in_household", "school_success_years",
    "german_degree", "in_education", "german_level", "basic_knowledge", "livelihood", "livelihood_expected",
    "livelihood_exception", "employment_hours_week", "employment_insured", "employment_months", "training",
    "training_start", "identity", "identity_in_time_60c", "identity_in_time_60d", "passport_valid",
    "current_obstruction", "conviction", "entry_date", "work_ban", "deportation_measures", "children_school_ok",
    "special_achievements", "holds_104c_until", "fdgo", "qualified_job_offer", "adequate_housing",
    "application_filed_on", "holds_path", "benefits", "qualified_work_route", "eval_date"}
ABH_INPUTS = {"conviction", "work_ban", "deportation_measures"}  # and the § 60b status (duldung_60b)


def test_case_management_and_the_abh_ask_every_screening_input_by_its_name() -> None:
    assessment = set(REGISTRY.get("kim_assessment").schema["properties"])
    abh = set(REGISTRY.get("kim_abh_inputs").schema["properties"])
    from_the_case = {"eval_date", "holds_path"}  # the day of the screening; the path the status stands for
    assert DOMAIN_INPUTS - from_the_case - ABH_INPUTS <= assessment
    assert ABH_INPUTS | {"duldung_60b"} <= abh


def test_the_conviction_and_the_60b_status_are_never_asked_of_case_management() -> None:
    assessment = REGISTRY.get("kim_assessment").schema["properties"]
    assert not ABH_INPUTS & set(assessment)
    assert "DULDUNG_60B" not in {o["const"] for o in assessment["status"]["oneOf"]}
    serious = next(o for o in REGISTRY.get("kim_abh_inputs").schema["properties"]["conviction"]["oneOf"]
                   if o["const"] == "SERIOUS")
    assert "Ausweisungsinteresse nach § 54 Abs. 1 oder Abs. 2 Nr. 1 oder 2" in serious["title"]


def test_obstruction_is_labelled_as_the_law_says_it() -> None:
    label = REGISTRY.get("kim_assessment").schema["properties"]["current_obstruction"]["title"]
    assert "Untertauchen" not in label
    assert "§ 25b Abs. 2 Nr. 1" in label
    assert "Mitwirkung" in label


WORDING = [("Werktag", "working days are „Arbeitstage“"), ("Steuerungsgruppe", "the steering group is the "
           "„Lenkungsgruppe“"), ("Härtefallersuchen", "it is an „Eingabe an die Härtefallkommission“"),
           ("(Schweigepflichtentbindung)", "consent and release from confidentiality are two instruments")]


@pytest.mark.parametrize(("word", "why"), WORDING)
def test_forms_and_models_use_the_words_of_the_field(word: str, why: str) -> None:
    files = [*DEFAULT_FORMS_DIR.glob("*.json"), *PROCESSES_DIR.glob("*.bpmn")]
    assert [f.name for f in files if word in f.read_text(encoding="utf-8")] == [], why


def test_the_consent_names_both_instruments() -> None:
    assert REGISTRY.get("kim_consent").schema["title"] == \
        "Einwilligung in die Datenübermittlung und Entbindung von der Schweigepflicht"
    options = REGISTRY.get("kim_legal_review").schema["properties"]["legal_review_result"]["oneOf"]
    assert any(o["title"].startswith("Eingabe an die Härtefallkommission") for o in options)
    measures = REGISTRY.get("kim_deadline_escalation").schema["properties"]["escalation_measure"]["oneOf"]
    assert "Als strukturelles Problem an die Lenkungsgruppe" in {o["title"] for o in measures}


def test_identity_stages_are_numbered_as_the_bverwg_does() -> None:
    stages = REGISTRY.get("identity_assessment").schema["properties"]["other_document_stage"]["oneOf"]
    assert [o["title"].split(":")[0] for o in stages] == ["Stufe 2", "Stufe 3", "Stufe 4"]
    proof = REGISTRY.get("identity_proof").schema["properties"]
    assert proof["proof_passport"]["title"].startswith("Stufe 1: Pass oder Passersatz")


@pytest.mark.parametrize("path", ["60c", "60d", "60a_2b"])
def test_a_duldung_has_no_eat_card(path: str) -> None:
    """A Duldung is no residence title: the decision refuses a card number for it."""
    REGISTRY.validate("permit_decision", form_data("permit_decision", permit_legal_basis=path, permit_card_number=None))
    assert "permit_card_number" in rejected("permit_decision", permit_legal_basis=path)
    labels = {o["const"]: o["title"] for o in
              REGISTRY.get("permit_decision").schema["properties"]["permit_legal_basis"]["oneOf"]}
    assert "kein Aufenthaltstitel" in labels[path]


def test_a_residence_title_needs_its_eat_card_number() -> None:
    for path in ("25a", "25b", "19d", "16g"):
        assert "permit_card_number" in rejected("permit_decision", permit_legal_basis=path, permit_card_number=None)


def test_every_office_of_the_domain_may_own_a_goal() -> None:
    for office in ("CM", "KI", "ABH", "EBB", "SOZ", "JC", "AA", "JA", "SCH"):
        REGISTRY.validate("kim_integration_plan", form_data("kim_integration_plan", plan_goals=[
            {"goal_type": "OTHER", "title": "Ziel", "owner_office": office, "due_on": "2027-01-01"}]))


def rejected(key: str, **changes: Any) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        REGISTRY.validate(key, form_data(key, **changes))
    return caught.value.fields or {}


@pytest.mark.parametrize(("key", "changes", "field"), [
    ("kim_closure", {"closure_reason": "OTHER"}, "closure_note"),
    ("kim_closure", {"closure_reason": "MIGRATED"}, "closure_reason"),
    ("kim_consent", {"consent_scope": []}, "consent_scope"),
    ("kim_assessment", {"training": "CONTRACT"}, "training_start"),
    ("kim_assessment", {"status": "AE_104C"}, "holds_104c_until"),
    ("kim_assessment", {"status": "DULDUNG_60B"}, "status"),
    ("kim_assessment", {"conviction": "NONE"}, "data"),
    ("kim_assessment", {"entry_date": "02.03.2020"}, "entry_date"),
    ("kim_abh_precheck", {"precheck_result": "OTHER_PATH"}, "precheck_path"),
    ("identity_assessment", {"identity_outcome": "CLARIFIED_OTHER"}, "other_document_stage"),
    ("identity_proof", {"proof_passport": True, "passport_number": "n 123", "passport_valid_until": "2030-01-01"},
     "passport_number"),
    ("permit_decision", {"permit_card_number": "L01X00T4"}, "permit_card_number"),
    ("permit_decision", {"permit_valid_until": None}, "permit_valid_until"),
    ("kim_integration_plan", {"plan_goals": [{"goal_type": "OTHER", "title": "x", "owner_office": "Standesamt",
                                              "due_on": "2027-01-01"}]}, "plan_goals.0.owner_office"),
    ("kim_deadline_warning", {"application_filed_on": None}, "application_filed_on"),
    ("permit_decision", {"permit_decision": "REFUSED", "permit_legal_basis": None, "permit_valid_until": None,
                         "permit_card_number": None}, "notice_served_on"),
    ("permit_decision", {"permit_legal_basis": "25_5"}, "deportation_suspended_since"),
    ("kim_goal", {"unknown_field": 1}, "data"),
])
def test_forms_refuse_what_the_processes_cannot_use(key: str, changes: dict[str, Any], field: str) -> None:
    assert field in rejected(key, **changes)


def test_closure_reasons_are_the_six_of_the_pathway() -> None:
    schema = json.loads((DEFAULT_FORMS_DIR / "kim_closure.schema.json").read_text(encoding="utf-8"))
    reasons = {o["const"] for o in schema["properties"]["closure_reason"]["oneOf"]}
    assert reasons == {"PERMIT_GRANTED", "MOVED_AWAY", "NO_COOPERATION", "CONSENT_WITHDRAWN", "DEPORTED_OR_LEFT",
                       "OTHER"}


def posted(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """The form data as a browser posts it (unchecked boxes are absent; tables are name.row.column)."""
    fields: list[tuple[str, str]] = []
    for name, value in data.items():
        if isinstance(value, list):
            for row, item in enumerate(value):
                fields += posted(item, f"{prefix}{name}.{row}.")
        elif value is True:
            fields.append((f"{prefix}{name}", "on"))
        elif value is not False:
            fields.append((f"{prefix}{name}", str(value)))
    return fields


@pytest.mark.parametrize("key", USED)
def test_every_form_renders_and_survives_the_browser_round_trip(key: str) -> None:
    form = REGISTRY.get(key)
    rendered = fields_for(form.schema, form.ui, {}, {})
    assert [f.name for f in rendered] == list(form.schema["properties"])
    sample = form_data(key)
    back = parse_posted(form.schema, MultiDict(posted(sample)))
    REGISTRY.validate(key, back)
    assert {k: v for k, v in back.items() if v is not False} == {k: v for k, v in sample.items() if v is not False}
