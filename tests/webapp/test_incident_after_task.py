"""A model that fails right after a user task: the completion commits, the failure is an incident.

Before, completing the task answered 500 on every try (the engine looked up the finished task that
pruning had already dropped), the task stayed open and no incident was written: a stuck case.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select

from engine.domain.actors import SYSTEM
from engine.persistence.models import HumanTask, Incident, ProcessInstance
from engine.services.process_models import deployment
from tests.conftest import DATA
from tests.webapp.conftest import NEW_CASE, Web

FAILURES = {  # process id -> the failing element
    "fails_after_task_name": "broken1",
    "fails_after_task_loop": "broken2",
    "fails_after_task_memory": "broken3",
    "fails_after_task_condition": "gw4",
}


@pytest.mark.parametrize("process_id", sorted(FAILURES))
def test_completing_the_task_commits_and_records_the_incident(web: Web, process_id: str) -> None:
    web.ctx.config["KIM_SCRIPT_TIME_LIMIT"] = 0.5  # type: ignore[index]  # a plain dict
    web.ctx.run(deployment.deploy, deployment.read_model_paths([DATA / "incident_after_task.bpmn"]), SYSTEM)
    case: dict[str, Any] = web.api("carla", "POST", "/cases", json={**NEW_CASE, "process_id": process_id}).get_json()
    (task,) = case["tasks"]
    response = web.api("carla", "POST", f"/tasks/{task['id']}/complete", json={"data": {}})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["task"]["state"] == "completed"
    assert body["next_tasks"] == []
    assert body["incident"]["element_id"] == FAILURES[process_id]
    assert body["instance_status"] == "incident"
    with web.ctx.uow(write=False) as uow:
        state = uow.session.scalar(select(HumanTask.state).where(HumanTask.id == UUID(task["id"])))
        status = uow.session.scalar(select(ProcessInstance.status).where(ProcessInstance.case_id == UUID(case["id"])))
        incidents = list(uow.session.scalars(select(Incident.element_id)))
    assert (state, status, incidents) == ("completed", "incident", [FAILURES[process_id]])
    again = web.api("carla", "POST", f"/tasks/{task['id']}/complete", json={"data": {}})
    assert again.status_code == 409, "the task is done; trying again is a conflict, not a server error"
