"""The case conference on the case page and in the API, and tasks for office leads in the browser and the
API: the shipped models, a real app, both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine import clock
from engine.demo.samples import PROCESSES_DIR, form_data
from engine.persistence.models import HumanTask, Office
from tests.webapp.conftest import Web, csrf_of, login, web_on

USERS = {"carla": ("caseworker", ["CM"]), "achim": ("caseworker", ["ABH"]), "sofia": ("caseworker", ["SOZ"]),
         "kim": ("caseworker", ["KI"]), "sina": ("supervisor", ["CM"]), "abel": ("supervisor", ["ABH"])}
CASE = {"person": {"given_name": "Amina", "family_name": "Haddad", "date_of_birth": "1990-05-10"},
        "referral": {"source": "ABH", "reason": "Duldung seit 2019"}}
AGENDA = "Passbeschaffung abstimmen"


@pytest.fixture
def site(database_url: str, tmp_path: Path, all_forms: Path, frozen_clock: object) -> Iterator[Web]:
    """The shipped models and forms, these people, the clock stopped at Friday 2026-11-20 09:00."""
    with web_on(database_url, tmp_path, all_forms, [PROCESSES_DIR], USERS) as web:
        yield web


def case_with_consents(site: Web, *offices: str) -> str:
    created = site.api("carla", "POST", "/cases", json=CASE)
    assert created.status_code == 201, created.get_json()
    case_id: str = created.get_json()["id"]
    for office in offices:
        recorded = site.api("carla", "POST", f"/cases/{case_id}/consents", json={"office": office, "purpose": "FK"})
        assert recorded.status_code == 201
    return case_id


def convene(site: Web, user: str, case_id: str, *offices: str) -> Any:
    return site.api(user, "POST", f"/cases/{case_id}/conferences",
                    json={"offices": list(offices), "date": "2026-11-27", "agenda": AGENDA})


def task_of(site: Web, user: str, bpmn_id: str) -> str:
    items = site.api(user, "GET", "/tasks").get_json()["items"]
    return str(next(t["id"] for t in items if t["bpmn_id"] == bpmn_id))


def test_convene_through_the_api_and_read_the_minutes_as_a_participant_only(site: Web) -> None:
    case_id = case_with_consents(site, "ABH", "SOZ")
    refused = convene(site, "carla", case_id, "ABH", "JC")
    assert refused.status_code == 422
    assert refused.get_json()["fields"] == {"offices": "keine gültige Einwilligung der Person für: JC"}
    assert convene(site, "achim", case_id, "CM").status_code == 404, "the ABH holds no task of the case yet"
    made = convene(site, "carla", case_id, "ABH")
    assert made.status_code == 201
    conference = made.get_json()
    assert (conference["offices"], conference["held_on"], conference["agenda"]) == (["ABH"], "2026-11-27", AGENDA)
    assert "minutes" not in conference
    assert convene(site, "achim", case_id, "CM").status_code == 403, "the ABH sees the case, but does not convene"
    invitation = task_of(site, "achim", "conference_invitation")
    site.api("achim", "POST", f"/tasks/{invitation}/complete", json={"data": form_data("kim_conference_invitation")})
    minutes_task = task_of(site, "carla", "conference_minutes")
    done = site.api("carla", "POST", f"/tasks/{minutes_task}/complete",
                    json={"data": form_data("kim_conference_minutes", results="Antrag wird vorbereitet.")})
    assert done.status_code == 200, done.get_json()
    for participant in ("carla", "achim"):
        read = site.api(participant, "GET", f"/conferences/{conference['id']}")
        assert read.get_json()["minutes"]["results"] == "Antrag wird vorbereitet."
    for outsider in ("sofia", "kim", "sina", "abel"):
        assert site.api(outsider, "GET", f"/conferences/{conference['id']}").status_code == 404, outsider
    listed = site.api("carla", "GET", f"/cases/{case_id}/conferences").get_json()["items"]
    assert [(c["id"], c["minutes_recorded"], "minutes" in c) for c in listed] == [(conference["id"], True, False)]
    assert site.api("sofia", "GET", f"/cases/{case_id}/conferences").status_code == 404


def test_the_case_page_convenes_and_the_pages_show_date_agenda_and_minutes(site: Web) -> None:
    case_id = case_with_consents(site, "ABH", "SOZ")
    client = site.client()
    login(client, "carla")
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'id="convene-conference"' in page
    invitable = [o for o in ("ABH", "SOZ", "JC") if f'id="cf-office-{o}"' in page]
    assert invitable == ["ABH", "SOZ"], "only offices with a valid consent can be invited"
    token = csrf_of(client, f"/cases/{case_id}")
    posted = client.post(f"/cases/{case_id}/conferences", data={
        "csrf_token": token, "offices": ["ABH", "SOZ"], "date": "2026-11-27", "agenda": AGENDA})
    assert posted.status_code == 302
    shown = client.get(posted.headers["Location"]).get_data(as_text=True)
    assert "Fallkonferenz am 27.11.2026" in shown
    assert AGENDA in shown
    assert "Das Protokoll liegt noch nicht vor." in shown
    assert "27.11.2026" in client.get(f"/cases/{case_id}").get_data(as_text=True)
    abh = site.client()
    login(abh, "achim")
    invitation = abh.get(f"/tasks/{task_of(site, 'achim', 'conference_invitation')}").get_data(as_text=True)
    assert 'id="conference"' in invitation
    assert AGENDA in invitation
    soz = site.client()
    login(soz, "sofia")
    assert soz.get(posted.headers["Location"]).status_code == 200, "invited with consent"
    lead = site.client()
    login(lead, "sina")
    assert lead.get(posted.headers["Location"]).status_code == 404


def test_an_office_without_consent_is_refused_on_the_case_page_with_the_reason(site: Web) -> None:
    case_id = case_with_consents(site, "ABH")
    client = site.client()
    login(client, "carla")
    token = csrf_of(client, f"/cases/{case_id}")
    posted = client.post(f"/cases/{case_id}/conferences", data={
        "csrf_token": token, "offices": ["ABH", "SOZ"], "date": "2026-11-27", "agenda": AGENDA})
    assert posted.status_code == 302
    page = client.get(posted.headers["Location"]).get_data(as_text=True)
    assert "keine gültige Einwilligung der Person für: SOZ" in page


def lead_escalation(site: Web) -> str:
    """A task for the lead of the ABH, overdue since 04.12.2026 (the walk to a real escalation of the
    pathway is in tests/processes/test_lead_escalations.py; here the pages and the API are tested)."""
    with site.ctx.uow() as uow:
        task = uow.session.scalar(select(HumanTask).where(HumanTask.bpmn_id == "intake"))
        assert task is not None
        task.audience, task.name = "lead", "Eskalation an die Leitung der Ausländerbehörde"
        task.office_id = uow.session.scalar(select(Office.id).where(Office.code == "ABH"))
        uow.commit()
        return str(task.id)


def test_the_overdue_list_and_the_task_page_are_the_leads(site: Web) -> None:
    case_with_consents(site, "ABH")
    task_id = lead_escalation(site)
    clock.freeze(datetime.fromisoformat("2026-12-10T09:00:00+01:00"))
    assert [t["id"] for t in site.api("abel", "GET", "/overdue").get_json()["items"]] == [task_id]
    assert site.api("achim", "GET", "/overdue").status_code == 403
    assert site.api("achim", "GET", "/tasks").get_json()["total"] == 0
    assert site.api("achim", "GET", f"/tasks/{task_id}").status_code == 404
    assert site.api("achim", "POST", f"/tasks/{task_id}/claim").status_code == 404
    assert site.api("achim", "POST", f"/tasks/{task_id}/complete", json={"data": {}}).status_code == 404
    assert site.api("abel", "GET", f"/tasks/{task_id}").get_json()["audience"] == "lead"
    caseworker = site.client()
    login(caseworker, "achim")
    assert caseworker.get(f"/tasks/{task_id}").status_code == 404
    assert "Eskalation an die Leitung" not in caseworker.get("/inbox").get_data(as_text=True)
    lead = site.client()
    login(lead, "abel")
    assert "Eskalation an die Leitung" in lead.get("/inbox?overdue=true").get_data(as_text=True)
    assert "die Leitung der Stelle" in lead.get(f"/tasks/{task_id}").get_data(as_text=True)
