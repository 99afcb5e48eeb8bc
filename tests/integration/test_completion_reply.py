"""A completion's reply is built from what the step wrote, and the step writes only the
difference to what the workflow waited for before: both must equal what the tables hold."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import UUID

from sqlalchemy import select

from engine import clock
from engine.domain.actors import SYSTEM, Actor
from engine.persistence.models import HumanTask, Office
from engine.services.admin import directory
from engine.services.casework import cases
from engine.services.casework.inbox import views_by_id
from engine.services.casework.instances import complete_task
from engine.services.casework.views import CaseRecord, Completion
from engine.services.context import EngineContext
from engine.services.timers.firing import fire_due_timers
from tests.conftest import deploy_files
from tests.invariants import assert_tables_match_the_workflow

NEW_CASE = {"person": {"given_name": "Omid", "family_name": "Rahimi"},
            "referral": {"source": "SOZ", "reason": "Beratung"}, "process_id": "reply_shapes"}


def _carla(ctx: EngineContext) -> Actor:
    user = ctx.run(directory.add_user, "carla", "caseworker", ["CM"])
    with ctx.uow(write=False) as uow:
        cm = uow.session.scalar(select(Office.id).where(Office.code == "CM"))
    assert cm is not None
    return Actor("carla", "caseworker", frozenset({cm}), user.id, frozenset({"CM"}))


def _open(ctx: EngineContext, bpmn_id: str) -> UUID:
    with ctx.uow(write=False) as uow:
        found = uow.session.scalar(select(HumanTask.id).where(HumanTask.bpmn_id == bpmn_id,
                                                              HumanTask.state.in_(("open", "claimed"))))
    assert found is not None, bpmn_id
    return found


def assert_reply_is_what_the_tables_hold(ctx: EngineContext, done: Completion) -> None:
    with ctx.uow(write=False) as uow:
        found = views_by_id(uow.session, [done.task.id, *(t.id for t in done.next_tasks)])
    assert done.task == found[done.task.id]
    assert list(done.next_tasks) == [found[t.id] for t in done.next_tasks]


def test_replies_and_tables_follow_each_completion(ctx: EngineContext, frozen_clock: object) -> None:
    carla = _carla(ctx)
    deploy_files(ctx, "reply_shapes.bpmn")
    case = ctx.run(cases.open_case, carla, NEW_CASE)
    instance_id = case.tasks[0].process_instance_id
    assert_tables_match_the_workflow(ctx, instance_id)

    done = ctx.run(complete_task, _open(ctx, "erfassen"), carla, {})
    assert_reply_is_what_the_tables_hold(ctx, done)
    assert (done.task.state, done.task.completed_by, done.task.person_name) == ("completed", "carla", "Omid Rahimi")
    assert {t.bpmn_id: t.assignee for t in done.next_tasks} == {"beraten": "carla", "pruefen": None}, \
        "the hand-over to JC waits for consent and is not in the reply"
    assert_tables_match_the_workflow(ctx, instance_id)  # erfassen's timer went, pruefen's came

    clock.advance(timedelta(hours=3))
    assert fire_due_timers(ctx).bpmn_timers == 1  # pruefen is interrupted, nachfassen is new
    assert_tables_match_the_workflow(ctx, instance_id)

    done = ctx.run(complete_task, _open(ctx, "nachfassen"), carla, {})
    assert_reply_is_what_the_tables_hold(ctx, done)
    assert done.next_tasks == ()
    done = ctx.run(complete_task, _open(ctx, "beraten"), SYSTEM, {})
    assert_reply_is_what_the_tables_hold(ctx, done)
    assert_tables_match_the_workflow(ctx, instance_id)


def _sorted_tasks(record: CaseRecord) -> CaseRecord:
    return replace(record, tasks=tuple(sorted(record.tasks, key=lambda t: t.bpmn_id)))


def test_the_reply_of_opening_a_case_is_the_case_as_read_back(ctx: EngineContext, frozen_clock: object) -> None:
    carla = _carla(ctx)
    deploy_files(ctx, "reply_shapes.bpmn", "routing.bpmn")
    for process_id in ("reply_shapes", "routing"):  # routing: parallel tasks, held ones among them
        opened = ctx.run(cases.open_case, carla, {**NEW_CASE, "process_id": process_id})
        read = ctx.run(cases.get_case, carla, opened.id)
        assert _sorted_tasks(opened) == _sorted_tasks(read)
        assert opened.tasks, process_id
        assert_tables_match_the_workflow(ctx, opened.tasks[0].process_instance_id)
