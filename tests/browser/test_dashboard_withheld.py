"""The dashboard in Chromium: withheld values are gaps with a hatched marker (never a 0), the
page passes an axe-core check, and screenshots at 1400 and 1024 px are kept as artifacts."""

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

CHARTS = ("chart-overdue-office", "chart-age", "chart-daily")


@pytest.fixture
def board(browser: Any, live: tuple[str, Any]) -> Iterator[Any]:
    """A CM lead's dashboard with withheld cells in every chart: 6 tasks 1-5 AT overdue and one
    over 20 AT (hidden, and the total with it), two due on one day of the period (hidden)."""
    base, ctx = live
    clock.freeze(NOW)
    ctx.run(directory.add_user, "sina", "supervisor", ["CM"], password_hash=_password_hash())
    seed = Seed(ctx)
    for _ in range(6):
        seed.task("CM", step="erstkontakt", due=date(2026, 11, 24), level=1)
    seed.task("CM", step="planung", due=date(2026, 10, 1), level=2)
    for _ in range(2):
        seed.task("CM", step="planung", due=date(2026, 11, 18))
    page = browser.new_page(locale="de-DE", viewport={"width": 1400, "height": 900})
    sign_in(page, base, "sina")
    page.goto(f"{base}/supervision")
    page.wait_for_selector("#charts[data-ready='true']", timeout=15_000)
    yield page
    page.close()
    clock.reset()


def _chart(page: Any, canvas: str) -> Any:
    return page.evaluate("""id => { const chart = window.Chart.getChart(document.getElementById(id));
        return { data: chart.data.datasets.map(d => d.data), legend: chart.legend.legendItems.map(i => i.text),
                 withheld: Number(chart.canvas.dataset.withheld || 0) }; }""", canvas)


def test_withheld_values_are_gaps_with_a_marker_not_zeros(board: Any) -> None:
    office = _chart(board, "chart-overdue-office")
    assert office["data"] == [[8], [0], [0], [None]], "the withheld bucket is null, the empty ones are 0"
    assert office["withheld"] == 1, "one hatched marker for the one withheld cell"
    assert office["legend"][-1] == "nicht ausgewiesen (unter 5 oder verdeckend)"
    age = _chart(board, "chart-age")
    assert age["data"] == [[8, 0, 0, None]]
    assert age["withheld"] == 1
    assert age["legend"] == ["nicht ausgewiesen (unter 5 oder verdeckend)"]
    daily = _chart(board, "chart-daily")
    nulls = [i for i, v in enumerate(daily["data"][0]) if v is None]
    assert len(nulls) == 1, "the day with two tasks due is a gap in the line"
    assert 0 not in [daily["data"][0][i] for i in nulls]
    assert daily["withheld"] == 1
    expect(board.locator(".withheld-legend")).to_contain_text("eine Lücke, keine Null")
    total = board.locator("#t-overdue tbody tr").first.locator("td").last
    expect(total).to_have_text("nicht ausgewiesen"), "the withheld total (7) is not called <5"


def test_dashboard_has_no_serious_accessibility_violations(board: Any, live: tuple[str, Any]) -> None:
    base, _ctx = live
    board.wait_for_selector("#heatmap[data-ready='true']", timeout=15_000)
    board.add_script_tag(url=f"{base}/static/vendor/axe-core/axe.min.js")
    result = board.evaluate("""async () => {
        const r = await window.axe.run(document, { resultTypes: ['violations'] });
        return r.violations.map(v => ({ id: v.id, impact: v.impact,
                                       nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')) })); }""")
    serious = [v for v in result if v["impact"] in ("serious", "critical")]
    assert serious == []


def test_screenshots_at_1400_and_1024(board: Any) -> None:
    for width in (1400, 1024):
        board.set_viewport_size({"width": width, "height": 900})
        board.wait_for_timeout(300)  # Chart.js redraws on resize
        for canvas in CHARTS:
            assert _chart(board, canvas)["withheld"] >= 1, f"markers redrawn at {width} px"
        path = screenshot(board, f"dashboard-{width}")
        assert path.stat().st_size > 10_000
    wide = board.evaluate("""() => [...document.querySelectorAll('main *')]
        .filter(e => e.getBoundingClientRect().right > 1024 && !e.closest('.scroll'))
        .slice(0, 5).map(e => e.tagName + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right))""")
    assert wide == [], "nothing of the dashboard runs off a 1024 px screen"


def test_period_typed_as_german_dates(board: Any) -> None:
    board.get_by_label("von").fill("01.11.2026")
    board.get_by_label("bis").fill("20.11.2026")
    board.get_by_role("button", name="Anzeigen").click()
    expect(board.get_by_text(re.compile(r"Zeitraum: 01\.11\.2026 \u2013 20\.11\.2026"))).to_be_visible()
    assert board.get_by_label("von").input_value() == "01.11.2026"
    board.get_by_label("von").fill("31.02.2026")
    board.get_by_role("button", name="Anzeigen").click()
    expect(board.locator("#f-from-err")).to_have_text("von: ein Datum (TT.MM.JJJJ)")
    assert board.get_by_label("von").input_value() == "31.02.2026", "the wrong entry stays to be corrected"
