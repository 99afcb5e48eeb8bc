"""Case management accepts the plan-goal proposals of the latest screening into the integration plan.

One action: every proposal of the latest stored screening (what would open each NOT_MET row,
:mod:`engine.domain.path_openers`) becomes a goal of the case's open integration-plan step
(form ``kim_integration_plan``, its draft ``plan_goals``), with the owner office the plan-goal
table names and the date it must be reached by (the row's deadline; without one, the screening
day plus the usual duration). A goal already in the plan (same title) is not added twice. The
plan step then goes on as usual: whoever completes it agrees the plan with the person, and each
goal becomes a task of its office. Without an open plan step there is nothing to add to (409).
Audited with the number of goals, never their text.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Final
from uuid import UUID

from sqlalchemy import select, update

from engine.domain.actors import Actor
from engine.domain.durations import Duration, DurationError, parse_deadline
from engine.domain.errors import Conflict, NotAllowed
from engine.domain.path_openers import GoalProposal, PathOpener
from engine.domain.residence_results import path_label
from engine.domain.residence_values import add_months
from engine.domain.visibility import CaseView
from engine.persistence import audit_log
from engine.persistence.models import OPEN_STATES, HumanTask
from engine.services.casework.cases import load_case
from engine.services.context import UnitOfWork
from engine.services.screening.panel import latest_screening, require_screening

PLAN_FORM: Final = "kim_integration_plan"
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
    """Add every proposal of the latest screening to the open integration-plan step of the case.

    Case management of the case only (403 otherwise); 404 without a screening, 409 without an
    open plan step. Returns ``{"task_id", "added", "goals"}`` (the goals added).
    """
    access = load_case(uow.session, actor, case_id)  # NotFound: the caller may not see the case
    if access.view is not CaseView.MANAGER:
        raise NotAllowed("Vorschläge übernimmt das Case Management in den Integrationsplan.")
    panel = require_screening(latest_screening(uow, actor, case_id, access))
    session = uow.session
    task = session.execute(select(HumanTask.id, HumanTask.data, HumanTask.version).where(
        HumanTask.case_id == case_id, HumanTask.form_key == PLAN_FORM, HumanTask.state.in_(OPEN_STATES))
        .order_by(HumanTask.created_at.desc()).limit(1)).first()
    if task is None:
        raise Conflict("Kein offener Schritt „Integrationsplan“ in diesem Fall: die Vorschläge können erst "
                       "übernommen werden, wenn der Plan (wieder) vereinbart wird.")
    data = dict(task.data or {})
    present = {str(goal.get("title")) for goal in data.get("plan_goals") or () if isinstance(goal, dict)}
    new = [goal for goal in plan_goals_of(panel.proposals, dict(panel.names), panel.result.main.eval_date)
           if goal["title"] not in present]
    data["plan_goals"] = [*(data.get("plan_goals") or []), *new][:30]  # the form allows 30 goals
    done = session.execute(update(HumanTask).where(HumanTask.id == task.id, HumanTask.version == task.version)
                           .values(data=data, version=task.version + 1))
    if done.rowcount != 1:  # type: ignore[attr-defined]  # CursorResult
        raise Conflict("the plan step was changed by someone else; try again")
    audit_log.record(session, actor, "screening.accept_goals", "task", task.id, case_id=case_id,
                     details={"run_id": str(panel.run_id), "added": len(new)})
    return {"task_id": str(task.id), "added": len(new), "goals": new}
