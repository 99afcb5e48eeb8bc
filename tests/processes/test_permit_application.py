"""permit_application: documents with reminder and escalation, hearing before a refusal, decision
within 3 months (warning at 10, escalation at 12 weeks), and after a grant the change of benefit
system (SOZ -> JC) and the renewal 3 months before the permit expires.

Started on its own with ``start_instance`` (kim_pathway calls it as a call activity).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from engine import clock
from engine.demo.samples import PROCESSES_DIR
from engine.demo.walker import CaseWalker, office_actors
from engine.domain.actors import SYSTEM, Actor
from engine.services.casework.instances import start_instance
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from tests.processes.walking import bpmn_timers as timers
from tests.processes.walking import reached

START = datetime(2026, 11, 20, 9, 0, tzinfo=clock.BERLIN)  # the frozen clock; + timedelta keeps the wall time
ENDS = {
    "granted": {"procedure_end", "end_documents_reminder", "end_documents_escalation", "end_decision_warning",
                "end_decision_escalation", "end_granted"},
    "refused": {"procedure_end", "end_refused"},
}


@pytest.fixture
def start(ctx: EngineContext, frozen_clock: object) -> Callable[[], CaseWalker]:
    ctx.run(deployment.deploy, deployment.read_model_paths([PROCESSES_DIR]), SYSTEM)
    actors: dict[str, Actor] = office_actors(ctx, ("ABH", "CM", "SOZ", "JC"))

    def _start() -> CaseWalker:
        started = ctx.run(start_instance, "permit_application", {"permit_path": "25b"}, SYSTEM)
        return CaseWalker(ctx, actors, started.instance_id)

    return _start


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


def test_slow_procedure_warns_escalates_and_grant_hands_over(start: Callable[[], CaseWalker]) -> None:
    walker = start()
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
    walker.complete("decision_escalation")
    walker.complete("decide", permit_valid_until="2029-01-31")
    assert sorted((t.bpmn_id, t.office) for t in walker.tasks()) == [("jc_take_over", "JC"),
                                                                    ("soz_end_benefits", "SOZ")]
    assert timers(walker) == {"wait_renewal": datetime(2028, 10, 31, 8, 0, tzinfo=clock.BERLIN)}
    walker.complete("soz_end_benefits")
    walker.complete("jc_take_over")
    walker.fire(datetime(2028, 10, 31, 7, 59, tzinfo=clock.BERLIN))
    assert walker.tasks() == []
    walker.fire(datetime(2028, 10, 31, 8, 0, tzinfo=clock.BERLIN))
    walker.complete("renewal")
    assert walker.status() == "completed"
    assert ENDS["granted"] <= reached(walker)


def test_refusal_ends_the_procedure_and_its_deadline_timers(start: Callable[[], CaseWalker]) -> None:
    walker = start()
    walker.complete("request_documents")
    walker.complete("receive_documents")
    walker.complete("examine", intended_decision="REFUSE", requirements_met="NOT_MET")
    walker.complete("hearing", statement_received=False)
    walker.complete("decide", permit_decision="REFUSED", permit_legal_basis=None, permit_valid_until=None,
                    permit_card_number=None)
    assert walker.status() == "completed"
    assert timers(walker) == {}
    assert walker.tasks() == []
    assert ENDS["refused"] <= reached(walker)


def test_the_scenarios_reach_every_end_event() -> None:
    tree = etree.parse(str(Path(PROCESSES_DIR) / "permit_application.bpmn"))
    ends = {e.get("id") for e in tree.iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}endEvent")}
    assert set().union(*ENDS.values()) == ends
