"""Bulk reassignment from the lead's overdue list, and the workload per person."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from uuid import UUID

import pytest
from sqlalchemy import select

from engine import clock
from engine.persistence.models import AuditEntry, HumanTask, User
from tests.supervision_seed import NOW, Seed
from tests.webapp.conftest import Web, csrf_of, login


@pytest.fixture
def overdue(web: Web) -> Iterator[tuple[Web, list[UUID], UUID]]:
    clock.freeze(NOW)
    seed = Seed(web.ctx)
    cm = [seed.task("CM", due=date(2026, 11, 20), level=1) for _ in range(3)]
    abh = seed.task("ABH", due=date(2026, 11, 20))
    yield web, cm, abh
    clock.reset()


def _assignees(web: Web, ids: list[UUID]) -> list[str | None]:
    with web.ctx.uow(write=False) as uow:
        names = dict(uow.session.execute(select(User.id, User.username)).tuples().all())
        return [names.get(uow.session.get(HumanTask, i).assignee_id) for i in ids]  # type: ignore[union-attr, arg-type]


def _audited(web: Web, action: str) -> int:
    with web.ctx.uow(write=False) as uow:
        return len(uow.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all())


def test_lead_reassigns_ticked_tasks_each_audited(overdue: tuple[Web, list[UUID], UUID]) -> None:
    web, cm, _abh = overdue
    client = web.client()
    login(client, "sina")
    page = client.get("/supervision/overdue").get_data(as_text=True)
    assert page.count('name="task_ids"') == 3, "only the lead's own office"
    assert re.search(r'<optgroup label="CM">.*value="conrad"', page, re.S)
    response = client.post("/supervision/overdue/reassign", data={
        "csrf_token": csrf_of(client, "/supervision/overdue"), "task_ids": [str(i) for i in cm[:2]],
        "username": "conrad"})
    assert response.status_code == 302
    assert _assignees(web, cm) == ["conrad", "conrad", None]
    assert _audited(web, "task.assign") == 2, "one audited action per task"
    shown = client.get("/supervision/overdue").get_data(as_text=True)
    assert "2 Aufgaben an conrad zugewiesen." in shown
    workload = shown[shown.index('id="t-person-workload"'):]
    assert re.search(r"\(conrad\)</span></th>\s*<td class=\"num\">2</td><td class=\"num\">2</td>", workload)


def test_all_or_nothing_names_the_refused_task(overdue: tuple[Web, list[UUID], UUID]) -> None:
    web, cm, abh = overdue
    response = web.api("sina", "POST", "/tasks/reassign", json={"task_ids": [str(cm[0]), str(abh)],
                                                                 "username": "conrad"})
    assert response.status_code == 422
    body = response.get_json()
    assert body["message"] == "1 von 2 Aufgaben können nicht zugewiesen werden; es wurde nichts geändert."
    assert body["fields"] == {f"task_ids.{abh}": "Diese Aufgabe gibt es nicht (oder sie ist nicht für Sie sichtbar)."}
    assert _assignees(web, [cm[0], abh]) == [None, None], "nothing changed"
    assert _audited(web, "task.assign") == 0


def test_a_colleague_of_another_office_is_refused_for_every_task(overdue: tuple[Web, list[UUID], UUID]) -> None:
    web, cm, _abh = overdue
    client = web.client()
    login(client, "sina")
    response = client.post("/supervision/overdue/reassign", data={
        "csrf_token": csrf_of(client, "/supervision/overdue"), "task_ids": [str(i) for i in cm], "username": "achim"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "3 von 3 Aufgaben können nicht zugewiesen werden; es wurde nichts geändert." in html
    assert html.count("Diese Person arbeitet nicht in der Stelle der Aufgabe.") == 3
    assert html.count(" checked") == 3, "the ticks stay"
    unknown = web.api("sina", "POST", "/tasks/reassign", json={"task_ids": [str(cm[0])], "username": "niemand"})
    assert (unknown.status_code, unknown.get_json()["fields"]) == (422, {"username": "Diese Person ist nicht bekannt."})
    english = web.api("sina", "POST", "/tasks/reassign", json={"task_ids": [], "username": "conrad"},
                      headers={"Accept-Language": "en"})
    assert english.get_json()["message"] == "choose at least one task"
    assert _assignees(web, cm) == [None, None, None]


@pytest.mark.parametrize("user", ["carla", "paul"])
def test_only_leads(overdue: tuple[Web, list[UUID], UUID], user: str) -> None:
    web, cm, _abh = overdue
    assert web.api(user, "POST", "/tasks/reassign", json={"task_ids": [str(cm[0])], "username": "conrad"}
                   ).status_code == 403
    client = web.client()
    login(client, user)
    assert client.get("/supervision/overdue").status_code == 403


def test_workload_api_for_the_leads_office(overdue: tuple[Web, list[UUID], UUID]) -> None:
    web, cm, _abh = overdue
    web.api("sina", "POST", "/tasks/reassign", json={"task_ids": [str(cm[0])], "username": "carla"})
    people = {p["username"]: p for p in web.api("sina", "GET", "/workload").get_json()["items"]}
    assert set(people) == {"carla", "conrad", "sina"}
    assert (people["carla"]["open_tasks"], people["carla"]["overdue_tasks"]) == (1, 1)
    assert people["conrad"]["open_tasks"] == 0
