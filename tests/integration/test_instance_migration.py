"""Migrating running instances to a new process version, on SQLite and PostgreSQL.

Each test deploys version 1, walks an instance to a position, deploys version 2, and checks
the dry-run report, the migration and that the case then continues on version 2.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select

from engine import clock
from engine.demo.walker import CaseWalker, office_actors
from engine.domain.actors import SYSTEM, Actor
from engine.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from engine.forms import FormRegistry
from engine.persistence.models import (
    AuditEntry,
    HumanTask,
    InstanceMigration,
    Office,
    ProcessDefinition,
    ProcessInstance,
    Timer,
)
from engine.services.casework.instances import start_instance
from engine.services.context import EngineContext
from engine.services.process_models import instance_migration
from tests.conftest import DATA, deploy_files
from tests.processes.walking import bpmn_timers, reached

OWNER = Actor(username="paul", role="process_owner", user_id=99)
ERSTKONTAKT = {"kontakt_am": "2026-11-20", "sprache": "de", "termine": 1}


@pytest.fixture
def actors(ctx: EngineContext) -> dict[str, Actor]:
    return office_actors(ctx, ("CM", "ABH", "KI"))


def walker_for(ctx: EngineContext, actors: dict[str, Actor], process_id: str) -> CaseWalker:
    started = ctx.run(start_instance, process_id, {}, SYSTEM)
    ctx.forms = FormRegistry(DATA / "forms")  # the test models' forms
    return CaseWalker(ctx, actors, started.instance_id)


def version_of(ctx: EngineContext, instance_id: UUID) -> int:
    with ctx.uow(write=False) as uow:
        return int(uow.session.scalar(select(ProcessDefinition.version).join(
            ProcessInstance, ProcessInstance.definition_id == ProcessDefinition.id)
            .where(ProcessInstance.id == instance_id)) or 0)


def only_item(report: dict[str, Any]) -> dict[str, Any]:
    (item,) = report["items"]
    return item


def test_case_at_a_user_task_takes_the_step_added_after_it(ctx: EngineContext, actors: dict[str, Actor],
                                                            frozen_clock: object) -> None:
    deploy_files(ctx, "intake.bpmn")
    walker = walker_for(ctx, actors, "intake")
    task = walker.task("erstkontakt")
    deploy_files(ctx, "migration/intake_v2_added_step.bpmn")

    item = only_item(ctx.run(instance_migration.dry_run, OWNER, "intake", {"to_version": 2}))
    assert item["compatible"] is True
    assert item["reasons"] == []
    assert item["from_version"] == 1
    assert item["positions"] == [{"bpmn_id": "erstkontakt", "name": "Erstkontakt dokumentieren",
                                  "exists_in_target": True}]
    assert [(t["bpmn_id"], t["outcome"]) for t in item["open_tasks"]] == [("erstkontakt", "kept")]
    assert version_of(ctx, walker.instance_id) == 1, "a dry run changes nothing"

    result = instance_migration.migrate(ctx, OWNER, "intake", {"to_version": 2, "all_compatible": True})
    assert result["migrated"] == [str(walker.instance_id)]
    assert result["skipped"] == []
    assert version_of(ctx, walker.instance_id) == 2
    kept = walker.task("erstkontakt")
    assert (kept.id, kept.due_at, kept.office) == (task.id, task.due_at, "CM"), "same task row, same due date"

    walker.complete("erstkontakt", **ERSTKONTAKT)
    assert walker.open_ids() == ["nachfrage"], "the step added in version 2 comes next"
    walker.complete("nachfrage")
    walker.complete("vorpruefung", ergebnis="OFFEN")
    walker.complete("abschluss")
    assert walker.status() == "completed"
    assert {"erstkontakt", "nachfrage", "vorpruefung", "abschluss"} <= reached(walker)

    with ctx.uow(write=False) as uow:
        (row,) = uow.session.scalars(select(InstanceMigration))
        assert (row.instance_id, row.migrated_by) == (walker.instance_id, "paul")
        actions = list(uow.session.scalars(select(AuditEntry.action).where(
            AuditEntry.instance_id == walker.instance_id)))
    assert "instance.migrate" in actions
    assert "instance.migration_check" in actions


def test_a_case_on_a_removed_element_is_incompatible_and_skipped(ctx: EngineContext, actors: dict[str, Actor],
                                                                frozen_clock: object) -> None:
    deploy_files(ctx, "intake.bpmn")
    walker = walker_for(ctx, actors, "intake")
    deploy_files(ctx, "migration/intake_v2_removed_step.bpmn")

    item = only_item(ctx.run(instance_migration.dry_run, OWNER, "intake", {"to_version": 2}))
    assert item["compatible"] is False
    assert item["positions"][0] == {"bpmn_id": "erstkontakt", "name": "Erstkontakt dokumentieren",
                                    "exists_in_target": False}
    assert "erstkontakt" in item["reasons"][0]
    assert "nicht mehr" in item["reasons"][0]
    assert item["open_tasks"][0]["outcome"] == "removed"
    assert {t["outcome"] for t in item["timers"]} == {"removed"}
    assert "escalation" in {t["kind"] for t in item["timers"]}

    by_id = instance_migration.migrate(ctx, OWNER, "intake", {"to_version": 2,
                                                               "instance_ids": [str(walker.instance_id)]})
    assert by_id["migrated"] == []
    assert by_id["skipped"][0]["instance_id"] == str(walker.instance_id)
    assert "nicht mehr" in by_id["skipped"][0]["reasons"][0]
    assert instance_migration.migrate(ctx, OWNER, "intake", {"to_version": 2, "all_compatible": True})[
        "migrated"] == []
    assert version_of(ctx, walker.instance_id) == 1
    walker.complete("erstkontakt", **ERSTKONTAKT)  # still runs on version 1
    assert walker.open_ids() == ["vorpruefung"]


def test_timers_keep_their_moment(ctx: EngineContext, actors: dict[str, Actor], frozen_clock: object) -> None:
    deploy_files(ctx, "migration/timer_interrupting_v1.bpmn")
    walker = walker_for(ctx, actors, "timer_interrupting")
    before = bpmn_timers(walker)
    assert list(before) == ["ti_timer"]
    clock.advance(timedelta(days=5))
    deploy_files(ctx, "migration/timer_interrupting_v2.bpmn")  # P7D instead of P14D, new step after the task

    item = only_item(ctx.run(instance_migration.dry_run, OWNER, "timer_interrupting", {"to_version": 2}))
    assert item["compatible"] is True
    assert [(t["bpmn_id"], t["kind"], t["outcome"]) for t in item["timers"]] == [("ti_timer", "bpmn", "kept")]
    assert instance_migration.migrate(ctx, OWNER, "timer_interrupting",
                                      {"to_version": 2, "all_compatible": True})["migrated"]
    assert bpmn_timers(walker) == before, "the remaining 9 days stay 9 days"

    clock.advance(timedelta(days=9, hours=1))
    from engine.services.timers.firing import fire_due_timers

    assert fire_due_timers(ctx).bpmn_timers == 1
    assert walker.open_ids() == ["ti_reminder"], "the boundary timer still interrupts the task"


def test_task_completed_on_the_new_version_after_timer_migration(ctx: EngineContext, actors: dict[str, Actor],
                                                                 frozen_clock: object) -> None:
    deploy_files(ctx, "migration/timer_interrupting_v1.bpmn")
    walker = walker_for(ctx, actors, "timer_interrupting")
    deploy_files(ctx, "migration/timer_interrupting_v2.bpmn")
    instance_migration.migrate(ctx, OWNER, "timer_interrupting", {"to_version": 2, "all_compatible": True})
    walker.complete("ti_task")
    assert walker.open_ids() == ["ti_check"]
    assert bpmn_timers(walker) == {}, "the boundary timer ends with its task"


def test_removed_boundary_timer_makes_the_case_incompatible(ctx: EngineContext, actors: dict[str, Actor],
                                                            frozen_clock: object) -> None:
    deploy_files(ctx, "migration/timer_interrupting_v1.bpmn")
    walker_for(ctx, actors, "timer_interrupting")
    deploy_files(ctx, "migration/timer_interrupting_v2_no_timer.bpmn")
    item = only_item(ctx.run(instance_migration.dry_run, OWNER, "timer_interrupting", {"to_version": 2}))
    assert item["compatible"] is False
    assert {(t["bpmn_id"], t["outcome"]) for t in item["timers"]} == {("ti_timer", "removed")}
    assert any("Randereignisse" in r for r in item["reasons"])


def test_escalation_timers_and_due_date_are_kept(ctx: EngineContext, actors: dict[str, Actor],
                                                 frozen_clock: object) -> None:
    deploy_files(ctx, "intake.bpmn")
    walker = walker_for(ctx, actors, "intake")

    def escalations() -> list[tuple[str, int, Any]]:
        with ctx.uow(write=False) as uow:
            return sorted((t.kind, t.level, t.fire_at) for t in uow.session.scalars(
                select(Timer).where(Timer.instance_id == walker.instance_id, Timer.kind != "bpmn")))

    before = escalations()
    assert [k for k, _l, _f in before].count("escalation") == 2
    deploy_files(ctx, "migration/intake_v2_added_step.bpmn")
    instance_migration.migrate(ctx, OWNER, "intake", {"to_version": 2, "all_compatible": True})
    assert escalations() == before


def test_a_task_whose_office_changed_is_rerouted(ctx: EngineContext, actors: dict[str, Actor],
                                                 frozen_clock: object) -> None:
    deploy_files(ctx, "intake.bpmn")
    walker = walker_for(ctx, actors, "intake")
    deploy_files(ctx, "migration/intake_v2_rerouted.bpmn")
    item = only_item(ctx.run(instance_migration.dry_run, OWNER, "intake", {"to_version": 2}))
    (task,) = item["open_tasks"]
    assert (task["outcome"], task["office"], task["new_office"]) == ("rerouted", "CM", "KI")
    instance_migration.migrate(ctx, OWNER, "intake", {"to_version": 2, "all_compatible": True})
    moved = walker.task("erstkontakt")
    assert (moved.office, moved.state) == ("KI", "open")
    walker.complete("erstkontakt", **ERSTKONTAKT)
    assert walker.open_ids() == ["vorpruefung"]


def test_completing_while_migrating_one_wins_cleanly(ctx: EngineContext, actors: dict[str, Actor],
                                                     frozen_clock: object) -> None:
    deploy_files(ctx, "intake.bpmn")
    walkers = [walker_for(ctx, actors, "intake") for _ in range(4)]
    deploy_files(ctx, "migration/intake_v2_added_step.bpmn")
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def complete_all() -> None:
        barrier.wait()
        for walker in walkers:
            try:
                walker.complete("erstkontakt", **ERSTKONTAKT)
            except Conflict:
                pass  # a lost race is a clean 409, never a broken case
            except BaseException as exc:  # reported to the test thread
                errors.append(exc)

    def migrate_all() -> None:
        barrier.wait()
        try:
            instance_migration.migrate(ctx, OWNER, "intake", {"to_version": 2, "all_compatible": True})
        except BaseException as exc:  # reported to the test thread
            errors.append(exc)

    threads = [threading.Thread(target=complete_all), threading.Thread(target=migrate_all)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    for walker in walkers:
        assert version_of(ctx, walker.instance_id) == 2
        open_ids = walker.open_ids()
        if open_ids == ["erstkontakt"]:  # the completion lost: do it now, on version 2
            walker.complete("erstkontakt", **ERSTKONTAKT)
            open_ids = walker.open_ids()
        # migrated before the completion: the new step; after it: vorpruefung on version 2
        assert open_ids in (["nachfrage"], ["vorpruefung"])
        with ctx.uow(write=False) as uow:
            live = uow.session.scalars(select(HumanTask.bpmn_id).where(
                HumanTask.instance_id == walker.instance_id, HumanTask.state.in_(("open", "claimed")))).all()
        assert len(live) == 1, "no task left behind by a half migration"


def test_only_process_owners_and_admins_migrate(ctx: EngineContext, actors: dict[str, Actor]) -> None:
    deploy_files(ctx, "intake.bpmn")
    with pytest.raises(NotAllowed):
        ctx.run(instance_migration.dry_run, actors["CM"], "intake", {"to_version": 1})
    with pytest.raises(NotAllowed):
        instance_migration.migrate(ctx, actors["CM"], "intake", {"to_version": 1, "all_compatible": True})


def test_bad_requests_name_the_field(ctx: EngineContext) -> None:
    deploy_files(ctx, "intake.bpmn")
    with pytest.raises(NotFound):
        ctx.run(instance_migration.dry_run, OWNER, "no_such_process", {"to_version": 1})
    cases = [({}, "to_version"), ({"to_version": "2"}, "to_version"), ({"to_version": 7}, "to_version"),
             ({"to_version": 1, "instance_ids": ["x"]}, "instance_ids"),
             ({"to_version": 1, "from_version": 0}, "from_version")]
    for body, field in cases:
        with pytest.raises(InvalidInput) as raised:
            ctx.run(instance_migration.dry_run, OWNER, "intake", body)
        assert field in raised.value.fields, body
    with pytest.raises(InvalidInput) as raised:
        instance_migration.migrate(ctx, OWNER, "intake", {"to_version": 1})
    assert "instance_ids" in raised.value.fields


def test_from_version_filters_the_candidates(ctx: EngineContext, actors: dict[str, Actor],
                                             frozen_clock: object) -> None:
    deploy_files(ctx, "intake.bpmn")
    first = walker_for(ctx, actors, "intake")
    deploy_files(ctx, "migration/intake_v2_rerouted.bpmn")
    second = walker_for(ctx, actors, "intake")
    deploy_files(ctx, "migration/intake_v2_added_step.bpmn")
    report = ctx.run(instance_migration.dry_run, OWNER, "intake", {"to_version": 3, "from_version": 2})
    assert [i["instance_id"] for i in report["items"]] == [str(second.instance_id)]
    report = ctx.run(instance_migration.dry_run, OWNER, "intake", {"to_version": 3})
    assert {i["instance_id"] for i in report["items"]} == {str(first.instance_id), str(second.instance_id)}
    with ctx.uow(write=False) as uow:
        assert uow.session.scalar(select(Office.code).join(HumanTask, HumanTask.office_id == Office.id)
                                  .where(HumanTask.instance_id == second.instance_id)) == "KI"


def _open_task(ctx: EngineContext, bpmn_id: str) -> UUID:
    with ctx.uow(write=False) as uow:
        task_id = uow.session.scalar(select(HumanTask.id).where(HumanTask.bpmn_id == bpmn_id,
                                                                HumanTask.state == "open"))
    assert task_id is not None, f"no open task {bpmn_id}"
    return task_id


def test_a_case_inside_a_called_process_follows_its_new_version(ctx: EngineContext, frozen_clock: object) -> None:
    from engine.services.casework.instances import complete_task

    deploy_files(ctx, "called_child.bpmn")
    deploy_files(ctx, "shapes.bpmn")
    started = ctx.run(start_instance, "call_loop", {}, SYSTEM)
    task_id = _open_task(ctx, "cc_task")
    deploy_files(ctx, "migration/called_child_v2.bpmn")  # the caller is unchanged: still version 1

    item = only_item(ctx.run(instance_migration.dry_run, OWNER, "call_loop", {"to_version": 1}))
    assert item["instance_id"] == str(started.instance_id)
    assert item["compatible"] is True
    assert {"bpmn_id": "cc_task", "name": "Prüfung in der ABH", "exists_in_target": True} in item["positions"]
    assert instance_migration.migrate(ctx, OWNER, "call_loop", {"to_version": 1, "all_compatible": True})[
        "migrated"] == [str(started.instance_id)]
    assert ctx.run(instance_migration.dry_run, OWNER, "call_loop", {"to_version": 1})["items"] == [], "up to date"

    assert _open_task(ctx, "cc_task") == task_id, "the task inside the called process keeps its row"
    ctx.run(complete_task, task_id, SYSTEM, {"pruefung": 1})
    ctx.run(complete_task, _open_task(ctx, "cc_extra"), SYSTEM, {})  # the step the called process gained
    ctx.run(complete_task, _open_task(ctx, "cl_decide"), SYSTEM, {"again": False})
    with ctx.uow(write=False) as uow:
        assert uow.session.scalar(select(ProcessInstance.status).where(
            ProcessInstance.id == started.instance_id)) == "completed"


def test_a_token_on_a_renamed_element_of_a_called_process_blocks(ctx: EngineContext,
                                                                 frozen_clock: object) -> None:
    deploy_files(ctx, "called_child.bpmn")
    deploy_files(ctx, "shapes.bpmn")
    ctx.run(start_instance, "call_loop", {}, SYSTEM)
    deploy_files(ctx, "migration/called_child_v2_renamed.bpmn")
    item = only_item(ctx.run(instance_migration.dry_run, OWNER, "call_loop", {"to_version": 1}))
    assert item["compatible"] is False
    assert any("cc_task" in reason for reason in item["reasons"])


def test_a_passed_element_may_be_removed(ctx: EngineContext, actors: dict[str, Actor], frozen_clock: object) -> None:
    deploy_files(ctx, "intake.bpmn")
    walker = walker_for(ctx, actors, "intake")
    walker.complete("erstkontakt", **ERSTKONTAKT)  # now at vorpruefung; erstkontakt anchors the live tree
    deploy_files(ctx, "migration/intake_v2_removed_step.bpmn")
    item = only_item(ctx.run(instance_migration.dry_run, OWNER, "intake", {"to_version": 2}))
    assert item["compatible"] is True
    assert [p["bpmn_id"] for p in item["positions"]] == ["vorpruefung"]
    assert instance_migration.migrate(ctx, OWNER, "intake", {"to_version": 2, "all_compatible": True})["migrated"]
    assert "erstkontakt" in reached(walker), "the passed step stays in the history"
    walker.complete("vorpruefung", ergebnis="OFFEN")
    walker.complete("abschluss")
    assert walker.status() == "completed"
