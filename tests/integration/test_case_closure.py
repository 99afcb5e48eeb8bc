"""When a case's process ends, the case is closed with the reason its closure step recorded."""

from __future__ import annotations

from sqlalchemy import select

from engine.domain.actors import SYSTEM, Actor
from engine.persistence.models import AuditEntry, CaseFile, HumanTask
from engine.services.casework import cases
from engine.services.casework.instances import complete_task
from engine.services.context import EngineContext
from tests.conftest import deploy_files

CARLA = Actor("carla", "caseworker", frozenset({1}), None, frozenset({"CM"}))


def _open_task(ctx: EngineContext) -> HumanTask:
    with ctx.uow(write=False) as uow:
        task = uow.session.scalar(select(HumanTask).where(HumanTask.state == "open"))
    assert task is not None
    return task


def test_case_closes_with_the_recorded_reason(ctx: EngineContext) -> None:
    deploy_files(ctx, "beratung.bpmn")
    case = ctx.run(cases.open_case, CARLA, {"person": {"given_name": "Omid", "family_name": "Rahimi"},
                                        "referral": {"source": "SOZ", "reason": "Beratung"},
                                        "process_id": "beratung"})
    ctx.run(complete_task, _open_task(ctx).id, SYSTEM, {"kontakt_am": "2026-11-20", "sprache": "fa", "termine": 1})
    with ctx.uow(write=False) as uow:
        still_open = uow.session.get(CaseFile, case.id)
        assert still_open is not None
        assert still_open.status == "open"
    ctx.run(complete_task, _open_task(ctx).id, SYSTEM, {"closure_reason": "MOVED_AWAY"})
    with ctx.uow(write=False) as uow:
        closed = uow.session.get(CaseFile, case.id)
        audited = uow.session.scalar(select(AuditEntry).where(AuditEntry.action == "case.close"))
    assert closed is not None
    assert closed.status == "closed"
    assert closed.closure_reason == "MOVED_AWAY"
    assert closed.closed_at is not None
    assert audited is not None
