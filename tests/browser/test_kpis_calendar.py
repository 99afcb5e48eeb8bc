"""In a real browser: an admin keeps the working-day calendar, an office lead pulls the indicators."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from engine.services.admin import directory
from tests.browser.conftest import screenshot, sign_in
from tests.webapp.conftest import _password_hash


def _add_user(ctx: Any, name: str, role: str, offices: list[str]) -> None:
    ctx.run(directory.add_user, name, role, offices, password_hash=_password_hash())


def working_days(page: Any) -> int:
    text = page.get_by_text(re.compile(r"\d{4}: \d+ Arbeitstage")).inner_text()
    return int(text.split(": ")[1].split()[0])


def test_admin_adds_and_deletes_a_closing_day(browser: Any, live: tuple[str, Any]) -> None:
    base, ctx = live
    _add_user(ctx, "adele", "admin", [])
    page = browser.new_page(locale="de-DE")
    sign_in(page, base, "adele")
    page.get_by_role("link", name="Arbeitskalender").click()
    page.get_by_role("link", name=re.compile(r"\d{4} »")).click()  # next year
    holidays = page.locator("#holidays")
    expect(holidays.get_by_role("row", name=re.compile("Fronleichnam"))).to_be_visible()
    expect(holidays.get_by_role("row", name=re.compile("Allerheiligen"))).to_be_visible()
    page.goto(f"{base}/admin/calendar?year=2030")
    assert working_days(page) == 250  # 261 weekdays minus 11 holidays, all on weekdays in 2030

    page.get_by_label("Datum").fill("2030-02-25")
    page.get_by_label("Bezeichnung").fill("Rosenmontag")
    page.get_by_role("button", name="Hinzufügen").click()
    expect(page.get_by_role("status")).to_have_text("Schließtag 25.02.2030 hinzugefügt.")
    row = page.locator("#stored-days").get_by_role("row", name=re.compile("Rosenmontag"))
    assert "25.02.2030" in row.inner_text()
    assert working_days(page) == 249
    screenshot(page, "admin-calendar")

    page.get_by_label("Datum").fill("2030-02-25")
    page.get_by_role("button", name="Hinzufügen").click()
    assert page.locator("#day-error").inner_text() == "bereits ein Schließtag"
    assert page.get_by_label("Datum").get_attribute("aria-invalid") == "true"

    page.locator("#stored-days").get_by_role("button", name="Löschen: 25.02.2030").click()
    expect(page.get_by_role("status")).to_have_text("Schließtag 25.02.2030 gelöscht.")
    assert page.locator("#stored-days").count() == 0
    assert working_days(page) == 250
    page.close()


def test_lead_pulls_indicators_and_downloads_the_csv(browser: Any, live: tuple[str, Any]) -> None:
    base, ctx = live
    _add_user(ctx, "lea", "supervisor", ["CM"])
    page = browser.new_page(locale="de-DE")
    sign_in(page, base, "lea")
    page.get_by_role("link", name="Kennzahlen").click()
    page.get_by_label("Von").fill("2026-01-01")
    page.get_by_label("Bis").fill("2026-12-31")
    page.get_by_role("button", name="Anzeigen").click()
    expect(page.get_by_role("row", name=re.compile("Eröffnete Fälle"))).to_be_visible()
    expect(page.get_by_role("heading", name="Definitionen der Kennzahlen")).to_be_visible()
    screenshot(page, "kpis")
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("CSV herunterladen")).click()
    download = download_info.value
    assert download.suggested_filename == "kim-kennzahlen_2026-01-01_2026-12-31.csv"
    content = Path(download.path()).read_bytes()
    assert content.startswith("\ufeffKennzahl;Aufschlüsselung;Wert".encode())

    page.get_by_label("Von").fill("2026-12-31")
    page.get_by_label("Bis").fill("2026-01-01")
    page.get_by_role("button", name="Anzeigen").click()
    assert page.get_by_role("alert").inner_text() == "to: darf nicht vor „von“ liegen"
    page.close()


def test_caseworker_sees_neither(browser: Any, live: tuple[str, Any]) -> None:
    base, _ctx = live
    page = browser.new_page(locale="de-DE")
    sign_in(page, base, "carla")
    assert page.get_by_role("link", name="Kennzahlen").count() == 0
    assert page.get_by_role("link", name="Arbeitskalender").count() == 0
    response = page.goto(f"{base}/reports/kpis")
    assert response is not None
    assert response.status == 403
    page.close()
