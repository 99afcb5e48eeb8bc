"""A caseworker's day in a real browser: sign in, claim, fill the form (with a mistake),
complete, land on the next task; another office cannot open the case."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from engine.domain.actors import Actor
from engine.services.casework import cases
from tests.browser.conftest import screenshot, sign_in

NEW_CASE = {"person": {"given_name": "Amina", "family_name": "Haddad", "date_of_birth": "2003-04-17"},
            "referral": {"source": "ABH", "reason": "Perspektivberatung"}}


def _open_case(ctx: Any) -> Any:
    carla = Actor("carla", "caseworker", frozenset({1}), None, frozenset({"CM"}))
    return ctx.run(cases.open_case, carla, NEW_CASE)


def test_claim_fill_fix_complete_next(browser: Any, live: tuple[str, Any]) -> None:
    base, ctx = live
    case = _open_case(ctx)
    page = browser.new_page(locale="de-DE")
    sign_in(page, base, "carla")
    page.get_by_role("link", name=re.compile("Mein Amt")).click()
    row = page.get_by_role("row", name=re.compile("Haddad"))
    row.get_by_role("button", name=re.compile("Übernehmen")).click()
    page.get_by_role("link", name=re.compile("Meine Aufgaben")).click()
    expect(page.get_by_role("row", name=re.compile("Haddad")).get_by_text("carla")).to_be_visible()
    screenshot(page, "inbox")

    page.get_by_role("link", name="Erstkontakt dokumentieren").click()
    page.get_by_label("Datum des Erstkontakts").fill("2026-11-20")
    page.get_by_label("Sprache des Gesprächs").select_option(label="Arabisch")
    page.get_by_label("Anzahl vereinbarter Termine").fill("30")
    page.get_by_role("button", name="Erledigen").click()
    error = page.locator("#f-termine-err")
    expect(error).to_be_visible()
    assert "zu groß" in error.inner_text()
    described_by = page.get_by_label("Anzahl vereinbarter Termine").get_attribute("aria-describedby")
    assert described_by.startswith("f-termine-err"), "screen readers announce the message with the field"
    assert page.get_by_label("Datum des Erstkontakts").input_value() == "2026-11-20", "input is kept"
    screenshot(page, "task-with-error")

    page.get_by_label("Anzahl vereinbarter Termine").fill("3")
    page.get_by_role("button", name="Erledigen").click()
    expect(page.get_by_role("heading", name="Perspektivberatung planen")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Aufgabe erledigt.")
    screenshot(page, "next-task")
    page.close()

    other = browser.new_page(locale="de-DE")
    sign_in(other, base, "achim")
    response = other.goto(f"{base}/cases/{case.id}")
    assert response is not None
    assert response.status == 404
    assert "Haddad" not in other.content()
    other.close()


def test_case_page_shows_the_process_with_the_current_step(browser: Any, live: tuple[str, Any]) -> None:
    base, ctx = live
    case = _open_case(ctx)
    page = browser.new_page(locale="de-DE")
    sign_in(page, base, "carla")
    page.goto(f"{base}/cases/{case.id}")
    page.wait_for_selector("#diagram[data-ready='true']", timeout=15_000)
    active = page.locator("[data-element-id='erstkontakt'].kim-active")
    assert active.count() == 1, "the open step is marked on the diagram"
    assert page.locator("[data-element-id='planung'].kim-active").count() == 0
    screenshot(page, "case")
    page.close()
