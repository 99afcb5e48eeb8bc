"""A process owner moves a running case to version 2 in a real browser: dry run, report row
(position, "kompatibel"), migrate the selected case, then the instance view shows version 2
with the current step marked on the diagram and its waiting time on it."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from engine.domain.actors import SYSTEM, Actor
from engine.services.admin import directory
from engine.services.casework import cases
from engine.services.process_models import deployment
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import DATA
from tests.webapp.conftest import _password_hash

NEW_CASE = {"person": {"given_name": "Amina", "family_name": "Haddad", "date_of_birth": "2003-04-17"},
            "referral": {"source": "ABH", "reason": "Perspektivberatung"}}


def test_dry_run_migrate_and_instance_view(browser: Any, live: tuple[str, Any]) -> None:
    base, ctx = live
    ctx.run(directory.add_user, "paul", "process_owner", [], password_hash=_password_hash())
    carla = Actor("carla", "caseworker", frozenset({1}), None, frozenset({"CM"}))
    case = ctx.run(cases.open_case, carla, NEW_CASE)
    deployed = ctx.run(deployment.deploy, deployment.read_model_paths([DATA / "migration" / "beratung_v2.bpmn"]),
                                 SYSTEM)
    assert deployed[0].version == 2

    page = browser.new_page(locale="de-DE")
    sign_in(page, base, "paul")
    page.goto(f"{base}/models/beratung/migrate")
    page.get_by_label("Zielversion").select_option(value="2")
    page.get_by_role("button", name="Probelauf starten").click()
    row = page.get_by_role("row", name=re.compile(case.reference))
    position = row.locator("li.position").inner_text()
    assert position.startswith("Erstkontakt dokumentieren (erstkontakt)")
    assert position.endswith("vorhanden")
    assert "bleibt" in row.inner_text(), "the open task stays as it is"
    expect(row.get_by_text("kompatibel", exact=True)).to_be_visible()
    assert "Haddad" not in page.content(), "process owners see no personal data"
    screenshot(page, "migration-dry-run")

    row.get_by_role("checkbox", name="Fall auswählen").check()
    page.get_by_role("button", name="Ausgewählte migrieren").click()
    expect(page.get_by_role("status")).to_have_text("1 Fall/Fälle migriert, 0 übersprungen.")
    expect(page.get_by_text("Keine laufenden Fälle auf anderen Versionen.")).to_be_visible()

    page.goto(f"{base}/cases/{case.id}/instance")
    assert page.locator("#instance-version").inner_text() == "beratung v2"
    versions = page.locator("#versions tbody tr")
    assert versions.count() == 2
    assert re.search(r"v2\s+Migration", versions.nth(1).inner_text())
    assert "paul" in versions.nth(1).inner_text()
    diagram = page.locator("#instance-diagram")
    page.wait_for_selector("#instance-diagram[data-ready]")
    assert diagram.get_attribute("data-ready") == "true"
    assert page.locator('[data-element-id="erstkontakt"].kim-active').count() == 1
    assert page.locator('[data-element-id="unterlagen"]').count() >= 1, "the diagram of version 2"
    assert re.fullmatch(r"wartet seit \d+,\d Tagen", page.locator(".kim-timing-active").inner_text())
    screenshot(page, "instance-view")
    page.close()
