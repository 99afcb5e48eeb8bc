"""A poisoned mail: one notification that cannot be mailed must not hold back the others.

A multi-line task label in the modeler gives a task name with a line break; mail headers may
not contain one. Subjects are folded to one line; a mail that still cannot be built (here an
address with a line break in it) is marked ``failed`` with the reason, and every other mail goes
out once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from engine import clock
from engine.domain.actors import SYSTEM
from engine.persistence.models import User
from engine.services.casework import cases
from engine.services.context import EngineContext
from engine.services.notifications import mail
from engine.services.process_models import deployment
from engine.services.timers.firing import fire_due_timers
from tests.integration.notify_support import Inbox, actor, free_port, make_context, process_xml, rows, smtp_server

FRIDAY = datetime.fromisoformat("2026-11-20T09:00:00+01:00")
REMINDER_DUE = datetime.fromisoformat("2026-12-02T08:00:00+01:00")  # two working days before the due date


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def mctx(database_url: str, tmp_path: Path, port: int) -> Iterator[EngineContext]:
    clock.freeze(FRIDAY)
    context = make_context(database_url, tmp_path, port)
    yield context
    clock.reset()
    context.db.dispose()


@pytest.fixture
def smtp(port: int) -> Iterator[Inbox]:
    with smtp_server(port) as received:
        yield received


def deploy_named(ctx: EngineContext, folder: Path, process_id: str, task_name: str) -> None:
    """The one-step test process with the task name as the modeler writes it (``&#10;`` for a line break)."""
    xml = process_xml(process_id, {"dueIn": "10WD"}).replace('name="Erstkontakt dokumentieren"',
                                                             f'name="{task_name}"')
    path = folder / f"{process_id}.bpmn"
    path.write_text(xml, encoding="utf-8")
    ctx.run(deployment.deploy, deployment.read_model_paths([path]), SYSTEM)


def open_case(ctx: EngineContext, process_id: str) -> None:
    ctx.run(cases.open_case, actor(ctx, "carla"), {
        "person": {"given_name": "Amina", "family_name": "Haddad"},
        "referral": {"source": "ABH", "reason": "Perspektivberatung"}, "process_id": process_id})


def test_a_subject_with_line_breaks_is_folded_and_blocks_nothing(mctx: EngineContext, smtp: Inbox,
                                                                 tmp_path: Path) -> None:
    deploy_named(mctx, tmp_path, "mehrzeilig", "Erstkontakt&#13;&#10;dokumentieren&#10;(Teil 1)")
    deploy_named(mctx, tmp_path, "einzeilig", "Unterlagen prüfen")
    open_case(mctx, "mehrzeilig")
    open_case(mctx, "einzeilig")
    clock.freeze(REMINDER_DUE)
    assert fire_due_timers(mctx).reminders == 2

    report = mail.send_all_due(mctx)

    assert (report.sent, report.failed) == (6, 0), "three CM members with an address, two reminders each"
    subjects = sorted({str(m["Subject"]) for m in smtp.messages})
    assert [s.split(" (Fall")[0] for s in subjects] == [
        "Bald fällig: Erstkontakt dokumentieren (Teil 1)", "Bald fällig: Unterlagen prüfen"]
    assert all("\n" not in s and "\r" not in s for s in subjects)
    assert {r.mail_state for r in rows(mctx)} == {"sent", "none"}
    assert mail.send_all_due(mctx).claimed == 0, "nothing twice"
    assert len(smtp.messages) == 6


def test_a_mail_that_cannot_be_built_fails_with_its_reason_and_the_others_go_out(
        mctx: EngineContext, smtp: Inbox, tmp_path: Path) -> None:
    deploy_named(mctx, tmp_path, "einzeilig", "Unterlagen prüfen")
    open_case(mctx, "einzeilig")
    with mctx.uow() as uow:  # an address written past the admin form, e.g. by an import
        uow.session.execute(update(User).where(User.username == "conrad")
                            .values(email="conrad@example.org\nBcc: alle@example.org"))
        uow.commit()
    clock.freeze(REMINDER_DUE)
    assert fire_due_timers(mctx).reminders == 1

    report = mail.send_all_due(mctx)

    assert (report.sent, report.failed) == (2, 1)
    assert smtp.recipients() == ["carla@example.org", "sina@example.org"]
    (poisoned,) = [r for r in rows(mctx) if r.mail_state == "failed"]
    assert poisoned.mail_error is not None
    assert "linefeed" in poisoned.mail_error
    assert poisoned.mail_next_at is None
    assert mail.send_all_due(mctx).claimed == 0, "the failed one is not tried again"
    assert len(smtp.messages) == 2
