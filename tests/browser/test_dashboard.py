"""An office lead opens the dashboard in a real browser: the charts are drawn by Chart.js and the
heatmap puts counts and lateness colours on the BPMN diagram."""

from __future__ import annotations

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
def frozen() -> Iterator[None]:
    clock.freeze(NOW)
    yield
    clock.reset()


def test_lead_sees_charts_and_heatmap(browser: Any, live: tuple[str, Any], frozen: None) -> None:
    base, ctx = live
    ctx.run(directory.add_user, "sina", "supervisor", ["CM"], password_hash=_password_hash())
    seed = Seed(ctx)
    for _ in range(6):
        seed.task("CM", step="erstkontakt", due=date(2026, 11, 24), level=1)
    for _ in range(5):
        seed.task("CM", step="planung", due=date(2026, 12, 10))
    seed.task("CM", step="planung", due=date(2026, 10, 1), level=2)

    page = browser.new_page(locale="de-DE")
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and "favicon" not in message.location.get("url", "") else None)
    sign_in(page, base, "sina")
    page.get_by_role("link", name="Steuerung").click()
    expect(page.get_by_role("heading", name="Steuerung", exact=True)).to_be_visible()
    page.wait_for_selector("#charts[data-ready='true']", timeout=15_000)
    drawn = page.evaluate("""() => ['chart-overdue-office', 'chart-age', 'chart-daily'].map(id => {
        const chart = window.Chart.getChart(document.getElementById(id));
        return chart ? chart.data.datasets.map(d => d.data) : null; })""")
    assert drawn[0] == [[6], [0], [0], [None]], "stacked bars per age bucket; the single old task is hidden"
    assert drawn[1] == [[6, 0, 0, None]]
    assert drawn[2] is not None
    assert len(drawn[2][0]) == 30, "one point per day of the default 30-day range"

    page.wait_for_selector("#heatmap[data-ready='true']", timeout=15_000)
    first = page.locator(".djs-overlay .kim-heat.heat-high")
    assert first.count() == 1
    assert first.inner_text() == "6 / 6"
    planung = page.locator(".djs-overlay .kim-heat.heat-unknown")
    assert planung.inner_text() == "6 / <5", "1 of 6 late: the count and the colour are withheld"
    assert page.locator("[data-element-id='erstkontakt'].heat-high").count() == 1, "the element is coloured"
    screenshot(page, "dashboard")
    assert errors == []
    page.close()
