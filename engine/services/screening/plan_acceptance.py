"""Case management accepts the plan-goal proposals of the latest screening into the integration plan.

One action: every proposal of the latest stored screening (what would open each NOT_MET row,
:mod:`engine.domain.path_openers`) becomes a goal of the case's open integration-plan step
(form ``kim_integration_plan``, its draft ``plan_goals``), with the owner office the plan-goal
table names and the date it must be reached by (the row's deadline; without one, the screening
day plus the usual duration). A goal already in the plan (same title) is not added twice. The
plan step then goes on as usual: whoever completes it agrees the plan with the person, and each
goal becomes a task of its office. Once the plan was agreed (the usual case: screenings follow a
goal reached, a monitoring step, a clarified identity) there is no plan step open: the action then
starts a plan revision in the case's pathway ("Integrationsplan fortschreiben", message
``integrationsplan_fortschreiben``) with the new goals in its draft - its goals become tasks of
their offices and re-screen when reached, like the first plan's. Goals any plan already holds
(same title) are not added twice; at most one revision is open at a time. Before the first plan
step there is nothing to add to (409). Audited with the number of goals, never their text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.domain.actors import Actor
from engine.domain.durations import Duration, DurationError, parse_deadline
from engine.domain.errors import Conflict, NotAllowed
from engine.domain.path_openers import GoalProposal, PathOpener
from engine.domain.residence_results import path_label
from engine.domain.residence_values import add_months
from engine.domain.visibility import CaseView
from engine.persistence import audit_log, store
from engine.persistence.models import OPEN_STATES, HumanTask, TaskState
from engine.services.casework.cases import load_case
from engine.services.context import UnitOfWork
from engine.services.screening.panel import latest_screening, require_screening
from engine.services.stepping import messages

PLAN_FORM: Final = "kim_integration_plan"
REVISION_MESSAGE: Final = "integrationsplan_fortschreiben"  # starts the plan revision in kim_pathway.bpmn
# Plan-goal code of the plan-goal table -> goal type of the integration-plan form [default].
GOAL_TYPES: Final = {
    "language_course_a2": "LANGUAGE_COURSE", "language_course_b1": "LANGUAGE_COURSE", "lid_test": "LID_TEST",
    "job_placement": "JOB_PLACEMENT", "insured_employment": "JOB_PLACEMENT", "qualified_job_offer": "JOB_PLACEMENT",
    "identity_clarification": "IDENTITY_DOCUMENTS", "lift_60b": "IDENTITY_DOCUMENTS",
    "school_confirmation": "SCHOOL_CERTIFICATE", "adequate_housing": "HOUSING",
}
PLAN_OFFICES: Final = frozenset({"CM", "KI", "ABH", "EBB", "SOZ", "JC", "AA", "JA", "SCH"})


def plan_goals_of(openers: tuple[PathOpener, ...], names: dict[str, str], eval_date: str) -> list[dict[str, Any]]:
    """The integration-plan goals for the proposals: one per person and plan goal, naming every path it
    would open, due by the earliest date any of them needs."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for opener in openers:
        for proposal in opener.proposals:
            office = proposal.offices[0] if proposal.offices and proposal.offices[0] in PLAN_OFFICES else "CM"
            key = (opener.member, proposal.goal)
            goal = merged.setdefault(key, {"who": names.get(opener.member, opener.member), "title": proposal.title,
                                           "goal_type": GOAL_TYPES.get(proposal.goal, "OTHER"), "office": office,
                                           "paths": [], "due_on": _due_on(proposal, eval_date)})
            if path_label(opener.path) not in goal["paths"]:
                goal["paths"].append(path_label(opener.path))
            goal["due_on"] = min(goal["due_on"], _due_on(proposal, eval_date))
    return [{"goal_type": g["goal_type"], "title": f"{g['who']}: {g['title']} (für {', '.join(g['paths'])})"[:200],
             "owner_office": g["office"], "due_on": g["due_on"]} for g in merged.values()]


def _due_on(proposal: GoalProposal, eval_date: str) -> str:
    if proposal.reach_by:
        return proposal.reach_by
    start = date.fromisoformat(eval_date)
    try:
        parsed = parse_deadline(proposal.duration)
    except DurationError:
        return start.isoformat()
    if not isinstance(parsed, Duration):
        return start.isoformat()
    return (add_months(start, parsed.calendar_months) + timedelta(days=parsed.calendar_days)).isoformat()


def accept_proposals(uow: UnitOfWork, actor: Actor, case_id: UUID) -> dict[str, Any]:
    """Add every proposal of the latest screening to the integration plan of the case.

    Into the open plan step (the first plan or a revision) if there is one; once the plan was
    agreed, into a new plan revision the pathway starts for it. Case management of the case only
    (403 otherwise); 404 without a screening, 409 before the first plan step. Returns
    ``{"task_id", "added", "goals", "revision"}`` (the goals added; ``revision``: a revision was started).
    """
    access = load_case(uow.session, actor, case_id)  # NotFound: the caller may not see the case
    if access.view is not CaseView.MANAGER:
        raise NotAllowed("Vorschläge übernimmt das Case Management in den Integrationsplan.")
    panel = require_screening(latest_screening(uow, actor, case_id, access))
    proposed = plan_goals_of(panel.proposals, dict(panel.names), panel.result.main.eval_date)
    plans = _plan_steps(uow.session, case_id)
    step = _open_step(plans)
    if step is None:
        if not any(p.state == TaskState.COMPLETED.value for p in plans):
            raise Conflict("Kein offener Schritt „Integrationsplan“ in diesem Fall: die Vorschläge können erst "
                           "übernommen werden, wenn der Plan (wieder) vereinbart wird.")
        return _revise(uow, actor, case_id, str(panel.run_id), proposed, plans[0].instance_id)
    return _add_to_draft(uow.session, actor, case_id, str(panel.run_id), step, _new(proposed, plans))


def _plan_steps(session: Session, case_id: UUID) -> list[Any]:
    """Every plan step of the case (the first plan and its revisions, any state), newest first."""
    return list(session.execute(select(HumanTask.id, HumanTask.data, HumanTask.version, HumanTask.state,
                                       HumanTask.instance_id)
                                .where(HumanTask.case_id == case_id, HumanTask.form_key == PLAN_FORM)
                                .order_by(HumanTask.created_at.desc())).all())


def _open_step(plans: list[Any]) -> Any:
    return next((p for p in plans if p.state in OPEN_STATES), None)


def _new(proposed: list[dict[str, Any]], plans: list[Any]) -> list[dict[str, Any]]:
    """The proposals no plan holds yet: not the agreed plans' goals, nor an open step's draft."""
    present = {str(goal.get("title")) for plan in plans if plan.state in (*OPEN_STATES, TaskState.COMPLETED.value)
               for goal in (plan.data or {}).get("plan_goals") or () if isinstance(goal, dict)}
    return [goal for goal in proposed if goal["title"] not in present]


def _add_to_draft(session: Session, actor: Actor, case_id: UUID, run_id: str, task: Any,
                  new: list[dict[str, Any]], revision: bool = False) -> dict[str, Any]:
    """Append ``new`` to the draft of the open plan step ``task`` (compare-and-set on its version)."""
    data = dict(task.data or {})
    data["plan_goals"] = [*(data.get("plan_goals") or []), *new][:30]  # the form allows 30 goals
    done = session.execute(update(HumanTask).where(HumanTask.id == task.id, HumanTask.version == task.version)
                           .values(data=data, version=task.version + 1))
    if done.rowcount != 1:  # type: ignore[attr-defined]  # CursorResult
        raise Conflict("the plan step was changed by someone else; try again")
    details = {"run_id": run_id, "added": len(new), **({"revision": True} if revision else {})}
    audit_log.record(session, actor, "screening.accept_goals", "task", task.id, case_id=case_id, details=details)
    return {"task_id": str(task.id), "added": len(new), "goals": new, "revision": revision}


def _revise(uow: UnitOfWork, actor: Actor, case_id: UUID, run_id: str, proposed: list[dict[str, Any]],
            instance_id: UUID) -> dict[str, Any]:
    """No plan step is open: the pathway starts a plan revision with the new goals in its draft.

    The instance row lock serialises two accepts at once: the second finds the first one's
    revision open (read again under the lock) and adds to it, so there is never a second one.
    """
    session = uow.session
    instance = store.lock_instance(session, instance_id)
    if instance is None:
        raise Conflict("the case's process no longer exists")
    plans = _plan_steps(session, case_id)
    new = _new(proposed, plans)
    step = _open_step(plans)
    if step is not None:  # started by an accept that ran while we waited for the lock
        return _add_to_draft(session, actor, case_id, run_id, step, new)
    if not new:
        return {"task_id": None, "added": 0, "goals": [], "revision": False}
    projection = messages.deliver(session, uow.ctx, instance, REVISION_MESSAGE,
                                  {"run_id": run_id, "goals": len(new)}, actor)
    created = [t for t in projection.created if t.row.get("form_key") == PLAN_FORM]
    if not created:
        raise Conflict("Das Prozessmodell des Falls beginnt keine Fortschreibung des Integrationsplans.")
    row = created[0].row
    task = _Step(created[0].id, dict(row.get("data") or {}), int(row.get("version") or 1))
    return _add_to_draft(session, actor, case_id, run_id, task, new[:30], revision=True)


@dataclass(frozen=True)
class _Step:
    """The plan revision step just created (as the projection inserted it)."""

    id: UUID
    data: dict[str, Any]
    version: int
