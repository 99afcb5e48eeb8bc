"""The scheduler SIGKILLed mid-batch and while it talks to the mail server, then restarted.

The scheduler runs as a real subprocess (``python -m engine.scheduling``, the scheduler of
``kim scheduler`` without the web app's imports, so it starts quickly). Overdue work is created in this process with the
engine clock moved back, so reminders and escalations are due in the wall time the scheduler
uses. The first scheduler is killed while it fires (one instance per batch), the second while a
mail is on the wire (the test SMTP server holds it); the third finishes. Afterwards every
reminder and escalation fired once, every notification exists once, and every mail arrived
exactly once (the one on the wire when its sender died was not accepted, so it is sent again).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from engine import clock
from engine.persistence.models import AuditEntry, Notification, Timer, User
from engine.services.context import EngineContext
from tests.faults.smtp_gate import SmtpServer
from tests.faults.test_poisoned_mail import deploy_named, open_case
from tests.integration.notify_support import free_port, make_context, rows
from tests.integration.test_scheduler import count, wait_for

CASES = 12
ROOT = Path(__file__).resolve().parents[2]
FIRED = re.compile(r"fired \d+ timers and \d+ escalations")


class SchedulerProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "engine.scheduling", "--batch-limit", "1"],
                                         cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=out)
        wait_for(lambda: "scheduler started" in self.text() or self.proc.poll() is not None, timeout=60)
        assert self.proc.poll() is None, self.text()

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    smtp = SmtpServer(free_port())
    smtp.start()
    yield smtp
    smtp.stop()


@pytest.fixture
def kctx(database_url: str, tmp_path: Path, server: SmtpServer) -> Iterator[EngineContext]:
    context = make_context(database_url, tmp_path, server.port)
    yield context
    context.db.dispose()


def unfired(ctx: EngineContext) -> int:
    return count(ctx, select(func.count()).select_from(Timer).where(
        Timer.fired_at.is_(None), Timer.fire_at <= clock.now()))


def unsent(ctx: EngineContext) -> int:
    return count(ctx, select(func.count()).select_from(Notification).where(Notification.mail_state == "pending"))


@pytest.mark.slow  # three scheduler processes: several seconds, more on a busy machine
def test_scheduler_killed_mid_batch_and_mid_mail_loses_nothing_and_sends_nothing_twice(
        kctx: EngineContext, server: SmtpServer, tmp_path: Path) -> None:
    deploy_named(kctx, tmp_path, "schritt", "Unterlagen prüfen")
    clock.set_offset(-timedelta(days=40))  # this process only: the scheduler keeps wall time
    try:
        for _ in range(CASES):
            open_case(kctx, "schritt")
    finally:
        clock.reset()
    due = unfired(kctx)
    assert due >= CASES * 2, "reminders and escalations are due"
    env = {**os.environ, "KIM_DATABASE_URL": str(kctx.config["KIM_DATABASE_URL"]),
           "KIM_INSTANCE_PATH": str(tmp_path), "KIM_SMTP_URL": f"smtp://127.0.0.1:{server.port}?timeout=120",
           "KIM_MAIL_FROM": "kim@example.org"}
    procs: list[SchedulerProcess] = []
    try:
        server.inbox.hold()  # no mail is accepted while the first two run
        procs.append(first := SchedulerProcess(env, tmp_path / "first.log"))
        wait_for(lambda: FIRED.search(first.text()) is not None, timeout=60)
        first.kill()  # mid-batch: some instances committed, the others not yet
        server.inbox.release(refuse=True)  # a mail it had on the wire is not accepted
        server.inbox.hold()
        server.inbox.waiting.clear()

        procs.append(second := SchedulerProcess(env, tmp_path / "second.log"))
        wait_for(lambda: unfired(kctx) == 0, timeout=60)
        assert server.inbox.waiting.wait(60), "the second scheduler is sending"
        second.kill()  # with a mail on the wire and the rest of its batch claimed
        server.inbox.release(refuse=True)
        assert not server.inbox.received(), "nothing was accepted so far"
        with kctx.uow() as uow:  # the dead sender's claim runs out (ten minutes, here at once)
            uow.session.execute(update(Notification).where(Notification.mail_state == "pending")
                                .values(mail_next_at=clock.now()))
            uow.commit()

        procs.append(third := SchedulerProcess(env, tmp_path / "third.log"))
        wait_for(lambda: unsent(kctx) == 0, timeout=60)
        assert third.terminate() == 0
    finally:
        for proc in procs:
            if proc.proc.poll() is None:
                proc.kill()

    notes = rows(kctx)
    with kctx.uow(write=False) as uow:
        emails = dict(uow.session.execute(select(User.id, User.email)).tuples().all())
        escalations = Counter((o, str(d.get("level"))) for o, d in uow.session.execute(
            select(AuditEntry.object_id, AuditEntry.details).where(AuditEntry.action == "task.escalate")).tuples())
    assert unfired(kctx) == 0, "nothing lost: every due timer fired"
    assert len(escalations) == CASES * 2, "levels 1 and 2 of every case's task"
    assert set(escalations.values()) == {1}, "each escalation level once per task"
    assert Counter((n.user_id, n.kind, n.task_id) for n in notes).most_common(1)[0][1] == 1, "no notification twice"
    assert {n.mail_state for n in notes} == {"sent", "none"}
    received = server.inbox.received()
    expected = Counter((emails[n.user_id], n.subject) for n in notes if n.mail_state == "sent")
    assert received == expected, "every mail arrived, and exactly once"
