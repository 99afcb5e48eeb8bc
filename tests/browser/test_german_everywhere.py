"""A browser that asks for English still gets German pages, and every server error the pages
can show reads in German: the test walks the pages with an English browser, provokes the errors
and looks for any English text of the catalogues (the English UI catalogues and the engine's
English messages) on the page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import expect

from engine.domain.actors import Actor
from engine.services.admin import directory
from engine.services.casework import cases
from tests.browser.conftest import sign_in
from tests.webapp.conftest import _password_hash

TRANSLATIONS = Path(__file__).resolve().parents[2] / "webapp" / "translations"
NEW_CASE = {"person": {"given_name": "Amina", "family_name": "Haddad", "date_of_birth": "2003-04-17"},
            "referral": {"source": "ABH", "reason": "Perspektivberatung"}}
ENGLISH_BROWSER = {"locale": "en-US", "extra_http_headers": {"Accept-Language": "en-US,en;q=0.9"}}


def _english_phrases() -> list[str]:
    """English texts that must not appear on a German page: every English catalogue text of two
    or more words that differs from its German source, and the fixed parts of the engine's
    English messages."""
    phrases: set[str] = set()
    for po_path in (TRANSLATIONS / "en" / "LC_MESSAGES").glob("*.po"):
        with po_path.open("rb") as po_file:
            for message in read_po(po_file):
                text = str(message.string or "")
                if message.id and text != message.id and len(text.split()) >= 2:
                    phrases.update(part.strip() for part in re.split(r"%\(\w+\)s", text) if len(part.strip()) >= 10)
    with (TRANSLATIONS / "de" / "LC_MESSAGES" / "engine.po").open("rb") as po_file:
        for message in read_po(po_file):
            if message.id and len(str(message.id).split()) >= 2:
                phrases.update(part.strip() for part in re.split(r"%\(\w+\)s", str(message.id))
                               if len(part.strip()) >= 10)
    return sorted(phrases)


ENGLISH = _english_phrases()


def _english_on(page: Any) -> list[str]:
    text = page.locator("body").inner_text()
    return [phrase for phrase in ENGLISH if phrase in text]


def _post_form(page: Any, path: str, fields: dict[str, str]) -> None:
    """Post a form as the page would (with its CSRF token), then show the page it leads to."""
    page.evaluate("""async ([path, fields]) => {
        const body = new URLSearchParams(fields);
        body.set('csrf_token', document.querySelector('input[name=csrf_token]').value);
        const response = await fetch(path, { method: 'POST', body, credentials: 'same-origin' });
        document.open(); document.write(await response.text()); document.close(); }""", [path, fields])


@pytest.fixture
def english_browser(browser: Any) -> Any:
    context = browser.new_context(**ENGLISH_BROWSER)
    yield context
    context.close()


def test_the_walk_knows_english_when_it_sees_it(english_browser: Any, live: tuple[str, Any]) -> None:
    """The check itself: the English UI (chosen) is full of catalogue phrases."""
    base, _ctx = live
    page = english_browser.new_page()
    page.goto(f"{base}/login?lang=en")
    assert _english_on(page), "the English sign-in page shows English catalogue texts"
    assert len(ENGLISH) > 300


def test_english_browser_gets_german_pages_and_german_errors(browser: Any, english_browser: Any,
                                                             live: tuple[str, Any]) -> None:
    base, ctx = live
    ctx.run(directory.add_user, "sina", "supervisor", ["CM"], password_hash=_password_hash())
    carla = Actor("carla", "caseworker", frozenset({1}), None, frozenset({"CM"}))
    case = ctx.run(cases.open_case, carla, NEW_CASE)
    task_id = str(case.tasks[0].id)
    page = english_browser.new_page()
    page.goto(f"{base}/login")
    assert page.locator("html").get_attribute("lang") == "de"
    expect(page.get_by_role("button", name="Anmelden")).to_be_visible()
    assert _english_on(page) == []

    sign_in(page, base, "carla")
    seen: dict[str, list[str]] = {}
    for path in ("/inbox", "/inbox?view=mine", f"/tasks/{task_id}", f"/cases/{case.id}", "/cases/new",
                 "/notifications", "/inbox?due_from=10.12.2026"):
        page.goto(base + path)
        seen[path] = _english_on(page)
    assert page.locator(".field-error").count() == 0, "10.12.2026 is a date"

    errors: dict[str, str] = {}
    page.goto(f"{base}/inbox?due_from=32.12.2026")
    errors["filter date"] = page.locator("main").inner_text()
    seen["filter error"] = _english_on(page)
    for name, action, fields in (("follow-up", "follow_up", {"date": "01.01.2020"}),
                                 ("unknown user", "assign", {"username": "niemand"}),
                                 ("other office", "assign", {"username": "achim"})):
        page.goto(f"{base}/tasks/{task_id}")
        _post_form(page, f"/tasks/{task_id}/{action}", fields)
        errors[name] = page.locator("main").inner_text()
        seen[name] = _english_on(page)
    page.goto(f"{base}/tasks/00000000-0000-0000-0000-000000000000")
    errors["no task"] = page.locator("main").inner_text()
    seen["404"] = _english_on(page)
    page.goto(f"{base}/cases/{case.id}")
    assert page.locator("h1 .badge").inner_text() == "offen"

    lead = browser.new_context(**ENGLISH_BROWSER).new_page()  # a second person: a browser of their own
    sign_in(lead, base, "sina")
    for path in ("/supervision", "/supervision/overdue", "/supervision?from=31.02.2026"):
        lead.goto(base + path)
        seen[path] = _english_on(lead)
    errors["dashboard date"] = lead.locator("main").inner_text()
    lead.goto(f"{base}/supervision/overdue")
    _post_form(lead, "/supervision/overdue/reassign", {"username": "niemand"})
    errors["reassign"] = lead.locator("main").inner_text()
    seen["reassign error"] = _english_on(lead)

    assert {path: found for path, found in seen.items() if found} == {}
    assert "TT.MM.JJJJ" in errors["filter date"], "the date format is named in German"
    assert "Das Datum der Wiedervorlage muss nach heute liegen." in errors["follow-up"]
    assert "Diese Person ist nicht bekannt." in errors["unknown user"]
    assert "Diese Person arbeitet nicht in der Stelle der Aufgabe." in errors["other office"]
    assert "Diese Aufgabe gibt es nicht" in errors["no task"]
    assert "ein Datum (TT.MM.JJJJ)" in errors["dashboard date"]
    assert "Bitte mindestens eine Aufgabe auswählen." in errors["reassign"]
