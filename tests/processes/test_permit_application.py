"""permit_application: documents with reminder and escalation, hearing before a refusal, decision
within 3 months (warning at 10, escalation at 12 weeks to the ABH lead); the Fiktionsbescheinigung
when a title still runs; after a residence title the hand-over SOZ -> JC only for AsylbLG recipients
(SGB II application due by the end of that month), renewal and the naturalisation follow-up; after a
Duldung none of that but a Duldung renewal; after a refusal advice within 5 working days and the
lawsuit deadline, and benefits back from JC to SOZ when a § 104c title ends (DOMAIN.md section 3).

Started on its own with ``start_instance`` (kim_pathway calls it as a call activity).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from engine import clock
from engine.demo.samples import PROCESSES_DIR, REFUSAL
from engine.demo.walker import CaseWalker, office_actors
from engine.domain.actors import SYSTEM, Actor
from engine.services.casework.instances import start_instance
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from tests.processes.walking import bpmn_timers as timers
from tests.processes.walking import reached, task_meta

START = datetime(2026, 11, 20, 9, 0, tzinfo=clock.BERLIN)  # the frozen clock; + timedelta keeps the wall time
ENDS = {
    "slow": {"procedure_end", "end_documents_reminder", "end_documents_escalation", "end_decision_warning",
             "end_decision_escalation", "end_handover", "end_renewal", "end_naturalisation", "end_no_fiction"},
    "duldung": {"end_no_handover", "end_duldung_renewal", "end_no_naturalisation"},
    "refused": {"end_advised", "end_lawsuit_deadline", "end_no_return"},
    "104c_refused": {"end_fiction", "end_returned"},
}
TITLE_104C = {"status": "AE_104C", "holds_104c_until": "2027-03-31", "benefits": "SGB2"}


def berlin(moment: str) -> datetime:
    return datetime.fromisoformat(moment).replace(tzinfo=clock.BERLIN)


@pytest.fixture
def start(ctx: EngineContext, frozen_clock: object) -> Callable[..., CaseWalker]:
    ctx.run(deployment.deploy, deployment.read_model_paths([PROCESSES_DIR]), SYSTEM)
    actors: dict[str, Actor] = office_actors(ctx, ("ABH", "CM", "SOZ", "JC", "EBB"))

    def _start(**data: Any) -> CaseWalker:
        started = ctx.run(start_instance, "permit_application", {"permit_path": "25b", **data}, SYSTEM)
        return CaseWalker(ctx, actors, started.instance_id)

    return _start


def to_decision(walker: CaseWalker) -> None:
    for step in ("request_documents", "receive_documents", "examine"):
        walker.complete(step)


def _documents_late(walker: CaseWalker) -> None:
    """No documents after 14 days: case management reminds; after 4 weeks the ABH lead is told."""
    walker.complete("request_documents")
    assert timers(walker) == {"documents_reminder_timer": START + timedelta(days=14),
                              "documents_escalation_timer": START + timedelta(days=28),
                              "decision_warning_timer": START + timedelta(weeks=10),
                              "decision_escalation_timer": START + timedelta(weeks=12)}
    walker.fire(START + timedelta(days=14))
    assert walker.task("documents_reminder").office == "CM"
    walker.complete("documents_reminder")
    walker.fire(START + timedelta(days=28))
    assert walker.task("documents_escalation").office == "ABH"
    walker.complete("documents_escalation", escalation_measure="LEAD_DECISION")
    walker.complete("receive_documents", documents_complete=False, documents_missing="Lohnabrechnungen Mai, Juni")


def test_slow_procedure_warns_escalates_to_the_lead_and_a_title_hands_over(start: Callable[..., CaseWalker]) -> None:
    walker = start(benefits="ASYLBLG")
    assert walker.open_ids() == ["request_documents"], "no title runs: no Fiktionsbescheinigung"
    _documents_late(walker)
    walker.complete("examine", intended_decision="REFUSE", requirements_met="DISCRETION")
    assert walker.task("hearing").due_at == datetime.fromisoformat("2027-01-01T23:59:59+01:00"), "2 weeks"
    walker.complete("hearing")
    assert walker.task("decide").due_at == datetime.fromisoformat("2027-02-20T23:59:59+01:00"), \
        "3 months after the application arrived"
    walker.fire(START + timedelta(weeks=10))
    walker.complete("decision_warning")
    walker.fire(START + timedelta(weeks=12))
    assert walker.task("decision_escalation").office == "ABH"
    for escalation in ("decision_escalation", "documents_escalation"):
        assert task_meta(walker, "permit_application", escalation).audience == "lead", "for the ABH lead"
    walker.complete("decision_escalation")
    walker.complete("decide", permit_valid_until="2029-01-31", decided_on="2027-02-12")
    assert sorted((t.bpmn_id, t.office) for t in walker.tasks()) == [("jc_take_over", "JC"),
                                                                    ("soz_end_benefits", "SOZ")]
    assert walker.task("jc_take_over").due_at == datetime.fromisoformat("2027-02-28T23:59:59+01:00")
    assert timers(walker) == {"wait_renewal": berlin("2028-10-31T08:00:00"),
                              "wait_naturalisation": berlin("2032-02-12T08:00:00")}, "5 years after the title"
    walker.complete("soz_end_benefits")
    walker.complete("jc_take_over")
    walker.fire(berlin("2028-10-31T07:59:00"))
    assert walker.tasks() == []
    walker.fire(berlin("2028-10-31T08:00:00"))
    walker.complete("renewal")
    walker.fire(berlin("2032-02-12T08:00:00"))
    assert walker.task("naturalisation_check").office == "EBB"
    walker.complete("naturalisation_check")
    assert walker.status() == "completed"
    assert ENDS["slow"] <= reached(walker)


def test_a_title_for_a_person_on_asylblg_hands_over_to_the_jobcenter_by_the_end_of_the_month(
        start: Callable[..., CaseWalker]) -> None:
    walker = start(benefits="ASYLBLG")
    to_decision(walker)
    walker.complete("decide", permit_legal_basis="25b", permit_valid_until="2028-11-19")
    assert {(t.bpmn_id, t.office) for t in walker.tasks()} == {("soz_end_benefits", "SOZ"), ("jc_take_over", "JC")}
    assert walker.task("jc_take_over").due_at == datetime.fromisoformat("2026-11-30T23:59:59+01:00"), \
        "SGB II application by the last day of the month of the hand-over"


@pytest.mark.parametrize("benefits", ["NONE", "SGB2", "SGB12"])
def test_without_asylblg_a_title_hands_nothing_over(start: Callable[..., CaseWalker], benefits: str) -> None:
    walker = start(benefits=benefits)
    to_decision(walker)
    walker.complete("decide", permit_legal_basis="19d", permit_valid_until="2028-11-19")
    assert walker.tasks() == []
    assert set(timers(walker)) == {"wait_renewal", "wait_naturalisation"}
    walker.fire(berlin("2031-11-20T08:00:00"))
    walker.complete("renewal")
    walker.complete("naturalisation_check")
    assert walker.status() == "completed"
    assert "end_no_handover" in reached(walker)


@pytest.mark.parametrize("path", ["60d", "60c", "60a_2b"])
def test_a_duldung_grant_leaves_the_person_with_the_sozialamt(start: Callable[..., CaseWalker], path: str) -> None:
    """A Duldung is no residence title: AsylbLG continues, no Jobcenter, no eAT card, a Duldung renewal."""
    walker = start(benefits="ASYLBLG", permit_path=path)
    to_decision(walker)
    walker.complete("decide", permit_legal_basis=path, permit_valid_until="2027-11-20", permit_card_number=None)
    assert walker.tasks() == [], "no SOZ or JC task"
    assert timers(walker) == {"wait_duldung_renewal": berlin("2027-10-23T08:00:00")}, "4 weeks before the end"
    walker.fire(berlin("2027-10-23T08:00:00"))
    assert [(t.bpmn_id, t.office) for t in walker.tasks()] == [("duldung_renewal", "CM")]
    walker.complete("duldung_renewal")
    assert walker.status() == "completed"
    assert {"renewal", "soz_end_benefits", "jc_take_over", "naturalisation_check"}.isdisjoint(reached(walker))
    assert ENDS["duldung"] <= reached(walker)


def test_25_5_keeps_asylblg_for_18_months_after_the_suspension_of_deportation(
        start: Callable[..., CaseWalker]) -> None:
    walker = start(benefits="ASYLBLG", permit_path="25_5")
    to_decision(walker)
    walker.complete("decide", permit_legal_basis="25_5", permit_valid_until="2027-11-20",
                    deportation_suspended_since="2026-01-15")
    assert walker.tasks() == []
    assert timers(walker)["wait_handover"] == berlin("2027-07-15T08:00:00")
    walker.fire(berlin("2027-07-15T08:00:00"))
    assert walker.task("jc_take_over").due_at == datetime.fromisoformat("2027-07-31T23:59:59+02:00")
    assert walker.task("soz_end_benefits").office == "SOZ"


@pytest.mark.parametrize(("served", "advice_due", "lawsuit_due"), [
    ("2026-11-23", "2026-11-30", "2026-12-23"),  # Monday: 5 working days, 1 month
    ("2026-12-09", "2026-12-16", "2027-01-11"),  # one month ends on Saturday 9 January: Monday
    ("2026-12-22", "2026-12-30", "2027-01-22"),  # over the Christmas holidays (25 and 26 December)
])
def test_a_refusal_brings_advice_within_five_working_days_and_the_lawsuit_deadline(
        start: Callable[..., CaseWalker], served: str, advice_due: str, lawsuit_due: str) -> None:
    walker = start(benefits="ASYLBLG")
    walker.complete("request_documents")
    walker.complete("receive_documents")
    walker.complete("examine", intended_decision="REFUSE", requirements_met="NOT_MET")
    walker.complete("hearing", statement_received=False)
    walker.complete("decide", **REFUSAL, notice_served_on=served)
    assert timers(walker) == {}, "the decision timers ended with the procedure; no hand-back without § 104c"
    advice, deadline = walker.task("refusal_advice"), walker.task("lawsuit_deadline")
    assert (advice.office, deadline.office) == ("CM", "CM")
    assert advice.due_at == berlin(f"{advice_due}T23:59:59"), "5 working days after service of the notice"
    assert deadline.due_at == berlin(f"{lawsuit_due}T23:59:59"), "§ 74 VwGO: one month after service"
    walker.complete("refusal_advice")
    walker.complete("lawsuit_deadline", lawsuit_status="FILED", lawsuit_filed_on=lawsuit_due)
    assert walker.status() == "completed"
    assert ENDS["refused"] <= reached(walker)


def test_a_104c_holder_gets_a_fiktionsbescheinigung_and_after_a_refusal_benefits_go_back_to_soz(
        start: Callable[..., CaseWalker]) -> None:
    walker = start(**TITLE_104C)
    assert {(t.bpmn_id, t.office) for t in walker.tasks()} == {("request_documents", "ABH"), ("issue_fiction", "ABH")}
    assert walker.task("issue_fiction").due_at == datetime.fromisoformat("2026-11-27T23:59:59+01:00")
    walker.complete("issue_fiction")
    to_decision(walker)
    walker.complete("decide", **REFUSAL, notice_served_on="2026-11-23")
    assert timers(walker) == {"wait_title_end": berlin("2027-03-31T08:00:00")}, "the title runs until its end"
    assert {t.bpmn_id for t in walker.tasks()} == {"refusal_advice", "lawsuit_deadline"}
    walker.fire(berlin("2027-03-31T08:00:00"))
    assert {(t.bpmn_id, t.office) for t in walker.tasks()} >= {("jc_end_benefits", "JC"),
                                                               ("soz_resume_benefits", "SOZ")}
    for step in ("jc_end_benefits", "soz_resume_benefits", "refusal_advice", "lawsuit_deadline"):
        walker.complete(step)
    assert walker.status() == "completed"
    assert ENDS["104c_refused"] <= reached(walker)


def test_a_refusal_after_the_104c_title_expired_returns_the_benefits_at_once(
        start: Callable[..., CaseWalker]) -> None:
    walker = start(**{**TITLE_104C, "holds_104c_until": "2026-12-31"})
    walker.complete("issue_fiction")
    to_decision(walker)
    walker.fire(berlin("2027-01-15T09:00:00"))
    walker.complete("decide", **REFUSAL, notice_served_on="2027-01-15")
    assert {"jc_end_benefits", "soz_resume_benefits"} <= set(walker.open_ids())
    assert "wait_title_end" not in timers(walker)


def test_the_scenarios_reach_every_end_event() -> None:
    tree = etree.parse(str(Path(PROCESSES_DIR) / "permit_application.bpmn"))
    ends = {e.get("id") for e in tree.iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}endEvent")}
    assert set().union(*ENDS.values()) == ends
