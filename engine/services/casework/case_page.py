"""What the case page shows besides the case: the timeline and the process diagram."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select

from engine.domain.actors import Actor
from engine.domain.visibility import CaseView, sees_lead_tasks
from engine.persistence.definitions import definition_source
from engine.persistence.models import (
    LIVE_STATES,
    CaseConference,
    HumanTask,
    ProcessDefinition,
    ProcessInstance,
    StepHistory,
    Timer,
)
from engine.persistence.store import AUDIT
from engine.services.casework.cases import load_case
from engine.services.casework.views import CaseProcess, TimelineEntry
from engine.services.context import UnitOfWork

TIMELINE_HIDDEN = ("case.read", "task.read")
DIAGRAM_VIEWS = (CaseView.MANAGER, CaseView.AUTHORITY)


def case_timeline(uow: UnitOfWork, actor: Actor, case_id: UUID, limit: int = 200) -> tuple[TimelineEntry, ...]:
    """What happened in the case, newest first, from the audit trail (reads left out).

    Only the case management of the case sees the whole timeline; other offices see the
    entries about their own tasks. Entries about the tasks for office leads are left out for
    whoever may not see those tasks.
    """
    session = uow.session
    access = load_case(session, actor, case_id)
    rows = session.execute(select(AUDIT).where(AUDIT.c.case_id == case_id, AUDIT.c.action.not_in(TIMELINE_HIDDEN))
                           .order_by(AUDIT.c.id.desc()).limit(limit)).mappings()
    entries = tuple(TimelineEntry(r["at"], r["actor"], r["action"], r["object_type"], r["object_id"],
                                  r["details"] or {}) for r in rows)
    hidden = set() if sees_lead_tasks(actor) else {str(t) for t in session.scalars(select(HumanTask.id).where(
        HumanTask.case_id == case_id, HumanTask.audience.is_not(None)))}
    if access.view == CaseView.MANAGER:
        return tuple(e for e in entries if e.object_id not in hidden)
    own = {str(t) for t in session.scalars(select(HumanTask.id).where(
        HumanTask.case_id == case_id, HumanTask.office_id.in_(actor.office_ids)))}
    return tuple(e for e in entries if e.object_id in own - hidden)


def case_process(uow: UnitOfWork, actor: Actor, case_id: UUID) -> CaseProcess | None:
    """The case's process for the diagram: BPMN XML of its version, where it stands (open
    tasks, waiting timers) and what it passed (the screening has its own panel, from the stored
    screenings).
    Case management and the ABH only; others get None."""
    session = uow.session
    access = load_case(session, actor, case_id)
    if access.view not in DIAGRAM_VIEWS:
        return None
    instance = session.scalar(select(ProcessInstance).where(
        ProcessInstance.case_id == case_id, ProcessInstance.id.not_in(select(CaseConference.instance_id)))
        .order_by(ProcessInstance.started_at.desc()).limit(1))  # the case's own process, not a conference
    if instance is None:
        return None
    definition = session.get(ProcessDefinition, instance.definition_id)
    assert definition is not None  # noqa: S101  # foreign key
    active = set(session.scalars(select(HumanTask.bpmn_id).where(
        HumanTask.instance_id == instance.id, HumanTask.state.in_(LIVE_STATES))))
    active |= set(session.scalars(select(Timer.bpmn_id).where(Timer.instance_id == instance.id,
                                                              Timer.kind == "bpmn")))
    done = set(session.scalars(select(StepHistory.bpmn_id).where(StepHistory.instance_id == instance.id)))
    xml = definition_source(session, definition).content.decode("utf-8")
    return CaseProcess(definition.key, definition.version, xml, instance.status, tuple(sorted(active)),
                       tuple(sorted(done - active)))


