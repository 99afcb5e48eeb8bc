"""In a real browser: an admin sees the next deletion run, puts a case under legal hold and
downloads a person's export (GDPR Art. 15)."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from engine import clock
from engine.persistence.models import CaseFile
from engine.services.admin import directory
from tests.browser.conftest import screenshot, sign_in
from tests.integration.retention_support import berlin, closed_case
from tests.webapp.conftest import _password_hash


def test_admin_holds_a_case_and_exports_the_person(browser: Any, live: tuple[str, Any]) -> None:
    base, ctx = live
    ctx.run(directory.add_user, "ada", "admin", [], password_hash=_password_hash())
    try:
        case_id = closed_case(ctx, "2025-03-01")
        with ctx.uow(write=False) as uow:
            reference = uow.session.scalar(select(CaseFile.reference).where(CaseFile.id == case_id))
        clock.freeze(berlin("2029-01-02T09:00:00"))
        page = browser.new_page(locale="de-DE")
        sign_in(page, base, "ada")
        page.get_by_role("link", name="Aufbewahrung").click()
        expect(page.locator("#would-delete").get_by_role("row", name=re.compile(reference))).to_contain_text("2025")

        page.locator("#set-hold").get_by_label("Aktenzeichen").fill(reference)
        page.locator("#set-hold").get_by_label("Grund").fill("Klage vor dem VG Köln")
        page.get_by_role("button", name="Sperrvermerk setzen").click()
        expect(page.get_by_role("status")).to_have_text(f"Sperrvermerk für {reference} gesetzt.")
        expect(page.locator("#skipped")).to_contain_text("Sperrvermerk: Klage vor dem VG Köln")
        expect(page.locator("#holds")).to_contain_text("ada")
        screenshot(page, "admin-retention")

        page.locator("#export").get_by_label("Aktenzeichen").fill(reference)
        with page.expect_download() as download:
            page.get_by_role("button", name="Auskunft herunterladen").click()
        export = json.loads(download.value.path().read_text(encoding="utf-8"))
        assert export["subject"]["family_name"] == "Rahimi"

        row = page.locator("#holds").get_by_role("row", name=re.compile(reference))
        row.get_by_label("Grund der Aufhebung").fill("Klage zurückgenommen")
        row.get_by_role("button", name="Aufheben").click()
        expect(page.get_by_role("status")).to_have_text(f"Sperrvermerk für {reference} aufgehoben.")
        expect(page.get_by_text("Keine Sperrvermerke.")).to_be_visible()
        page.close()
    finally:
        clock.reset()
