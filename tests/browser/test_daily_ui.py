"""The daily UI in Chromium at 1400 and 1024 px: consents from lists, the timeline in sentences,
follow-ups, the step filter by name, assignment from a list, the navigation on one line, and no
serious accessibility violations on the inbox, task and case pages."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from engine import clock
from engine.domain.actors import Actor
from engine.services.admin import directory
from engine.services.casework import cases
from tests.browser.axe_check import assert_accessible
from tests.browser.conftest import screenshot, sign_in
from tests.supervision_seed import NOW, Seed
from tests.webapp.conftest import _password_hash

NEW_CASE = {"person": {"given_name": "Amina", "family_name": "Haddad", "date_of_birth": "2003-04-17"},
            "referral": {"source": "ABH", "reason": "Perspektivberatung"}}
WIDTHS = (1400, 1024)


def _open_case(ctx: Any) -> Any:
    carla = Actor("carla", "caseworker", frozenset({1}), None, frozenset({"CM"}))
    return ctx.run(cases.open_case, carla, NEW_CASE)


def _signed_in(browser: Any, base: str, user: str = "carla", width: int = 1400) -> Any:
    """A new German page ``width`` px wide with ``user`` signed in."""
    page = browser.new_page(locale="de-DE", viewport={"width": width, "height": 900})
    sign_in(page, base, user)
    return page


def _task_path(case: Any) -> str:
    return f"/tasks/{case.tasks[0].id}"


def _on_new_case(browser: Any, live: tuple[str, Any], at: str = "task") -> tuple[Any, Any, str]:
    """A new case, and carla signed in on its first task (``at="case"``: on the case page):
    (page, case, base)."""
    base, ctx = live
    case = _open_case(ctx)
    page = _signed_in(browser, base)
    page.goto(base + (_task_path(case) if at == "task" else f"/cases/{case.id}"))
    return page, case, base


def _add_lead(ctx: Any) -> None:
    ctx.run(directory.add_user, "sina", "supervisor", ["CM"], password_hash=_password_hash())


def test_consent_from_lists_and_checkboxes_confirmed_withdrawal_and_undo(browser: Any, live: tuple[str, Any]) -> None:
    page, _case, _base = _on_new_case(browser, live, at="case")
    form = page.locator("#consent-form")
    form.get_by_label("Amt").select_option(label="Ausländerbehörde (ABH)")
    form.get_by_label("Identitätsdokumente").check()
    form.get_by_label("Aufenthalt und Status").check()
    form.get_by_label("Zweck der Weitergabe").fill("Vorprüfung des Aufenthalts")
    form.get_by_label("Unterschrieben am").fill("01.12.2026")
    form.get_by_role("button", name="Einwilligung erfassen").click()
    expect(page.get_by_role("status")).to_have_text("Einwilligung für ABH erfasst.")
    row = page.locator("table.consents tbody tr").first
    expect(row).to_contain_text("Ausländerbehörde")
    expect(row).to_contain_text("Identitätsdokumente")
    expect(row).to_contain_text("Aufenthalt und Status")
    expect(row).to_contain_text("01.12.2026")
    assert "identity_documents" not in row.inner_text()

    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    row.get_by_role("button", name="Einwilligung für ABH widerrufen").click()
    assert asked == ["Einwilligung für ABH wirklich widerrufen? Offene Aufgaben dieses Amtes werden abgebrochen."]
    assert page.locator("table.consents tr.withdrawn").count() == 0, "dismissed: nothing withdrawn"
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Einwilligung für ABH widerrufen").click()
    expect(page.locator("table.consents tr.withdrawn")).to_have_count(1)
    page.get_by_role("button", name="Rückgängig: Einwilligung wieder erfassen").click()
    expect(page.get_by_role("status")).to_have_text("Einwilligung für ABH wieder erfasst.")
    expect(page.get_by_role("button", name="Einwilligung für ABH widerrufen")).to_have_count(1)
    page.close()


def test_timeline_in_sentences_and_the_diagram_on_the_current_step(browser: Any, live: tuple[str, Any]) -> None:
    page, case, base = _on_new_case(browser, live)
    page.get_by_role("button", name="Übernehmen").click()
    page.get_by_label("Datum des Erstkontakts").fill(clock.local_now().date().isoformat())
    page.get_by_label("Sprache des Gesprächs").select_option(label="Arabisch")
    page.get_by_label("Anzahl vereinbarter Termine").fill("2")
    page.get_by_role("button", name="Erledigen").click()
    expect(page.get_by_role("heading", name="Perspektivberatung planen")).to_be_visible()
    page.goto(f"{base}/cases/{case.id}")
    timeline = page.locator("#timeline li")
    expect(timeline.first).to_have_text(re.compile(
        r"^\d\d\.\d\d\.\d{4} \d\d:\d\d \u2013 Erstkontakt dokumentieren erledigt von carla \(CM\)$"))
    expect(page.locator("#timeline")).to_contain_text("Fall angelegt von carla (CM)")
    expect(page.locator("#timeline")).not_to_contain_text("task.complete")

    page.wait_for_selector("#diagram[data-ready='true']", timeout=15_000)
    assert page.locator("#diagram").get_attribute("data-focused") == "true", "opens on the current step"
    scale = page.evaluate("() => document.querySelector('#diagram .viewport').transform.baseVal[0].matrix.a")
    assert scale >= 0.99, "the current step at a readable size, not fitted tiny"
    page.get_by_role("button", name="Verkleinern").click()
    smaller = page.evaluate("() => document.querySelector('#diagram .viewport').transform.baseVal[0].matrix.a")
    assert smaller < scale
    page.get_by_role("button", name="Ganzes Diagramm").click()
    page.get_by_role("button", name="Aktueller Schritt").click()
    page.close()


def test_follow_up_is_visible_and_listable(browser: Any, live: tuple[str, Any]) -> None:
    page, _case, base = _on_new_case(browser, live)
    day = (clock.local_now().date() + timedelta(days=7)).strftime("%d.%m.%Y")
    page.get_by_label("Wiedervorlage am").fill(day)
    page.get_by_label("Grund (optional)").fill("Pass kommt nächste Woche")
    page.get_by_role("button", name="Wiedervorlage setzen").click()
    expect(page.locator("#follow-up-shown")).to_have_text(f"{day} \u2013 Pass kommt nächste Woche")
    page.goto(f"{base}/inbox?view=office")
    expect(page.locator(".empty")).to_contain_text("Keine Aufgaben.")
    page.get_by_label("mit Wiedervorlagen").check()
    page.get_by_role("button", name="Filtern").click()
    row = page.get_by_role("row", name=re.compile("Haddad"))
    expect(row).to_contain_text(f"Wiedervorlage am {day}")
    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Wiedervorlagen").click()
    listed = page.get_by_role("row", name=re.compile("Erstkontakt dokumentieren"))
    expect(listed).to_contain_text(day)
    expect(listed).to_contain_text("Pass kommt nächste Woche")
    page.close()


def test_step_filter_by_name_and_assignment_from_a_list(browser: Any, live: tuple[str, Any]) -> None:
    base, ctx = live
    ctx.run(directory.add_user, "conrad", "caseworker", ["CM"], password_hash=_password_hash())
    case = _open_case(ctx)
    page = _signed_in(browser, base)
    page.goto(f"{base}/inbox?view=office")
    step = page.get_by_label("Schritt")
    assert step.evaluate("e => e.tagName") == "SELECT", "steps are offered by name"
    step.select_option(label="Erstkontakt dokumentieren")
    page.get_by_role("button", name="Filtern").click()
    assert "step=erstkontakt" in page.url
    expect(page.get_by_role("row", name=re.compile("Haddad"))).to_be_visible()
    reference = page.get_by_role("link", name=case.reference)
    expect(reference).to_have_attribute("href", f"/cases/{case.id}")

    page.goto(base + _task_path(case))
    options = page.get_by_label("Zuweisen an").locator("option").all_inner_texts()
    assert [o.split(" ")[0] for o in options] == ["carla", "conrad"], "colleagues of the task's office"
    page.get_by_label("Zuweisen an").select_option("conrad")
    page.get_by_role("button", name="Zuweisen", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Aufgabe zugewiesen.")
    expect(page.locator("dl.facts")).to_contain_text("conrad")
    page.close()


def test_repeating_rows_and_the_focus_on_the_first_error(browser: Any, live: tuple[str, Any]) -> None:
    page, _case, _base = _on_new_case(browser, live)
    goals = page.locator("fieldset.rows")
    goals.get_by_role("button", name="Zeile hinzufügen").click()
    expect(goals.locator(".row-group")).to_have_count(2)
    page.locator("[name='ziele.0.titel']").fill("Sprachkurs")
    page.locator("[name='ziele.1.titel']").fill("Arbeit")
    goals.get_by_role("button", name="Zeile entfernen").first.click()
    expect(goals.locator(".row-group")).to_have_count(1)
    assert page.locator("[name='ziele.0.titel']").input_value() == "Arbeit", "rows renumbered"
    page.get_by_label("Anzahl vereinbarter Termine").fill("30")
    page.get_by_role("button", name="Erledigen").click()
    expect(page.locator("#form-errors")).to_be_visible()
    # the first field with an error has the focus (waited for: the page sets it after rendering the errors)
    expect(page.locator("#f-kontakt_am")).to_be_focused()
    assert page.locator("[name='ziele.0.titel']").input_value() == "Arbeit", "the kept row came back"
    page.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_navigation_on_one_line_screenshots_and_accessibility(browser: Any, live: tuple[str, Any],
                                                              width: int) -> None:
    base, ctx = live
    case = _open_case(ctx)
    page = _signed_in(browser, base, width=width)
    page.goto(f"{base}/inbox?view=office")
    tops = page.locator("nav.main-nav a:visible").evaluate_all(
        "links => links.map(a => Math.round(a.getBoundingClientRect().top))")
    assert max(tops) - min(tops) <= 4, f"the navigation is one line at {width} px: {tops}"
    header = page.locator("header.top").bounding_box()
    assert header is not None
    assert header["height"] <= 100, f"the header is {header['height']} px high at {width} px"
    labels = page.locator(".filters .filter").evaluate_all(
        "fs => fs.map(f => [f.children[0].getBoundingClientRect().left, f.children[1] ? "
        "f.children[1].getBoundingClientRect().left : f.children[0].getBoundingClientRect().left])")
    assert all(abs(label - field) < 2 for label, field in labels), "labels stay with their inputs"
    reference = page.get_by_role("link", name=case.reference)
    box = reference.bounding_box()
    assert box is not None
    assert box["height"] < 30, "the case reference does not break"
    screenshot(page, f"inbox-{width}")
    assert_accessible(page, "inbox")

    page.goto(base + _task_path(case))
    screenshot(page, f"task-{width}")
    assert_accessible(page, "task page")

    page.goto(f"{base}/cases/{case.id}")
    page.wait_for_selector("#diagram[data-ready='true']", timeout=15_000)
    screenshot(page, f"case-{width}")
    assert_accessible(page, "case page")
    page.close()


@pytest.mark.parametrize("width", [*WIDTHS, 1280])
def test_an_office_lead_s_longer_navigation_stays_on_one_line(browser: Any, live: tuple[str, Any],
                                                             width: int) -> None:
    base, ctx = live
    _add_lead(ctx)
    page = _signed_in(browser, base, "sina", width)
    page.goto(f"{base}/inbox?view=all")
    nav = page.get_by_role("navigation", name="Hauptnavigation")
    shown = nav.locator("a:visible, summary:visible")
    names = shown.all_inner_texts()
    assert any(n.startswith("Ganzes Amt") for n in names)
    tops = shown.evaluate_all("links => links.map(a => Math.round(a.getBoundingClientRect().top))")
    assert max(tops) - min(tops) <= 4, f"one line at {width} px: {list(zip(names, tops, strict=True))}"
    right = nav.evaluate("n => Math.max(...[...n.querySelectorAll('a, summary')]"
                         ".filter(e => e.getClientRects().length).map(e => e.getBoundingClientRect().right))")
    assert right <= width - 16, f"every entry visible at {width} px (inside the page margin)"
    if "Weitere" in names:
        nav.get_by_text("Weitere").click()
    nav.get_by_role("link", name="Steuerung").click()
    expect(page).to_have_url(re.compile("/supervision$"))
    page.goto(f"{base}/inbox?view=all")
    screenshot(page, f"inbox-lead-{width}")
    page.close()


def test_a_field_required_by_another_answer_shows_its_asterisk(browser: Any, live: tuple[str, Any]) -> None:
    page, _case, _base = _on_new_case(browser, live)
    label = page.locator("label[for='f-folgetermin_am']")
    expect(label).to_have_text("Folgetermin am")
    page.get_by_label("Folgetermin vereinbart").check()
    expect(label).to_contain_text("*")
    expect(page.locator("#f-folgetermin_am")).to_have_attribute("aria-required", "true")
    page.get_by_label("Folgetermin vereinbart").uncheck()
    expect(label).to_have_text("Folgetermin am")
    page.get_by_label("Folgetermin vereinbart").check()
    page.get_by_label("Datum des Erstkontakts").fill(clock.local_now().date().isoformat())
    page.get_by_label("Sprache des Gesprächs").select_option(label="Deutsch")
    page.get_by_label("Anzahl vereinbarter Termine").fill("1")
    page.get_by_role("button", name="Erledigen").click()
    expect(page.locator("#f-folgetermin_am-err")).to_have_text("Pflichtfeld")
    assert page.evaluate("() => document.activeElement.id") == "f-folgetermin_am", "focus on the first error"
    expect(label).to_contain_text("*")
    page.close()


def test_the_supervisor_heatmap_zooms_too(browser: Any, live: tuple[str, Any]) -> None:
    base, ctx = live
    _add_lead(ctx)
    clock.freeze(NOW)
    try:
        seed = Seed(ctx)
        for _ in range(6):
            seed.task("CM", step="erstkontakt", due=date(2026, 11, 24), level=1)
        page = _signed_in(browser, base, "sina", 1024)
        page.goto(f"{base}/supervision")
        page.wait_for_selector("#heatmap[data-ready='true']", timeout=15_000)
        tools = page.locator("#heatmap-section .diagram-tools")
        scale = "() => document.querySelector('#heatmap .viewport').transform.baseVal[0].matrix.a"
        before = page.evaluate(scale)
        tools.get_by_role("button", name="Vergrößern").click()
        assert page.evaluate(scale) > before
        tools.get_by_role("button", name="Ganzes Diagramm").click()
        page.close()
    finally:
        clock.reset()
