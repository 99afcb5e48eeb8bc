"""A task routed by ``officeFrom`` to an office that does not exist (or to none at all) is an
incident of its case, not a server error: the completion that led there commits, the case shows
the incident, and nothing is half-written."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select

from engine.domain.actors import SYSTEM
from engine.persistence.models import HumanTask, Incident, ProcessInstance
from engine.services.process_models import deployment
from tests.webapp.conftest import NEW_CASE, Web

MODEL = Path(__file__).parent / "data" / "office_from.bpmn"


def _case(web: Web) -> dict[str, Any]:
    web.ctx.run(deployment.deploy, deployment.read_model_paths([MODEL]), SYSTEM)
    response = web.api("carla", "POST", "/cases", json={**NEW_CASE, "process_id": "office_from"})
    assert response.status_code == 201, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def _state(web: Web, case_id: str) -> tuple[str | None, list[tuple[str | None, str]], list[tuple[str, str]]]:
    with web.ctx.uow(write=False) as uow:
        session = uow.session
        status = session.scalar(select(ProcessInstance.status).where(ProcessInstance.case_id == UUID(case_id)))
        incidents = [(i.element_id, i.message) for i in session.scalars(select(Incident))]
        tasks = [(t.bpmn_id, t.state) for t in session.scalars(select(HumanTask).order_by(HumanTask.created_at))]
    return status, incidents, tasks


@pytest.mark.parametrize(("data", "reason"), [
    ({"target": {"office": "XYZ"}}, "unknown office 'XYZ'"),
    ({"target": {"office": "  "}}, "no office"),
    ({}, "no office"),
])
def test_completing_into_a_task_for_no_known_office_records_an_incident(
        web: Web, data: dict[str, Any], reason: str) -> None:
    case = _case(web)
    (task,) = case["tasks"]

    response = web.api("carla", "POST", f"/tasks/{task['id']}/complete", json={"data": data})

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["task"]["state"] == "completed"
    assert body["instance_status"] == "incident"
    assert body["incident"]["element_id"] == "routed"
    assert reason in body["incident"]["message"]
    status, incidents, tasks = _state(web, case["id"])
    assert status == "incident"
    assert [element for element, _ in incidents] == ["routed"]
    assert tasks == [("choose", "completed")], "no task for an office nobody is in"
    again = web.api("carla", "POST", f"/tasks/{task['id']}/complete", json={"data": data})
    assert again.status_code == 409


def test_a_known_office_from_the_data_gets_the_task(web: Web) -> None:
    case = _case(web)
    (task,) = case["tasks"]
    response = web.api("carla", "POST", f"/tasks/{task['id']}/complete", json={"data": {"target": {"office": " cm "}}})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["instance_status"] == "running"
    assert _state(web, case["id"])[2] == [("choose", "completed"), ("routed", "open")], "codes are trimmed, any case"


def test_a_case_whose_first_task_has_no_known_office_opens_with_an_incident(web: Web) -> None:
    web.ctx.run(deployment.deploy, deployment.read_model_paths([MODEL]), SYSTEM)
    response = web.api("carla", "POST", "/cases", json={**NEW_CASE, "process_id": "office_from_start"})
    assert response.status_code == 201, response.get_data(as_text=True)
    status, incidents, tasks = _state(web, response.get_json()["id"])
    assert (status, [e for e, _ in incidents], tasks) == ("incident", ["s_routed"], [])
