"""An office lead reassigns overdue tasks in Chromium: tick, choose a colleague, assign - all or
nothing, with the refusal next to the task, and the workload per person."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from playwright.sync_api import expect

from engine import clock
from engine.services.admin import directory
from tests.browser.conftest import screenshot, sign_in
from tests.supervision_seed import NOW, Seed
from tests.webapp.conftest import _password_hash


@pytest.fixture
def overdue_cm(live: tuple[str, Any]) -> Iterator[str]:
    """Three overdue CM tasks, the CM lead sina and two caseworkers of CM (carla, conrad)."""
    base, ctx = live
    clock.freeze(NOW)
    for name, role in (("sina", "supervisor"), ("conrad", "caseworker")):
        ctx.run(directory.add_user, name, role, ["CM"], password_hash=_password_hash())
    seed = Seed(ctx)
    for step in ("erstkontakt", "planung", "erstkontakt"):
        seed.task("CM", step=step, due=date(2026, 11, 20), level=1)
    yield base
    clock.reset()


def test_lead_reassigns_overdue_tasks(browser: Any, overdue_cm: str) -> None:
    base = overdue_cm
    page = browser.new_page(locale="de-DE", viewport={"width": 1024, "height": 900})
    sign_in(page, base, "sina")
    page.locator("nav .nav-more summary").click()  # at 1024 px the other areas fold into "Weitere"
    page.locator("nav .nav-more").get_by_role("link", name="Steuerung").click()
    page.get_by_role("link", name=re.compile("Überfällige Aufgaben neu zuweisen")).click()
    expect(page.get_by_role("heading", name="Überfällige Aufgaben neu zuweisen")).to_be_visible()
    boxes = page.locator("input[name=task_ids]")
    assert boxes.count() == 3

    boxes.nth(0).check()
    boxes.nth(1).check()
    assert page.locator("#reassign-to option[value=achim]").count() == 0, "only people of the office"
    page.get_by_label("Zuweisen an").select_option("conrad")
    page.get_by_role("button", name="Ausgewählte zuweisen").click()
    expect(page.get_by_role("status")).to_have_text("2 Aufgaben an conrad zugewiesen.")
    rows = page.locator("#t-person-workload tbody tr", has_text="(conrad)")
    expect(rows.locator("td.num").first).to_have_text("2")
    screenshot(page, "overdue-reassign-1024")

    # the page was open while the task moved on: a refusal names the task, nothing changes
    boxes = page.locator("input[name=task_ids]")
    boxes.nth(0).check()
    boxes.nth(2).check()
    page.evaluate("""() => { const box = document.querySelectorAll('input[name=task_ids]')[2];
                             box.value = '00000000-0000-0000-0000-000000000000'; }""")
    page.get_by_label("Zuweisen an").select_option("carla")
    page.get_by_role("button", name="Ausgewählte zuweisen").click()
    expect(page.locator("#reassign-error")).to_contain_text(
        "1 von 2 Aufgaben können nicht zugewiesen werden; es wurde nichts geändert.")
    workload = page.locator("#t-person-workload tbody tr", has_text="(carla)")
    expect(workload.locator("td.num").first).to_have_text("0"), "all or nothing"
    page.close()
