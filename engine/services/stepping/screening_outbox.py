"""Every screening run is stored (DOMAIN.md section 5, "each run is stored"): the step's outbox.

Why an outbox. A BPMN service task calls the ``residence_paths`` operation in the middle of an
engine step, and operations must not write (the transaction rule, see
:mod:`engine.services.wiring`): the step is one transaction, and the operation cannot know
whether the step will be saved at all. So the operation only *notes* its answer here, and the
step writes the noted screenings into its own transaction right after it has projected tasks and
timers (:func:`engine.services.stepping.step.persist_step` and ``start`` call :func:`store_noted`;
the rows are written by :func:`engine.persistence.screenings.store_screening`).
If the step fails, nothing is written and the note is dropped with it.

The outbox is a context variable, so each thread (each web request, each scheduler item) has its
own. A step opens it (:func:`open_outbox`, from ``step.restore`` and ``step.start``) before the
runtime runs; an operation called with no outbox open (a test walking a model, a preview)
stores nothing. Opening drops whatever a failed step left behind.

The same outbox carries a member's inputs the pathway records (``household_member_inputs``, e.g. the
date an application was filed, answered on a deadline warning about the member): they are written
first, so a screening stored in the same step and every later one sees them
(:func:`engine.persistence.household_inputs.change_member_inputs`, audited as ``household.inputs``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID

from sqlalchemy.orm import Session

from engine.domain.actors import Actor
from engine.persistence.household_inputs import change_member_inputs, member_ids
from engine.persistence.models import CaseFile
from engine.persistence.screenings import store_screening

MAX_NOTED: Final = 50  # a model looping over the screening without a wait state stores the first 50


@dataclass(frozen=True)
class NotedScreening:
    """What the operation answered, and on which inputs (main person and household members)."""

    inputs: Mapping[str, Any]
    household: Sequence[Mapping[str, Any]]
    result: Mapping[str, Any]   # ScreeningResult.to_json()
    trigger: str


@dataclass(frozen=True)
class NotedMemberInputs:
    """Inputs of one household member the process records (checked by the operation)."""

    member: str
    changes: Mapping[str, Any]
    trigger: str


Noted = NotedScreening | NotedMemberInputs
_OUTBOX: ContextVar[list[Noted] | None] = ContextVar("kim_screening_outbox", default=None)


def open_outbox() -> None:
    """A step begins: screenings noted from now on belong to it."""
    _OUTBOX.set([])


def note(noted: Noted) -> None:
    """Called by the operation; a no-op when no step is running."""
    outbox = _OUTBOX.get()
    if outbox is not None and len(outbox) < MAX_NOTED:
        outbox.append(noted)


def take_noted() -> list[Noted]:
    """The screenings noted since the step began; the outbox is closed."""
    outbox = _OUTBOX.get() or []
    _OUTBOX.set(None)
    return outbox


def store_noted(session: Session, case_id: UUID | None, instance_id: UUID | None, actor: Actor) -> list[UUID]:
    """Write the step's noted screenings (one ``screening`` row per person) in the step's transaction.

    A process without a case (a test process, a preview) stores nothing. Each run is audited. Member
    inputs noted in the step are written first (a member no longer on the case is skipped).
    """
    noted = take_noted()
    if case_id is None:
        return []
    changes = [item for item in noted if isinstance(item, NotedMemberInputs)]
    if changes:
        _store_member_inputs(session, case_id, actor, changes)
    return [store_screening(session, case_id, instance_id, actor, item.inputs, item.household, item.result,
                            item.trigger) for item in noted if isinstance(item, NotedScreening)]


def _store_member_inputs(session: Session, case_id: UUID, actor: Actor, changes: Sequence[NotedMemberInputs]) -> None:
    case = session.get(CaseFile, case_id)
    if case is None:
        return
    known = member_ids(case)
    for item in changes:
        if item.member in known:
            change_member_inputs(session, actor, case, item.member, item.changes, details={"trigger": item.trigger})
