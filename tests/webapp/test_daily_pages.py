"""The daily pages as a caseworker uses them: consents from lists, the timeline in sentences,
"Meine Fälle", follow-ups with a reason, step and colleague lists, undo after release."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from engine.persistence.store import AUDIT
from tests.webapp.conftest import Web, csrf_of, login

pytestmark = pytest.mark.usefixtures("frozen_clock")  # today: Friday 20.11.2026 in Berlin

VALID = {"kontakt_am": "2026-11-20", "sprache": "ar", "termine": 2}


def _consents_table(html: str) -> str:
    return html[html.index('id="consents"'):html.index('id="consent-form"')]


def test_a_consent_is_entered_from_lists_and_shown_in_german(web: Web, open_case: Callable[..., Any]) -> None:
    case = open_case()
    client = web.client()
    login(client, "carla")
    page = client.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert '<option value="ABH">Ausländerbehörde (ABH)</option>' in page, "offices by name from a list"
    assert 'id="co-cat-identity_documents"' in page
    assert "Identitätsdokumente" in page
    assert "Kategorien (mit Komma)" not in page
    posted = client.post(f"/cases/{case['id']}/consents", data={
        "csrf_token": csrf_of(client, f"/cases/{case['id']}"), "office": "ABH", "purpose": "Vorprüfung",
        "categories": ["identity_documents", "residence"], "signed_on": "19.11.2026"})
    assert posted.status_code == 302
    table = _consents_table(client.get(f"/cases/{case['id']}").get_data(as_text=True))
    assert "Ausländerbehörde" in table
    assert "Identitätsdokumente" in table
    assert "Aufenthalt und Status" in table
    assert "19.11.2026" in table
    assert "identity_documents" not in table, "no raw category keys"
    consent = web.api("carla", "GET", f"/cases/{case['id']}").get_json()["consents"][0]
    assert (consent["signed_on"], consent["categories"]) == ("2026-11-19", ["identity_documents", "residence"])


def test_a_consent_needs_categories_and_a_signed_on_day_not_in_the_future(
        web: Web, open_case: Callable[..., Any]) -> None:
    case = open_case()
    client = web.client()
    login(client, "carla")
    token = csrf_of(client, f"/cases/{case['id']}")
    client.post(f"/cases/{case['id']}/consents", data={"csrf_token": token, "office": "ABH", "purpose": "x",
                                                       "signed_on": "2026-11-21"})
    page = client.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert "Bitte mindestens eine Datenkategorie ankreuzen." in page
    assert "Noch keine Einwilligung erfasst." in page
    refused = web.api("carla", "POST", f"/cases/{case['id']}/consents",
                      json={"office": "ABH", "purpose": "x", "signed_on": "2026-11-21"})
    assert refused.status_code == 422
    assert "signed_on" in refused.get_json()["fields"]


def test_a_minor_s_consent_names_the_custodian(web: Web, open_case: Callable[..., Any]) -> None:
    case = open_case(person={"given_name": "Rami", "family_name": "Haddad", "date_of_birth": "2012-03-01"})
    client = web.client()
    login(client, "carla")
    page = client.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert "Die Person ist minderjährig" in page
    form = {"csrf_token": csrf_of(client, f"/cases/{case['id']}"), "office": "SCH", "purpose": "Schulanmeldung",
            "categories": ["school"], "signed_on": "20.11.2026"}
    client.post(f"/cases/{case['id']}/consents", data=form)
    assert "bitte die sorgeberechtigte Person angeben" in client.get(f"/cases/{case['id']}").get_data(as_text=True)
    client.post(f"/cases/{case['id']}/consents", data={**form, "custodian": "Maria Haddad (Mutter)"})
    table = _consents_table(client.get(f"/cases/{case['id']}").get_data(as_text=True))
    assert "Schule und Bildung" in table
    assert "von Maria Haddad (Mutter) (sorgeberechtigt)" in table


def test_the_timeline_reads_as_sentences_with_step_office_and_person(
        web: Web, open_case: Callable[..., Any]) -> None:
    case = open_case()
    task_id = case["tasks"][0]["id"]
    assert web.api("carla", "POST", f"/tasks/{task_id}/claim").status_code == 200
    assert web.api("carla", "POST", f"/tasks/{task_id}/complete", json={"data": VALID}).status_code == 200
    client = web.client()
    login(client, "carla")
    html = client.get(f"/cases/{case['id']}").get_data(as_text=True)
    timeline = html[html.index('id="timeline"'):]
    assert re.search(r"\d\d\.\d\d\.2026 \d\d:\d\d</time> \u2013 Erstkontakt dokumentieren erledigt von carla \(CM\)",
                     timeline), timeline
    assert "Erstkontakt dokumentieren übernommen von carla (CM)" in timeline
    assert "Fall angelegt von carla (CM)" in timeline
    assert "task.complete" not in timeline
    assert "case.open" not in timeline
    assert "Vorgang" not in timeline, "every entry of this case has its own sentence"
    english = web.client()
    login(english, "carla")
    english.get("/inbox?lang=en")
    assert "Erstkontakt dokumentieren completed by carla (CM)" in english.get(f"/cases/{case['id']}").get_data(
        as_text=True), "the English catalogue has the sentences"


def test_my_cases_lists_my_open_cases_with_the_next_deadline(web: Web, open_case: Callable[..., Any]) -> None:
    case = open_case()
    client = web.client()
    login(client, "carla")
    html = client.get("/my-cases").get_data(as_text=True)
    assert 'href="/my-cases"' in html, "in the navigation"
    row = html[html.index(case["reference"]):]
    assert "Erstkontakt dokumentieren" in row, "the next step and its deadline (10 AT)"
    assert "04.12.2026" in row, "the next step and its deadline (10 AT)"
    assert f'href="/cases/{case["id"]}"' in html
    other = web.client()
    login(other, "conrad")  # same office, neither opened it nor works on it
    assert case["reference"] not in other.get("/my-cases").get_data(as_text=True)
    authority = web.client()
    login(authority, "achim")
    assert 'href="/my-cases"' not in authority.get("/inbox").get_data(as_text=True), "case management only"


def test_a_follow_up_is_shown_and_listed_with_its_reason(web: Web, open_case: Callable[..., Any]) -> None:
    case = open_case()
    task_id = case["tasks"][0]["id"]
    client = web.client()
    login(client, "carla")
    posted = client.post(f"/tasks/{task_id}/follow_up", data={
        "csrf_token": csrf_of(client), "date": "27.11.2026", "reason": "Pass liegt erst dann vor",
        "back": f"/tasks/{task_id}"})
    assert posted.status_code == 302
    task_page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert re.search(r'id="follow-up-shown">27\.11\.2026 \u2013 Pass liegt erst dann vor', task_page)
    assert "Keine Aufgaben." in client.get("/inbox").get_data(as_text=True), "set aside by default"
    with_follow_ups = client.get("/inbox?include_follow_up=true").get_data(as_text=True)
    assert case["reference"] in with_follow_ups
    assert "Wiedervorlage am 27.11.2026" in with_follow_ups
    listed = client.get("/follow-ups").get_data(as_text=True)
    assert "Pass liegt erst dann vor" in listed
    assert "27.11.2026" in listed
    assert "Erstkontakt dokumentieren" in listed
    with web.ctx.db.write.connect() as conn:
        details = [str(d) for d in conn.execute(AUDIT.select().where(AUDIT.c.action == "task.follow_up"))
                   .mappings()]
    assert details, "the reason is case data: not in the audit"
    assert not any("Pass liegt" in d for d in details), "the reason is case data: not in the audit"
    client.post(f"/tasks/{task_id}/follow_up", data={"csrf_token": csrf_of(client), "clear": "1",
                                                     "back": f"/tasks/{task_id}"})
    assert case["reference"] in client.get("/inbox").get_data(as_text=True), "cleared: back in the inbox"


def test_steps_and_colleagues_come_from_lists(web: Web, open_case: Callable[..., Any]) -> None:
    case = open_case()
    task_id = case["tasks"][0]["id"]
    client = web.client()
    login(client, "carla")
    inbox = client.get("/inbox").get_data(as_text=True)
    assert '<option value="erstkontakt" >Erstkontakt dokumentieren</option>' in inbox
    assert '<option value="conrad"' in inbox, "colleagues to filter by"
    assert case["reference"] in client.get("/inbox?step=erstkontakt").get_data(as_text=True)
    assert case["reference"] not in client.get("/inbox?step=vorpruefung").get_data(as_text=True)
    task_page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assign = task_page[task_page.index('id="as-user"'):]
    assign = assign[:assign.index("</select>")]
    assert re.findall(r'<option value="(\w+)"', assign) == ["carla", "conrad", "sina"], "the task's office only"
    client.post(f"/tasks/{task_id}/assign", data={"csrf_token": csrf_of(client), "username": "conrad",
                                                  "back": f"/tasks/{task_id}"})
    assert web.api("conrad", "GET", "/tasks?view=mine").get_json()["total"] == 1


def test_a_release_can_be_undone_once(web: Web, open_case: Callable[..., Any]) -> None:
    case = open_case()
    task_id = case["tasks"][0]["id"]
    client = web.client()
    login(client, "carla")
    token = csrf_of(client)
    client.post(f"/tasks/{task_id}/claim", data={"csrf_token": token, "back": f"/tasks/{task_id}"})
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'id="release"' in page, "release asks first"
    assert "data-confirm=" in page, "release asks first"
    client.post(f"/tasks/{task_id}/release", data={"csrf_token": token, "back": f"/tasks/{task_id}"})
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert f'action="/tasks/{task_id}/claim"' in page[page.index('id="undo"') - 200:], "undo offered"
    assert 'id="undo"' not in client.get(f"/tasks/{task_id}").get_data(as_text=True), "once"


def test_withdrawing_a_consent_asks_and_can_be_undone(web: Web, open_case: Callable[..., Any]) -> None:
    case = open_case()
    consent = web.api("carla", "POST", f"/cases/{case['id']}/consents",
                      json={"office": "ABH", "purpose": "Vorprüfung", "categories": ["residence"]}).get_json()
    client = web.client()
    login(client, "carla")
    page = client.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert "Einwilligung für ABH wirklich widerrufen?" in page
    client.post(f"/cases/{case['id']}/consents/{consent['id']}/withdraw",
                data={"csrf_token": csrf_of(client, f"/cases/{case['id']}")})
    page = client.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert f'action="/cases/{case["id"]}/consents/{consent["id"]}/restore"' in page
    client.post(f"/cases/{case['id']}/consents/{consent['id']}/restore", data={"csrf_token": csrf_of(client)})
    consents = web.api("carla", "GET", f"/cases/{case['id']}").get_json()["consents"]
    assert [(c["office"], c["withdrawn_at"] is None) for c in consents] == [("ABH", False), ("ABH", True)]


def test_the_task_page_shows_overdue_and_claim(web: Web, open_case: Callable[..., Any],
                                               frozen_clock: Any) -> None:
    case = open_case()
    task_id = case["tasks"][0]["id"]
    client = web.client()
    login(client, "carla")
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'id="claim"' in page
    assert 'id="overdue"' not in page
    frozen_clock.advance(timedelta(days=30))  # due after 10 working days
    login(client, "carla")  # the session of a month ago has expired
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert re.search(r'<span class="badge danger" id="overdue">überfällig</span>', page)
