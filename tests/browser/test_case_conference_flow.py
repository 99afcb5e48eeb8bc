"""A case manager convenes a case conference from the case page in a real browser; the invited ABH
finds its task with date and agenda; an office without consent cannot be ticked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from engine import clock
from engine.demo.samples import PROCESSES_DIR
from engine.domain.actors import SYSTEM, Actor
from engine.persistence.models import User
from engine.services.admin import directory
from engine.services.casework import cases, consents
from engine.services.process_models import deployment
from tests.browser.conftest import LiveServer, screenshot, sign_in
from tests.conftest import fresh_database
from tests.webapp.conftest import _password_hash
from webapp import create_app

AGENDA = "Passbeschaffung und Antrag nach § 25b abstimmen"


@pytest.fixture
def pathway(tmp_path: Path, request: pytest.FixtureRequest, all_forms: Path) -> Iterator[tuple[str, Any]]:
    """The app with the shipped models and forms on a fresh SQLite database."""
    url = fresh_database(request.getfixturevalue("sqlite_template_url"), tmp_path)
    app = create_app({"KIM_DATABASE_URL": url, "KIM_INSTANCE_PATH": str(tmp_path / "instance"),
                      "KIM_FORMS_PATH": str(all_forms)})
    ctx = app.extensions["kim"]
    ctx.run(directory.seed_offices)
    for name, role, offices in (("carla", "caseworker", ["CM"]), ("achim", "caseworker", ["ABH"])):
        ctx.run(directory.add_user, name, role, offices, password_hash=_password_hash())
    ctx.run(deployment.deploy, deployment.read_model_paths([PROCESSES_DIR]), SYSTEM)
    with LiveServer(app) as server:
        yield server.url, ctx
    ctx.db.dispose()


def carla(ctx: Any) -> Actor:
    with ctx.uow(write=False) as uow:
        return directory.actor_for(uow.session.scalar(select(User).where(User.username == "carla")))


def test_convene_from_the_case_page_and_the_abh_finds_date_and_agenda(browser: Any,
                                                                      pathway: tuple[str, Any]) -> None:
    base, ctx = pathway
    case = ctx.run(cases.open_case, carla(ctx), {
        "person": {"given_name": "Amina", "family_name": "Haddad", "date_of_birth": "1990-05-10"},
        "referral": {"source": "ABH", "reason": "Duldung seit 2019"}})
    ctx.run(consents.record_consent, carla(ctx), case.id, {"office": "ABH", "purpose": "Fallkonferenz"})
    day = clock.local_now().date() + timedelta(days=7)
    page = browser.new_page(locale="de-DE")
    sign_in(page, base, "carla")
    page.goto(f"{base}/cases/{case.id}")
    form = page.locator("#convene-conference")
    expect(form.get_by_label("ABH")).to_be_visible()
    expect(form.get_by_label("JC")).to_have_count(0)  # no consent: not offered
    form.get_by_label("ABH").check()
    form.get_by_label("Termin").fill(day.isoformat())
    form.get_by_label("Tagesordnung").fill(AGENDA)
    form.get_by_role("button", name="Einberufen").click()
    heading = f"Fallkonferenz am {day.strftime('%d.%m.%Y')}"
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("einberufen")
    expect(page.get_by_text("Das Protokoll liegt noch nicht vor.")).to_be_visible()
    screenshot(page, "conference")
    page.close()

    abh = browser.new_page(locale="de-DE")
    sign_in(abh, base, "achim")
    abh.get_by_role("link", name=re.compile("Mein Amt")).click()
    abh.get_by_role("link", name="An der Fallkonferenz teilnehmen").click()
    card = abh.locator("#conference")
    expect(card.get_by_role("heading", name=heading)).to_be_visible()
    expect(card).to_contain_text(AGENDA)
    screenshot(abh, "conference-invitation")
    abh.close()
