"""In a real browser: an admin disables an account and revokes a token, each after confirming."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from engine.domain.actors import SYSTEM
from engine.services.admin import directory, tokens
from tests.browser.conftest import screenshot, sign_in
from tests.webapp.conftest import _password_hash


def test_admin_disables_a_user_and_revokes_a_token_after_confirming(browser: Any, live: tuple[str, Any]) -> None:
    base, ctx = live
    ctx.run(directory.add_user, "adele", "admin", [], password_hash=_password_hash())
    ctx.run(directory.create_token, "carla")
    page = browser.new_page(locale="de-DE")
    sign_in(page, base, "adele")
    page.get_by_role("link", name="Benutzer").click()
    row = page.locator("#users").get_by_role("row", name=re.compile("carla"))
    row.get_by_role("link", name="Deaktivieren …").click()
    expect(page.get_by_text("Benutzer carla wirklich deaktivieren?")).to_be_visible()
    screenshot(page, "admin-users-confirm")
    page.get_by_role("link", name="Abbrechen").click()
    expect(page.locator("#users").get_by_role("row", name=re.compile("carla"))).to_contain_text("aktiv")
    carla = page.locator("#users").get_by_role("row", name=re.compile("carla"))
    carla.get_by_role("link", name="Deaktivieren …").click()
    page.get_by_role("button", name="Ja, deaktivieren").click()
    expect(page.get_by_role("status")).to_have_text("Benutzer carla deaktiviert.")
    expect(page.locator("#users").get_by_role("row", name=re.compile("carla"))).to_contain_text("deaktiviert")

    page.get_by_role("link", name="carla", exact=True).click()
    page.locator("#tokens").get_by_role("link", name="Widerrufen …").click()
    expect(page.get_by_text(re.compile(r"Token \d+ von carla wirklich widerrufen\?"))).to_be_visible()
    page.get_by_role("button", name="Ja, widerrufen").click()
    expect(page.get_by_role("status")).to_have_text(re.compile(r"Token \d+ widerrufen\."))
    expect(page.locator("#tokens")).to_contain_text("widerrufen")
    assert [t.state for t in ctx.run(tokens.list_tokens, SYSTEM, "carla")] == ["revoked"]
    page.close()
