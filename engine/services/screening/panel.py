"""The household screening on the case page and in the API: the latest run, what changed, what would open.

Read from the stored runs (table ``screening``, :mod:`engine.persistence.screenings`), never from
workflow state, and shown as the caller may see it (:func:`engine.domain.screening_audience.for_audience`):
the ABH sees every reason, case management sees "gesperrt - Grund liegt bei der ABH" instead of a
conviction, the partner offices see path and status only, everybody else nothing. The plan-goal
proposals (what would open each NOT_MET row) are for case management and the ABH. Every read is
audited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from engine.domain.actors import Actor
from engine.domain.errors import NotFound
from engine.domain.path_openers import PathOpener
from engine.domain.residence_results import MAIN, HouseholdSummary, PersonScreening, ScreeningResult, path_label
from engine.domain.screening_audience import for_audience
from engine.domain.visibility import CaseView
from engine.persistence import audit_log
from engine.persistence.models import Screening
from engine.persistence.screenings import runs_of_case
from engine.services.casework.cases import CaseAccess, load_case
from engine.services.context import UnitOfWork
from engine.services.screening.members import case_members
from engine.services.screening.openers import propose_plan_goals

PROPOSAL_VIEWS = (CaseView.MANAGER, CaseView.AUTHORITY)


@dataclass(frozen=True)
class RowChange:
    """One row that is new, gone, or has another status or deadline than in the previous run."""

    person: str
    path: str
    derived_from: str | None
    before: str | None       # status before (None: the row is new)
    after: str | None        # status now (None: the row is gone)
    deadline_before: str | None
    deadline_after: str | None

    def to_json(self) -> dict[str, Any]:
        return {"person": self.person, "path": self.path, "derived_from": self.derived_from, "before": self.before,
                "after": self.after, "deadline_before": self.deadline_before, "deadline_after": self.deadline_after}


@dataclass(frozen=True)
class ScreeningPanel:
    """The latest household screening of a case as one caller may see it."""

    run_id: UUID
    evaluated_at: datetime
    ran_by: str
    trigger: str
    result: ScreeningResult
    names: Mapping[str, str]                        # person id -> display name
    previous_at: datetime | None = None
    changes: tuple[RowChange, ...] = ()
    proposals: tuple[PathOpener, ...] = ()
    waiting: tuple[Mapping[str, Any], ...] = ()     # members not screened yet: {id, missing}
    view: str = CaseView.MANAGER.value
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"run_id": str(self.run_id), "evaluated_at": self.evaluated_at.isoformat(), "ran_by": self.ran_by,
                "trigger": self.trigger, "screening": self.result.to_json(), "names": dict(self.names),
                "previous_at": self.previous_at.isoformat() if self.previous_at else None,
                "changes": [c.to_json() for c in self.changes],
                "proposals": [p.to_json() for p in self.proposals], "waiting": [dict(w) for w in self.waiting]}


def latest_screening(uow: UnitOfWork, actor: Actor, case_id: UUID,
                     access: CaseAccess | None = None) -> ScreeningPanel | None:
    """The case's latest stored household screening with its changes; None before the first run
    or for a caller who may not see residence status. NotFound for a case the caller may not see.

    ``access``: the caller's access to the case when the caller has loaded it already (one load
    per request); without it the case is loaded here."""
    session = uow.session
    if access is None:
        access = load_case(session, actor, case_id)
    runs = runs_of_case(session, case_id, 2)
    audit_log.record(session, actor, "screening.read", "case", case_id, case_id=case_id,
                     details={"view": access.view.value, "runs": len(runs)})
    if not runs or not runs[0][0].result:  # none yet, or its content was deleted (retention)
        return None
    latest = _result(runs[0])
    shown = for_audience(latest, access.view)
    if shown is None:
        return None
    previous = for_audience(_result(runs[1]), access.view) if len(runs) > 1 and runs[1][0].result else None
    head = runs[0][0]
    proposals = propose_plan_goals(uow.ctx, latest) if access.view in PROPOSAL_VIEWS else ()
    names = {MAIN: f"{access.case.given_name} {access.case.family_name}"}
    names.update({m.id: " ".join(filter(None, (m.given_name, m.family_name))) for m in case_members(access.case)})
    return ScreeningPanel(head.run_id, head.evaluated_at, head.ran_by, head.trigger, shown, names,
                          runs[1][0].evaluated_at if len(runs) > 1 else None,
                          changes(previous, shown) if previous is not None else (),
                          proposals, tuple(head.result.get("household_waiting") or ()), access.view.value)


def _result(run: Sequence[Screening]) -> ScreeningResult:
    """A stored run as a result object again (main person's row first)."""
    main = run[0]
    body = main.result
    household = body.get("household")
    return ScreeningResult(PersonScreening.from_json(body),
                           tuple(PersonScreening.from_json(s.result, s.person) for s in run[1:]),
                           HouseholdSummary.from_json(household) if household is not None else None,
                           dict(body.get("versions") or {}))


def changes(before: ScreeningResult, after: ScreeningResult) -> tuple[RowChange, ...]:
    """Rows whose status or deadline differs between two runs, and rows that came or went."""
    def rows(result: ScreeningResult) -> dict[tuple[str, str, str | None], tuple[str, str | None]]:
        return {(p.id, r.path, r.derived_from): (r.status.value, r.deadline) for p in result.people for r in p.rows}

    old, new = rows(before), rows(after)
    found = []
    for key in [*new, *(k for k in old if k not in new)]:
        was, now = old.get(key), new.get(key)
        if was != now:
            found.append(RowChange(key[0], key[1], key[2], was[0] if was else None, now[0] if now else None,
                                   was[1] if was else None, now[1] if now else None))
    return tuple(found)


def describe_change(change: RowChange, names: Mapping[str, str]) -> str:
    """German sentence for a change, e.g. "Amina: §25b ELIGIBLE -> NOT_MET"."""
    who = names.get(change.person, change.person)
    return f"{who}: {path_label(change.path)} {change.before or 'neu'} → {change.after or 'entfällt'}"


def require_screening(panel: ScreeningPanel | None) -> ScreeningPanel:
    if panel is None:
        raise NotFound("no screening of this case yet")
    return panel
