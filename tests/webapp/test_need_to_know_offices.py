"""Need to know (DOMAIN.md section 7) for office leads and for offices whose task is done.

Leads see the task metadata of their offices (step, due, assignee, escalation, case reference):
no form data, no person's name, no drafts, no completion - unless they take a task on and work
it as a caseworker (audited with the role used). The tasks meant for leads they work fully.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from sqlalchemy import select

from engine.persistence.models import CaseFile
from engine.persistence.store import AUDIT
from tests.webapp.conftest import Web, csrf_of, login

NOTE = "Vertrauliche Beratungsnotiz"
FIRST = {"kontakt_am": "2026-11-20", "sprache": "ar", "termine": 2}
METADATA = {"id", "name", "bpmn_id", "office", "assignee", "due_at", "escalation_level", "case_reference", "state"}


def _audit(web: Web, action: str) -> list[tuple[str, dict[str, Any]]]:
    with web.ctx.db.write.connect() as conn:
        return [(r.actor, r.details) for r in conn.execute(select(AUDIT).where(AUDIT.c.action == action)
                                                             .order_by(AUDIT.c.id))]


def test_a_lead_reads_task_metadata_only(web: Web, open_case: Callable[..., Any]) -> None:
    case = open_case()
    task_id = case["tasks"][0]["id"]
    assert web.api("carla", "POST", f"/tasks/{task_id}/claim").status_code == 200
    draft = web.api("carla", "POST", f"/tasks/{task_id}/draft", json={"data": {**FIRST, "notiz": NOTE}})
    assert draft.status_code == 200
    seen = web.api("sina", "GET", f"/tasks/{task_id}")
    assert seen.status_code == 200
    body = seen.get_json()
    assert set(body) >= METADATA
    assert body["case_reference"] == case["reference"]
    assert body["assignee"] == "carla"
    assert "data" not in body, "no form data for the lead"
    assert "person_name" not in body, "no person's name for the lead"
    assert NOTE not in seen.get_data(as_text=True)
    assert "Haddad" not in seen.get_data(as_text=True)
    assert ("sina", {"view": "metadata"}) in _audit(web, "task.read"), "the metadata read is audited"
    caseworker = web.api("carla", "GET", f"/tasks/{task_id}").get_json()
    assert caseworker["data"]["notiz"] == NOTE
    assert caseworker["person_name"] == "Amina Haddad"


def test_a_lead_neither_saves_drafts_nor_completes_caseworkers_tasks(web: Web, open_case: Callable[..., Any]) -> None:
    case = open_case()
    task_id = case["tasks"][0]["id"]
    assert web.api("sina", "POST", f"/tasks/{task_id}/draft", json={"data": FIRST}).status_code == 403
    assert web.api("carla", "POST", f"/tasks/{task_id}/claim").status_code == 200
    refused = web.api("sina", "POST", f"/tasks/{task_id}/complete", json={"data": FIRST})
    assert refused.status_code == 403
    assert web.api("sina", "POST", f"/tasks/{task_id}/draft", json={"data": FIRST}).status_code == 403
    assert web.api("carla", "GET", f"/tasks/{task_id}").get_json()["state"] == "claimed", "nothing changed"
    released = web.api("sina", "POST", f"/tasks/{task_id}/release")
    assert released.status_code == 200, "leads still release and reassign (metadata)"
    assert "person_name" not in released.get_json()


def test_a_lead_who_takes_a_task_on_works_it_as_a_caseworker(web: Web, open_case: Callable[..., Any]) -> None:
    case = open_case()
    task_id = case["tasks"][0]["id"]
    claimed = web.api("sina", "POST", f"/tasks/{task_id}/claim")
    assert claimed.status_code == 200
    assert claimed.get_json()["person_name"] == "Amina Haddad"
    assert web.api("sina", "GET", f"/tasks/{task_id}").get_json()["data"] == {}
    assert web.api("sina", "POST", f"/tasks/{task_id}/draft", json={"data": FIRST}).status_code == 200
    done = web.api("sina", "POST", f"/tasks/{task_id}/complete", json={"data": FIRST})
    assert done.status_code == 200, done.get_json()
    assert [d for who, d in _audit(web, "task.complete") if who == "sina"] == [
        {"bpmn_id": "erstkontakt", "role": "caseworker"}]
    assert ("sina", {"role": "caseworker"}) in _audit(web, "task.read")


def test_the_lead_inbox_shows_no_names_and_searches_by_reference_only(web: Web,
                                                                     open_case: Callable[..., Any]) -> None:
    case = open_case()
    lead = web.api("sina", "GET", "/tasks").get_json()
    assert lead["total"] == 1
    assert "person_name" not in lead["items"][0]
    assert lead["items"][0]["case_reference"] == case["reference"]
    assert web.api("sina", "GET", "/tasks?q=Haddad").get_json()["total"] == 0, "a name search finds nothing"
    assert web.api("sina", "GET", f"/tasks?q={case['reference']}").get_json()["total"] == 1
    assert web.api("carla", "GET", "/tasks?q=Haddad").get_json()["total"] == 1
    overdue = web.api("sina", "GET", "/overdue").get_json()
    assert all("person_name" not in t for t in overdue["items"])


def test_the_task_page_shows_a_lead_no_name_and_no_form(web: Web, open_case: Callable[..., Any]) -> None:
    case = open_case()
    task_id = case["tasks"][0]["id"]
    web.api("carla", "POST", f"/tasks/{task_id}/draft", json={"data": {**FIRST, "notiz": NOTE}})
    lead = web.client()
    login(lead, "sina")
    page = lead.get(f"/tasks/{task_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Haddad" not in html
    assert NOTE not in html
    assert 'id="metadata-only"' in html
    assert case["reference"] in html
    inbox = lead.get("/inbox").get_data(as_text=True)
    assert "Haddad" not in inbox
    posted = lead.post(f"/tasks/{task_id}", data={"csrf_token": csrf_of(lead), "action": "complete",
                                                   "kontakt_am": "2026-11-20", "sprache": "ar", "termine": "2"})
    assert posted.status_code == 403


def _abh_works_the_case(web: Web, open_case: Callable[..., Any]) -> tuple[dict[str, Any], str]:
    case = open_case()
    path = f"/cases/{case['id']}"
    consent = {"office": "ABH", "purpose": "Vorprüfung"}
    assert web.api("carla", "POST", f"{path}/consents", json=consent).status_code == 201
    first = web.api("carla", "POST", f"/tasks/{case['tasks'][0]['id']}/complete", json={"data": FIRST})
    assert first.status_code == 200
    (abh_task,) = web.api("achim", "GET", "/tasks").get_json()["items"]
    return case, abh_task["id"]


def test_an_office_reads_the_case_only_while_it_works_in_it(web: Web, open_case: Callable[..., Any]) -> None:
    case, abh_task = _abh_works_the_case(web, open_case)
    path = f"/cases/{case['id']}"
    working = web.api("achim", "GET", path).get_json()
    assert working["person"]["nationality"] == "syrisch", "an open task and a consent: the ABH reads the case"
    assert "reason" in working["referral"]
    done = web.api("achim", "POST", f"/tasks/{abh_task}/complete", json={"data": {"ergebnis": "OFFEN"}})
    assert done.status_code == 200, done.get_json()
    after = web.api("achim", "GET", path)
    assert after.status_code == 200, "what it lawfully holds stays readable"
    body = after.get_json()
    assert body["reference"] == case["reference"]
    assert "person" not in body, "no master data once its task is done"
    assert "referral" not in body
    assert "syrisch" not in after.get_data(as_text=True)
    assert "Haddad" not in after.get_data(as_text=True)
    assert [(t["bpmn_id"], t["state"]) for t in body["tasks"]] == [("vorpruefung", "completed")]
    own = web.api("achim", "GET", f"/tasks/{abh_task}").get_json()
    assert own["data"] == {"ergebnis": "OFFEN"}, "its own completed task's data stays readable"
    assert "person_name" not in own
    assert web.api("carla", "GET", path).get_json()["person"]["family_name"] == "Haddad", "case management reads on"
    browser = web.client()
    login(browser, "achim")
    page = browser.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert case["reference"] in html
    assert "Haddad" not in html
    assert "syrisch" not in html


def _close(web: Web, case_id: str) -> None:
    with web.ctx.uow() as uow:
        row = uow.session.get(CaseFile, UUID(case_id))
        assert row is not None
        row.status = "closed"
        uow.commit()


def test_a_closed_case_shows_an_office_its_own_completed_tasks_under_the_reference_only(
        web: Web, open_case: Callable[..., Any]) -> None:
    case, abh_task = _abh_works_the_case(web, open_case)
    web.api("achim", "POST", f"/tasks/{abh_task}/complete", json={"data": {"ergebnis": "OFFEN"}})
    _close(web, case["id"])
    body = web.api("achim", "GET", f"/cases/{case['id']}").get_json()
    assert set(body) == {"id", "reference", "tasks"}, body
    assert all("person_name" not in t for t in body["tasks"])
    assert web.api("achim", "GET", f"/tasks/{abh_task}").get_json()["data"] == {"ergebnis": "OFFEN"}
    other, _open_task = _abh_works_the_case(web, open_case)
    _close(web, other["id"])
    assert web.api("achim", "GET", f"/cases/{other['id']}").status_code == 404, "nothing completed: nothing held"
