"""Need to know for tasks addressed to office leads and for case conferences (engine.domain.visibility),
and the model properties that route a task to an office chosen at run time (officeFrom) and keep a
process beside the case's own from closing the case (endsCase)."""

from __future__ import annotations

import pytest
from lxml import etree

from engine.bpmn import metadata
from engine.domain.actors import Actor
from engine.domain.model import HumanTaskMeta, ProcessMeta, ValidationProblem
from engine.domain.visibility import (
    CaseFacts,
    CaseView,
    ConferenceFacts,
    case_view,
    convening_office,
    may_read_minutes,
    may_see_task,
    visible_sections,
    without_consent,
)
from engine.services.process_models.model_messages import german

CM, ABH, KI = 1, 2, 3
CASEWORKER = Actor("carla", "caseworker", frozenset({CM}), 10, frozenset({"CM"}))
LEAD = Actor("sina", "supervisor", frozenset({CM}), 11, frozenset({"CM"}))
OTHER_LEAD = Actor("abel", "supervisor", frozenset({ABH}), 12, frozenset({"ABH"}))
ADMIN = Actor("root", "admin", frozenset({CM}), 13, frozenset({"CM"}))
KI_WORKER = Actor("kim", "caseworker", frozenset({KI}), 14, frozenset({"KI"}))
ABH_WORKER = Actor("achim", "caseworker", frozenset({ABH}), 15, frozenset({"ABH"}))


def test_a_task_for_the_lead_is_seen_by_the_leads_of_its_office_only() -> None:
    assert may_see_task(LEAD, CM, "lead")
    assert not may_see_task(CASEWORKER, CM, "lead"), "not every caseworker of the office"
    assert not may_see_task(OTHER_LEAD, CM, "lead"), "a lead of another office"
    assert not may_see_task(ADMIN, CM, "lead"), "admins work no inbox"
    assert not may_see_task(LEAD, CM, "everyone"), "an audience the engine does not know is nobody's"


def test_an_ordinary_task_is_its_offices_as_before() -> None:
    assert may_see_task(CASEWORKER, CM, None)
    assert may_see_task(LEAD, CM, None)
    assert not may_see_task(ABH_WORKER, CM, None)


def facts(**changes: frozenset[str]) -> CaseFacts:
    base = {"task_offices": frozenset({"CM", "KI", "ABH"}), "consented_offices": frozenset({"KI", "ABH"})}
    return CaseFacts("CM", **{**base, **changes})


def test_ki_sees_a_case_it_works_on_only_with_consent_and_only_for_a_conference() -> None:
    assert case_view(KI_WORKER, facts()) == CaseView.COORDINATION
    assert visible_sections(CaseView.COORDINATION) == {"person_name_dob", "own_tasks", "status"}
    assert case_view(KI_WORKER, facts(consented_offices=frozenset({"ABH"}))) == CaseView.NONE, "no consent"
    assert case_view(KI_WORKER, facts(task_offices=frozenset({"CM"}))) == CaseView.NONE, "not involved"
    invited = facts(task_offices=frozenset({"CM"}), conference_offices=frozenset({"KI", "CM"}))
    assert case_view(KI_WORKER, invited) == CaseView.COORDINATION, "a participant of a conference"


def test_case_management_and_the_coordination_convene_nobody_else() -> None:
    assert convening_office(CaseView.MANAGER, facts()) == "CM"
    assert convening_office(CaseView.MANAGER, CaseFacts("FW", frozenset(), frozenset())) == "FW"
    assert convening_office(CaseView.COORDINATION, facts()) == "KI"
    for view in (CaseView.AUTHORITY, CaseView.PARTNER, CaseView.SCHOOL, CaseView.NONE):
        assert convening_office(view, facts()) is None


def test_only_offices_with_a_valid_consent_are_invited_the_case_management_needs_none() -> None:
    assert without_consent(frozenset({"ABH", "SOZ", "JC", "CM"}), facts()) == {"SOZ", "JC"}
    assert without_consent(frozenset({"ABH", "KI"}), facts()) == frozenset()


MINUTES = ConferenceFacts("CM", frozenset({"CM", "ABH"}), frozenset({"ABH", "SOZ"}))


def test_the_minutes_are_for_the_caseworkers_of_the_participating_offices() -> None:
    assert may_read_minutes(CASEWORKER, MINUTES), "the case management that convened"
    assert may_read_minutes(ABH_WORKER, MINUTES), "an invited office with consent"
    assert not may_read_minutes(KI_WORKER, MINUTES), "not invited"
    assert not may_read_minutes(LEAD, MINUTES), "leads see task metadata only"
    assert not may_read_minutes(ADMIN, MINUTES)
    withdrawn = ConferenceFacts("CM", frozenset({"CM", "ABH"}), frozenset({"SOZ"}))
    assert not may_read_minutes(ABH_WORKER, withdrawn), "a withdrawn consent ends the access"
    ki_convened = ConferenceFacts("CM", frozenset({"KI", "ABH"}), frozenset({"KI", "ABH"}))
    assert not may_read_minutes(CASEWORKER, ki_convened), "the case manager was not invited"
    assert may_read_minutes(KI_WORKER, ki_convened)


# --- officeFrom and endsCase ---------------------------------------------------------------------

NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"')


def read(task_props: str, process_props: str = "", groups: str = "") -> tuple[ProcessMeta, list[ValidationProblem]]:
    ext = (f"<bpmn:extensionElements><spiffworkflow:properties>{process_props}</spiffworkflow:properties>"
           "</bpmn:extensionElements>") if process_props else ""
    xml = (f'<bpmn:definitions {NS} id="d" targetNamespace="t"><bpmn:process id="p" isExecutable="true">{ext}'
           '<bpmn:laneSet id="ls"><bpmn:lane id="l" name="Eingeladene Stellen"><bpmn:flowNodeRef>invite'
           f'</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet><bpmn:userTask id="invite" name="Teilnehmen" {groups}>'
           f'<bpmn:extensionElements><spiffworkflow:properties>{task_props}</spiffworkflow:properties>'
           '</bpmn:extensionElements></bpmn:userTask></bpmn:process></bpmn:definitions>')
    problems: list[ValidationProblem] = []
    process = next(iter(metadata.executable_processes(etree.fromstring(xml.encode()))))
    known = {"CM", "ABH", "SOZ"}
    return metadata.process_meta(process, lambda n: n.upper() if n.upper() in known else None, problems), problems


def prop(name: str, value: str) -> str:
    return f'<spiffworkflow:property name="{name}" value="{value}"/>'


def test_office_from_replaces_the_lane_and_routes_by_the_data() -> None:
    meta, problems = read(prop("officeFrom", "invitation.office"))
    assert problems == [], "the lane is not an office, and need not be"
    task = meta.human_tasks["invite"]
    assert (task.office, task.office_from) == (None, "invitation.office")
    assert task.routed({"invitation": {"office": "abh "}}).office == "ABH"
    assert task.routed({"invitation": {}}).office is None, "nobody would see the task: the step refuses it"
    assert task.routed({"invitation": "ABH"}).office is None
    fixed = HumanTaskMeta("t", "Aufgabe", "CM")
    assert fixed.routed({"invitation": {"office": "ABH"}}) is fixed


@pytest.mark.parametrize(("value", "groups", "reason"), [
    ("invitation office", "", "officeFrom 'invitation office' is not a data field name (e.g. invitation.office)"),
    ("invitation.", "", "officeFrom 'invitation.' is not a data field name (e.g. invitation.office)"),
    ("office", 'camunda:candidateGroups="CM"', "officeFrom and candidateGroups both name the office: keep one"),
])
def test_a_bad_office_field_is_refused_at_deploy_time(value: str, groups: str, reason: str) -> None:
    _meta, problems = read(prop("officeFrom", value), groups=groups)
    assert [(p.element_id, p.reason) for p in problems] == [("invite", reason)]
    assert german(reason).startswith("officeFrom")


def test_ends_case_defaults_to_true_false_keeps_the_case_open_anything_else_is_refused() -> None:
    office = prop("officeFrom", "invitation.office")
    assert read(office)[0].ends_case is True
    assert read(office, prop("endsCase", "false"))[0].ends_case is False
    meta, problems = read(office, prop("endsCase", "nein"))
    assert [(p.element_id, p.reason) for p in problems] == [("p", "endsCase 'nein' is not allowed: use 'true' or "
                                                                   "'false'")]
    assert "Fallkonferenz" in german(problems[0].reason)
    stored = meta.to_json()
    del stored["ends_case"]
    assert ProcessMeta.from_json(stored).ends_case is True, "versions deployed before the property still load"
