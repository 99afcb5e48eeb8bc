"""What a task is about, in a real browser: a step whose model names its context (showFrom) shows a
card "Worum es geht" at the top of the task page - text escaped, days as TT.MM.JJJJ - and the page stays
accessible (axe)."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from engine.domain.actors import SYSTEM, Actor
from engine.services.casework import cases
from engine.services.process_models import deployment
from tests.browser.axe_check import axe_violations, describe
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import DATA

SHOW_FROM = "Zuweisung am=referral.referred_at; Grund der Zuweisung=referral.reason"
CASE = {"person": {"given_name": "Amina", "family_name": "Haddad", "date_of_birth": "2003-04-17"},
        "referral": {"source": "ABH", "reason": "Perspektivberatung <b>dringend</b>", "referred_at": "2026-11-18"}}


def _deploy_with_context(ctx: Any, tmp_path: Any) -> None:
    """The test model, its first step naming what it is about."""
    xml = (DATA / "beratung.bpmn").read_text(encoding="utf-8")
    marker = '<spiffworkflow:property name="formKey" value="erstkontakt"/>'
    assert marker in xml
    model = tmp_path / "beratung.bpmn"
    model.write_text(xml.replace(marker, marker + f'<spiffworkflow:property name="showFrom" value="{SHOW_FROM}"/>'),
                     encoding="utf-8")
    ctx.run(deployment.deploy, deployment.read_model_paths([model]), SYSTEM)


def test_the_task_page_says_what_the_task_is_about(browser: Any, live: tuple[str, Any], tmp_path: Any) -> None:
    base, ctx = live
    _deploy_with_context(ctx, tmp_path)
    carla = Actor("carla", "caseworker", frozenset({1}), None, frozenset({"CM"}))
    ctx.run(cases.open_case, carla, CASE)
    page = browser.new_page(locale="de-DE")
    sign_in(page, base, "carla")
    page.get_by_role("link", name=re.compile("Mein Amt")).click()
    page.get_by_role("link", name="Erstkontakt dokumentieren").click()
    card = page.locator("#task-context")
    expect(card.get_by_role("heading", name="Worum es geht")).to_be_visible()
    expect(card).to_contain_text("Zuweisung am")
    expect(card).to_contain_text("18.11.2026")
    expect(card).to_contain_text("Perspektivberatung <b>dringend</b>")  # shown as text, not as markup
    assert card.locator("b").count() == 0
    violations = axe_violations(page)
    assert violations == [], describe(violations)
    screenshot(page, "task-context")
