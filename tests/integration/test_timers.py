"""Every timer kind fires exactly once when the engine clock is moved past it."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select

from engine import clock
from engine.domain.actors import SYSTEM
from engine.persistence.models import AuditEntry, HumanTask, Timer
from engine.services.casework.instances import start_instance
from engine.services.context import EngineContext
from engine.services.timers import firing
from engine.services.timers.firing import fire_due_timers
from tests.conftest import deploy_files
from tests.sql_counting import counting, round_trips


def _open_tasks(ctx: EngineContext) -> list[str]:
    with ctx.uow(write=False) as uow:
        return sorted(t.bpmn_id for t in uow.session.scalars(
            select(HumanTask).where(HumanTask.state.in_(("open", "claimed")))))


def _bpmn_timers(ctx: EngineContext) -> list[Timer]:
    with ctx.uow(write=False) as uow:
        return list(uow.session.scalars(select(Timer).where(Timer.kind == "bpmn")))


def _fire_at(moment: str, ctx: EngineContext) -> int:
    clock.freeze(datetime.fromisoformat(moment))
    return fire_due_timers(ctx).bpmn_timers


def test_interrupting_boundary_timer(ctx: EngineContext, frozen_clock: object) -> None:
    deploy_files(ctx, "timers.bpmn")
    ctx.run(start_instance, "timer_interrupting", {}, SYSTEM)
    (row,) = _bpmn_timers(ctx)
    assert row.fire_at == datetime.fromisoformat("2026-12-04T09:00:00+01:00")  # P14D, Camunda literal
    assert _fire_at("2026-12-04T08:59:59+01:00", ctx) == 0
    assert _fire_at("2026-12-04T09:00:01+01:00", ctx) == 1
    assert _open_tasks(ctx) == ["ti_reminder"], "the interrupted task is cancelled"
    assert fire_due_timers(ctx).total == 0
    assert _bpmn_timers(ctx) == []


def test_non_interrupting_boundary_timer(ctx: EngineContext, frozen_clock: object) -> None:
    deploy_files(ctx, "timers.bpmn")
    ctx.run(start_instance, "timer_noninterrupting", {}, SYSTEM)
    assert _fire_at("2026-11-27T09:00:01+01:00", ctx) == 1  # "P7D", SpiffWorkflow's quoted form
    assert _open_tasks(ctx) == ["tn_report", "tn_task"]
    assert _fire_at("2026-12-30T09:00:00+01:00", ctx) == 0


def test_intermediate_timer_in_working_days(ctx: EngineContext, frozen_clock: object) -> None:
    deploy_files(ctx, "timers.bpmn")
    ctx.run(start_instance, "timer_intermediate", {}, SYSTEM)
    (row,) = _bpmn_timers(ctx)
    assert row.fire_at == datetime.fromisoformat("2026-12-04T23:59:59+01:00")  # 10WD: end of the 10th day
    assert _fire_at("2026-12-04T23:00:00+01:00", ctx) == 0
    assert _open_tasks(ctx) == []
    assert _fire_at("2026-12-05T00:00:00+01:00", ctx) == 1
    assert _open_tasks(ctx) == ["tw_task"]
    assert fire_due_timers(ctx).total == 0


def test_time_date_timer(ctx: EngineContext, frozen_clock: object) -> None:
    deploy_files(ctx, "timers.bpmn")
    ctx.run(start_instance, "timer_date", {}, SYSTEM)
    assert _fire_at("2026-12-31T23:59:59+01:00", ctx) == 0
    assert _fire_at("2027-01-01T00:00:00+01:00", ctx) == 1
    assert _open_tasks(ctx) == ["td_task"]


def test_cycle_timer_fires_each_repetition_once(ctx: EngineContext, frozen_clock: object) -> None:
    deploy_files(ctx, "timers.bpmn")
    ctx.run(start_instance, "timer_cycle", {}, SYSTEM)
    start = clock.now()
    for n in (1, 2, 3):
        clock.freeze(start + timedelta(days=28 * n, seconds=1))
        assert fire_due_timers(ctx).bpmn_timers == 1
        assert fire_due_timers(ctx).bpmn_timers == 0
        assert _open_tasks(ctx).count("tc_ask") == n
    clock.freeze(start + timedelta(days=28 * 5))
    assert fire_due_timers(ctx).bpmn_timers == 0, "R3 fires three times only"
    assert _bpmn_timers(ctx) == []


def test_overdue_task_escalates_to_level_one_then_two(ctx: EngineContext, frozen_clock: object) -> None:
    deploy_files(ctx, "routing.bpmn")
    ctx.run(start_instance, "routing", {}, SYSTEM)  # abh_check due 2026-12-04 (10WD)

    def level() -> int:
        with ctx.uow(write=False) as uow:
            task = uow.session.scalar(select(HumanTask).where(HumanTask.bpmn_id == "abh_check"))
            assert task is not None
            return task.escalation_level

    clock.freeze(datetime.fromisoformat("2026-12-04T23:59:58+01:00"))
    assert fire_due_timers(ctx).escalations == 0
    clock.freeze(datetime.fromisoformat("2026-12-05T08:00:00+01:00"))
    assert fire_due_timers(ctx).escalations == 2  # abh_check and soz_task were due the same day
    assert level() == 1
    clock.freeze(datetime.fromisoformat("2026-12-11T23:59:58+01:00"))
    assert fire_due_timers(ctx).escalations == 0
    clock.freeze(datetime.fromisoformat("2026-12-12T00:00:00+01:00"))  # 5 working days after the due day
    assert fire_due_timers(ctx).escalations == 2
    assert level() == 2
    assert fire_due_timers(ctx).total == 0


def test_a_timer_row_the_workflow_does_not_know_is_dropped_not_fired_for_ever(
        ctx: EngineContext, frozen_clock: object) -> None:
    """Firing writes only what the step changed; a due row without its timer in the workflow
    (drift) must still go, or every scheduler cycle would pick the instance up again."""
    deploy_files(ctx, "timers.bpmn")
    ctx.run(start_instance, "timer_interrupting", {}, SYSTEM)
    (row,) = _bpmn_timers(ctx)
    with ctx.uow() as uow:
        uow.session.add(Timer(id=uuid4(), instance_id=row.instance_id, spiff_task_id=uuid4(), kind="bpmn", level=0,
                              bpmn_id="stray", fire_at=row.fire_at - timedelta(days=1), created_at=row.created_at,
                              attempts=0))
        uow.commit()
    assert _fire_at("2026-12-03T09:00:00+01:00", ctx) == 0, "the stray row is due, but no timer of the model"
    assert [t.bpmn_id for t in _bpmn_timers(ctx)] == [row.bpmn_id], "the stray row is gone, the real one waits"
    assert fire_due_timers(ctx).total == 0
    before = _open_tasks(ctx)
    assert _fire_at("2026-12-04T09:00:01+01:00", ctx) == 1, "the model's own timer still fires"
    assert (before, _open_tasks(ctx)) == (["ti_task"], ["ti_reminder"])


def test_instances_share_a_transaction_on_postgres_and_each_fires_once(
        ctx: EngineContext, frozen_clock: object) -> None:
    """PostgreSQL: due instances go a few to a transaction (one commit, one round of audit
    appends); SQLite keeps one per transaction (its write lock stays short)."""
    deploy_files(ctx, "timers.bpmn")
    count = firing.INSTANCES_PER_TRANSACTION + 3
    for _ in range(count):
        ctx.run(start_instance, "timer_interrupting", {}, SYSTEM)
    clock.freeze(datetime.fromisoformat("2026-12-04T09:00:01+01:00"))
    with counting(ctx.db) as sql:
        report = fire_due_timers(ctx)
    assert (report.bpmn_timers, report.instances, report.failed) == (count, count, 0)
    expected = count + 1 if ctx.db.is_sqlite else 2 + 1  # + the read of the due instances
    assert sql.transactions == expected
    assert _open_tasks(ctx) == ["ti_reminder"] * count
    assert fire_due_timers(ctx).total == 0
    with ctx.uow(write=False) as uow:
        fires = uow.session.scalar(select(func.count()).select_from(AuditEntry)
                                   .where(AuditEntry.action == "timer.fire"))
    assert fires == count, "each audited once"


@pytest.mark.postgres
def test_firing_waits_for_the_database_about_once_per_instance(
        ctx: EngineContext, frozen_clock: object, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An instance's firing sends its writes (the interrupted task cancelled, the new task, the
    fired timer deleted, the state saved) without waiting for them: they go with the next
    instance's locking read, the last ones with the transaction's audit round and its COMMIT.
    Round trips are what a scheduler mostly waits for (before: five per timer)."""
    if ctx.db.is_sqlite:
        pytest.skip("SQLite runs in the scheduler's process: no round trips")
    deploy_files(ctx, "timers.bpmn")
    count = firing.INSTANCES_PER_TRANSACTION * 2
    for _ in range(count):
        ctx.run(start_instance, "timer_interrupting", {}, SYSTEM)
    clock.freeze(datetime.fromisoformat("2026-12-04T09:00:01+01:00"))
    monkeypatch.setattr(firing, "FIRING_THREADS", 1)  # one connection at a time: a readable trace
    with round_trips(ctx.db, tmp_path / "firing.trace") as trips:
        report = fire_due_timers(ctx)
    assert report.bpmn_timers == count
    assert _open_tasks(ctx) == ["ti_reminder"] * count
    print(f"{trips.count} round trips for {count} timers")
    # one per instance (its locking read), and per transaction its BEGIN, the audit round and
    # the COMMIT; the read of the due instances three more (measured 30 for 20 timers)
    transactions = count // firing.INSTANCES_PER_TRANSACTION
    assert trips.count <= count + 4 * transactions + 3, trips.trace.read_text()


def test_a_broken_instance_among_others_is_rolled_back_alone(
        ctx: EngineContext, frozen_clock: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """One instance's model raising rolls back its transaction; its failure is recorded once,
    and the others of that transaction fire (again, without it)."""
    deploy_files(ctx, "timers.bpmn")
    ids = [ctx.run(start_instance, "timer_interrupting", {}, SYSTEM).instance_id for _ in range(4)]
    broken = ids[2]
    real, calls = firing.fire_for_instance, []

    def fire(session: Any, context: EngineContext, instance_id: UUID, now: datetime) -> Any:
        calls.append(instance_id)
        if instance_id == broken:
            raise RuntimeError("the model exploded")
        return real(session, context, instance_id, now)

    monkeypatch.setattr(firing, "fire_for_instance", fire)
    clock.freeze(datetime.fromisoformat("2026-12-04T09:00:01+01:00"))
    report = fire_due_timers(ctx)
    assert (report.bpmn_timers, report.failed) == (3, 1)
    assert calls.count(broken) == 1, "the broken one is tried once per cycle"
    with ctx.uow(write=False) as uow:
        rows = {t.instance_id: t for t in uow.session.scalars(select(Timer).where(Timer.kind == "bpmn"))}
    assert list(rows) == [broken], "the others fired, its timer waits"
    assert rows[broken].attempts == 1
    assert rows[broken].last_error == "RuntimeError: the model exploded"
