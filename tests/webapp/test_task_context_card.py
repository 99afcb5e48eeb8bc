"""The task page and the API's task detail say what a task is about (the model's showFrom): as text,
days as TT.MM.JJJJ, and only to those who see the task's data - not to a lead who sees its metadata."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DATA
from tests.webapp.conftest import NEW_CASE, Web, login, web_on

MODEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="t">
  <bpmn:process id="about" name="Frist im Haushalt" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="lane_cm" name="CM"><bpmn:flowNodeRef>warn</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="compute"/>
    <bpmn:scriptTask id="compute" name="Frist berechnen"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>item = {"name": "Leila &lt;b&gt;Haddad&lt;/b&gt;", "path": "§ 104c",
        "deadline": "2027-04-30"}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="compute" targetRef="warn"/>
    <bpmn:userTask id="warn" name="Frist im Haushalt">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formKey" value="erstkontakt"/>
        <spiffworkflow:property name="showFrom" value="Familienmitglied=item.name; Weg=item.path; Frist=item.deadline"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:sequenceFlow id="f3" sourceRef="warn" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""
LEILA = "Leila <b>Haddad</b>"


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Web]:
    model = tmp_path / "about.bpmn"
    model.write_text(MODEL, encoding="utf-8")
    with web_on(database_url, tmp_path, DATA / "forms", [DATA / "intake.bpmn", model]) as web:
        yield web


def _warning(site: Web) -> str:
    response = site.api("carla", "POST", "/cases", json={**NEW_CASE, "process_id": "about"})
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    (task,) = body["tasks"]
    assert "context" not in task, "the reply names the task as the inbox does"
    return str(task["id"])


def _page(site: Web, user: str, task_id: str, query: str = "") -> str:
    client = site.client()
    login(client, user)
    page = client.get(f"/tasks/{task_id}{query}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_the_task_page_says_whose_deadline_which_path_and_which_day(site: Web) -> None:
    html = _page(site, "carla", _warning(site))
    card = html[html.index('id="task-context"'):]
    card = card[:card.index("</section>")]
    assert "Worum es geht" in card
    assert "<dt>Familienmitglied</dt><dd>Leila &lt;b&gt;Haddad&lt;/b&gt;</dd>" in card, "text, escaped"
    assert "<b>Haddad</b>" not in html
    assert "<dt>Weg</dt><dd>§ 104c</dd>" in card
    assert "<dt>Frist</dt><dd>30.04.2027</dd>" in card
    assert html.index('id="task-context"') < html.index('class="facts"'), "at the top of the page"


def test_the_card_in_english(site: Web) -> None:
    html = _page(site, "carla", _warning(site), "?lang=en")
    assert "What this is about" in html
    assert "<dt>Frist</dt><dd>30.04.2027</dd>" in html, "days as the app shows them in English too"


def test_a_lead_who_sees_the_metadata_only_does_not_see_what_the_task_is_about(site: Web) -> None:
    task_id = _warning(site)
    html = _page(site, "sina", task_id)
    assert 'id="metadata-only"' in html
    assert 'id="task-context"' not in html
    assert "Leila" not in html
    assert "30.04.2027" not in html
    body = site.api("sina", "GET", f"/tasks/{task_id}").get_json()
    assert "context" not in body
    assert "data" not in body


def test_the_api_task_detail_returns_the_context_and_the_inbox_does_not(site: Web) -> None:
    task_id = _warning(site)
    body = site.api("carla", "GET", f"/tasks/{task_id}").get_json()
    assert body["context"] == [{"label": "Familienmitglied", "value": LEILA}, {"label": "Weg", "value": "§ 104c"},
                               {"label": "Frist", "value": "2027-04-30"}]
    listed = site.api("carla", "GET", "/tasks").get_json()["items"]
    assert [t["id"] for t in listed] == [task_id]
    assert "context" not in listed[0]


def test_a_task_of_a_model_without_show_from_shows_no_card(site: Web) -> None:
    response = site.api("carla", "POST", "/cases", json={**NEW_CASE, "process_id": "intake"})
    task_id = response.get_json()["tasks"][0]["id"]
    assert 'id="task-context"' not in _page(site, "carla", task_id)
    assert site.api("carla", "GET", f"/tasks/{task_id}").get_json()["context"] == []
