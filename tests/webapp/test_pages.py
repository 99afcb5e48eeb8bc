"""Server-rendered pages: German by default, English on request, dates as TT.MM.JJJJ,
form errors next to the field, and 404 for cases of other offices."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from engine import clock
from tests.webapp.conftest import Web, csrf_of, login


def test_inbox_in_german_with_german_dates(web: Web, open_case: Callable[..., Any]) -> None:
    clock.freeze(datetime.fromisoformat("2026-11-20T09:00:00+01:00"))
    try:
        open_case()
        client = web.client()
        login(client, "carla")
        html = client.get("/inbox?view=office").get_data(as_text=True)
        assert "Erstkontakt dokumentieren" in html
        assert "04.12.2026" in html, "due date as TT.MM.JJJJ"
        assert "20.11.2026" in html
        assert "Übernehmen" in html
        english = client.get("/inbox?view=office&lang=en").get_data(as_text=True)
        assert "Claim" in english
        assert "My office" in english
    finally:
        clock.reset()


def test_inbox_marks_a_task_due_soon_once_its_reminder_has_come(web: Web, open_case: Callable[..., Any]) -> None:
    def office_inbox_at(moment: str) -> str:
        clock.freeze(datetime.fromisoformat(moment))
        client = web.client()
        login(client, "carla")
        return str(client.get("/inbox?view=office").get_data(as_text=True))

    clock.freeze(datetime.fromisoformat("2026-11-20T09:00:00+01:00"))
    try:
        open_case()  # due Friday 04.12.2026; reminder (2WD) Wednesday 02.12. 08:00
        assert "bald fällig" not in office_inbox_at("2026-12-02T07:30:00+01:00")
        assert "bald fällig" in office_inbox_at("2026-12-02T08:30:00+01:00")
        late = office_inbox_at("2026-12-05T08:30:00+01:00")
        assert "überfällig" in late
        assert "bald fällig" not in late
    finally:
        clock.reset()


def test_task_form_shows_errors_at_the_field_and_keeps_input(web: Web, open_case: Callable[..., Any]) -> None:
    case = open_case()
    task_id = case["tasks"][0]["id"]
    client = web.client()
    login(client, "carla")
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'id="f-sprache"' in page
    assert "Arabisch" in page
    response = client.post(f"/tasks/{task_id}", data={"csrf_token": csrf_of(client, f"/tasks/{task_id}"),
                                                      "action": "complete", "termine": "30", "notiz": "Erstgespräch"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="f-termine-err"' in html
    assert "zu groß" in html
    assert 'id="f-kontakt_am-err"' in html
    assert "Pflichtfeld" in html
    assert "Erstgespräch" in html, "what was typed is kept"
    done = client.post(f"/tasks/{task_id}", data={"csrf_token": csrf_of(client, f"/tasks/{task_id}"),
                                                  "action": "complete", "kontakt_am": "2026-11-20", "sprache": "fa",
                                                  "termine": "2", "ziele.0.titel": "Sprachkurs"})
    assert done.status_code == 302
    task = web.api("carla", "GET", f"/tasks/{task_id}").get_json()
    assert task["data"]["ziele"] == [{"titel": "Sprachkurs"}]
    assert task["data"]["termine"] == 2


def test_case_of_another_office_is_not_found(web: Web, open_case: Callable[..., Any]) -> None:
    case = open_case()
    client = web.client()
    login(client, "achim")
    assert client.get(f"/cases/{case['id']}").status_code == 404
    owner = web.client()
    login(owner, "carla")
    html = owner.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert "Haddad" in html
    assert "Fall angelegt von carla (CM)" in html, "the timeline tells the audit trail in sentences"
    assert "case.open" not in html, "no audit codes on the page"


def test_open_case_through_the_form(web: Web) -> None:
    client = web.client()
    login(client, "carla")
    token = csrf_of(client, "/cases/new")
    invalid = client.post("/cases/new", data={"csrf_token": token, "given_name": "", "family_name": "B"})
    assert invalid.status_code == 422
    assert 'id="c-given_name-err"' in invalid.get_data(as_text=True)
    created = client.post("/cases/new", data={"csrf_token": token, "given_name": "Lina", "family_name": "Ahmadi",
                                              "source": "Sozialamt", "reason": "Beratung"})
    assert created.status_code == 302
    html = client.get(created.headers["Location"]).get_data(as_text=True)
    assert "Lina Ahmadi" in html
    assert "Erstkontakt dokumentieren" in html


def test_header_names_the_user_and_offices_only_when_there_are_some(web: Web) -> None:
    owner = web.client()
    login(owner, "paul")  # process owner, no office
    html = owner.get("/models").get_data(as_text=True)
    assert "<span>paul</span>" in html
    caseworker = web.client()
    login(caseworker, "carla")
    assert "<span>carla (CM)</span>" in caseworker.get("/inbox").get_data(as_text=True)
