"""Screening again (DOMAIN.md section 5, "when to screen again") on the real engine and database: the
triggers fire at the moment named there, every run reads the case's current inputs, and the person's own
legal deadlines follow each new result - a new deadline gets its timers, one that disappears ends them,
and that cancellation is in the case's audit trail.

Where the scenario is about the pathway, not about the rules inside the tables, the screening answers
through :func:`screening_runs` (:mod:`tests.processes.walking`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.demo.samples import REFUSAL
from engine.demo.walker import CaseWalker
from engine.persistence.models import AuditEntry, Screening
from engine.services.casework import timeline
from engine.services.context import EngineContext
from tests.processes.test_kim_pathway import (
    HOLDER_104C,
    INTEGRATED,
    berlin,
    stored_triggers,
    to_assessment,
    to_plan,
)
from tests.processes.walking import bpmn_timers, screening_result, screening_runs, task_data

TIMERS_104C = {"wait_deadline_104c", "escalate_deadline_104c_abh_timer", "escalate_deadline_104c_ki_timer"}


def stored_inputs(walker: CaseWalker, trigger: str) -> list[dict[str, Any]]:
    """The main person's inputs of every stored run with ``trigger``, oldest first."""
    with walker.ctx.uow(write=False) as uow:
        return [dict(s.inputs) for s in uow.session.scalars(
            select(Screening).where(Screening.case_id == walker.case_id, Screening.person == "main",
                                    Screening.trigger == trigger).order_by(Screening.run_seq))]


def cancelled_timers(walker: CaseWalker, deadline: str) -> list[tuple[str, datetime]]:
    """The case's audit entries of the ``deadline`` timers cancelled before their moment: (BPMN id, when it
    would have fired)."""
    with walker.ctx.uow(write=False) as uow:
        rows = uow.session.execute(select(AuditEntry.object_id, AuditEntry.details).where(
            AuditEntry.case_id == walker.case_id, AuditEntry.action == "timer.cancel")).all()
    return sorted((str(object_id), datetime.fromisoformat(details["fire_at"])) for object_id, details in rows
                  if f"deadline_{deadline}" in str(object_id))


def _grant_holds(path: str, **statuses: str) -> Callable[[dict[str, Any]], Any]:
    """A screening in which ``path`` is ACTIVE once the person holds it, POSSIBLE before."""
    def answer(inputs: dict[str, Any]) -> Any:
        held = inputs.get("holds_path") == path
        return screening_result(path, **{f"p{path}": "ACTIVE" if held else "POSSIBLE"}, **statuses)(inputs)
    return answer


def _apply(walker: CaseWalker, **decision: Any) -> None:
    for step in ("request_documents", "receive_documents", "examine"):
        walker.complete(step)
    walker.complete("decide", **decision)


def test_section_5_a_grant_ends_the_104c_deadline_and_its_timers_are_cancelled_and_audited(
        ctx: EngineContext, open_case: Callable[..., CaseWalker]) -> None:
    """A §104c holder is granted §25b: the transition is done, so the §104c deadline disappears with the new
    result - its warning and both escalation timers end, each audited with the moment it would have fired."""
    walker = open_case()
    with screening_runs(ctx, _grant_holds("25b", p104c="ELIGIBLE")) as seen:
        to_assessment(walker, **HOLDER_104C)
        to_plan(walker)
        timers = bpmn_timers(walker)
        assert timers["wait_deadline_104c"] == berlin("2027-02-03T08:00:00"), "2027-03-31 - 8 weeks"
        assert timers["escalate_deadline_104c_abh_timer"] == berlin("2027-03-03T08:00:00"), "- 4 weeks"
        assert cancelled_timers(walker, "104c") == []
        _apply(walker, permit_legal_basis="25b", permit_valid_until="2029-11-19")
    assert seen[-1][0] == "status_change"
    assert TIMERS_104C.isdisjoint(bpmn_timers(walker)), "the §104c deadline is gone, and its timers with it"
    assert cancelled_timers(walker, "104c") == [
        ("escalate_deadline_104c_abh_timer", berlin("2027-03-03T08:00:00")),
        ("escalate_deadline_104c_ki_timer", berlin("2027-03-03T08:00:00")),
        ("wait_deadline_104c", berlin("2027-02-03T08:00:00"))]
    assert task_data(walker, "idle_deadline_104c")["deadlines"]["104c"]["applies"] is False, \
        "the branch waits for a screening that brings the deadline back"
    with ctx.uow(write=False) as uow:
        story = timeline.case_story(uow, walker.actors["CM"], walker.case_id)
    assert len([e for e in story if e.kind == "timer_cancelled"]) >= 3, "the case's timeline tells it"


def test_section_5_a_deadline_that_appears_at_the_monitoring_gets_its_timers_and_an_unchanged_one_keeps_them(
        ctx: EngineContext, open_case: Callable[..., CaseWalker]) -> None:
    """§25a needs 3 years of stay: NOT_MET at 2.8 years, ELIGIBLE at the monitoring three months later - the
    27th birthday (2029-03-10) now gets its warning (6 months before) and escalations (1 month before). The
    next monitoring changes nothing: the timers stay, none is cancelled."""
    def answer(inputs: dict[str, Any]) -> Any:
        return screening_result("25a", p25a="ELIGIBLE" if inputs["stay_years"] >= 3 else "NOT_MET")(inputs)

    walker = open_case(date_of_birth="2002-03-10")
    with screening_runs(ctx, answer) as seen:
        to_assessment(walker, duldung_months=30, stay_years=2.8)
        to_plan(walker, precheck_result="NOT_YET")
        assert "wait_deadline_25a" not in bpmn_timers(walker)
        walker.fire(berlin("2027-02-20T09:00:00"))
        walker.complete("monitoring")
        timers = bpmn_timers(walker)
        assert timers["wait_deadline_25a"] == berlin("2028-09-10T08:00:00")
        assert timers["escalate_deadline_25a_cm_timer"] == berlin("2029-02-10T08:00:00")
        assert timers["escalate_deadline_25a_abh_timer"] == berlin("2029-02-10T08:00:00")
        walker.fire(berlin("2027-05-20T09:00:00"))
        walker.complete("monitoring")
    assert [trigger for trigger, _ in seen][-2:] == ["monitoring", "monitoring"]
    assert bpmn_timers(walker)["wait_deadline_25a"] == berlin("2028-09-10T08:00:00")
    assert cancelled_timers(walker, "25a") == [], \
        "an unchanged deadline keeps its watch"


def test_section_5_every_screening_reads_the_identity_clarified_in_another_branch(
        ctx: EngineContext, open_case: Callable[..., CaseWalker]) -> None:
    """The identity is clarified beside the application: the screening at the decision (permit branch) and
    at the monitoring (monitoring branch) both see the passport - not the inputs their branch forked with."""
    walker = open_case()
    to_assessment(walker, **INTEGRATED)
    to_plan(walker)
    walker.complete("request_steps")
    walker.complete("await_proof", proof_passport=True, passport_number="N1234567", passport_valid_until="2031-01-01")
    walker.complete("assess", identity_outcome="CLARIFIED_PASSPORT")
    assert stored_triggers(walker)[-1] == "identity_clarified"
    _apply(walker, **REFUSAL, notice_served_on="2026-11-23")
    walker.complete("refusal_advice")
    walker.complete("lawsuit_deadline")
    walker.fire(berlin("2027-02-20T09:00:00"))
    walker.complete("monitoring")
    for trigger in ("status_change", "monitoring"):
        (inputs,) = stored_inputs(walker, trigger)
        assert (inputs["identity"], inputs["passport_valid"]) == ("CLARIFIED_PASSPORT", True), trigger
    assert stored_inputs(walker, "monitoring")[0]["duldung_months"] == 63, "60 months + 3 since the assessment"


def test_section_5_a_status_change_is_screened_at_the_decision_while_the_procedure_runs_on(
        ctx: EngineContext, open_case: Callable[..., CaseWalker]) -> None:
    """The status changes with the decision: screened then (the grant is a held path), not when the permit
    procedure ends - which for a title is years later (renewal, naturalisation follow-up)."""
    walker = open_case()
    with screening_runs(ctx, _grant_holds("25b")) as seen:
        to_assessment(walker, **INTEGRATED, benefits="ASYLBLG")
        to_plan(walker)
        assert "status_change" not in [trigger for trigger, _ in seen]
        _apply(walker, permit_legal_basis="25b", permit_valid_until="2029-11-19")
    trigger, inputs = seen[-1]
    assert trigger == "status_change"
    assert (inputs["holds_path"], inputs["holds_path_until"]) == ("25b", "2029-11-19")
    assert {"jc_take_over", "soz_end_benefits"} <= set(walker.open_ids()), "the procedure runs on"
    assert "wait_renewal" in bpmn_timers(walker)


def test_section_5_each_plan_goal_reached_is_screened_at_once(
        ctx: EngineContext, open_case: Callable[..., CaseWalker]) -> None:
    """A plan goal reached is a reason to screen again - each one, when it is reached, not once all goals are
    done; a goal not reached is no such reason."""
    goals = [{"goal_type": "LANGUAGE_COURSE", "title": "Deutschkurs A2", "owner_office": "CM", "due_on": "2027-05-31"},
             {"goal_type": "LID_TEST", "title": "Test Leben in Deutschland", "owner_office": "CM",
              "due_on": "2027-03-31"}]
    walker = open_case()
    to_assessment(walker, **INTEGRATED)
    walker.complete("abh_inputs")
    walker.complete("abh_precheck")
    walker.complete("plan", plan_goals=goals)
    assert stored_triggers(walker) == ["assessment"]
    walker.complete("goals_cm", goal_status="ACHIEVED")
    assert stored_triggers(walker) == ["assessment", "plan_goal"], "screened when the first goal was reached"
    assert [t.bpmn_id for t in walker.tasks()].count("goals_cm") == 1, "while the other goal is still open"
    walker.complete("goals_cm", goal_status="NOT_ACHIEVED")
    assert stored_triggers(walker) == ["assessment", "plan_goal"]
    assert "goals_cm" not in walker.open_ids()


def test_section_5_a_date_a_path_opens_on_screens_again_and_the_deadlines_follow(
        ctx: EngineContext, open_case: Callable[..., CaseWalker]) -> None:
    """§60d waits for 12 months of Duldung (NOT_YET until 2027-03-01): the screening runs again that day, and
    the person's own deadlines follow its result - here the stand-in answer opens §25a with it, so the 27th
    birthday (2032-06-15) gets its warning and escalations."""
    def answer(inputs: dict[str, Any]) -> Any:
        opened = inputs["eval_date"] >= "2027-03-01"
        result = screening_result("60d", p25a="ELIGIBLE" if opened else "NOT_MET",
                                  p60d="ELIGIBLE" if opened else "NOT_YET")(inputs)
        if not opened:
            (row,) = [r for r in result["outputs"] if r["path"] == "60d"]
            row["deadline"] = "2027-03-01"
        return result

    walker = open_case(date_of_birth="2005-06-15")
    with screening_runs(ctx, answer) as seen:
        to_assessment(walker, duldung_months=8, stay_years=4)
        to_plan(walker, precheck_result="NOT_YET")
        assert "wait_deadline_25a" not in bpmn_timers(walker)
        assert bpmn_timers(walker)["wait_household_rescreen"] == berlin("2027-03-01T08:00:00")
        walker.fire(berlin("2027-02-20T09:00:00"))
        walker.complete("monitoring")
        assert "wait_deadline_25a" not in bpmn_timers(walker)
        walker.fire(berlin("2027-03-01T08:00:00"))
    assert seen[-1][0] == "date_reached"
    timers = bpmn_timers(walker)
    assert timers["wait_deadline_25a"] == berlin("2031-12-15T08:00:00")
    assert timers["escalate_deadline_25a_cm_timer"] == berlin("2032-05-15T08:00:00")


def test_section_5_months_of_duldung_count_in_whole_months_across_the_branches(
        ctx: EngineContext, open_case: Callable[..., CaseWalker]) -> None:
    """A goal reached two weeks after the plan (plan branch), the monitoring three months after it (monitoring
    branch): both start from the same current inputs, and the half month between is not lost - 60 months of
    Duldung at the assessment are 63 at the monitoring."""
    goals = [{"goal_type": "LANGUAGE_COURSE", "title": "Deutschkurs A2", "owner_office": "CM", "due_on": "2027-05-31"}]
    walker = open_case()
    to_assessment(walker, **INTEGRATED)
    walker.complete("abh_inputs")
    walker.complete("abh_precheck")
    walker.complete("plan", plan_goals=goals)
    walker.fire(berlin("2026-12-05T10:00:00"))
    walker.complete("goals_cm", goal_status="ACHIEVED")
    walker.fire(berlin("2027-02-20T09:00:00"))
    walker.complete("monitoring")
    assert [i["duldung_months"] for i in stored_inputs(walker, "plan_goal")] == [60]
    assert [i["duldung_months"] for i in stored_inputs(walker, "monitoring")] == [63]


def test_section_5_an_application_filed_on_the_main_persons_warning_is_seen_by_the_next_screening(
        ctx: EngineContext, open_case: Callable[..., CaseWalker]) -> None:
    """The §104c warning (8 weeks before 30.06.2027) is answered "application filed on 05.05.2027": the next
    monitoring screening reads that date (§81 Abs. 4: the permit continues while the application is decided)."""
    walker = open_case()
    to_assessment(walker, status="AE_104C", holds_104c_until="2027-12-31", duldung_months=0)
    to_plan(walker)
    walker.fire(berlin("2027-02-20T09:00:00"))
    walker.complete("monitoring")
    walker.fire(berlin("2027-05-05T08:00:00"))
    walker.complete("deadline_104c", deadline_action="APPLICATION_FILED", application_filed_on="2027-05-05")
    walker.fire(berlin("2027-05-20T09:00:00"))
    walker.complete("monitoring")
    assert [inputs.get("application_filed_on") for inputs in stored_inputs(walker, "monitoring")] == \
        [None, "2027-05-05"]


ESCALATIONS_104C = {"escalate_deadline_104c_abh", "escalate_deadline_104c_ki"}


def _to_104c_escalations(walker: CaseWalker) -> None:
    """A §104c holder (permit ends 31.03.2027): warning 8 weeks before, both escalations 4 weeks before."""
    to_assessment(walker, **HOLDER_104C)
    to_plan(walker)
    walker.fire(berlin("2027-02-03T08:00:00"))
    walker.fire(berlin("2027-03-03T08:00:00"))
    assert ESCALATIONS_104C | {"deadline_104c"} <= set(walker.open_ids())


def test_section_5_an_escalation_ends_with_the_deadline_a_new_result_removes(
        ctx: EngineContext, open_case: Callable[..., CaseWalker]) -> None:
    """The leads were told "§104c ends in 4 weeks, no application yet"; then §25b is granted and the §104c
    deadline disappears. Their escalations are moot: they end unworked (visible in the case's history), and
    the warning with them - nobody is left chasing a transition that is done."""
    walker = open_case()
    with screening_runs(ctx, _grant_holds("25b", p104c="ELIGIBLE")):
        _to_104c_escalations(walker)
        _apply(walker, permit_legal_basis="25b", permit_valid_until="2029-11-19")
    assert not (ESCALATIONS_104C | {"deadline_104c"}) & set(walker.open_ids())
    assert {t.bpmn_id for t in walker.tasks("cancelled")} >= ESCALATIONS_104C | {"deadline_104c"}, "ended unworked"


def test_section_5_an_escalation_ends_when_the_application_is_filed(
        ctx: EngineContext, open_case: Callable[..., CaseWalker]) -> None:
    """Case management answers the §104c warning "application filed" while both escalations ("no application
    yet") are open: they end unworked."""
    walker = open_case()
    with screening_runs(ctx, _grant_holds("25b", p104c="ELIGIBLE")):
        _to_104c_escalations(walker)
        walker.complete("deadline_104c", deadline_action="APPLICATION_FILED", application_filed_on="2027-03-04")
    assert not ESCALATIONS_104C & set(walker.open_ids())
    assert {t.bpmn_id for t in walker.tasks("cancelled")} >= ESCALATIONS_104C, "ended unworked"
    assert "deadline_104c" in {t.bpmn_id for t in walker.tasks("completed")}
