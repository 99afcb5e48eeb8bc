"""A task addressed to "the lead of office X" (user task property audience="lead", as on the shipped
escalations) reaches the leads of X, not every caseworker of X: inbox views and counts, the overdue
list, reading, claiming, assigning and completing, the case page, the reply of a completion, reminders,
overdue and escalation notices and the daily digest. On both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine import clock
from engine.domain.actors import SYSTEM
from engine.domain.errors import InvalidInput, NotFound
from engine.persistence.models import HumanTask, Notification, User
from engine.services.casework import case_page, cases, inbox, task_actions
from engine.services.casework.instances import complete_task
from engine.services.context import EngineContext
from engine.services.notifications.digest import send_digests
from engine.services.process_models import deployment
from engine.services.reporting.supervision.dashboard import build_dashboard
from engine.services.reporting.supervision.scope import parse_query
from engine.services.timers.firing import fire_due_timers
from tests.integration.notify_support import actor, deploy_process, free_port, make_context, notifications_of

FRIDAY = datetime.fromisoformat("2026-11-20T09:00:00+01:00")
CASEWORKERS = ("carla", "conrad", "nora")  # CM; "sina" leads CM, "kira" leads KI


@pytest.fixture
def lctx(database_url: str, tmp_path: Path) -> Iterator[EngineContext]:
    clock.freeze(FRIDAY)
    context = make_context(database_url, tmp_path, free_port())
    deploy_process(context, tmp_path, "leitung", {"dueIn": "10WD", "audience": "lead"})  # due Fri 2026-12-04
    yield context
    clock.reset()
    context.db.dispose()


def open_case(ctx: EngineContext, process_id: str = "leitung") -> Any:
    return ctx.run(cases.open_case, actor(ctx, "carla"), {
        "person": {"given_name": "Amina", "family_name": "Haddad"},
        "referral": {"source": "ABH", "reason": "Perspektivberatung"}, "process_id": process_id})


def lead_task(ctx: EngineContext) -> Any:
    with ctx.uow(write=False) as uow:
        return uow.session.scalar(select(HumanTask).where(HumanTask.bpmn_id == "step"))


def listed(ctx: EngineContext, username: str, **args: str) -> list[str]:
    page = ctx.read(inbox.list_tasks, actor(ctx, username), inbox.parse_filter(args))
    return [t.bpmn_id for t in page.items]


def counts(ctx: EngineContext, username: str) -> dict[str, int]:
    with ctx.uow(write=False) as uow:
        return inbox.count_views(uow.session, actor(ctx, username))


def test_escalation_tasks_reach_the_leads_not_every_caseworker_of_the_office(lctx: EngineContext) -> None:
    open_case(lctx)
    for name in CASEWORKERS:
        assert listed(lctx, name) == [], f"{name} is a caseworker of CM"
        assert counts(lctx, name) == {"mine": 0, "office": 0}
    assert listed(lctx, "sina") == ["step"], "Mein Amt of the CM lead"
    assert listed(lctx, "sina", view="all") == ["step"], "Ganzes Amt"
    assert counts(lctx, "sina") == {"mine": 0, "office": 1, "overdue": 0}
    assert lead_task(lctx).audience == "lead"


def test_the_lead_finds_it_in_the_overdue_list_once_it_is_overdue(lctx: EngineContext) -> None:
    open_case(lctx)
    assert listed(lctx, "sina", overdue="true") == []
    clock.freeze(datetime.fromisoformat("2026-12-05T00:00:00+01:00"))
    assert listed(lctx, "sina", overdue="true") == ["step"]
    assert counts(lctx, "sina")["overdue"] == 1
    assert listed(lctx, "carla", overdue="true") == []
    fire_due_timers(lctx)  # escalation level 1: on the supervisor dashboard too, with the link to the task
    board = lctx.read(build_dashboard, actor(lctx, "sina"), parse_query({"office": "CM"}))
    assert [(item["step"], item["escalation_level"], item["task_id"]) for item in board.escalated] == [
        ("step", 1, str(lead_task(lctx).id))]


def test_a_caseworker_can_neither_open_claim_draft_nor_complete_it(lctx: EngineContext) -> None:
    open_case(lctx)
    task_id = lead_task(lctx).id
    carla = actor(lctx, "carla")
    for attempt in (lambda: lctx.read(task_actions.get_task, carla, task_id),
                    lambda: lctx.run(task_actions.claim_task, carla, task_id),
                    lambda: lctx.run(task_actions.save_draft, carla, task_id, {"x": 1}),
                    lambda: lctx.run(task_actions.set_follow_up, carla, task_id, "2026-12-01"),
                    lambda: lctx.run(complete_task, task_id, carla, {})):
        with pytest.raises(NotFound):
            attempt()
    assert lead_task(lctx).state == "open"
    sina = actor(lctx, "sina")
    assert lctx.read(task_actions.get_task, sina, task_id).audience == "lead"
    assert lctx.run(complete_task, task_id, sina, {}).task.state == "completed"


def test_it_is_assigned_to_leads_only(lctx: EngineContext) -> None:
    open_case(lctx)
    task_id = lead_task(lctx).id
    with pytest.raises(InvalidInput) as refused:
        lctx.run(task_actions.assign_task, actor(lctx, "sina"), task_id, "carla")
    assert refused.value.fields == {"username": "not a lead of this office"}
    assert lead_task(lctx).assignee_id is None


def test_the_case_page_does_not_show_it_to_the_case_manager(lctx: EngineContext) -> None:
    case = open_case(lctx)
    carla = actor(lctx, "carla")
    assert lctx.read(cases.get_case, carla, case.id).tasks == ()
    lctx.run(complete_task, lead_task(lctx).id, actor(lctx, "sina"), {})
    actions = [(e.action, e.object_type) for e in lctx.read(case_page.case_timeline, carla, case.id)]
    assert ("task.complete", "task") not in actions, "nor its completion in the timeline"
    assert ("case.open", "case") in actions


TWO_STEPS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="vorlage" name="Vorlage an die Leitung" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="lane" name="CM"><bpmn:flowNodeRef>work</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>lead</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:userTask id="work" name="Bearbeiten"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="lead"/>
    <bpmn:userTask id="lead" name="Eskalation an die Leitung">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="audience" value="lead"/></spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f3" sourceRef="lead" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_completing_the_step_before_does_not_hand_the_caseworker_the_leads_task(
        lctx: EngineContext, tmp_path: Path) -> None:
    path = tmp_path / "vorlage.bpmn"
    path.write_text(TWO_STEPS, encoding="utf-8")
    lctx.run(deployment.deploy, deployment.read_model_paths([path]), SYSTEM)
    open_case(lctx, "vorlage")
    with lctx.uow(write=False) as uow:
        work = uow.session.scalar(select(HumanTask.id).where(HumanTask.bpmn_id == "work"))
    done = lctx.run(complete_task, work, actor(lctx, "carla"), {})
    assert done.next_tasks == (), "the next step is the lead's"
    assert listed(lctx, "sina") == ["lead"]


def test_reminder_overdue_and_escalation_notices_go_to_the_leads_only(lctx: EngineContext) -> None:
    open_case(lctx)
    clock.freeze(datetime.fromisoformat("2026-12-02T08:00:00+01:00"))  # due soon: 2 working days before
    assert fire_due_timers(lctx).reminders == 1
    assert notifications_of(lctx, "due_soon") == [("sina", "due_soon")]
    clock.freeze(datetime.fromisoformat("2026-12-05T00:00:00+01:00"))
    fire_due_timers(lctx)
    assert notifications_of(lctx, "overdue") == [("sina", "overdue")]
    clock.freeze(datetime.fromisoformat("2026-12-12T00:00:00+01:00"))
    fire_due_timers(lctx)
    assert notifications_of(lctx, "escalated") == [("kira", "escalated")], "then the lead of KIM coordination"
    assert {u for u, _k in notifications_of(lctx)} == {"sina", "kira"}


def test_the_digest_lists_it_for_the_leads_only(lctx: EngineContext, tmp_path: Path) -> None:
    deploy_process(lctx, tmp_path, "erstkontakt", {"dueIn": "10WD"})
    open_case(lctx)
    open_case(lctx, "erstkontakt")
    clock.freeze(datetime.fromisoformat("2026-11-23T07:00:00+01:00"))
    send_digests(lctx)
    with lctx.uow(write=False) as uow:
        bodies = dict(uow.session.execute(select(User.username, Notification.body).join(
            User, User.id == Notification.user_id).where(Notification.kind == "office_digest")).all())
    assert set(bodies) == {"carla", "conrad", "nora", "sina"}
    assert "Erstkontakt dokumentieren" in bodies["carla"]
    assert "1 neue Aufgabe" in bodies["carla"], "the lead's task is not in a caseworker's digest"
    assert "2 neue Aufgaben" in bodies["sina"]
