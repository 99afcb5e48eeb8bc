"""The mail server down and back: case work goes on, mail waits, then every mail arrives once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from engine import clock
from engine.services.context import EngineContext
from engine.services.notifications import mail
from engine.services.timers.firing import fire_due_timers
from tests.faults.smtp_gate import SmtpServer
from tests.faults.test_poisoned_mail import deploy_named, open_case
from tests.integration.notify_support import free_port, make_context, rows

FRIDAY = datetime.fromisoformat("2026-11-20T09:00:00+01:00")
REMINDER_DUE = datetime.fromisoformat("2026-12-02T08:00:00+01:00")


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    smtp = SmtpServer(free_port())
    yield smtp
    smtp.stop()


@pytest.fixture
def dctx(database_url: str, tmp_path: Path, server: SmtpServer) -> Iterator[EngineContext]:
    clock.freeze(FRIDAY)
    context = make_context(database_url, tmp_path, server.port)
    yield context
    clock.reset()
    context.db.dispose()


def test_mail_server_down_and_back(dctx: EngineContext, server: SmtpServer, tmp_path: Path) -> None:
    deploy_named(dctx, tmp_path, "schritt", "Unterlagen prüfen")
    for _ in range(3):
        open_case(dctx, "schritt")
    clock.freeze(REMINDER_DUE)
    assert fire_due_timers(dctx).reminders == 3, "timers fire whatever the mail server does"

    down = mail.send_all_due(dctx)  # nobody listens on the port
    assert (down.sent, down.retried, down.failed) == (0, 9, 0)
    pending = [r for r in rows(dctx) if r.mail_state == "pending"]
    assert len(pending) == 9
    assert all(r.mail_attempts == 1 and r.mail_error for r in pending), "the reason is kept"

    server.start()
    assert mail.send_all_due(dctx).claimed == 0, "not before the retry time: no hammering"
    clock.advance(timedelta(minutes=1))
    assert mail.send_all_due(dctx).sent == 9

    received = server.inbox.received()
    assert len(received) == 9, "nothing lost"
    assert set(received.values()) == {1}, "nothing twice"
    assert {r.mail_state for r in rows(dctx)} == {"sent", "none"}
    clock.advance(timedelta(hours=2))
    assert mail.send_all_due(dctx).claimed == 0


def test_mail_server_going_away_mid_batch(dctx: EngineContext, server: SmtpServer, tmp_path: Path) -> None:
    """The server answers "try later" to a mail in flight: that one waits, the sent ones stay sent."""
    deploy_named(dctx, tmp_path, "schritt", "Unterlagen prüfen")
    open_case(dctx, "schritt")
    clock.freeze(REMINDER_DUE)
    fire_due_timers(dctx)
    server.start()
    server.inbox.hold()
    sender = threading.Thread(target=mail.send_all_due, args=(dctx,))
    sender.start()
    assert server.inbox.waiting.wait(10), "the sender reached the server"
    server.inbox.release(refuse=True)  # the first mail is refused, the others go through
    sender.join(20)
    assert not sender.is_alive()
    states = sorted(r.mail_state for r in rows(dctx))
    assert states == ["none", "pending", "sent", "sent"]
    clock.advance(timedelta(minutes=1))
    assert mail.send_all_due(dctx).sent == 1
    received = server.inbox.received()
    assert (len(received), set(received.values())) == (3, {1})
