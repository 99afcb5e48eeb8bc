"""``showFrom``: the model names labelled data fields that tell the office what a task is about; a bad
value is a model problem when the model is uploaded, and the step copies plain, bounded values."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask

from engine.bpmn.diff import diff_models
from engine.bpmn.show_from import MAX_ENTRIES, parse_show_from
from engine.domain.model import HumanTaskMeta, ValidationProblem
from engine.services.casework.views import ContextEntry, TaskView
from engine.services.process_models.model_messages import german
from engine.services.stepping.task_context import MAX_VALUE, task_context
from tests.unit.test_leads_and_conferences_rules import prop, read
from webapp.core.engine_messages import translate_message
from webapp.core.i18n import init_i18n

HOUSEHOLD = "Familienmitglied=household_deadline.member_name; Weg=household_deadline.path_label; " \
            "Frist=household_deadline.deadline"


def test_labelled_paths_are_read_from_the_model_and_survive_the_stored_metadata() -> None:
    meta, problems = read(prop("officeFrom", "invitation.office") + prop("showFrom", HOUSEHOLD + ";"))
    assert problems == []
    task = meta.human_tasks["invite"]
    assert task.show_from == (("Familienmitglied", "household_deadline.member_name"),
                              ("Weg", "household_deadline.path_label"), ("Frist", "household_deadline.deadline"))
    assert HumanTaskMeta.from_json(task.to_json()) == task, "stored with the version, read back the same"
    stored = task.to_json()
    del stored["show_from"]
    assert HumanTaskMeta.from_json(stored).show_from == (), "versions deployed before the property still load"


def test_a_key_may_start_with_a_digit_after_the_variable() -> None:
    assert parse_show_from("t", "Frist=deadlines.25a.deadline", []) == (("Frist", "deadlines.25a.deadline"),)


@pytest.mark.parametrize(("value", "reason"), [
    ("Frist household_deadline.deadline",
     "showFrom entry 'Frist household_deadline.deadline' is not 'Label=data.path' "
     "(e.g. Frist=household_deadline.deadline)"),
    ("=household_deadline.deadline",
     "showFrom entry '=household_deadline.deadline' is not 'Label=data.path' (e.g. Frist=household_deadline.deadline)"),
    ("Frist=household deadline", "showFrom path 'household deadline' is not a data field name "
                                 "(e.g. household_deadline.deadline)"),
    ("Frist=1st.deadline", "showFrom path '1st.deadline' is not a data field name (e.g. household_deadline.deadline)"),
    ("Frist=a.b; Frist=a.c", "showFrom label 'Frist' appears more than once"),
    ("X" * 61 + "=a.b", f"showFrom label '{'X' * 61}' is longer than 60 characters"),
    ("; ".join(f"F{i}=a.f{i}" for i in range(MAX_ENTRIES + 1)), "showFrom names 9 entries; at most 8 are shown"),
])
def test_a_bad_show_from_is_a_model_problem_in_german_and_english(value: str, reason: str) -> None:
    meta, problems = read(prop("officeFrom", "invitation.office") + prop("showFrom", value))
    assert [(p.element_id, p.reason) for p in problems] == [("invite", reason)]
    assert meta.human_tasks["invite"].show_from == (), "a task shows all the model names or nothing"
    checked = german(reason)
    assert "showFrom" in checked
    assert not checked.startswith("Das Modell lässt sich nicht ausführen"), checked
    app = Flask("kim-show-from")
    app.secret_key = "test"
    init_i18n(app)
    with app.test_request_context("/inbox"):
        assert translate_message(reason) == checked, "publishing through the API answers the same German text"
    with app.test_request_context("/inbox?lang=en"):
        assert translate_message(checked) not in (checked, reason), "the English reader of the check gets English"


def test_an_empty_value_shows_nothing_and_is_no_problem() -> None:
    problems: list[ValidationProblem] = []
    assert parse_show_from("t", "  ", problems) == ()
    assert problems == []


def test_the_diff_of_two_versions_names_a_changed_show_from() -> None:
    def model(value: str) -> bytes:
        return (f'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
                f'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d"><bpmn:process id="p">'
                f'<bpmn:userTask id="t" name="T"><bpmn:extensionElements><spiffworkflow:properties>'
                f'{prop("showFrom", value)}</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>'
                f'</bpmn:process></bpmn:definitions>').encode()
    changed = diff_models(model("Frist=a.b"), model("Frist=a.c"))["changed"]
    assert [c["id"] for c in changed] == ["t"]
    assert any("showFrom" in line for line in changed[0]["changes"])


def test_the_values_are_plain_bounded_and_days_stay_days() -> None:
    data = {"item": {"name": "Leila <b>Haddad</b>", "deadline": "2027-04-30", "nested": {"a": 1},
                     "offices": ["ABH", "KI"], "count": 3, "filed": False, "long": "x" * 500, "bad_day": "2027-02-30"}}
    show = [("Name", "item.name"), ("Frist", "item.deadline"), ("Objekt", "item.nested"), ("Stellen", "item.offices"),
            ("Anzahl", "item.count"), ("Gestellt", "item.filed"), ("Lang", "item.long"), ("Fehlt", "item.none"),
            ("Kein Tag", "item.bad_day")]
    found = task_context(show, data)
    assert found is not None
    by_label = {e["label"]: (e["value"], e["kind"]) for e in found}
    assert by_label["Name"] == ("Leila <b>Haddad</b>", "text"), "kept as text; the page escapes it"
    assert by_label["Frist"] == ("2027-04-30", "date")
    assert by_label["Stellen"] == ("ABH, KI", "text")
    assert by_label["Anzahl"] == ("3", "text")
    assert by_label["Gestellt"] == (False, "bool")
    assert len(by_label["Lang"][0]) == MAX_VALUE
    assert by_label["Kein Tag"] == ("2027-02-30", "text")
    assert "Objekt" not in by_label
    assert "Fehlt" not in by_label
    assert task_context([("Fehlt", "nothing")], data) is None


def test_a_task_view_turns_the_stored_days_into_dates_and_a_lead_without_the_data_gets_none() -> None:
    view = TaskView(None, None, None, "Karim Haddad", None, "p", "t", "T", "CM", None, "open",  # type: ignore[arg-type]
                    None, None, None, 0, None, None, None, 1)  # type: ignore[arg-type]
    shown = view.with_context([{"label": "Frist", "value": "2027-04-30", "kind": "date"},
                               {"label": "Weg", "value": "§ 25a", "kind": "text"}])
    assert shown.context == (ContextEntry("Frist", date(2027, 4, 30)), ContextEntry("Weg", "§ 25a"))
    assert "context" not in shown.hidden
    assert "context" in view.hidden, "only the task detail reads it"
    lead = shown.metadata_only()
    assert lead.context == ()
    assert "context" in lead.hidden
