"""The admin's page of an account lists the mails to it that were given up, with the reason -
among them those nobody sent within KIM_MAIL_MAX_AGE_DAYS."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine import clock
from engine.persistence.models import Notification, User
from engine.services.admin import directory
from engine.services.notifications import mail
from tests.webapp.conftest import PASSWORD, Web, login


def _queue_mail(web: Web, username: str, age: timedelta) -> int:
    with web.ctx.uow() as uow:
        user_id = uow.session.scalar(select(User.id).where(User.username == username))
        assert user_id is not None
        queued = clock.now() - age
        row = Notification(user_id=user_id, kind="assigned", dedupe_key=f"test:{username}:{age}", subject="Aufgabe",
                           body="", created_at=queued, mail_state="pending", mail_attempts=0, mail_next_at=queued)
        uow.session.add(row)
        uow.session.flush()
        notification_id = row.id
        uow.commit()
    return notification_id


def test_the_admin_sees_why_a_mail_was_given_up(web: Web) -> None:
    web.ctx.run(directory.add_user, "adele", "admin", [], password=PASSWORD)
    old = _queue_mail(web, "carla", timedelta(days=8))
    young = _queue_mail(web, "carla", timedelta(days=1))
    assert mail.expire_stale_mails(web.ctx) == 1
    admin = web.client()
    login(admin, "adele")
    html = admin.get("/admin/users/carla").get_data(as_text=True)
    assert "Nicht zugestellte E-Mails" in html
    assert f'data-notification="{old}"' in html
    assert f'data-notification="{young}"' not in html, "still waiting for a sender"
    assert "expired: not sent within 7 days of being queued (KIM_MAIL_MAX_AGE_DAYS)" in html
    assert "Undelivered e-mails" in admin.get("/admin/users/carla?lang=en").get_data(as_text=True)
    assert "Keine." in admin.get("/admin/users/conrad?lang=de").get_data(as_text=True)
    caseworker = web.client()
    login(caseworker, "carla")
    assert caseworker.get("/admin/users/carla").status_code == 403
