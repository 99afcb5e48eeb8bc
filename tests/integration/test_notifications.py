"""Reminders and notifications end to end: timer rows, notification rows, mail over real SMTP."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import clock
from engine.persistence.models import Notification
from engine.services.casework import cases, consents, task_actions
from engine.services.casework.instances import complete_task
from engine.services.casework.views import CaseRecord
from engine.services.context import EngineContext
from engine.services.notifications import mail
from engine.services.notifications import notify as notifications
from engine.services.notifications.digest import send_digests
from engine.services.timers.firing import fire_due_timers
from tests.integration.notify_support import (
    Inbox,
    actor,
    deploy_process,
    free_port,
    make_context,
    notifications_of,
    open_task_ids,
    rows,
    smtp_server,
    timers_of,
    user_id,
)
from tests.threads import at_once

FRIDAY = datetime.fromisoformat("2026-11-20T09:00:00+01:00")
CM_MEMBERS = ["carla", "conrad", "nora", "sina"]


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def nctx(database_url: str, tmp_path: Path, port: int) -> Iterator[EngineContext]:
    clock.freeze(FRIDAY)
    context = make_context(database_url, tmp_path, port)
    deploy_process(context, tmp_path, "erstkontakt", {"dueIn": "10WD"})  # due Fri 2026-12-04 23:59:59
    yield context
    clock.reset()
    context.db.dispose()


@pytest.fixture
def smtp(port: int) -> Iterator[Inbox]:
    with smtp_server(port) as received:
        yield received


def open_cases(ctx: EngineContext, n: int = 1, process_id: str = "erstkontakt") -> list[CaseRecord]:
    return [ctx.run(cases.open_case, actor(ctx, "carla"), {
        "person": {"given_name": "Amina", "family_name": f"Haddad{i}"},
        "referral": {"source": "ABH", "reason": "Perspektivberatung"}, "process_id": process_id})
        for i in range(n)]


def at(moment: str) -> None:
    clock.freeze(datetime.fromisoformat(moment))


def test_reminder_fires_two_working_days_before_due_at_eight_and_notifies_once(
        nctx: EngineContext, smtp: Inbox) -> None:
    (case,) = open_cases(nctx)
    (reminder,) = timers_of(nctx, "reminder")
    assert reminder.fire_at == datetime.fromisoformat("2026-12-02T08:00:00+01:00")  # Wed before Fri 04.12.
    at("2026-12-02T07:59:59+01:00")
    assert fire_due_timers(nctx).reminders == 0
    assert notifications_of(nctx) == []
    at("2026-12-02T08:00:00+01:00")
    assert fire_due_timers(nctx).reminders == 1
    assert notifications_of(nctx) == [(u, "due_soon") for u in CM_MEMBERS], "unclaimed: the whole office"
    assert fire_due_timers(nctx).reminders == 0
    assert mail.send_all_due(nctx).sent == 3
    assert smtp.recipients() == ["carla@example.org", "conrad@example.org", "sina@example.org"]
    (message,) = smtp.to("carla@example.org")
    text = message.get_content()
    assert message["Subject"] == f"Bald fällig: Erstkontakt dokumentieren (Fall {case.reference})"
    assert "04.12.2026" in text
    assert f"https://kim.example.org/tasks/{open_task_ids(nctx)[0]}" in text
    assert "Haddad" not in text, "no personal data in mail"
    assert "Amina" not in text
    assert message["From"] == "kim@example.org"
    (nora,) = [r for r in rows(nctx) if r.user_id == user_id(nctx, "nora")]
    assert nora.mail_state == "none", "no address: in-app only"
    assert mail.send_all_due(nctx).claimed == 0
    assert len(smtp.messages) == 3


def test_claimed_task_reminds_only_its_assignee(nctx: EngineContext, smtp: Inbox) -> None:
    open_cases(nctx)
    nctx.run(task_actions.claim_task, actor(nctx, "conrad"), open_task_ids(nctx)[0])
    at("2026-12-02T08:00:00+01:00")
    fire_due_timers(nctx)
    assert notifications_of(nctx) == [("conrad", "due_soon")]
    mail.send_all_due(nctx)
    assert smtp.recipients() == ["conrad@example.org"]


def test_colleague_claiming_after_the_reminder_gets_no_second_one(nctx: EngineContext) -> None:
    open_cases(nctx)
    task_id = open_task_ids(nctx)[0]
    at("2026-12-02T08:00:00+01:00")
    fire_due_timers(nctx)
    nctx.run(task_actions.claim_task, actor(nctx, "conrad"), task_id)
    with nctx.uow() as uow:  # the reminder firing once more (a retried step, a second scheduler)
        assert notifications.task_due_soon(uow.session, nctx, task_id) == 0
        uow.commit()
    assert fire_due_timers(nctx).reminders == 0
    assert Counter(u for u, _ in notifications_of(nctx)) == {u: 1 for u in CM_MEMBERS}


def test_remind_before_property_overrides_default_and_zero_disables(nctx: EngineContext, tmp_path: Path) -> None:
    deploy_process(nctx, tmp_path, "one_day", {"dueIn": "10WD", "remindBefore": "1WD"})
    deploy_process(nctx, tmp_path, "no_reminder", {"dueIn": "10WD", "remindBefore": "0"})
    open_cases(nctx, process_id="one_day")
    open_cases(nctx, process_id="no_reminder")
    assert [t.fire_at for t in timers_of(nctx, "reminder")] == [
        datetime.fromisoformat("2026-12-03T08:00:00+01:00")]
    assert len(timers_of(nctx, "escalation")) == 4, "escalations stay for both tasks"


def test_configured_default_and_past_reminders(database_url: str, tmp_path: Path, port: int) -> None:
    clock.freeze(FRIDAY)
    try:
        ctx = make_context(database_url, tmp_path, port, KIM_REMIND_BEFORE="3WD")
        deploy_process(ctx, tmp_path, "soon", {"dueIn": "2WD"})  # due Tue; 3WD before = Thu before: past
        deploy_process(ctx, tmp_path, "later", {"dueIn": "10WD"})
        open_cases(ctx, process_id="soon")
        open_cases(ctx, process_id="later")
        assert [t.fire_at for t in timers_of(ctx, "reminder")] == [
            datetime.fromisoformat("2026-12-01T08:00:00+01:00")]
        ctx.db.dispose()
    finally:
        clock.reset()


def test_completed_tasks_lose_their_reminder(nctx: EngineContext) -> None:
    open_cases(nctx, n=2)
    first, second = open_task_ids(nctx)
    nctx.run(complete_task, first, actor(nctx, "carla"), {})
    assert [t.task_id for t in timers_of(nctx, "reminder")] == [second]
    at("2026-12-02T08:00:00+01:00")
    assert fire_due_timers(nctx).reminders == 1


def test_assignment_notifies_the_new_assignee_once(nctx: EngineContext, smtp: Inbox) -> None:
    open_cases(nctx)
    task_id = open_task_ids(nctx)[0]
    sina, carla = actor(nctx, "sina"), actor(nctx, "carla")
    nctx.run(task_actions.assign_task, carla, task_id, "carla")
    assert notifications_of(nctx) == [], "assigning oneself is no news"
    nctx.run(task_actions.assign_task, sina, task_id, "conrad")
    nctx.run(task_actions.assign_task, sina, task_id, "carla")
    nctx.run(task_actions.assign_task, sina, task_id, "conrad")  # back and forth within the hour
    assert notifications_of(nctx) == [("carla", "assigned"), ("conrad", "assigned")]
    clock.advance(timedelta(hours=2))
    nctx.run(task_actions.assign_task, sina, task_id, "carla")
    assert notifications_of(nctx) == [("carla", "assigned"), ("carla", "assigned"), ("conrad", "assigned")]
    mail.send_all_due(nctx)
    (first, _second) = smtp.to("carla@example.org")
    assert first["Subject"].startswith("Aufgabe zugewiesen: Erstkontakt dokumentieren")
    assert "sina hat Ihnen die Aufgabe" in first.get_content()


def test_overdue_and_escalation_reach_the_right_people(nctx: EngineContext, smtp: Inbox) -> None:
    open_cases(nctx)
    nctx.run(task_actions.claim_task, actor(nctx, "carla"), open_task_ids(nctx)[0])
    notifications_before = len(rows(nctx))
    at("2026-12-05T00:00:00+01:00")
    fire_due_timers(nctx)
    assert notifications_of(nctx, "overdue") == [("carla", "overdue"), ("sina", "overdue")]
    assert notifications_of(nctx, "escalated") == []
    at("2026-12-12T00:00:00+01:00")  # 5WD after the due day
    fire_due_timers(nctx)
    assert notifications_of(nctx, "escalated") == [("kira", "escalated")], "KIM coordination's lead only"
    assert fire_due_timers(nctx).total == 0
    assert len(rows(nctx)) == notifications_before + 3 + 1  # + the reminder fired on the way (carla)
    mail.send_all_due(nctx)
    (escalated,) = smtp.to("kira@example.org")
    assert "Eskalation an die KIM-Koordination" in escalated["Subject"]
    assert "https://kim.example.org/notifications" in escalated.get_content()
    assert "Haddad" not in escalated.get_content()


def test_unclaimed_overdue_task_goes_to_the_office_lead(nctx: EngineContext) -> None:
    open_cases(nctx)
    at("2026-12-05T00:00:00+01:00")
    fire_due_timers(nctx)
    assert notifications_of(nctx, "overdue") == [("sina", "overdue")]


def test_digest_batches_new_tasks_into_one_mail_per_person(nctx: EngineContext, smtp: Inbox) -> None:
    open_cases(nctx, n=3)  # Friday 09:00: three new CM tasks
    at("2026-11-21T07:00:00+01:00")  # Saturday: no digest at weekends
    assert send_digests(nctx) == 0
    at("2026-11-23T06:59:00+01:00")
    assert send_digests(nctx) == 0, "not before 07:00"
    at("2026-11-23T07:00:00+01:00")
    assert send_digests(nctx) == 4
    assert send_digests(nctx) == 0, "once a day"
    assert notifications_of(nctx) == [(u, "office_digest") for u in CM_MEMBERS], "ABH and KI had no new tasks"
    mail.send_all_due(nctx)
    (digest,) = smtp.to("conrad@example.org")
    assert digest["Subject"] == "KIM Casework: 3 neue Aufgaben in Ihren Ämtern"
    assert digest.get_content().count("- Erstkontakt dokumentieren (Fall ") == 3
    assert "https://kim.example.org/inbox" in digest.get_content()
    assert len(smtp.messages) == 3  # carla, conrad, sina; nora has no address
    at("2026-11-24T07:00:00+01:00")
    assert send_digests(nctx) == 0, "no new tasks: no digest"
    open_cases(nctx)
    at("2026-11-25T07:00:00+01:00")
    assert send_digests(nctx) == 4
    latest = max(rows(nctx), key=lambda r: r.id)
    assert latest.subject == "KIM Casework: 1 neue Aufgabe in Ihren Ämtern"


def test_two_concurrent_firings_notify_each_person_once(nctx: EngineContext) -> None:
    open_cases(nctx, n=4)
    at("2026-12-05T00:00:00+01:00")  # reminders and level 1 of four tasks are due
    _fired, errors = at_once(lambda: fire_due_timers(nctx))
    assert errors == []
    counts = Counter(notifications_of(nctx))
    assert counts == {**{(u, "due_soon"): 4 for u in CM_MEMBERS}, ("sina", "overdue"): 4}
    with nctx.uow(write=False) as uow:
        keys = list(uow.session.scalars(select(Notification.dedupe_key)))
    assert len(keys) == len(set(keys)) == 20


def test_refusing_mail_server_retries_later_and_loses_nothing(nctx: EngineContext, port: int) -> None:
    open_cases(nctx)
    nctx.run(task_actions.assign_task, actor(nctx, "sina"), open_task_ids(nctx)[0], "carla")
    at("2026-12-02T08:00:00+01:00")
    assert fire_due_timers(nctx).reminders == 1  # case work goes on while mail cannot
    report = mail.send_due_mails(nctx)  # nothing listens on the port
    assert (report.claimed, report.sent, report.retried) == (2, 0, 2)
    now = clock.now()
    for row in rows(nctx):
        assert (row.mail_state, row.mail_attempts, row.mail_next_at) == ("pending", 1, now + timedelta(minutes=1))
        assert row.mail_error
        assert "refused" in row.mail_error.lower()
    assert mail.send_due_mails(nctx).claimed == 0, "not due again yet"
    clock.advance(timedelta(minutes=1))
    assert mail.send_due_mails(nctx).retried == 2
    assert {(r.mail_attempts, r.mail_next_at) for r in rows(nctx)} == {(2, clock.now() + timedelta(minutes=2))}
    with smtp_server(port) as smtp:
        clock.advance(timedelta(minutes=1))
        assert mail.send_due_mails(nctx).claimed == 0, "backoff: two minutes after the second failure"
        clock.advance(timedelta(minutes=1))
        assert mail.send_all_due(nctx).sent == 2
        assert mail.send_all_due(nctx).claimed == 0
        assert smtp.recipients() == ["carla@example.org", "carla@example.org"]
    assert {(r.mail_state, r.mail_error) for r in rows(nctx)} == {("sent", None)}
    assert len(timers_of(nctx, "reminder")) == 1
    assert timers_of(nctx, "reminder")[0].fired_at is not None


def test_mail_is_given_up_only_after_about_a_day(nctx: EngineContext) -> None:
    open_cases(nctx)
    nctx.run(task_actions.assign_task, actor(nctx, "sina"), open_task_ids(nctx)[0], "carla")
    waited = timedelta(0)
    for attempt in range(1, mail.MAX_ATTEMPTS + 1):
        report = mail.send_due_mails(nctx)
        assert report.claimed == 1, attempt
        (row,) = rows(nctx)
        if row.mail_state == "failed":
            break
        assert row.mail_next_at is not None
        waited += row.mail_next_at - clock.now()
        clock.freeze(row.mail_next_at)
    assert (row.mail_state, row.mail_attempts) == ("failed", mail.MAX_ATTEMPTS)
    assert timedelta(hours=20) < waited < timedelta(hours=30)
    assert mail.send_due_mails(nctx).claimed == 0


def test_no_mail_when_the_event_rolled_back(nctx: EngineContext, smtp: Inbox) -> None:
    message = notifications.Message(notifications.Kind.ASSIGNED, "Betreff", "Text")
    carla = user_id(nctx, "carla")

    def failing_event() -> None:
        with nctx.uow() as uow:
            assert notifications.notify(uow.session, [carla], message, "test:1", mail=True) == 1
            raise RuntimeError("the event failed after the notification was queued")

    with pytest.raises(RuntimeError, match="event failed"):
        failing_event()
    assert rows(nctx) == []
    assert mail.send_all_due(nctx).claimed == 0
    assert smtp.messages == []


def test_smtp_url_forms() -> None:
    plain = mail.parse_smtp_url("smtp://mail.example.org:2525")
    assert (plain.host, plain.port, plain.tls, plain.starttls, plain.username) == (
        "mail.example.org", 2525, False, False, None)
    secure = mail.parse_smtp_url("smtps://kim%40stadt.de:g%3Aheim@mail.example.org")
    assert (secure.port, secure.tls, secure.username, secure.password) == (465, True, "kim@stadt.de", "g:heim")
    assert mail.parse_smtp_url("smtp://u:p@h:587?starttls=true&timeout=3").starttls is True
    with pytest.raises(ValueError, match="scheme"):
        mail.parse_smtp_url("http://example.org")
    with pytest.raises(ValueError, match="host"):
        mail.parse_smtp_url("smtp://")


def test_cli_sends_due_mails_and_the_digest(nctx: EngineContext, smtp: Inbox,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from engine.cli import main
    from engine.services.wiring import create_context

    open_cases(nctx)
    at("2026-11-23T07:30:00+01:00")
    config = {k: nctx.config[k] for k in ("KIM_DATABASE_URL", "KIM_SMTP_URL", "KIM_BASE_URL", "KIM_MAIL_FROM")}
    assert main(["notifications", "send-due"], context_factory=lambda: create_context(config)) == 0
    assert capsys.readouterr().out.strip() == "4 digests written, 3 mails sent, 0 to retry later, 0 given up"
    assert smtp.recipients() == ["carla@example.org", "conrad@example.org", "sina@example.org"]
    assert main(["notifications", "send-due"], context_factory=lambda: create_context(config)) == 0
    assert capsys.readouterr().out.strip() == "0 digests written, 0 mails sent, 0 to retry later, 0 given up"


def test_unusable_remind_before_is_refused_at_deploy_time(nctx: EngineContext, tmp_path: Path) -> None:
    from engine.domain.errors import ModelInvalid

    with pytest.raises(ModelInvalid) as refused:
        deploy_process(nctx, tmp_path, "bad_reminder", {"dueIn": "10WD", "remindBefore": "bald"})
    assert [(p.element_id, "remindBefore" in p.reason) for p in refused.value.problems] == [("step", True)]


def test_racing_transactions_insert_one_notification_per_key(nctx: EngineContext) -> None:
    carla = user_id(nctx, "carla")
    message = notifications.Message(notifications.Kind.OVERDUE, "Überfällig", "Text")
    barrier = threading.Barrier(4)
    added: list[int] = []

    def insert() -> None:
        barrier.wait(5)
        with nctx.uow() as uow:
            added.append(notifications.notify(uow.session, [carla], message, "race:1", mail=True))
            uow.commit()

    threads = [threading.Thread(target=insert) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(added) == [0, 0, 0, 1]
    assert len(rows(nctx)) == 1


def test_reminder_firing_is_audited(nctx: EngineContext) -> None:
    from engine.persistence.models import AuditEntry

    (case,) = open_cases(nctx)
    at("2026-12-02T08:00:00+01:00")
    fire_due_timers(nctx)
    with nctx.uow(write=False) as uow:
        entries = list(uow.session.execute(select(AuditEntry.actor, AuditEntry.case_id, AuditEntry.details)
                                           .where(AuditEntry.action == "task.remind")))
    assert [(a, str(c), d) for a, c, d in entries] == [("system", str(case.id), {"notified": 4})]


def test_a_task_released_by_consent_keeps_its_models_reminder(nctx: EngineContext, tmp_path: Path) -> None:
    deploy_process(nctx, tmp_path, "abh_pruefung", {"dueIn": "10WD", "remindBefore": "1WD"}, office="ABH")
    (case,) = open_cases(nctx, process_id="abh_pruefung")
    assert timers_of(nctx, "reminder") == [], "held for consent: no deadline runs yet"
    at("2026-11-23T09:00:00+01:00")
    nctx.run(consents.record_consent, actor(nctx, "carla"), case.id, {
        "office": "ABH", "purpose": "Klärung der Identität", "categories": ["identity"]})
    # due Monday 07.12.2026 (10 working days); the model's 1WD reminder, not the 2WD default
    assert [t.fire_at for t in timers_of(nctx, "reminder")] == [
        datetime.fromisoformat("2026-12-04T08:00:00+01:00")]
