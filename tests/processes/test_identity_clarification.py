"""identity_clarification: the ABH's request starts the person's 4-week clock while case management
helps beside it; reminder after 14 days and escalation to the ABH lead and KI when no proof comes;
the ABH's assessment by the BVerwG stages, a statutory declaration on request, lifting the § 60b
addition, and the 4-weekly embassy follow-up loop (DOMAIN.md section 4).

Started on its own with ``start_instance`` (kim_pathway calls it as a call activity); every
step is a separate transaction, so the state is saved and restored between all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import select

from engine import clock
from engine.demo.samples import FORMS, PROCESSES_DIR
from engine.demo.walker import CaseWalker, office_actors
from engine.domain.actors import SYSTEM, Actor
from engine.persistence.models import ProcessInstance
from engine.services.casework.instances import start_instance
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from tests.processes.walking import bpmn_timers as timers
from tests.processes.walking import process_data, reached, task_meta

START = datetime(2026, 11, 20, 9, 0, tzinfo=clock.BERLIN)  # the frozen clock; + timedelta keeps the wall time
ENDS = {
    "no_proof": {"end_reminded", "end_escalated_abh", "end_escalated_ki", "end_passport", "end_supported"},
    "other_documents": {"end_other"},
    "declaration": {"end_efforts"},
    "embassy_loop": {"end_efforts"},
    "not_clarified": {"end_not_clarified"},
}


@pytest.fixture
def start(ctx: EngineContext, frozen_clock: object) -> Callable[..., CaseWalker]:
    ctx.run(deployment.deploy, deployment.read_model_paths([PROCESSES_DIR]), SYSTEM)
    actors: dict[str, Actor] = office_actors(ctx, ("ABH", "CM", "KI"))

    def _start(**data: Any) -> CaseWalker:
        started = ctx.run(start_instance, "identity_clarification",
                                 {"identity": "NOT_CLARIFIED", "passport_valid": False, **data}, SYSTEM)
        return CaseWalker(ctx, actors, started.instance_id)

    return _start


def state_size(walker: CaseWalker) -> int:
    with walker.ctx.uow(write=False) as uow:
        return len(uow.session.scalar(select(ProcessInstance.state)
                                      .where(ProcessInstance.id == walker.instance_id)) or "")


def requested(walker: CaseWalker) -> None:
    assert [(t.bpmn_id, t.office) for t in walker.tasks()] == [("request_steps", "ABH")]
    walker.complete("request_steps")


def test_the_four_week_clock_starts_with_the_request_and_case_management_helps_beside_it(
        start: Callable[..., CaseWalker]) -> None:
    walker = start()
    assert walker.task("request_steps").due_at == datetime.fromisoformat("2026-11-27T23:59:59+01:00"), "5 Arbeitstage"
    requested(walker)
    assert {(t.bpmn_id, t.office) for t in walker.tasks()} == {("await_proof", "ABH"), ("support", "CM")}
    assert walker.task("await_proof").due_at == datetime.fromisoformat("2026-12-18T23:59:59+01:00"), \
        "4 weeks from the request, not from the support step"
    assert timers(walker) == {"reminder_timer": START + timedelta(days=14),
                              "escalation_timer": START + timedelta(days=28)}
    walker.complete("await_proof", proof_other_id=True)
    assert timers(walker) == {}, "proof in time: reminder and escalation are gone"
    assert walker.open_ids() == ["assess", "support"], "the help runs beside the clock"
    walker.complete("assess", identity_outcome="CLARIFIED_OTHER", other_document_stage="OTHER_ID_WITH_PHOTO")
    assert walker.status() == "completed"
    assert walker.tasks() == [], "identity clarified: the open help step ends with it"
    assert ENDS["other_documents"] <= reached(walker)


def test_no_proof_brings_a_reminder_after_14_days_then_escalation_to_the_abh_lead_and_ki(
        start: Callable[..., CaseWalker]) -> None:
    walker = start()
    requested(walker)
    walker.complete("support")
    walker.fire(START + timedelta(days=14, seconds=-1))
    assert walker.open_ids() == ["await_proof"]
    walker.fire(START + timedelta(days=14))
    assert walker.task("remind").office == "CM"
    walker.complete("remind")
    walker.fire(START + timedelta(days=28))
    assert {(t.bpmn_id, t.office) for t in walker.tasks()} == {
        ("await_proof", "ABH"), ("escalate_abh_lead", "ABH"), ("escalate_ki", "KI")}
    lead = task_meta(walker, "identity_clarification", "escalate_abh_lead")
    assert (lead.audience, lead.form_key) == ("lead", "identity_escalation"), "for the ABH lead, not every caseworker"
    assert task_meta(walker, "identity_clarification", "escalate_ki").audience is None
    walker.complete("escalate_abh_lead", escalation_measure="ORDER_APPEARANCE")
    walker.complete("escalate_ki", escalation_measure="STRUCTURAL_ISSUE")
    walker.complete("await_proof", proof_passport=True, passport_number="P98765432", passport_valid_until="2032-05-01")
    walker.complete("assess", identity_outcome="CLARIFIED_PASSPORT")
    assert walker.status() == "completed"
    assert ENDS["no_proof"] <= reached(walker)


def test_the_abh_lead_may_order_an_appearance_or_ask_the_central_authority(start: Callable[..., CaseWalker]) -> None:
    walker = start()
    requested(walker)
    walker.fire(START + timedelta(days=28))
    for measure in ("ORDER_APPEARANCE", "CENTRAL_AUTHORITY", "STATUTORY_DECLARATION"):
        FORMS.validate("identity_escalation", {"escalation_measure": measure,
                                                      "escalation_handled_on": "2026-12-18"})
    walker.complete("escalate_abh_lead", escalation_measure="CENTRAL_AUTHORITY")
    assert "escalate_abh_lead" in reached(walker)


def test_a_statutory_declaration_then_credible_efforts_lift_the_60b_addition(start: Callable[..., CaseWalker]) -> None:
    walker = start(duldung_60b=True)
    requested(walker)
    walker.complete("await_proof", proof_embassy_receipt=True)
    walker.complete("assess", identity_outcome="EFFORTS_DOCUMENTED", declaration_requested=True)
    assert [(t.bpmn_id, t.office) for t in walker.tasks() if t.bpmn_id != "support"] == [
        ("receive_declaration", "ABH")]
    walker.complete("receive_declaration")
    walker.complete("assess", identity_outcome="EFFORTS_DOCUMENTED")
    lift = walker.task("lift_60b")
    assert (lift.office, lift.due_at) == ("ABH", datetime.fromisoformat("2026-12-04T23:59:59+01:00")), "2 weeks"
    walker.complete("lift_60b", lift_60b_on="2026-11-27")
    assert walker.status() == "completed"
    assert process_data(walker)["lift_60b_on"] == "2026-11-27", "kim_pathway reads it and screens again"
    assert ENDS["declaration"] <= reached(walker)


def test_without_the_60b_status_there_is_nothing_to_lift(start: Callable[..., CaseWalker]) -> None:
    walker = start(duldung_60b=False)
    requested(walker)
    walker.complete("await_proof", proof_passport=True, passport_number="P98765432", passport_valid_until="2032-05-01")
    walker.complete("assess", identity_outcome="CLARIFIED_PASSPORT")
    assert walker.status() == "completed"
    assert "lift_60b" not in reached(walker)


def test_pending_embassy_application_is_followed_up_every_four_weeks(start: Callable[..., CaseWalker]) -> None:
    """The loop runs for more than a year here (it may run for years): same cadence, no growing state."""
    walker = start()
    requested(walker)
    walker.complete("support")
    walker.complete("await_proof")
    walker.complete("assess", identity_outcome="EFFORTS_DOCUMENTED", embassy_application_pending=True)
    moment, sizes = START, []
    for _ in range(14):
        moment += timedelta(days=28)
        assert timers(walker) == {"wait_embassy": moment}
        walker.fire(moment)
        assert walker.task("embassy_followup").office == "CM"
        walker.complete("embassy_followup", embassy_status="NO_ANSWER" if len(sizes) % 3 else "PENDING")
        sizes.append(state_size(walker))
    assert sizes[-1] <= sizes[1] * 1.2, f"live state grows with the loop: {sizes}"
    walker.fire(moment + timedelta(days=28))
    walker.complete("embassy_followup", embassy_status="REFUSED")
    walker.complete("assess", identity_outcome="EFFORTS_DOCUMENTED", embassy_application_pending=False)
    assert walker.status() == "completed"
    assert ENDS["embassy_loop"] <= reached(walker)


@pytest.mark.parametrize("pending", [True, False])
def test_nothing_done_leaves_identity_not_clarified(start: Callable[..., CaseWalker], pending: bool) -> None:
    walker = start(duldung_60b=True)
    requested(walker)
    walker.complete("await_proof")
    walker.complete("assess", identity_outcome="NOT_CLARIFIED", embassy_application_pending=pending)
    if pending:
        walker.fire(START + timedelta(days=28))
        walker.complete("embassy_followup", embassy_status="PASSPORT_ISSUED")
        walker.complete("assess", identity_outcome="NOT_CLARIFIED", embassy_application_pending=False)
    assert walker.status() == "completed"
    assert "lift_60b" not in reached(walker), "nothing done: the § 60b addition stays"
    assert ENDS["not_clarified"] <= reached(walker)


def test_the_scenarios_reach_every_end_event() -> None:
    tree = etree.parse(str(Path(PROCESSES_DIR) / "identity_clarification.bpmn"))
    ends = {e.get("id") for e in tree.iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}endEvent")}
    assert set().union(*ENDS.values()) == ends
