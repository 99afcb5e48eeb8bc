"""Notifications in a real browser: the badge counts unread ones, "Öffnen" marks read and leads
to the task, "Alle als gelesen markieren" clears the badge, and the page obeys the CSP."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from engine.domain.actors import Actor
from engine.persistence.models import HumanTask, User
from engine.services.casework import cases, task_actions
from tests.browser.conftest import screenshot, sign_in

NEW_CASE = {"person": {"given_name": "Amina", "family_name": "Haddad"},
            "referral": {"source": "ABH", "reason": "Perspektivberatung"}}


def _assign_two_tasks_to_carla(ctx: Any) -> None:
    from engine.services.admin import directory

    ctx.run(directory.add_user, "sina", "supervisor", ["CM"])
    with ctx.uow(write=False) as uow:
        sina_id = uow.session.scalar(select(User.id).where(User.username == "sina"))
    sina = Actor("sina", "supervisor", frozenset({1}), sina_id, frozenset({"CM"}))
    for _ in range(2):
        case = ctx.run(cases.open_case, sina, NEW_CASE)
        with ctx.uow(write=False) as uow:
            task_id = uow.session.scalar(select(HumanTask.id).where(HumanTask.case_id == case.id))
        ctx.run(task_actions.assign_task, sina, task_id, "carla")


def test_badge_open_and_mark_all_read(browser: Any, live: tuple[str, Any]) -> None:
    base, ctx = live
    _assign_two_tasks_to_carla(ctx)
    page = browser.new_page(locale="de-DE")
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" and "404" not in msg.text else None)
    page.on("response", lambda r: problems.append(r.url) if r.status == 404 and "favicon" not in r.url else None)
    sign_in(page, base, "carla")
    nav = page.get_by_role("navigation")
    expect(nav.get_by_role("link", name=re.compile(r"Benachrichtigungen\s+2"))).to_be_visible()
    nav.get_by_role("link", name=re.compile("Benachrichtigungen")).click()
    items = page.locator("li.notification")
    assert items.count() == 2
    assert page.locator("li.notification.unread").count() == 2
    assert "Aufgabe zugewiesen: Erstkontakt dokumentieren" in items.first.inner_text()
    assert "Haddad" not in page.content(), "notifications carry no personal data"
    screenshot(page, "notifications")

    items.first.get_by_role("button", name="Öffnen").click()
    expect(page.get_by_role("heading", name="Erstkontakt dokumentieren")).to_be_visible()
    expect(page.get_by_role("navigation").get_by_role(
        "link", name=re.compile(r"Benachrichtigungen\s+1"))).to_be_visible()
    page.get_by_role("navigation").get_by_role("link", name=re.compile("Benachrichtigungen")).click()
    page.get_by_role("button", name="Alle als gelesen markieren").click()
    expect(page.get_by_role("status")).to_have_text("1 Benachrichtigung als gelesen markiert.")
    assert page.locator("li.notification.unread").count() == 0
    expect(page.get_by_role("navigation").get_by_role(
        "link", name=re.compile(r"Benachrichtigungen\s+0"))).to_be_visible()
    assert problems == [], "no CSP violations or script errors"
    page.close()
