"""kim_pathway: every path through the KIM pathway, on the real engine and database.

Each scenario opens a case with ``open_case`` and works it with the offices' caseworkers
(:class:`CaseWalker` validates every submission against the task's form first). Every
step is its own transaction, so the workflow is saved and restored between all of them.
Together the scenarios reach every end event of the model (checked at the end).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from engine import clock
from engine.demo.samples import PROCESSES_DIR, form_data
from engine.demo.walker import CaseWalker, office_actors
from engine.domain.actors import SYSTEM, Actor
from engine.services.casework import cases
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from tests.processes.walking import bpmn_timers, reached

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
NAMED_KINDS = {"process", "participant", "lane", "userTask", "scriptTask", "serviceTask", "callActivity", "subProcess",
               "startEvent", "endEvent", "intermediateCatchEvent", "boundaryEvent", "exclusiveGateway",
               "parallelGateway"}
GERMAN = re.compile(r"[äöüß]|\b(der|die|das|und|von|bis|zum|zur|auf|eine?)\b", re.IGNORECASE)
PERSON = {"given_name": "Amina", "family_name": "Haddad", "date_of_birth": "1990-05-10", "nationality": "syrisch"}
REFERRAL = {"source": "ABH", "reason": "Duldung seit 2019, Perspektivberatung", "referred_at": "2026-11-18"}
# 25b possible while identity is not clarified, eligible once it is; no legal deadline applies.
INTEGRATED = {"duldung_months": 60, "stay_years": 7, "identity": "NOT_CLARIFIED", "passport_valid": False}
NO_DEADLINES = {"end_deadline_25a_none", "end_deadline_104c_none", "end_deadline_training_none",
                "end_deadline_duldung_none"}
ENDS = {  # scenario -> end events it reaches (the called processes' ends are tested in their own modules)
    "unreachable": {"end_closed"},
    "information_only": {"end_closed"},
    "full": {"end_goals", "end_permit", "end_closed", *NO_DEADLINES},
    "deadlines": {"end_deadline_25a", "end_escalation_25a", "end_deadline_training", "end_escalation_training",
                  "end_deadline_duldung", "end_escalation_duldung", "end_deadline_104c_none", "end_not_yet"},
    "deadline_104c": {"end_deadline_104c", "end_escalation_104c", "end_deadline_25a_none",
                      "end_deadline_training_none", "end_deadline_duldung_none"},
    "legal_review": {"end_no_perspective", "end_permit"},
}


@pytest.fixture
def actors(ctx: EngineContext) -> dict[str, Actor]:
    ctx.run(deployment.deploy, deployment.read_model_paths([PROCESSES_DIR]), SYSTEM)
    return office_actors(ctx)


@pytest.fixture
def open_case(ctx: EngineContext, actors: dict[str, Actor], frozen_clock: object) -> Callable[..., CaseWalker]:
    def _open(**person: Any) -> CaseWalker:
        body = {"person": {**PERSON, **person}, "referral": REFERRAL}
        case = ctx.run(cases.open_case, actors["CM"], body)
        return CaseWalker.for_case(ctx, actors, case.id)

    return _open


def berlin(moment: str) -> datetime:
    return datetime.fromisoformat(moment).replace(tzinfo=clock.BERLIN)


def to_assessment(walker: CaseWalker, consent_offices: tuple[str, ...] = ("ABH", "AA", "JC", "SOZ"),
                  **assessment: Any) -> None:
    """Intake, consent (recorded for ``consent_offices``), one counselling session, assessment."""
    walker.complete("intake")
    scope = [row for row in form_data("kim_consent")["consent_scope"] if row["office"] in consent_offices]
    walker.record_consents(scope)
    walker.complete("consent", consent_scope=scope)
    walker.complete("counselling")
    walker.complete("assessment", **assessment)


def test_first_contact_is_due_ten_working_days_after_the_referral(open_case: Callable[..., CaseWalker]) -> None:
    walker = open_case()
    (intake,) = walker.tasks()
    assert (intake.bpmn_id, intake.office) == ("intake", "CM")
    assert intake.due_at == berlin("2026-12-02T23:59:59"), "referral Wed 18 Nov + 10 working days"


def test_a_person_who_cannot_be_reached_is_closed(open_case: Callable[..., CaseWalker]) -> None:
    walker = open_case()
    walker.complete("intake", intake_outcome="NOT_REACHABLE", next_appointment_on=None)
    assert walker.open_ids() == ["closure"]
    walker.complete("closure", closure_reason="NO_COOPERATION")
    assert walker.status() == "completed"
    assert ENDS["unreachable"] <= reached(walker)


def test_refused_consent_leads_to_an_information_case(open_case: Callable[..., CaseWalker]) -> None:
    walker = open_case()
    walker.complete("intake")
    walker.complete("consent", consent_decision="REFUSED", consent_scope=None)
    walker.complete("info_only", information_next_step="ASK_CONSENT_AGAIN")
    walker.complete("consent", consent_decision="REFUSED", consent_scope=None)
    walker.complete("info_only")
    walker.complete("closure", closure_reason="OTHER", closure_note="Nur Informationsberatung gewünscht")
    assert walker.status() == "completed"
    assert ENDS["information_only"] <= reached(walker)
    assert "counselling" not in reached(walker), "no counselling without consent"


def test_the_date_of_birth_may_come_from_the_assessment(open_case: Callable[..., CaseWalker]) -> None:
    walker = open_case(date_of_birth=None)
    to_assessment(walker, **INTEGRATED, date_of_birth="1990-05-10")
    assert walker.open_ids() == ["abh_precheck"], "the screening ran"


def test_counselling_repeats_until_no_further_session_is_needed(open_case: Callable[..., CaseWalker]) -> None:
    walker = open_case()
    walker.complete("intake")
    walker.complete("consent")
    for _ in range(3):
        walker.complete("counselling", another_session=True)
        assert walker.open_ids() == ["counselling"]
    walker.complete("counselling", another_session=False)
    (assessment,) = walker.tasks()
    assert assessment.bpmn_id == "assessment"
    assert assessment.due_at == berlin("2026-12-18T23:59:59"), "4 weeks after the first contact"


GOALS = [{"goal_type": "LANGUAGE_COURSE", "title": "Deutschkurs B1 abschließen", "owner_office": "CM",
          "due_on": "2027-05-31"},
         {"goal_type": "IDENTITY_DOCUMENTS", "title": "Pass beantragen", "owner_office": "ABH", "due_on": "2026-12-18"},
         {"goal_type": "JOB_PLACEMENT", "title": "Vermittlung in Vollzeit", "owner_office": "AA",
          "due_on": "2027-05-20"},
         {"goal_type": "JOB_PLACEMENT", "title": "Minijob der Ehefrau ausbauen", "owner_office": "JC",
          "due_on": "2027-05-20"},
         {"goal_type": "SCHOOL_CERTIFICATE", "title": "Schulbescheinigung der Tochter", "owner_office": "SCH",
          "due_on": "2026-12-04"}]


def _plan_with_a_goal_per_office(walker: CaseWalker) -> None:
    """Each goal becomes a task in its owner office's inbox, due on the goal's date; SCH has no consent
    yet, so its task is held and case management is asked to obtain the consent."""
    walker.complete("abh_precheck")
    walker.complete("plan", plan_goals=GOALS)
    goal_tasks = {t.office: t for t in walker.tasks() if t.bpmn_id.startswith("goals_")}
    assert sorted(goal_tasks) == ["AA", "ABH", "CM", "JC"]
    assert goal_tasks["ABH"].due_at == berlin("2026-12-18T23:59:59")
    assert "consent_request:SCH" in walker.open_ids()
    walker.record_consents([row for row in form_data("kim_consent")["consent_scope"] if row["office"] == "SCH"])
    assert [t.office for t in walker.tasks() if t.bpmn_id == "goals_sch"] == ["SCH"]
    for bpmn_id in ("goals_cm", "goals_abh", "goals_aa", "goals_jc", "goals_sch"):
        walker.complete(bpmn_id)
    assert not [t for t in walker.tasks() if t.bpmn_id.startswith("goals_")]


def _identity_then_permit(walker: CaseWalker) -> None:
    """Identity not clarified -> identity clarification; with the passport, 25b becomes eligible."""
    walker.complete("request_steps")
    walker.complete("support")
    walker.complete("await_proof", proof_passport=True, passport_number="N1234567", passport_valid_until="2031-01-01")
    walker.complete("assess", identity_outcome="CLARIFIED_PASSPORT")
    assert walker.open_ids() == ["request_documents"], "re-screened: the application starts"
    walker.complete("request_documents")
    walker.complete("receive_documents")
    walker.complete("examine")
    walker.complete("decide", permit_valid_until="2028-11-19")
    assert sorted((t.bpmn_id, t.office) for t in walker.tasks()) == [
        ("jc_take_over", "JC"), ("soz_end_benefits", "SOZ")]
    assert bpmn_timers(walker)["wait_renewal"] == berlin("2028-08-19T08:00:00"), "3 months before expiry"
    walker.complete("soz_end_benefits")
    walker.complete("jc_take_over")


def test_full_pathway_from_referral_to_permit_and_closure(open_case: Callable[..., CaseWalker]) -> None:
    walker = open_case()
    to_assessment(walker, **INTEGRATED)
    assert walker.open_ids() == ["abh_precheck"]
    assert "wait_deadline_25a" not in bpmn_timers(walker), "36 years old: no § 25a deadline"
    _plan_with_a_goal_per_office(walker)
    _identity_then_permit(walker)
    monitoring_at = bpmn_timers(walker)["wait_monitoring"]
    assert monitoring_at == berlin("2027-02-20T09:00:00"), "3 months after the plan"
    walker.fire(monitoring_at)
    walker.complete("monitoring")
    walker.fire(berlin("2028-08-19T08:00:00"))
    assert {"monitoring", "renewal"} <= set(walker.open_ids())
    walker.complete("renewal")
    walker.complete("monitoring", monitoring_outcome="CLOSE")
    walker.complete("closure", closure_reason="PERMIT_GRANTED")
    assert walker.status() == "completed"
    assert walker.tasks() == []
    assert ENDS["full"] <= reached(walker)


def test_closing_the_case_ends_every_running_branch(open_case: Callable[..., CaseWalker]) -> None:
    walker = open_case()
    to_assessment(walker, **INTEGRATED, duldung_valid_until="2027-06-30")
    walker.complete("abh_precheck")
    walker.complete("plan")
    assert {"goals_cm", "request_steps"} <= set(walker.open_ids())
    walker.fire(berlin("2027-02-20T09:00:01"))
    walker.complete("monitoring", monitoring_outcome="CLOSE")
    walker.complete("closure", closure_reason="MOVED_AWAY")
    assert walker.status() == "completed"
    assert walker.tasks() == [], "goals and identity clarification ended"
    assert bpmn_timers(walker) == {}, "deadline and monitoring timers ended"


YOUNG_IN_TRAINING = {"duldung_months": 24, "stay_years": 5, "german_degree": True, "in_education": True,
                     "livelihood": "NONE", "training": "CONTRACT", "training_start": "2027-09-01",
                     "duldung_valid_until": "2027-01-31"}


def _close(walker: CaseWalker) -> None:
    walker.complete("monitoring", monitoring_outcome="CLOSE")
    walker.complete("closure")
    assert walker.status() == "completed"


def test_legal_deadlines_warn_and_escalate_on_their_dates(open_case: Callable[..., CaseWalker]) -> None:
    """§ 25a (27th birthday 2027-08-15), § 60c window (training 2027-09-01), Duldung (ends 2027-01-31)."""
    walker = open_case(date_of_birth="2000-08-15")
    to_assessment(walker, **YOUNG_IN_TRAINING)
    walker.complete("abh_precheck", precheck_result="NOT_YET")
    walker.complete("plan")
    timers = bpmn_timers(walker)
    assert timers["wait_deadline_duldung"] == berlin("2027-01-03T08:00:00"), "4 weeks before"
    assert timers["wait_deadline_training"] == berlin("2027-02-01T08:00:00"), "7 months before"
    assert timers["wait_deadline_25a"] == berlin("2027-02-15T08:00:00"), "6 months before the 27th birthday"
    assert "wait_deadline_104c" not in timers
    walker.fire(berlin("2027-01-03T07:59:59"))
    assert "deadline_duldung" not in walker.open_ids()
    walker.fire(berlin("2027-01-03T08:00:00"))
    assert walker.task("deadline_duldung").office == "CM"
    assert bpmn_timers(walker)["escalate_deadline_duldung_timer"] == berlin("2027-01-24T08:00:00"), "1 week before"
    walker.fire(berlin("2027-01-24T08:00:00"))
    assert walker.task("escalate_deadline_duldung").office == "ABH"
    walker.fire(berlin("2027-02-15T08:00:00"))
    assert {"deadline_training", "deadline_25a"} <= set(walker.open_ids())
    assert bpmn_timers(walker)["escalate_deadline_25a_timer"] == berlin("2027-07-15T08:00:00"), "1 month before"
    assert bpmn_timers(walker)["escalate_deadline_training_timer"] == berlin("2027-08-01T08:00:00")
    walker.fire(berlin("2027-08-01T08:00:00"))
    assert walker.task("escalate_deadline_25a").office == "KI"
    assert walker.task("escalate_deadline_training").office == "ABH"
    for key in ("duldung", "training", "25a"):
        walker.complete(f"deadline_{key}")
        walker.complete(f"escalate_deadline_{key}")
    _close(walker)
    assert ENDS["deadlines"] <= reached(walker)


def test_chancen_aufenthaltsrecht_deadline_is_capped_at_june_2027(open_case: Callable[..., CaseWalker]) -> None:
    walker = open_case()
    to_assessment(walker, status="AE_104C", holds_104c_until="2027-12-31", duldung_months=0)
    walker.complete("abh_precheck")
    walker.complete("plan")
    assert bpmn_timers(walker)["wait_deadline_104c"] == berlin("2027-05-05T08:00:00"), "2027-06-30 - 8 weeks"
    walker.fire(berlin("2027-05-05T08:00:00"))
    walker.complete("deadline_104c", deadline_action="APPOINTMENT_MADE")
    assert "escalate_deadline_104c_timer" not in bpmn_timers(walker), "handled in time: no escalation"
    _close(walker)
    assert "end_deadline_104c" in reached(walker)


def test_chancen_aufenthaltsrecht_escalates_four_weeks_before_its_end(open_case: Callable[..., CaseWalker]) -> None:
    walker = open_case()
    to_assessment(walker, status="AE_104C", holds_104c_until="2027-03-31", duldung_months=0)
    walker.complete("abh_precheck")
    walker.complete("plan")
    walker.fire(berlin("2027-02-03T08:00:00"))
    assert bpmn_timers(walker)["escalate_deadline_104c_timer"] == berlin("2027-03-03T08:00:00")
    walker.fire(berlin("2027-03-03T08:00:00"))
    walker.complete("escalate_deadline_104c")
    walker.complete("deadline_104c")
    _close(walker)
    assert ENDS["deadline_104c"] <= reached(walker)


@pytest.mark.parametrize(("result", "ends"), [("NO_PERSPECTIVE", {"end_no_perspective"}),
                                              ("APPLICATION", {"end_permit"})])
def test_without_an_eligible_path_the_abh_reviews_other_grounds(open_case: Callable[..., CaseWalker], result: str,
                                                                 ends: set[str]) -> None:
    walker = open_case()
    to_assessment(walker, stay_years=2, duldung_months=10, livelihood="LOW", german_level="A1")
    walker.complete("abh_precheck")
    walker.complete("plan")
    walker.complete("legal_review", legal_review_result=result)
    if result == "APPLICATION":
        for step in ("request_documents", "receive_documents", "examine"):
            walker.complete(step)
        walker.complete("decide", permit_decision="REFUSED", permit_legal_basis=None, permit_valid_until=None,
                        permit_card_number=None)
    walker.fire(berlin("2027-02-20T09:00:00"))
    _close(walker)
    assert ends <= reached(walker)


@pytest.mark.parametrize("name", ["kim_pathway", "identity_clarification", "permit_application"])
def test_every_element_is_named_and_every_user_task_has_a_form_and_a_due_date(name: str) -> None:
    """Users read the names in their inbox and in the modeler: no element may show its technical id."""
    tree = etree.parse(str(PROCESSES_DIR / f"{name}.bpmn"))
    unnamed = [e.get("id") for e in tree.iter() if isinstance(e.tag, str) and e.tag.startswith(BPMN)
               and e.tag[len(BPMN):] in NAMED_KINDS and not (e.get("name") or "").strip()]
    assert unnamed == []
    for gateway in tree.iter(f"{BPMN}exclusiveGateway"):
        flows = [f for f in tree.iter(f"{BPMN}sequenceFlow") if f.get("sourceRef") == gateway.get("id")]
        if len(flows) > 1:
            assert all(f.get("name") for f in flows), f"unlabelled branch of {gateway.get('id')}"
    for task in tree.iter(f"{BPMN}userTask"):
        props = {p.get("name") for p in task.iter("{http://spiffworkflow.org/bpmn/schema/1.0/core}property")}
        assert {"formKey", "dueIn"} <= props, f"{task.get('id')} needs a form and a due date"
    lanes = {lane.get("name") for lane in tree.iter(f"{BPMN}lane")}
    assert lanes <= {"CM", "FW", "KI", "ABH", "EBB", "SOZ", "JC", "AA", "JA", "SCH"}
    assert GERMAN.search(str(next(tree.iter(f"{BPMN}process")).get("name")))


def test_the_scenarios_reach_every_end_event() -> None:
    tree = etree.parse(str(Path(PROCESSES_DIR) / "kim_pathway.bpmn"))
    end_events = {e.get("id") for e in tree.iter(f"{BPMN}endEvent")}
    covered = set().union(*ENDS.values())
    assert covered == end_events
