"""Whether a notification is mailed is the mail sender's decision, not the web process's.

The web process often runs without ``KIM_SMTP_URL`` while the scheduler has it. A task assigned
on the web must still be mailed by the scheduler; a sender without mail settings leaves the
queue alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import update

from engine.persistence.models import User
from engine.services.notifications import mail
from engine.services.wiring import create_context
from tests.integration.notify_support import free_port, rows, smtp_server
from tests.webapp.conftest import Web


def test_mail_from_a_web_action_waits_for_the_sender_that_has_a_mail_server(
        web: Web, open_case: Callable[..., Any]) -> None:
    assert not web.ctx.config.get("KIM_SMTP_URL"), "the web process has no mail settings"
    with web.ctx.uow() as uow:
        uow.session.execute(update(User).where(User.username == "carla").values(email="carla@example.org"))
        uow.commit()
    task = open_case()["tasks"][0]

    response = web.api("sina", "POST", f"/tasks/{task['id']}/assign", json={"username": "carla"})

    assert response.status_code == 200, response.get_json()
    (row,) = rows(web.ctx)
    assert (row.kind, row.mail_state) == ("assigned", "pending")
    assert mail.send_due_mails(web.ctx).claimed == 0, "a sender without a mail server sends nothing"
    assert rows(web.ctx)[0].mail_state == "pending", "and leaves it for one that has"

    port = free_port()
    scheduler = create_context({"KIM_DATABASE_URL": web.ctx.db.url,
                                "KIM_INSTANCE_PATH": web.ctx.config["KIM_INSTANCE_PATH"],
                                "KIM_SMTP_URL": f"smtp://127.0.0.1:{port}?timeout=5"})
    try:
        with smtp_server(port) as smtp:
            assert mail.send_all_due(scheduler).sent == 1
            assert mail.send_all_due(scheduler).claimed == 0
        assert smtp.recipients() == ["carla@example.org"]
        assert str(smtp.messages[0]["Subject"]).startswith("Aufgabe zugewiesen:")
        assert rows(web.ctx)[0].mail_state == "sent"
    finally:
        scheduler.db.dispose()
