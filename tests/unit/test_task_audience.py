"""The user task property ``audience``: ``lead`` marks a task for the lead(s) of its lane's office
(escalations); every other value is refused with the element named, so a typo cannot send an
escalation to every caseworker of the office."""

from __future__ import annotations

import pytest
from lxml import etree

from engine.bpmn import metadata
from engine.domain.model import HumanTaskMeta, ValidationProblem

NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"')


def process(audience: str | None) -> etree._Element:
    prop = f'<spiffworkflow:property name="audience" value="{audience}"/>' if audience is not None else ""
    xml = (f'<bpmn:definitions {NS} id="d" targetNamespace="t"><bpmn:process id="p" isExecutable="true">'
           '<bpmn:laneSet id="ls"><bpmn:lane id="lane_abh" name="ABH"><bpmn:flowNodeRef>escalate</bpmn:flowNodeRef>'
           '</bpmn:lane></bpmn:laneSet><bpmn:userTask id="escalate" name="Eskalation an die Leitung">'
           '<bpmn:extensionElements><spiffworkflow:properties>'
           f'<spiffworkflow:property name="formKey" value="kim_deadline_escalation"/>{prop}'
           '</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask></bpmn:process></bpmn:definitions>')
    return next(iter(metadata.executable_processes(etree.fromstring(xml.encode()))))


def read(audience: str | None) -> tuple[HumanTaskMeta, list[ValidationProblem]]:
    problems: list[ValidationProblem] = []
    meta = metadata.process_meta(process(audience), lambda name: name.upper(), problems)
    return meta.human_tasks["escalate"], problems


def test_lead_is_read_with_the_office_of_the_lane() -> None:
    task, problems = read("lead")
    assert problems == []
    assert (task.office, task.audience) == ("ABH", "lead")


def test_without_the_property_the_task_is_for_the_whole_office() -> None:
    task, problems = read(None)
    assert problems == []
    assert task.audience is None


@pytest.mark.parametrize("value", ["Lead", "leads", "Leitung", "supervisor", "", "lead,KI"])
def test_any_other_value_is_a_problem_naming_the_element(value: str) -> None:
    task, problems = read(value)
    assert [(p.element_id, p.reason) for p in problems] == [
        ("escalate", f"audience '{value}' is not allowed: use 'lead'")]
    assert task.audience is None


def test_metadata_stored_before_the_property_existed_still_loads() -> None:
    stored = {"bpmn_id": "t", "name": "Aufgabe", "office": "CM", "assignee": None, "due_in": "5WD",
              "escalate_after": None, "form_key": None, "due_from": None, "remind_before": None}
    assert HumanTaskMeta.from_json(stored).audience is None
    assert HumanTaskMeta.from_json(HumanTaskMeta("t", "A", "ABH", audience="lead").to_json()).audience == "lead"
