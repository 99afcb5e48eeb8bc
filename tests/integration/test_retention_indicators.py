"""After retention deleted the content of November 2026's cases, the indicators over November
2026 still give the same figures: the facts they count are kept (DOMAIN.md sections 8 and 10)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from engine import clock
from engine.domain.actors import Actor
from engine.persistence.models import CaseFile, HumanTask, InstanceStatus, ProcessInstance
from engine.services.context import EngineContext
from engine.services.reporting import kpis
from engine.services.retention import runs
from tests.integration.retention_support import berlin
from tests.integration.test_kpis import actors, walk_november

__all__ = ["actors"]  # the fixture, shared with the indicator tests


def _close_everything(ctx: EngineContext) -> None:
    """The six cases still running end on 2026-11-30 (as if their processes had completed)."""
    end = berlin("2026-11-30T16:00:00")
    with ctx.uow() as uow:
        uow.session.execute(update(ProcessInstance).where(ProcessInstance.status == InstanceStatus.RUNNING.value)
                            .values(status=InstanceStatus.COMPLETED.value, ended_at=end))
        uow.session.execute(update(CaseFile).where(CaseFile.status == "open")
                            .values(status="closed", closed_at=end, closure_reason="GOALS_ACHIEVED"))
        uow.commit()


def _november(ctx: EngineContext, reader: Actor) -> list[dict[str, Any]]:
    report = ctx.run(kpis.kpi_report, reader, kpis.parse_range({"from": "2026-11-01", "to": "2026-11-30"}))
    return list(report["indicators"])


def test_indicators_over_deleted_cases_stay_the_same(ctx: EngineContext, actors: dict[str, Actor]) -> None:
    try:
        walk_november(ctx, actors)
        _close_everything(ctx)
        clock.freeze(berlin("2026-12-15T09:00:00"))
        before = _november(ctx, actors["KI"])
        clock.freeze(berlin("2030-01-02T03:00:00"))
        report = runs.run_retention(ctx)
        after = _november(ctx, actors["KI"])
    finally:
        clock.reset()
    assert len(report.deleted) == 11
    assert report.failed == []
    with ctx.uow(write=False) as uow:
        names = set(uow.session.scalars(select(CaseFile.family_name)))
        plans = uow.session.scalars(select(HumanTask).where(HumanTask.form_key == "kim_integration_plan"))
        notes = [t.data for t in plans if t.data]
    assert names == {""}
    assert notes
    assert all(set(n) <= {"plan_goals"} and all(set(g) == {"goal_type"} for g in n["plan_goals"]) for n in notes)
    assert after == before
    shown = {i["key"]: i["value"] for i in before}
    assert shown["cases_closed"] == 11  # the comparison is over real figures, not suppressed ones
    assert shown["counselling_sessions"] == 6
