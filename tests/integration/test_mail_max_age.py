"""Mail nobody sends does not wait for ever: the scheduler gives up a pending mail
KIM_MAIL_MAX_AGE_DAYS (default 7) after it was queued, with a reason the admin sees."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from engine import clock
from engine.cli import main
from engine.config import ConfigError, load_config
from engine.domain.actors import SYSTEM
from engine.persistence.models import Notification
from engine.services.casework import task_actions
from engine.services.context import EngineContext
from engine.services.notifications import failures, mail
from engine.services.wiring import create_context
from tests.integration.notify_support import (
    actor,
    free_port,
    one_case_installation,
    open_task_ids,
    rows,
    smtp_server,
)
from tests.integration.test_notifications_scheduler import live_at, running, wait_for

QUEUED = "2026-11-20T09:00:00+01:00"


@pytest.fixture
def quiet(database_url: str, tmp_path: Path) -> Iterator[EngineContext]:
    """An installation whose scheduler has no mail server: the web queues mail nobody sends."""
    with one_case_installation(database_url, tmp_path, free_port(), QUEUED, KIM_SMTP_URL=None) as context:
        yield context


def _assign(ctx: EngineContext, to: str) -> None:
    ctx.run(task_actions.assign_task, actor(ctx, "sina"), open_task_ids(ctx)[0], to)


def test_the_scheduler_gives_up_mail_nobody_sent_after_seven_days(quiet: EngineContext) -> None:
    _assign(quiet, "conrad")  # queued on 20 November
    clock.freeze(datetime.fromisoformat("2026-11-24T09:00:00+01:00"))
    _assign(quiet, "carla")  # queued on 24 November
    first, second = [r for r in rows(quiet) if r.mail_state == "pending"]

    clock.freeze(datetime.fromisoformat("2026-11-27T08:59:00+01:00"))  # 6 days 23 hours 59 minutes
    assert mail.expire_stale_mails(quiet) == 0

    live_at("2026-11-27T09:01:00+01:00")  # seven days and a minute: given up; the younger one waits
    with running(quiet):
        wait_for(lambda: _state(quiet, first.id).mail_state == "failed", timeout=15)
    assert _state(quiet, second.id).mail_state == "pending"
    assert _state(quiet, first.id).mail_next_at is None
    assert _state(quiet, first.id).mail_error == (
        "expired: not sent within 7 days of being queued (KIM_MAIL_MAX_AGE_DAYS); "
        "no scheduler with a mail server (KIM_SMTP_URL) sent it")

    live_at("2026-12-01T09:01:00+01:00")
    with running(quiet):
        wait_for(lambda: _state(quiet, second.id).mail_state == "failed", timeout=15)
    shown = quiet.run(failures.failed_mails, SYSTEM, "carla")
    assert [(m.id, m.kind) for m in shown] == [(second.id, "assigned")]
    assert shown[0].reason.startswith("expired: not sent within 7 days")


def test_the_maximum_age_is_configurable_and_names_the_last_error(quiet: EngineContext) -> None:
    quiet.config = {**quiet.config, "KIM_MAIL_MAX_AGE_DAYS": 2}
    _assign(quiet, "conrad")
    (queued,) = [r for r in rows(quiet) if r.mail_state == "pending"]
    with quiet.uow() as uow:
        uow.session.execute(update(Notification).where(Notification.id == queued.id).values(
            mail_attempts=12, mail_error="SMTPRecipientsRefused: 550 mailbox unavailable"))
        uow.commit()
    clock.freeze(datetime.fromisoformat("2026-11-22T08:59:00+01:00"))
    assert mail.expire_stale_mails(quiet) == 0
    clock.freeze(datetime.fromisoformat("2026-11-22T09:01:00+01:00"))
    assert mail.expire_stale_mails(quiet) == 1
    assert _state(quiet, queued.id).mail_error == (
        "expired: not sent within 2 days of being queued (KIM_MAIL_MAX_AGE_DAYS); "
        "last error: SMTPRecipientsRefused: 550 mailbox unavailable")
    assert mail.expire_stale_mails(quiet) == 0, "given up once"


def test_a_mail_on_lease_is_left_to_its_sender(quiet: EngineContext) -> None:
    """A sender that claimed the mail records it itself (sent or not); expiry does not race it."""
    _assign(quiet, "conrad")
    (queued,) = [r for r in rows(quiet) if r.mail_state == "pending"]
    clock.freeze(datetime.fromisoformat("2026-11-28T09:00:00+01:00"))
    with quiet.uow() as uow:
        uow.session.execute(update(Notification).where(Notification.id == queued.id).values(
            mail_next_at=clock.now() + mail.LEASE))
        uow.commit()
    assert mail.expire_stale_mails(quiet) == 0
    assert _state(quiet, queued.id).mail_state == "pending"


def test_a_sender_with_a_server_sends_before_the_maximum_age(quiet: EngineContext) -> None:
    port = free_port()
    _assign(quiet, "conrad")
    quiet.config = {**quiet.config, "KIM_SMTP_URL": f"smtp://127.0.0.1:{port}?timeout=5"}
    live_at("2026-11-26T09:00:00+01:00")  # six days: still sent
    with smtp_server(port) as smtp, running(quiet):
        wait_for(lambda: len(smtp.messages) == 1, timeout=15)
    assert [r.mail_state for r in rows(quiet)] == ["sent"]


@pytest.mark.parametrize("days", ["abc", "0", "-1", "1.5"])
def test_a_bad_maximum_age_stops_the_start(days: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIM_MAIL_MAX_AGE_DAYS", days)
    with pytest.raises(ConfigError, match="KIM_MAIL_MAX_AGE_DAYS"):
        load_config()
    monkeypatch.setenv("KIM_MAIL_MAX_AGE_DAYS", "14")
    assert load_config()["KIM_MAIL_MAX_AGE_DAYS"] == 14


def _state(ctx: EngineContext, notification_id: int) -> Notification:
    return next(r for r in rows(ctx) if r.id == notification_id)


def test_kim_notifications_send_due_gives_up_old_mail_too(quiet: EngineContext,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """The cron-style command does what the scheduler does: old unsent mail counts as given up."""
    _assign(quiet, "conrad")
    clock.freeze(datetime.fromisoformat("2026-11-30T09:00:00+01:00"))
    config = {key: quiet.config[key] for key in ("KIM_DATABASE_URL", "KIM_INSTANCE_PATH")}
    assert main(["notifications", "send-due"], context_factory=lambda: create_context(config)) == 0
    assert capsys.readouterr().out.strip().endswith("0 mails sent, 0 to retry later, 1 given up")
    assert [r.mail_state for r in rows(quiet) if r.mail_state != "none"] == ["failed"]
