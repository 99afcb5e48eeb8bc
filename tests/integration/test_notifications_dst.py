"""Daylight-saving changes of Europe/Berlin (Sun 2026-03-29 02:00 -> 03:00, Sun 2026-10-25 03:00 ->
02:00): due dates, reminders, escalations, follow-ups, timers and the digest land on the right
local day and hour, stored and read back through both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import clock
from engine.domain.actors import SYSTEM
from engine.persistence.models import HumanTask, Timer
from engine.services.casework import inbox, task_actions
from engine.services.casework.instances import start_instance
from engine.services.context import EngineContext
from engine.services.notifications.digest import next_digest_at, send_digests
from engine.services.timers.firing import fire_due_timers
from tests.conftest import deploy_files
from tests.integration.notify_support import actor, deploy_process, free_port, make_context, notifications_of


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture
def dctx(database_url: str, tmp_path: Path) -> Iterator[EngineContext]:
    context = make_context(database_url, tmp_path, free_port())
    for process_id, props in {"wd1": {"dueIn": "1WD"}, "wd2": {"dueIn": "2WD"}, "wd3": {"dueIn": "3WD"},
                              "wd3_r1": {"dueIn": "3WD", "remindBefore": "1WD"}}.items():
        deploy_process(context, tmp_path, process_id, props)
    yield context
    clock.reset()
    context.db.dispose()


def start_at(ctx: EngineContext, when: str, process_id: str) -> HumanTask:
    clock.freeze(moment(when))
    ctx.run(start_instance, process_id, {}, SYSTEM)
    with ctx.uow(write=False) as uow:
        task = uow.session.scalar(select(HumanTask).where(HumanTask.process_id == process_id))
        assert task is not None
        return task


def timers(ctx: EngineContext, task: HumanTask) -> dict[tuple[str, int], datetime]:
    with ctx.uow(write=False) as uow:
        found = uow.session.scalars(select(Timer).where(Timer.task_id == task.id))
        return {(t.kind, t.level): t.fire_at for t in found}


def test_friday_before_spring_forward(dctx: EngineContext) -> None:
    friday = "2026-03-27T09:00:00+01:00"  # CET; Monday is CEST
    one = start_at(dctx, friday, "wd1")
    two = start_at(dctx, friday, "wd2")
    three = start_at(dctx, friday, "wd3")
    assert one.due_at == moment("2026-03-30T23:59:59+02:00") == moment("2026-03-30T21:59:59+00:00")
    assert two.due_at == moment("2026-03-31T23:59:59+02:00")
    assert timers(dctx, one) == {  # 2WD before Monday is Thursday: past, so no reminder
        ("escalation", 1): moment("2026-03-30T23:59:59+02:00"),
        ("escalation", 2): moment("2026-04-08T23:59:59+02:00")}  # 5WD, over Good Friday and Easter Monday
    assert ("reminder", 0) not in timers(dctx, two), "Friday 08:00 was an hour ago"
    assert timers(dctx, three)[("reminder", 0)] == moment("2026-03-30T08:00:00+02:00") == moment(
        "2026-03-30T06:00:00+00:00")
    clock.freeze(moment("2026-03-30T07:59:59+02:00"))  # 06:59:59 CET would be the naive reading
    assert fire_due_timers(dctx).reminders == 0
    clock.freeze(moment("2026-03-30T08:00:00+02:00"))
    assert fire_due_timers(dctx).reminders == 1
    clock.freeze(moment("2026-03-30T23:59:58+02:00"))
    assert fire_due_timers(dctx).escalations == 0, "still Monday in Berlin"
    clock.freeze(moment("2026-03-31T00:00:00+02:00"))
    assert fire_due_timers(dctx).escalations == 1
    assert notifications_of(dctx, "overdue") == [("sina", "overdue")]


def test_reminder_at_eight_on_the_monday_after_fall_back(dctx: EngineContext) -> None:
    task = start_at(dctx, "2026-10-22T09:00:00+02:00", "wd3_r1")  # Thursday, CEST
    assert task.due_at == moment("2026-10-27T23:59:59+01:00") == moment("2026-10-27T22:59:59+00:00")
    assert timers(dctx, task) == {
        ("reminder", 0): moment("2026-10-26T08:00:00+01:00"),  # = 07:00 UTC
        ("escalation", 1): moment("2026-10-27T23:59:59+01:00"),
        ("escalation", 2): moment("2026-11-03T23:59:59+01:00")}
    default = start_at(dctx, "2026-10-22T09:00:00+02:00", "wd3")
    assert timers(dctx, default)[("reminder", 0)] == moment("2026-10-23T08:00:00+02:00")  # Friday, still CEST
    clock.freeze(moment("2026-10-26T07:59:59+01:00"))
    fire_due_timers(dctx)
    assert notifications_of(dctx) == [(u, "due_soon") for u in ("carla", "conrad", "nora", "sina")], "Friday's"
    clock.freeze(moment("2026-10-26T08:00:00+01:00"))
    assert fire_due_timers(dctx).reminders == 1


def test_one_working_day_over_fall_back(dctx: EngineContext) -> None:
    task = start_at(dctx, "2026-10-23T09:00:00+02:00", "wd1")
    assert task.due_at == moment("2026-10-26T23:59:59+01:00")
    clock.freeze(moment("2026-10-26T23:59:58+01:00"))
    assert fire_due_timers(dctx).escalations == 0
    clock.freeze(moment("2026-10-27T00:00:00+01:00"))
    assert fire_due_timers(dctx).escalations == 1


def test_follow_up_starts_at_local_midnight_after_each_change(dctx: EngineContext) -> None:
    task = start_at(dctx, "2026-10-22T09:00:00+02:00", "wd3")
    carla = actor(dctx, "carla")
    changed = dctx.run(task_actions.set_follow_up, carla, task.id, "2026-10-26")
    assert changed.follow_up_at is not None
    assert changed.follow_up_at.isoformat() == "2026-10-25T23:00:00+00:00"
    listing = inbox.TaskFilter(view="office")
    clock.freeze(moment("2026-10-25T23:59:00+01:00"))
    assert dctx.run(inbox.list_tasks, carla, listing).total == 0, "still Sunday in Berlin"
    clock.freeze(moment("2026-10-26T00:00:00+01:00"))
    assert dctx.run(inbox.list_tasks, carla, listing).total == 1
    spring = start_at(dctx, "2026-03-27T09:00:00+01:00", "wd2")
    changed = dctx.run(task_actions.set_follow_up, carla, spring.id, "2026-03-30")
    assert changed.follow_up_at is not None
    assert changed.follow_up_at.isoformat() == "2026-03-29T22:00:00+00:00"


def test_working_day_timer_over_fall_back(dctx: EngineContext) -> None:
    deploy_files(dctx, "timers.bpmn")
    clock.freeze(moment("2026-10-16T09:00:00+02:00"))
    dctx.run(start_instance, "timer_intermediate", {}, SYSTEM)  # 10WD timer: end of Fri 2026-10-30
    with dctx.uow(write=False) as uow:
        (fire_at,) = uow.session.scalars(select(Timer.fire_at).where(Timer.kind == "bpmn"))
    assert fire_at == moment("2026-10-30T23:59:59+01:00")
    clock.freeze(moment("2026-10-30T23:59:58+01:00"))
    assert fire_due_timers(dctx).bpmn_timers == 0
    clock.freeze(moment("2026-10-31T00:00:00+01:00"))
    assert fire_due_timers(dctx).bpmn_timers == 1


def test_digest_keeps_seven_o_clock_local(dctx: EngineContext) -> None:
    clock.freeze(moment("2026-03-28T12:00:00+01:00"))
    assert next_digest_at(dctx, clock.now()) == moment("2026-03-29T07:00:00+02:00")
    start_at(dctx, "2026-03-27T09:00:00+01:00", "wd3")
    clock.freeze(moment("2026-03-30T06:59:59+02:00"))
    assert send_digests(dctx) == 0
    clock.freeze(moment("2026-03-30T07:00:00+02:00"))  # 05:00 UTC
    assert send_digests(dctx) == 4
    clock.freeze(moment("2026-10-25T12:00:00+01:00"))
    assert next_digest_at(dctx, clock.now()) == moment("2026-10-26T07:00:00+01:00") == moment(
        "2026-10-26T06:00:00+00:00")
