"""The scheduler process sends notification mail by itself: reminders as they fire, assignments
right after their commit, the digest at its time - and keeps firing timers while mail fails."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine import clock
from engine.scheduling.scheduler import Scheduler
from engine.services.casework import task_actions
from engine.services.context import EngineContext
from tests.integration.notify_support import (
    actor,
    free_port,
    notifications_of,
    one_case_installation,
    open_task_ids,
    rows,
    smtp_server,
)


def wait_for(condition: Callable[[], object], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(0.05)


@contextmanager
def running(ctx: EngineContext) -> Iterator[Scheduler]:
    scheduler = Scheduler(ctx)
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield scheduler
    finally:
        stop.set()
        thread.join(30)
        assert not thread.is_alive()


def live_at(moment: str) -> None:
    """Real time running, shifted so that now is ``moment``."""
    clock.set_offset(datetime.fromisoformat(moment) - datetime.now(UTC))


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def sctx(database_url: str, tmp_path: Path, port: int) -> Iterator[EngineContext]:
    with one_case_installation(database_url, tmp_path, port, "2026-11-20T09:00:00+01:00") as context:
        yield context


def test_scheduler_mails_assignments_reminders_and_the_digest(sctx: EngineContext, port: int) -> None:
    with smtp_server(port) as smtp:
        live_at("2026-11-23T06:59:58+01:00")  # Monday, just before the digest
        with running(sctx):
            wait_for(lambda: len(smtp.messages) == 3, timeout=15)  # digest: carla, conrad, sina
            assert {m["Subject"] for m in smtp.messages} == {"KIM Casework: 1 neue Aufgabe in Ihren Ämtern"}
            sctx.run(task_actions.assign_task, actor(sctx, "sina"), open_task_ids(sctx)[0], "conrad")
            wait_for(lambda: len(smtp.to("conrad@example.org")) == 2, timeout=15)
        live_at("2026-12-02T07:59:58+01:00")
        with running(sctx):
            wait_for(lambda: len(smtp.messages) == 5, timeout=15)  # the reminder, to conrad only
        assert smtp.to("conrad@example.org")[-1]["Subject"].startswith("Bald fällig")
    assert {r.mail_state for r in rows(sctx) if r.user_id} <= {"sent", "none"}


def test_scheduler_fires_while_the_mail_server_refuses(sctx: EngineContext, port: int) -> None:
    live_at("2026-12-02T07:59:59+01:00")
    with running(sctx) as scheduler:
        wait_for(lambda: scheduler.stats.fired.reminders == 1, timeout=15)
        wait_for(lambda: all(r.mail_attempts >= 1 for r in rows(sctx) if r.mail_state == "pending"), timeout=15)
    assert notifications_of(sctx) == [(u, "due_soon") for u in ("carla", "conrad", "nora", "sina")]
    pending = [r for r in rows(sctx) if r.mail_state == "pending"]
    assert len(pending) == 3
    assert all(r.mail_next_at is not None and r.mail_next_at > clock.now() for r in pending), "retried later"
    clock.advance(timedelta(minutes=5))
    with smtp_server(port) as smtp, running(sctx):
        wait_for(lambda: len(smtp.messages) == 3, timeout=15)
    assert {r.mail_state for r in rows(sctx)} == {"sent", "none"}
