"""German for every visitor, English only when chosen; server messages in the reader's language."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine import clock
from tests.webapp.conftest import Web, csrf_of, login

ENGLISH_BROWSER = {"Accept-Language": "en-US,en;q=0.9"}


def _first_task(web: Web, open_case: Callable[..., dict[str, Any]]) -> str:
    case = open_case()
    return str(case["tasks"][0]["id"])


def test_an_english_browser_gets_the_german_sign_in_page(web: Web) -> None:
    page = web.client().get("/login", headers=ENGLISH_BROWSER).get_data(as_text=True)
    assert '<html lang="de">' in page
    assert "Anmelden" in page


def test_english_only_when_chosen_and_the_choice_is_kept(web: Web) -> None:
    client = web.client()
    chosen = client.get("/login?lang=en")
    assert '<html lang="en">' in chosen.get_data(as_text=True)
    assert "kim_lang=en" in chosen.headers.get("Set-Cookie", "")
    login(client, "carla")
    assert '<html lang="en">' in client.get("/inbox").get_data(as_text=True), "kept through the sign-in"
    client.post("/logout", data={"csrf_token": csrf_of(client)})
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True), "the cookie outlives the session"
    assert '<html lang="de">' in client.get("/login?lang=de").get_data(as_text=True)


def test_api_messages_follow_accept_language_german_by_default(web: Web, open_case: Callable[..., Any]) -> None:
    task_id = _first_task(web, open_case)
    german = web.api("sina", "POST", f"/tasks/{task_id}/assign", json={"username": "niemand"})
    assert german.status_code == 422
    assert german.get_json()["message"] == "Diese Person ist nicht bekannt."
    assert german.get_json()["fields"] == {"username": "Diese Person ist nicht bekannt."}
    english = web.api("sina", "POST", f"/tasks/{task_id}/assign", json={"username": "niemand"},
                      headers={"Accept-Language": "en"})
    assert english.get_json()["message"] == "unknown user"
    assert english.get_json()["fields"] == {"username": "unknown user"}
    other = web.api("sina", "POST", f"/tasks/{task_id}/assign", json={"username": "achim"})
    assert other.get_json()["message"] == "Diese Person arbeitet nicht in der Stelle der Aufgabe."
    missing = web.api("carla", "GET", "/tasks/00000000-0000-0000-0000-000000000000")
    assert missing.get_json()["message"] == "Diese Aufgabe gibt es nicht (oder sie ist nicht für Sie sichtbar)."


def test_a_page_session_gets_german_api_messages_from_an_english_browser(web: Web,
                                                                         open_case: Callable[..., Any]) -> None:
    task_id = _first_task(web, open_case)
    client = web.client()
    login(client, "sina")
    response = client.post(f"/api/v1/tasks/{task_id}/assign", json={"username": "niemand"},
                           headers={**ENGLISH_BROWSER, "X-CSRF-Token": csrf_of(client)})
    assert response.get_json()["message"] == "Diese Person ist nicht bekannt."


def test_follow_up_in_german_dates_and_german_messages(web: Web, open_case: Callable[..., Any]) -> None:
    task_id = _first_task(web, open_case)
    past = web.api("carla", "POST", f"/tasks/{task_id}/follow-up", json={"date": "01.01.2020"})
    assert past.status_code == 422
    assert past.get_json()["message"] == "Die Wiedervorlage muss in der Zukunft liegen."
    bad = web.api("carla", "POST", f"/tasks/{task_id}/follow-up", json={"date": "31.02.2099"})
    assert bad.get_json()["fields"] == {"date": "muss ein Datum (TT.MM.JJJJ) sein oder leer bleiben"}
    future = clock.local_now().date().replace(year=clock.local_now().year + 1, month=3, day=2)
    ok = web.api("carla", "POST", f"/tasks/{task_id}/follow-up", json={"date": future.strftime("%d.%m.%Y")})
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json()["follow_up_at"] == f"{future.replace(day=1).isoformat()}T23:00:00+00:00"  # Berlin midnight
    client = web.client()
    login(client, "carla")
    client.post(f"/tasks/{task_id}/follow_up", data={"csrf_token": csrf_of(client), "date": "01.01.2020"})
    page = client.get("/inbox").get_data(as_text=True)
    assert "Das Datum der Wiedervorlage muss nach heute liegen." in page
    assert "must be in the future" not in page


def test_inbox_filter_takes_german_dates(web: Web, open_case: Callable[..., Any]) -> None:
    _first_task(web, open_case)
    assert web.api("carla", "GET", "/tasks?due_from=10.12.2026").status_code == 200
    client = web.client()
    login(client, "carla")
    page = client.get("/inbox?due_from=10.12.2026")
    assert page.status_code == 200
    refused = client.get("/inbox?due_from=32.12.2026")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "Fällig ab: bitte als TT.MM.JJJJ angeben" in html
    assert "YYYY-MM-DD" not in html


def test_case_status_badge_is_german(web: Web, open_case: Callable[..., Any]) -> None:
    case = open_case()
    client = web.client()
    login(client, "carla")
    html = client.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert '<span class="badge">offen</span>' in html
    assert '<span class="badge">open</span>' not in html


def test_http_errors_are_german(web: Web) -> None:
    client = web.client()
    login(client, "carla")
    page = client.get("/gibt-es-nicht").get_data(as_text=True)
    assert "Diese Seite oder diesen Eintrag gibt es nicht." in page
    assert web.api("carla", "GET", "/gibt-es-nicht").get_json()["message"] == \
        "Diese Seite oder diesen Eintrag gibt es nicht."


def test_a_refusal_worded_in_german_reaches_an_english_api_client_in_english(web: Web) -> None:
    """Permission refusals (and modeler and conference messages) are German at their source; an
    English client gets their English text, a client that says nothing the German one."""
    english = web.api("carla", "GET", "/admin/retention/preview", headers={"Accept-Language": "en"})
    assert english.status_code == 403
    assert english.get_json()["message"] == ("Retention, legal holds and access requests under Art. 15 GDPR are "
                                             "reserved for the administration.")
    german = web.api("carla", "GET", "/admin/retention/preview")
    assert german.get_json()["message"].startswith("Aufbewahrung, Sperrvermerke und Auskünfte")
    missing = web.api("paul", "GET", "/model-drafts/999999", headers={"Accept-Language": "en"})
    assert (missing.status_code, missing.get_json()["message"]) == (404, "There is no draft 999999.")
