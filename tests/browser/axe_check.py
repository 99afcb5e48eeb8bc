"""Accessibility check with axe-core (from npm, vendored by `make assets` into
webapp/static/vendor/axe-core/axe.min.js), run inside the page under test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

AXE = Path(__file__).resolve().parents[2] / "webapp" / "static" / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def axe_violations(page: Any, impacts: tuple[str, ...] = BLOCKING) -> list[dict[str, Any]]:
    """The page's axe violations of the given impacts (WCAG 2.x A/AA rules and best practices)."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `make assets` (npm axe-core)")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        origin = page.evaluate("location.origin")  # served by the app: the pages' CSP allows 'self' only
        page.add_script_tag(url=f"{origin}/static/vendor/axe-core/axe.min.js")
    result = page.evaluate("""() => axe.run(document, {
        runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
        resultTypes: ['violations']})""")
    return [v for v in result["violations"] if v.get("impact") in impacts]


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per violation with the first offending elements (for assertion messages)."""
    return "\n".join(f"{v['id']} ({v['impact']}): {v['help']} - "
                     + "; ".join(str(n.get("target")) for n in v.get("nodes", [])[:3]) for v in violations)


def assert_accessible(page: Any, what: str) -> None:
    found = axe_violations(page)
    assert not found, f"{what}: serious or critical accessibility violations:\n{describe(found)}"
