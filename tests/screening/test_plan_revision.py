"""Accepting plan-goal proposals after the plan was agreed (DOMAIN.md section 5): the pathway starts a
plan revision ("Integrationsplan fortschreiben") with the proposals in its draft; its goals become
tasks of their offices and, when reached, re-screen the household like the first plan's goals - the
new screening reaches the deadline dispatcher. At most one revision is open at a time, and a goal
any plan holds is not proposed twice."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select, update

from engine.demo.walker import CaseWalker
from engine.domain.actors import Actor
from engine.domain.errors import Conflict, NotAllowed, NotFound
from engine.persistence import store
from engine.persistence.models import AuditEntry, HumanTask, ProcessInstance, StepHistory
from engine.services.casework import task_actions
from engine.services.context import EngineContext
from engine.services.screening import plan_acceptance
from tests.processes.test_kim_pathway import ENDS, berlin, stored_triggers
from tests.processes.test_task_context import contexts
from tests.processes.walking import reached
from tests.screening.test_case_screening import _screen, actors, family_case  # noqa: F401  # fixtures
from tests.threads import at_once

REVISION = "plan_revision"
GOAL = "revised_goals"


def _agreed(walker: CaseWalker) -> None:
    """Screened, pre-checked and the first plan agreed (with the sample goal, not the proposals)."""
    _screen(walker)
    walker.complete("abh_precheck")
    walker.complete("plan")


def _accept(ctx: EngineContext, actor: Actor, walker: CaseWalker) -> dict[str, Any]:
    assert walker.case_id is not None
    return dict(ctx.run(plan_acceptance.accept_proposals, actor, walker.case_id))


def _task_rows(ctx: EngineContext, walker: CaseWalker, bpmn_id: str) -> list[Any]:
    with ctx.uow(write=False) as uow:
        return list(uow.session.scalars(select(HumanTask).where(HumanTask.case_id == walker.case_id,
                                                                HumanTask.bpmn_id == bpmn_id)
                                        .order_by(HumanTask.created_at)))


def _passed(ctx: EngineContext, walker: CaseWalker, bpmn_id: str) -> int:
    """How often the pathway finished step ``bpmn_id``."""
    with ctx.uow(write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(StepHistory).where(
            StepHistory.instance_id == walker.instance_id, StepHistory.bpmn_id == bpmn_id)) or 0)


def _audited(ctx: EngineContext, walker: CaseWalker, action: str) -> list[dict[str, Any]]:
    with ctx.uow(write=False) as uow:
        return [dict(d or {}) for d in uow.session.scalars(select(AuditEntry.details).where(
            AuditEntry.case_id == walker.case_id, AuditEntry.action == action).order_by(AuditEntry.id))]


def test_accepting_after_the_plan_was_agreed_starts_a_revision_whose_goals_reach_their_offices_and_rescreen(
        ctx: EngineContext, actors: dict[str, Actor], family_case: CaseWalker) -> None:  # noqa: F811
    _agreed(family_case)
    done = _accept(ctx, actors["CM"], family_case)
    assert done["revision"] is True
    assert done["added"] == len(done["goals"]) >= 2
    (revision,) = _task_rows(ctx, family_case, REVISION)
    assert str(revision.id) == done["task_id"]
    assert (revision.name, revision.form_key, revision.state) == (
        "Integrationsplan fortschreiben", "kim_integration_plan", "open")
    assert [t.office for t in family_case.tasks() if t.bpmn_id == REVISION] == ["CM"]
    assert revision.data["plan_goals"] == done["goals"], "the proposals are in the draft"
    (accepted,) = _audited(ctx, family_case, "screening.accept_goals")
    assert accepted == {"run_id": accepted["run_id"], "added": done["added"], "revision": True}
    assert _audited(ctx, family_case, "instance.message") == [{"message": "integrationsplan_fortschreiben"}]

    offices = sorted({g["owner_office"] for g in done["goals"]})
    assert len(offices) >= 2, "the family's proposals name more than one office"
    family_case.complete(REVISION, plan_goals=done["goals"])
    goal_tasks = [t for t in family_case.tasks() if t.bpmn_id == GOAL]
    assert sorted(t.office for t in goal_tasks) == sorted(g["owner_office"] for g in done["goals"]), \
        "one task per goal, in the goal's office"
    assert sorted(contexts(family_case, GOAL)) == sorted(
        [[("Ziel", g["title"]), ("Fällig am", g["due_on"])] for g in done["goals"]]), "each task says its goal"
    assert stored_triggers(family_case) == ["assessment"]
    dispatched = _passed(ctx, family_case, "apply_deadline_rescreen")
    family_case.complete(GOAL, goal_status="ACHIEVED")
    assert stored_triggers(family_case) == ["assessment", "plan_goal"], "a goal of the revision reached re-screens"
    assert _passed(ctx, family_case, "apply_deadline_rescreen") == dispatched + 1, "the deadlines follow it"
    family_case.complete(GOAL, goal_status="NOT_ACHIEVED")
    assert stored_triggers(family_case) == ["assessment", "plan_goal"], "a goal not reached is no reason"
    while GOAL in family_case.open_ids():
        family_case.complete(GOAL, goal_status="NOT_ACHIEVED")
    assert reached(family_case) >= ENDS["plan_revision"]
    assert family_case.status() == "running", "the case goes on"


def test_a_second_accept_adds_to_the_open_revision_and_an_agreed_goal_is_not_proposed_again(
        ctx: EngineContext, actors: dict[str, Actor], family_case: CaseWalker) -> None:  # noqa: F811
    _agreed(family_case)
    first = _accept(ctx, actors["CM"], family_case)
    again = _accept(ctx, actors["CM"], family_case)
    assert (again["revision"], again["added"], again["task_id"]) == (False, 0, first["task_id"])
    (revision,) = _task_rows(ctx, family_case, REVISION)
    dropped, *kept = revision.data["plan_goals"]
    ctx.run(task_actions.save_draft, actors["CM"], revision.id, {"plan_goals": kept})  # one goal taken out
    third = _accept(ctx, actors["CM"], family_case)
    assert (third["revision"], third["task_id"], third["goals"]) == (False, first["task_id"], [dropped])
    (revision,) = _task_rows(ctx, family_case, REVISION)
    titles = [g["title"] for g in revision.data["plan_goals"]]
    assert len(titles) == len(set(titles)) == first["added"]

    family_case.complete(REVISION, plan_goals=kept)  # agreed without the goal taken out
    after = _accept(ctx, actors["CM"], family_case)
    assert (after["revision"], after["goals"]) == (True, [dropped]), "only what no agreed plan holds"
    assert sorted(t.state for t in _task_rows(ctx, family_case, REVISION)) == ["completed", "open"]
    family_case.complete(REVISION, plan_goals=after["goals"])
    nothing = _accept(ctx, actors["CM"], family_case)
    assert (nothing["revision"], nothing["added"], nothing["task_id"]) == (False, 0, None)
    assert len(_task_rows(ctx, family_case, REVISION)) == 2, "no empty revision"


def test_two_accepts_at_the_same_moment_start_one_revision(
        ctx: EngineContext, actors: dict[str, Actor], family_case: CaseWalker) -> None:  # noqa: F811
    """The case's instance row lock serialises them: the second finds the first one's revision open."""
    _agreed(family_case)
    answers, errors = at_once(lambda: _accept(ctx, actors["CM"], family_case))
    assert errors == []
    assert sorted(a["revision"] for a in answers) == [False, True]
    assert len({a["task_id"] for a in answers}) == 1
    (revision,) = _task_rows(ctx, family_case, REVISION)
    titles = [g["title"] for g in revision.data["plan_goals"]]
    assert len(titles) == len(set(titles)) == sum(a["added"] for a in answers)


def test_an_accept_that_waited_for_the_lock_adds_to_the_revision_the_other_one_started(
        ctx: EngineContext, actors: dict[str, Actor], family_case: CaseWalker,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The race made certain: another accept starts the revision and commits between this one's first
    read (no plan step open) and its lock; read again under the lock, this one adds to that revision."""
    if not str(ctx.db.url).startswith("postgresql"):
        pytest.skip("SQLite serialises whole write transactions: the race cannot happen there")
    _agreed(family_case)
    real = store.lock_instance
    other: list[dict[str, Any]] = []
    started: list[bool] = []

    def lock_after_another_accept(session: Any, instance_id: Any, skip_locked: bool = False) -> Any:
        if not started:
            started.append(True)
            thread = threading.Thread(target=lambda: other.append(_accept(ctx, actors["CM"], family_case)))
            thread.start()
            thread.join(60)
        return real(session, instance_id, skip_locked)

    monkeypatch.setattr(store, "lock_instance", lock_after_another_accept)
    mine = _accept(ctx, actors["CM"], family_case)
    assert other
    assert other[0]["revision"] is True
    assert (mine["revision"], mine["added"], mine["task_id"]) == (False, 0, other[0]["task_id"])
    assert len(_task_rows(ctx, family_case, REVISION)) == 1


def test_only_case_management_starts_a_revision(
        ctx: EngineContext, actors: dict[str, Actor], family_case: CaseWalker) -> None:  # noqa: F811
    _agreed(family_case)
    with pytest.raises(NotAllowed):
        _accept(ctx, actors["ABH"], family_case)
    with pytest.raises(NotFound):
        _accept(ctx, actors["SCH"], family_case)
    assert _task_rows(ctx, family_case, REVISION) == []


def test_a_process_that_is_not_running_starts_no_revision(
        ctx: EngineContext, actors: dict[str, Actor], family_case: CaseWalker) -> None:  # noqa: F811
    _agreed(family_case)
    with ctx.uow() as uow:
        uow.session.execute(update(ProcessInstance).where(ProcessInstance.id == family_case.instance_id)
                            .values(status="incident"))
        uow.commit()
    with pytest.raises(Conflict):
        _accept(ctx, actors["CM"], family_case)
    assert _task_rows(ctx, family_case, REVISION) == []


def test_closing_the_case_ends_an_open_revision_and_its_goals(
        ctx: EngineContext, actors: dict[str, Actor], family_case: CaseWalker) -> None:  # noqa: F811
    """The revision runs beside the case, not after it: the closure ends it like every other branch."""
    _agreed(family_case)
    first = _accept(ctx, actors["CM"], family_case)
    family_case.complete(REVISION, plan_goals=first["goals"][:1])
    assert GOAL in family_case.open_ids()
    family_case.fire(berlin("2027-02-20T09:00:01"))
    family_case.complete("monitoring", monitoring_outcome="CLOSE")
    family_case.complete("closure", closure_reason="MOVED_AWAY")
    assert family_case.status() == "completed"
    assert family_case.tasks() == []
    assert [t.state for t in _task_rows(ctx, family_case, GOAL)] == ["cancelled"]
