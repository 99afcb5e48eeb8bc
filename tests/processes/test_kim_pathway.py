"""kim_pathway: every path through the KIM pathway, on the real engine and database.

Each scenario opens a case with ``open_case`` and works it with the offices' caseworkers
(:class:`CaseWalker` validates every submission against the task's form first). Every
step is its own transaction, so the workflow is saved and restored between all of them.
Where a scenario is about the pathway and not about the legal rules inside the decision tables,
the screening answers through :func:`screening_runs` instead of the tables. Together the scenarios
reach every end event of the model (checked at the end).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import select

from engine import clock
from engine.demo.samples import PROCESSES_DIR, REFUSAL, form_data
from engine.demo.walker import CaseWalker
from engine.persistence.models import Screening
from engine.services.context import EngineContext
from tests.processes.walking import bpmn_timers, reached, screening_result, screening_runs, task_data, task_meta

PERSON = {"given_name": "Amina", "family_name": "Haddad", "date_of_birth": "1990-05-10", "nationality": "syrisch"}
REFERRAL = {"source": "ABH", "reason": "Duldung seit 2019, Perspektivberatung", "referred_at": "2026-11-18"}
# 25b possible while identity is not clarified, eligible once it is; no legal deadline applies.
INTEGRATED = {"duldung_months": 60, "stay_years": 7, "identity": "NOT_CLARIFIED", "passport_valid": False}
HOLDER_104C = {"status": "AE_104C", "holds_104c_until": "2027-03-31", "duldung_months": 0, "benefits": "SGB2",
               "identity": "NOT_CLARIFIED", "passport_valid": False}
GOAL_ENDS = {f"end_goal_{office}" for office in ("cm", "ki", "abh", "aa", "jc", "soz", "ja", "sch", "ebb")}
DOMAIN_INPUTS = {  # DOMAIN.md section 5, plus holds_path_until (the end of the held path, our addition)
    "status", "duldung_months", "stay_years", "date_of_birth", "minor_child_in_household", "school_success_years",
    "german_degree", "in_education", "german_level", "basic_knowledge", "livelihood", "livelihood_expected",
    "livelihood_exception", "employment_hours_week", "employment_insured", "employment_months", "training",
    "training_start", "identity", "identity_in_time_60c", "identity_in_time_60d", "passport_valid",
    "current_obstruction", "conviction", "entry_date", "work_ban", "deportation_measures", "children_school_ok",
    "special_achievements", "holds_104c_until", "fdgo", "qualified_job_offer", "adequate_housing",
    "application_filed_on", "holds_path", "holds_path_until", "benefits", "qualified_work_route", "eval_date"}
MAIN_ESCALATIONS = ("25a_cm", "25a_abh", "104c_abh", "104c_ki", "training", "duldung")
"""The escalation tasks of the person's own deadlines (escalate_deadline_<name>)."""
ENDS = {  # scenario -> end events it reaches (the called processes' ends are tested in their own modules)
    "unreachable": {"end_closed"},
    "information_only": {"end_closed"},
    # the permit runs on (EBB); screened again at its decision
    "full": {"end_goals", "end_closed", "end_identity_beside", "end_rescreen_status", *GOAL_ENDS},
    # a deadline branch never ends by itself: it waits for a new screening (tests/processes/test_rescreening.py)
    "deadlines": {"watch_25a_end", "end_escalation_25a_cm", "end_escalation_25a_abh",
                  "watch_training_end", "end_escalation_training", "watch_duldung_end", "end_escalation_duldung",
                  "end_not_yet"},
    "deadline_104c": {"watch_104c_end", "end_escalation_104c_abh", "end_escalation_104c_ki"},
    # an escalation whose deadline changed, disappeared or got its application: tests/processes/test_rescreening.py
    # walks §104c; test_every_escalation_of_a_deadline_ends_when_it_is_moot checks the others are built alike
    "escalation_moot": {f"end_escalation_{e}_moot" for e in MAIN_ESCALATIONS},
    "identity_first": {"end_identity_settled"},
    "legal_review": {"end_no_perspective", "end_permit"},
    # the household's deadlines and re-screening: tests/screening/test_case_screening.py
    "household": {"household_watch_end", "household_each_end", "end_escalation_household", "end_household_each",
                  "end_household_rescreen_due", "end_escalation_household_second", "end_household_second_lead_none"},
    # the plan revision started by accepting proposals: tests/screening/test_plan_revision.py
    "plan_revision": {"end_revised_goal", "end_plan_revision"},
}


def berlin(moment: str) -> datetime:
    return datetime.fromisoformat(moment).replace(tzinfo=clock.BERLIN)


def consent_rows(*offices: str) -> list[dict[str, Any]]:
    """Rows of the consent form for ``offices`` (master data and residence, for the plan's purpose)."""
    sample = {row["office"]: row for row in form_data("kim_consent")["consent_scope"]}
    return [sample.get(code) or {**sample["SOZ"], "office": code, "cat_benefits": False} for code in offices]


def to_assessment(walker: CaseWalker, consent_offices: tuple[str, ...] = ("ABH", "AA", "JC", "SOZ"),
                  **assessment: Any) -> None:
    """Intake, consent (recorded for ``consent_offices``), one counselling session, assessment."""
    walker.complete("intake")
    scope = consent_rows(*consent_offices)
    walker.record_consents(scope)
    walker.complete("consent", consent_scope=scope)
    walker.complete("counselling")
    walker.complete("assessment", **assessment)


def to_plan(walker: CaseWalker, abh_inputs: dict[str, Any] | None = None, **precheck: Any) -> None:
    walker.complete("abh_inputs", **(abh_inputs or {}))
    walker.complete("abh_precheck", **precheck)
    walker.complete("plan")


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


def test_the_screening_waits_for_the_abh_and_gets_exactly_the_inputs_of_the_domain(
        ctx: EngineContext, open_case: Callable[..., CaseWalker]) -> None:
    """Conviction and the § 60b status are the ABH's inputs; the date of birth may come from the assessment."""
    walker = open_case(date_of_birth=None)
    with screening_runs(ctx) as seen:
        to_assessment(walker, **INTEGRATED, date_of_birth="1990-05-10")
        assert [(t.bpmn_id, t.office) for t in walker.tasks()] == [("abh_inputs", "ABH")]
        assert seen == [], "no screening before the ABH has given its inputs"
        walker.complete("abh_inputs", duldung_60b=True, conviction="MEDIUM", work_ban=True)
    assert walker.open_ids() == ["abh_precheck"]
    ((_, inputs),) = seen
    assert set(inputs) == DOMAIN_INPUTS
    assert (inputs["status"], inputs["conviction"], inputs["work_ban"]) == ("DULDUNG_60B", "MEDIUM", True)
    assert (inputs["date_of_birth"], inputs["eval_date"], inputs["holds_path"]) == ("1990-05-10", "2026-11-20", None)
    assert task_data(walker, "abh_precheck")["screening"]["outputs"], "the ABH sees the rows"


@pytest.mark.parametrize(("assessment", "held"), [
    ({"status": "AE_104C", "holds_104c_until": "2027-12-31", "duldung_months": 0}, (None, None)),
    ({"status": "AUSBILDUNGSDULDUNG_60C", "training": "ONGOING", "training_start": "2025-09-01",
      "duldung_valid_until": "2028-08-31"}, ("60c", "2028-08-31")),
], ids=["104c-held-through-status", "60c-held-until-the-duldung-ends"])
def test_the_screening_gets_the_held_path_and_its_end(
        ctx: EngineContext, open_case: Callable[..., CaseWalker], assessment: dict[str, Any],
        held: tuple[str | None, str | None]) -> None:
    """§ 104c is held through the status (no held path); § 60c/§ 60d are held until the Duldung ends."""
    walker = open_case()
    with screening_runs(ctx) as seen:
        to_assessment(walker, **assessment)
        walker.complete("abh_inputs")
    assert walker.open_ids() == ["abh_precheck"], "the screening ran without an incident"
    ((_, inputs),) = seen
    assert (inputs["holds_path"], inputs["holds_path_until"]) == held


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
          "due_on": "2026-12-04"},
         {"goal_type": "FAMILY_SUPPORT", "title": "Erziehungsberatung für die Familie", "owner_office": "JA",
          "due_on": "2027-01-15"},
         {"goal_type": "LIVELIHOOD", "title": "Mehrbedarf für die Schwangerschaft prüfen", "owner_office": "SOZ",
          "due_on": "2026-12-11"},
         {"goal_type": "NATURALISATION", "title": "Einbürgerungsvoraussetzungen erläutern", "owner_office": "EBB",
          "due_on": "2027-11-30"},
         {"goal_type": "OTHER", "title": "Fallkonferenz mit Schule und Jugendamt", "owner_office": "KI",
          "due_on": "2027-01-29"}]


def _plan_with_a_goal_per_office(walker: CaseWalker) -> None:
    """Each goal becomes a task in its owner office's inbox, due on the goal's date - every office of
    DOMAIN.md section 2 may own goals; SCH has no consent yet, so its task is held and case management
    is asked to obtain the consent."""
    walker.complete("abh_inputs")
    walker.complete("abh_precheck")
    walker.complete("plan", plan_goals=GOALS)
    goal_tasks = {t.office: t for t in walker.tasks() if t.bpmn_id.startswith("goals_")}
    assert sorted(goal_tasks) == ["AA", "ABH", "CM", "EBB", "JA", "JC", "KI", "SOZ"]
    assert goal_tasks["ABH"].due_at == berlin("2026-12-18T23:59:59")
    assert goal_tasks["EBB"].due_at == berlin("2027-11-30T23:59:59")
    assert "consent_request:SCH" in walker.open_ids()
    walker.record_consents([row for row in form_data("kim_consent")["consent_scope"] if row["office"] == "SCH"])
    assert [t.office for t in walker.tasks() if t.bpmn_id == "goals_sch"] == ["SCH"]
    for bpmn_id in sorted({t.bpmn_id for t in walker.tasks() if t.bpmn_id.startswith("goals_")}):
        walker.complete(bpmn_id)
    assert not [t for t in walker.tasks() if t.bpmn_id.startswith("goals_")]


def stored_triggers(walker: CaseWalker) -> list[str]:
    """Why the case's stored screenings ran, oldest first (one entry per run)."""
    with walker.ctx.uow(write=False) as uow:
        rows = uow.session.execute(select(Screening.trigger).where(Screening.case_id == walker.case_id,
                                                                   Screening.person == "main")
                                   .order_by(Screening.run_seq)).scalars().all()
    return list(rows)


def _identity_beside_the_permit(walker: CaseWalker) -> None:
    """25b is possible while the identity is open: the application runs beside identity clarification;
    with the passport the case is screened again; a title for a person on AsylbLG hands over to the JC."""
    assert {"request_documents", "request_steps"} <= set(walker.open_ids())
    walker.complete("request_steps")
    walker.complete("await_proof", proof_passport=True, passport_number="N1234567", passport_valid_until="2031-01-01")
    walker.complete("assess", identity_outcome="CLARIFIED_PASSPORT")
    assert "support" not in walker.open_ids(), "the help ended with the clarified identity"
    walker.complete("request_documents")
    walker.complete("receive_documents")
    walker.complete("examine")
    walker.complete("decide", permit_valid_until="2028-11-19")
    assert sorted((t.bpmn_id, t.office) for t in walker.tasks()) == [
        ("jc_take_over", "JC"), ("soz_end_benefits", "SOZ")]
    timers = bpmn_timers(walker)
    assert timers["wait_renewal"] == berlin("2028-08-19T08:00:00"), "3 months before expiry"
    assert timers["wait_naturalisation"] == berlin("2031-11-20T08:00:00"), "EBB follow-up 5 years after the title"
    walker.complete("soz_end_benefits")
    walker.complete("jc_take_over")


def test_full_pathway_from_referral_to_permit_and_closure(open_case: Callable[..., CaseWalker]) -> None:
    walker = open_case()
    to_assessment(walker, consent_offices=("ABH", "AA", "JC", "SOZ", "JA", "EBB"), **INTEGRATED, benefits="ASYLBLG")
    assert "wait_deadline_25a" not in bpmn_timers(walker), "36 years old: no § 25a deadline"
    _plan_with_a_goal_per_office(walker)
    _identity_beside_the_permit(walker)
    monitoring_at = bpmn_timers(walker)["wait_monitoring"]
    assert monitoring_at == berlin("2027-02-20T09:00:00"), "3 months after the plan"
    walker.fire(monitoring_at)
    walker.complete("monitoring")
    assert stored_triggers(walker) == ["assessment", *["plan_goal"] * 9, "identity_clarified", "status_change",
                                       "monitoring"], (
        "screened again for each of the nine goals reached, when the identity was clarified, at the decision "
        "and at the monitoring")
    walker.fire(berlin("2028-08-19T08:00:00"))
    assert {"monitoring", "renewal"} <= set(walker.open_ids())
    walker.complete("renewal")
    walker.complete("monitoring", monitoring_outcome="CLOSE")
    walker.complete("closure", closure_reason="PERMIT_GRANTED")
    assert walker.status() == "completed"
    assert walker.tasks() == []
    assert bpmn_timers(walker) == {}, "closing the case ends the naturalisation follow-up too"
    assert ENDS["full"] <= reached(walker)


def test_closing_the_case_ends_every_running_branch(open_case: Callable[..., CaseWalker]) -> None:
    walker = open_case()
    to_assessment(walker, **INTEGRATED, duldung_valid_until="2027-06-30")
    to_plan(walker)
    assert {"goals_cm", "request_steps", "request_documents"} <= set(walker.open_ids())
    walker.fire(berlin("2027-02-20T09:00:01"))
    walker.complete("monitoring", monitoring_outcome="CLOSE")
    walker.complete("closure", closure_reason="MOVED_AWAY")
    assert walker.status() == "completed"
    assert walker.tasks() == [], "goals, identity clarification and application ended"
    assert bpmn_timers(walker) == {}, "deadline and monitoring timers ended"


def test_a_104c_holder_applies_while_identity_clarification_waits_for_the_embassy(
        ctx: EngineContext, open_case: Callable[..., CaseWalker]) -> None:
    """§ 25b for a § 104c holder allows identity efforts: the application does not wait for the identity,
    and the § 104c warning fires on its date regardless (permit ends 2027-03-31: warning 8 weeks before)."""
    walker = open_case()
    with screening_runs(ctx, screening_result("25b", p25b="POSSIBLE", p104c="ELIGIBLE")):
        to_assessment(walker, **HOLDER_104C)
        to_plan(walker)
        assert {"request_steps", "request_documents", "issue_fiction"} <= set(walker.open_ids()), \
            "identity clarification, the application and its Fiktionsbescheinigung start together"
        walker.complete("request_steps")
        walker.complete("support")
        walker.complete("await_proof", proof_embassy_receipt=True)
        walker.complete("assess", identity_outcome="EFFORTS_DOCUMENTED", embassy_application_pending=True)
        assert "wait_embassy" in bpmn_timers(walker), "identity clarification waits for the embassy"
        assert walker.task("request_documents").office == "ABH", "the application is under way meanwhile"
        walker.complete("request_documents")
        assert bpmn_timers(walker)["wait_deadline_104c"] == berlin("2027-02-03T08:00:00")
        walker.fire(berlin("2027-02-03T08:00:00"))
        assert walker.task("deadline_104c").office == "CM", "the § 104c warning fires regardless"
        assert {"receive_documents", "embassy_followup"} <= set(walker.open_ids())


def test_without_a_path_that_allows_efforts_the_identity_is_clarified_first(
        ctx: EngineContext, open_case: Callable[..., CaseWalker]) -> None:
    """No path is possible while the identity is open (and the § 60b addition blocks): clarify, have the
    addition lifted, screen again with the plain Duldung - then the application starts."""
    def answer(inputs: dict[str, Any]) -> Any:
        clarified = inputs["status"] == "DULDUNG" and inputs["identity"] == "EFFORTS_DOCUMENTED"
        return screening_result("25b" if clarified else "LEGAL_REVIEW",
                                p25b="POSSIBLE" if clarified else "BLOCKED")(inputs)

    walker = open_case()
    with screening_runs(ctx, answer) as seen:
        to_assessment(walker, **INTEGRATED)
        to_plan(walker, {"duldung_60b": True})
        assert "request_steps" in walker.open_ids()
        assert "request_documents" not in walker.open_ids(), "identity first: no path allows efforts yet"
        walker.complete("request_steps")
        walker.complete("await_proof", proof_embassy_receipt=True)
        walker.complete("assess", identity_outcome="EFFORTS_DOCUMENTED")
        walker.complete("lift_60b")
        assert [(s["status"], s["identity"]) for _, s in seen] == [("DULDUNG_60B", "NOT_CLARIFIED"),
                                                                 ("DULDUNG", "EFFORTS_DOCUMENTED")]
        assert "request_documents" in walker.open_ids(), "screened again: the application starts"
        assert "request_steps" not in walker.open_ids(), "identity clarification does not start a second time"
        walker.fire(berlin("2027-02-20T09:00:00"))
        walker.complete("monitoring", monitoring_outcome="CLOSE")
        walker.complete("closure")
    assert ENDS["identity_first"] <= reached(walker)


YOUNG_IN_TRAINING = {"duldung_months": 24, "stay_years": 5, "german_degree": True, "in_education": True,
                     "livelihood": "NONE", "training": "CONTRACT", "training_start": "2027-09-01",
                     "duldung_valid_until": "2027-01-31"}


def _close(walker: CaseWalker) -> None:
    walker.complete("monitoring", monitoring_outcome="CLOSE")
    walker.complete("closure")
    assert walker.status() == "completed"


def test_legal_deadlines_warn_and_escalate_to_the_leads_on_their_dates(open_case: Callable[..., CaseWalker]) -> None:
    """§ 25a (27th birthday 2027-08-15), § 60c window (training 2027-09-01), Duldung (ends 2027-01-31)."""
    walker = open_case(date_of_birth="2000-08-15")
    to_assessment(walker, **YOUNG_IN_TRAINING)
    to_plan(walker, precheck_result="NOT_YET")
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
    assert bpmn_timers(walker)["escalate_deadline_25a_cm_timer"] == berlin("2027-07-15T08:00:00"), "1 month before"
    assert bpmn_timers(walker)["escalate_deadline_25a_abh_timer"] == berlin("2027-07-15T08:00:00")
    assert bpmn_timers(walker)["escalate_deadline_training_timer"] == berlin("2027-08-01T08:00:00")
    walker.fire(berlin("2027-08-01T08:00:00"))
    escalations = {(t.bpmn_id, t.office) for t in walker.tasks() if t.bpmn_id.startswith("escalate_")}
    assert escalations == {("escalate_deadline_25a_cm", "CM"), ("escalate_deadline_25a_abh", "ABH"),
                           ("escalate_deadline_training", "ABH"), ("escalate_deadline_duldung", "ABH")}
    assert {task_meta(walker, "kim_pathway", bpmn_id).audience for bpmn_id, _ in escalations} == {"lead"}, \
        "escalations go to the leads of the offices, not to every caseworker"
    for bpmn_id, _office in sorted(escalations):  # worked before the filing, which would end them unworked
        walker.complete(bpmn_id)
    for key in ("duldung", "training", "25a"):
        walker.complete(f"deadline_{key}")
    _close(walker)
    assert ENDS["deadlines"] <= reached(walker)


def test_an_appointment_keeps_the_104c_reminders_and_the_escalation_to_the_abh_lead_and_ki(
        open_case: Callable[..., CaseWalker]) -> None:
    """Only "application filed on <date>" ends a deadline warning; the § 104c deadline is capped at 2027-06-30."""
    walker = open_case()
    to_assessment(walker, status="AE_104C", holds_104c_until="2027-12-31", duldung_months=0)
    to_plan(walker)
    assert bpmn_timers(walker)["wait_deadline_104c"] == berlin("2027-05-05T08:00:00"), "2027-06-30 - 8 weeks"
    walker.fire(berlin("2027-05-05T08:00:00"))
    walker.complete("deadline_104c", deadline_action="APPOINTMENT_MADE", application_filed_on=None)
    timers = bpmn_timers(walker)
    assert timers["escalate_deadline_104c_abh_timer"] == berlin("2027-06-02T08:00:00"), "not cancelled"
    assert timers["escalate_deadline_104c_ki_timer"] == berlin("2027-06-02T08:00:00")
    assert timers["watch_104c_reminder"] == berlin("2027-05-19T08:00:00"), "reminded after 14 days"
    walker.fire(berlin("2027-05-19T08:00:00"))
    walker.complete("deadline_104c", deadline_action="IN_PREPARATION", application_filed_on=None)
    walker.fire(berlin("2027-06-02T08:00:00"))
    escalations = {(t.bpmn_id, t.office) for t in walker.tasks() if t.bpmn_id.startswith("escalate_")}
    assert escalations == {("escalate_deadline_104c_abh", "ABH"), ("escalate_deadline_104c_ki", "KI")}
    assert task_meta(walker, "kim_pathway", "escalate_deadline_104c_abh").audience == "lead"
    walker.complete("escalate_deadline_104c_abh")
    walker.complete("escalate_deadline_104c_ki")
    walker.fire(berlin("2027-06-02T08:00:00"))
    walker.complete("deadline_104c", application_filed_on="2027-06-01")
    assert "watch_104c_reminder" not in bpmn_timers(walker), "filed: no more reminders"
    _close(walker)
    assert ENDS["deadline_104c"] <= reached(walker)


@pytest.mark.parametrize(("result", "ends"), [("NO_PERSPECTIVE", {"end_no_perspective"}),
                                              ("APPLICATION", {"end_permit"})])
def test_without_an_eligible_path_the_abh_reviews_other_grounds(open_case: Callable[..., CaseWalker], result: str,
                                                                 ends: set[str]) -> None:
    walker = open_case()
    to_assessment(walker, stay_years=2, duldung_months=10, livelihood="LOW", german_level="A1")
    to_plan(walker, precheck_result="LEGAL_REVIEW")
    walker.complete("legal_review", legal_review_result=result)
    if result == "APPLICATION":
        for step in ("request_documents", "receive_documents", "examine"):
            walker.complete(step)
        walker.complete("decide", **REFUSAL, notice_served_on="2026-11-23")
        walker.complete("refusal_advice")
        walker.complete("lawsuit_deadline")
    walker.fire(berlin("2027-02-20T09:00:00"))
    _close(walker)
    assert ends <= reached(walker)


BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def test_the_scenarios_reach_every_end_event() -> None:
    tree = etree.parse(str(Path(PROCESSES_DIR) / "kim_pathway.bpmn"))
    end_events = {e.get("id") for e in tree.iter(f"{BPMN}endEvent")}
    covered = set().union(*ENDS.values())
    assert covered == end_events


def test_every_escalation_of_a_deadline_ends_when_it_is_moot() -> None:
    """Each escalation task of the person's own deadlines ("no application yet") has two interrupting
    boundary events - the deadline changed or disappeared (the dispatcher's message), the application was
    filed (thrown by that deadline's watch) - both ending it unworked; a changed deadline escalates anew."""
    tree = etree.parse(str(Path(PROCESSES_DIR) / "kim_pathway.bpmn"))
    ids = {e.get("id"): e for e in tree.iter() if e.get("id")}
    thrown = {d.get("messageRef") for e in tree.iter(f"{BPMN}intermediateThrowEvent")
              for d in e.iter(f"{BPMN}messageEventDefinition")}
    for name in MAIN_ESCALATIONS:
        deadline = name.split("_")[0]
        task = f"escalate_deadline_{name}"
        boundaries = [e for e in tree.iter(f"{BPMN}boundaryEvent") if e.get("attachedToRef") == task]
        caught = {d.get("messageRef") for b in boundaries for d in b.iter(f"{BPMN}messageEventDefinition")}
        assert caught == {f"message_deadline_{deadline}_changed", f"message_deadline_{deadline}_filed"}, name
        assert all(b.get("cancelActivity", "true") == "true" for b in boundaries), name
        assert caught <= thrown, f"{name}: someone throws what ends it"
        for boundary in boundaries:
            (flow,) = [f for f in tree.iter(f"{BPMN}sequenceFlow") if f.get("sourceRef") == boundary.get("id")]
            assert ids[flow.get("targetRef")].tag == f"{BPMN}endEvent", name
