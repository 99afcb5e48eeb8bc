"""Form data that passes the forms: the demo cases and the process tests fill tasks with it.

Every form of ``forms/`` that a shipped model uses has a sample here; ``form_data`` changes
it per call, so a walk can take any path through a model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from engine import clock
from engine.forms import FormRegistry

PROCESSES_DIR = Path(__file__).resolve().parents[2] / "processes"
OFFICE_LABELS = {"CM": "cm", "FW": "fw", "KI": "ki", "ABH": "abh", "EBB": "ebb", "SOZ": "soz", "JC": "jc",
                 "AA": "aa", "JA": "ja", "SCH": "sch"}  # office code -> user name prefix (cm1, abh1, ...)
FORMS = FormRegistry()  # shared: it caches parsed and checked schemas
# --- form data that passes the forms ---------------------------------------------------------


def iso_day(today: date, days: int = 0) -> str:
    return (today + timedelta(days=days)).isoformat()


SAMPLES: dict[str, Callable[[date], dict[str, Any]]] = {
    "kim_intake": lambda t: {"first_contact_on": iso_day(t), "contact_channel": "IN_PERSON", "language": "ar",
                             "intake_outcome": "CONTACT_MADE", "interpreter_needed": True, "household_size": 3,
                             "next_appointment_on": iso_day(t, 7), "intake_situation": "Duldung, sucht Arbeit."},
    "kim_consent": lambda t: {"consent_decision": "GRANTED", "consent_signed_on": iso_day(t), "consent_scope": [
        {"office": code, "cat_master_data": True, "cat_residence": True, "cat_identity_documents": code == "ABH",
         "cat_work": code in ("AA", "JC"), "cat_school": code == "SCH", "cat_benefits": code in ("SOZ", "JC"),
         "cat_health": False, "purpose": "Klärung der Bleibeperspektive und Integration"}
        for code in ("ABH", "AA", "JC", "SOZ", "SCH")]},
    "kim_information_only": lambda t: {"information_given_on": iso_day(t), "information_next_step": "CLOSE",
                                       "information_topics": "Allgemeine Hinweise zu § 25b AufenthG"},
    "kim_counselling_session": lambda t: {"session_on": iso_day(t), "session_format": "IN_PERSON",
                                          "interpreter_used": True, "area_residence": True, "area_work": True,
                                          "session_notes": "Perspektiven besprochen.", "another_session": False},
    "kim_assessment": lambda t: {
        "status": "DULDUNG", "duldung_months": 30, "stay_years": 6.5, "entry_date": "2020-03-02",
        "current_obstruction": False, "identity": "CLARIFIED_PASSPORT", "identity_in_time_60c": True,
        "identity_in_time_60d": True, "passport_valid": True, "german_level": "B1", "basic_knowledge": True,
        "fdgo": True, "german_degree": False, "in_education": False, "school_success_years": 0, "training": "NONE",
        "qualified_work_route": False, "qualified_job_offer": False, "adequate_housing": True,
        "employment_hours_week": 38, "employment_insured": True, "employment_months": 20, "livelihood": "SECURED",
        "livelihood_expected": False, "livelihood_exception": "NONE", "benefits": "NONE",
        "minor_child_in_household": False, "children_school_ok": True, "special_achievements": False,
        "housing_situation": "MUNICIPAL_FLAT", "assessment_summary": "Stabil beschäftigt, Deutsch B1."},
    "kim_abh_inputs": lambda t: {"abh_inputs_on": iso_day(t), "duldung_60b": False, "conviction": "NONE",
                                 "work_ban": False, "deportation_measures": False},
    "kim_abh_precheck": lambda t: {"precheck_on": iso_day(t), "precheck_result": "CONFIRMED"},
    "kim_integration_plan": lambda t: {"plan_agreed_on": iso_day(t), "plan_goals": [
        {"goal_type": "LID_TEST", "title": "Test „Leben in Deutschland“ ablegen", "owner_office": "CM",
         "due_on": iso_day(t, 90)}]},
    "kim_goal": lambda t: {"goal_status": "ACHIEVED", "goal_completed_on": iso_day(t)},
    "kim_legal_review": lambda t: {"legal_review_on": iso_day(t), "legal_review_result": "NO_PERSPECTIVE"},
    "kim_monitoring": lambda t: {"monitoring_on": iso_day(t), "goals_progress": "ON_TRACK",
                                 "monitoring_outcome": "CONTINUE"},
    "kim_closure": lambda t: {"closure_reason": "PERMIT_GRANTED", "closed_on": iso_day(t)},
    "kim_deadline_warning": lambda t: {"deadline_action": "APPLICATION_FILED", "application_filed_on": iso_day(t),
                                       "deadline_action_on": iso_day(t)},
    "kim_deadline_escalation": lambda t: {"escalation_measure": "CASE_CONFERENCE", "escalation_handled_on": iso_day(t)},
    "kim_reminder": lambda t: {"reminded_on": iso_day(t), "reminder_channel": "PHONE"},
    "identity_request": lambda t: {"request_sent_on": iso_day(t), "proof_due_on": iso_day(t, 28),
                                   "step_embassy_application": True, "step_personal_appearance": True,
                                   "request_text": "Passantrag bei der Botschaft stellen und Quittung vorlegen."},
    "identity_support": lambda t: {"support_on": iso_day(t), "support_appointment": True},
    "identity_proof": lambda t: {"proof_received_on": iso_day(t), "proof_passport": False,
                                 "proof_embassy_receipt": True},
    "identity_assessment": lambda t: {"assessed_on": iso_day(t), "identity_outcome": "CLARIFIED_PASSPORT",
                                      "embassy_application_pending": False, "declaration_requested": False},
    "identity_escalation": lambda t: {"escalation_measure": "ORDER_APPEARANCE", "escalation_handled_on": iso_day(t)},
    "identity_declaration": lambda t: {"declaration_received": True, "declaration_on": iso_day(t)},
    "identity_lift_60b": lambda t: {"lift_60b_on": iso_day(t)},
    "identity_embassy_followup": lambda t: {"followup_on": iso_day(t), "embassy_status": "PENDING"},
    "permit_document_request": lambda t: {"application_received_on": iso_day(t), "applied_path": "25b",
                                          "documents_requested_on": iso_day(t), "documents_due_on": iso_day(t, 28),
                                          "doc_passport": True, "doc_payslips": True},
    "permit_documents": lambda t: {"documents_received_on": iso_day(t), "documents_complete": True},
    "permit_examination": lambda t: {"examined_on": iso_day(t), "requirements_met": "ALL",
                                     "intended_decision": "GRANT"},
    "permit_hearing": lambda t: {"hearing_letter_on": iso_day(t), "statement_due_on": iso_day(t, 14),
                                 "statement_received": True},
    "permit_decision": lambda t: {"permit_decision": "GRANTED", "decided_on": iso_day(t), "permit_legal_basis": "25b",
                                  "permit_valid_until": iso_day(t, 730), "permit_card_number": "L01X00T47"},
    "permit_decision_warning": lambda t: {"expected_decision_on": iso_day(t, 14), "delay_reason": "SECURITY_CHECK"},
    "permit_handover_soz": lambda t: {"benefits_end_on": iso_day(t, 30), "notice_sent_on": iso_day(t),
                                      "jc_informed": True},
    "permit_handover_jc": lambda t: {"sgb2_application_on": iso_day(t), "sgb2_benefits_from": iso_day(t, 30)},
    "permit_renewal": lambda t: {"renewal_prepared_on": iso_day(t), "renewal_requirements": "MET"},
    "permit_duldung_renewal": lambda t: {"renewal_prepared_on": iso_day(t), "renewal_requirements": "MET"},
    "permit_fiction": lambda t: {"fiction_issued_on": iso_day(t), "fiction_valid_until": iso_day(t, 90)},
    "permit_refusal_advice": lambda t: {"advised_on": iso_day(t), "advice_outcome": "LEGAL_ADVICE"},
    "permit_lawsuit_deadline": lambda t: {"lawsuit_status": "WAIVED", "lawsuit_checked_on": iso_day(t)},
    "permit_return_jc": lambda t: {"sgb2_end_on": iso_day(t), "soz_informed": True},
    "permit_return_soz": lambda t: {"asylblg_from": iso_day(t, 1)},
    "ebb_naturalisation": lambda t: {"naturalisation_checked_on": iso_day(t),
                                     "naturalisation_result": "APPLICATION_POSSIBLE"},
    "kim_conference_invitation": lambda t: {"attendance": "ATTENDING", "answered_on": iso_day(t),
                                            "attendee": "Sachbearbeitung", "contribution": "Stand des Verfahrens."},
    "kim_conference_minutes": lambda t: {
        "held_on": iso_day(t), "participants": "Case Management, Ausländerbehörde, Sozialamt",
        "results": "Passbeschaffung wird gemeinsam begleitet; Antrag nach § 25b wird vorbereitet.",
        "agreements": [{"measure": "Termin bei der Botschaft begleiten", "owner_office": "CM",
                        "due_on": iso_day(t, 14)}], "follow_up_conference": False},
}
REFUSAL = {"permit_decision": "REFUSED", "permit_legal_basis": None, "permit_valid_until": None,
           "permit_card_number": None}  # changes to the permit_decision sample for a refusal (add notice_served_on)


def form_data(form_key: str | None, **overrides: Any) -> dict[str, Any]:
    """Plausible data for a form, changed by ``overrides``; an override of None removes the field."""
    data = SAMPLES[form_key](clock.local_now().date()) if form_key in SAMPLES else {}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def consent_bodies(scope: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows of the consent form as bodies for :func:`cases.record_consent` (one per office)."""
    return [{"office": row["office"], "purpose": row["purpose"],
             "categories": sorted(k[len("cat_"):] for k, v in row.items() if k.startswith("cat_") and v)}
            for row in scope]
