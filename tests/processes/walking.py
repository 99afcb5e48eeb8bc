"""What the process tests ask of a walked instance: which steps it passed, which timers wait."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from engine.demo.walker import CaseWalker
from engine.persistence.models import StepHistory, Timer


def reached(walker: CaseWalker) -> set[str]:
    """BPMN ids of the steps the instance has finished (from the history table)."""
    with walker.ctx.uow(write=False) as uow:
        return set(uow.session.scalars(select(StepHistory.bpmn_id)
                                       .where(StepHistory.instance_id == walker.instance_id)))


def bpmn_timers(walker: CaseWalker) -> dict[str, datetime]:
    """Pending BPMN timers of the instance, by BPMN id."""
    with walker.ctx.uow(write=False) as uow:
        rows = uow.session.scalars(select(Timer).where(Timer.instance_id == walker.instance_id,
                                                       Timer.kind == "bpmn", Timer.fired_at.is_(None)))
        return {t.bpmn_id: t.fire_at for t in rows}
