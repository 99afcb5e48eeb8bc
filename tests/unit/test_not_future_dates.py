"""A first contact cannot have happened tomorrow: date fields marked ``x-kim-not-future`` are
refused by the engine's form check when they lie after today (Europe/Berlin)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.domain.errors import InvalidInput
from engine.form_check import check_form
from engine.forms import FormRegistry

FORMS = Path(__file__).resolve().parents[2] / "forms"


@pytest.mark.usefixtures("frozen_clock")  # Friday 20.11.2026, 09:00 Berlin
def test_the_first_contact_of_the_intake_form_may_not_lie_in_the_future() -> None:
    registry = FormRegistry(FORMS)
    data = {"first_contact_on": "2026-11-21", "contact_channel": "PHONE", "intake_outcome": "NOT_REACHABLE",
            "language": "de"}
    with pytest.raises(InvalidInput) as refused:
        registry.validate("kim_intake", data)
    assert refused.value.fields == {"first_contact_on": "darf nicht in der Zukunft liegen"}
    registry.validate("kim_intake", {**data, "first_contact_on": "2026-11-20"})  # today is fine


def test_forms_edited_in_the_browser_may_use_the_keyword() -> None:
    schema = json.loads((FORMS / "kim_intake.schema.json").read_text(encoding="utf-8"))
    ui = json.loads((FORMS / "kim_intake.ui.json").read_text(encoding="utf-8"))
    assert schema["properties"]["first_contact_on"]["x-kim-not-future"] is True
    assert check_form(schema, ui) == {}
