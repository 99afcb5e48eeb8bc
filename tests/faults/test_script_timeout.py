"""A script that runs too long right after a user task: the completion commits once, the script
becomes an incident of the case, no 500, and trying again is a conflict rather than a second
completion."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from sqlalchemy import func, select

from engine.domain.actors import SYSTEM
from engine.persistence.models import AuditEntry, HumanTask, Incident, ProcessInstance
from engine.services.process_models import deployment
from tests.conftest import DATA
from tests.webapp.conftest import NEW_CASE, Web

LIMIT_SECONDS = 0.5


def test_script_timeout_after_a_user_task(web: Web) -> None:
    web.ctx.config["KIM_SCRIPT_TIME_LIMIT"] = LIMIT_SECONDS  # type: ignore[index]  # a plain dict
    web.ctx.run(deployment.deploy, deployment.read_model_paths([DATA / "incident_after_task.bpmn"]), SYSTEM)
    web.app.testing = False  # a server error must show as a 500, as in production
    case: dict[str, Any] = web.api("carla", "POST", "/cases",
                                   json={**NEW_CASE, "process_id": "fails_after_task_loop"}).get_json()
    (task,) = case["tasks"]

    began = time.monotonic()
    response = web.api("carla", "POST", f"/tasks/{task['id']}/complete", json={"data": {"note": "erledigt"}})
    took = time.monotonic() - began

    assert response.status_code == 200, response.get_data(as_text=True)
    assert took < LIMIT_SECONDS + 20, "the limit stops the script (generous: a noisy machine)"
    body = response.get_json()
    assert (body["task"]["state"], body["instance_status"]) == ("completed", "incident")
    assert body["incident"]["element_id"] == "broken2"
    again = web.api("carla", "POST", f"/tasks/{task['id']}/complete", json={"data": {"note": "noch einmal"}})
    assert again.status_code == 409
    with web.ctx.uow(write=False) as uow:
        session = uow.session
        done = session.get(HumanTask, UUID(task["id"]))
        assert done is not None
        completions = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "task.complete", AuditEntry.object_id == task["id"]))
        incidents = list(session.scalars(select(Incident.element_id)))
        status = session.scalar(select(ProcessInstance.status).where(ProcessInstance.case_id == UUID(case["id"])))
    assert (done.state, done.data) == ("completed", {"note": "erledigt"}), "nothing lost: the first completion holds"
    assert completions == 1, "nothing twice"
    assert (incidents, status) == (["broken2"], "incident")
    case_page = web.api("carla", "GET", f"/cases/{case['id']}")
    assert case_page.status_code == 200, "the case still opens"
