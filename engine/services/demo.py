"""Demo data: offices, users and about a hundred cases spread over the KIM pathway.

A newcomer (or a municipality evaluating the software) should sign in and find a living
system: cases in every stage, overdue and escalated tasks, closed cases with every closure
reason. The cases are produced by the deployed models through the same services the web app
uses (open_case, record_consent, complete_task, fire_due_timers), with the engine clock set
back in time, so every date, due date and escalation is one the engine computed itself.

:class:`CaseWalker` drives one case through its tasks with form data that passes the forms;
the process tests use it too, so the demo walks exactly the paths the tests prove.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import func, select

from engine import clock
from engine.domain.actors import SYSTEM, Actor
from engine.forms import FormRegistry
from engine.persistence.models import (
    CaseFile,
    Consent,
    HumanTask,
    Incident,
    Office,
    ProcessDefinition,
    ProcessInstance,
    Timer,
    User,
)
from engine.services import cases, deployment, directory
from engine.services.context import EngineContext
from engine.services.instances import Completed, complete_task
from engine.services.timers import FireReport, fire_due_timers

PROCESSES_DIR = Path(__file__).resolve().parents[2] / "processes"
FORMS = FormRegistry()  # shared: it caches parsed and checked schemas
DEMO_PASSWORD = "kim-demo-2026"  # noqa: S105  # a published demo password, listed by `kim demo`
OFFICE_LABELS = {"CM": "cm", "FW": "fw", "KI": "ki", "ABH": "abh", "EBB": "ebb", "SOZ": "soz", "JC": "jc",
                 "AA": "aa", "JA": "ja", "SCH": "sch"}
STAFF = {"caseworker": ["Lena Wolff", "Yusuf Demir", "Katrin Brandt", "Jonas Albers", "Miriam Haas",
                        "Thomas Reuter", "Aylin Kaya", "Sven Lorenz", "Eva Hartmann", "Marek Nowak"],
         "supervisor": ["Dr. Ulrike Sander", "Bernd Kowalski", "Hatice Yilmaz", "Frank Weber", "Anja Krüger",
                        "Rolf Becker", "Sabine Vogt", "Peter Lang", "Ines Maurer", "Georg Pohl"]}
GIVEN = ["Amina", "Ahmad", "Fatima", "Mohammad", "Zahra", "Ali", "Mariam", "Hassan", "Nour", "Omid", "Samira",
         "Yonas", "Senait", "Abdullahi", "Hamid", "Leyla", "Rustam", "Karim", "Dilan", "Bilal", "Shirin",
         "Tesfaye", "Mahmoud", "Hawa", "Ibrahim", "Roya", "Jamal", "Aziz", "Malalai", "Kofi"]
FAMILY = ["Haddad", "Rahimi", "Al-Masri", "Ahmadi", "Hussaini", "Yousef", "Tesfamariam", "Mohamed", "Karimi",
          "Sultani", "Osman", "Nazari", "Barakzai", "Hamdan", "Kebede", "Jafari", "Ibrahim", "Popal",
          "Mensah", "Qasemi", "Abdi", "Saleh", "Rezai", "Darwish", "Noori"]
NATIONALITIES = ["syrisch", "afghanisch", "irakisch", "eritreisch", "somalisch", "iranisch", "guineisch",
                 "nigerianisch", "georgisch", "ghanaisch"]
REFERRALS = [("ABH", "Duldung seit mehreren Jahren, aktive Perspektivberatung (Baustein 3)"),
             ("SOZ", "Bezug von AsylbLG-Leistungen, Beratung zu Arbeit und Aufenthalt gewünscht"),
             ("JC", "Familienangehörige im SGB-II-Bezug, Klärung des Aufenthalts"),
             ("Schule", "Schülerin kurz vor dem Abschluss, Ausbildungsplatz in Aussicht"),
             ("Beratungsstelle", "Selbstmeldung über die Flüchtlingsberatung der Caritas"),
             ("Selbstmeldung", "Person kommt mit Schreiben der Ausländerbehörde in die Sprechstunde"),
             ("JA", "Junger Volljähriger aus der Jugendhilfe, Anschlussperspektive")]

# --- form data that passes the forms ---------------------------------------------------------


def _d(today: date, days: int = 0) -> str:
    return (today + timedelta(days=days)).isoformat()


SAMPLES: dict[str, Callable[[date], dict[str, Any]]] = {
    "kim_intake": lambda t: {"first_contact_on": _d(t), "contact_channel": "IN_PERSON", "language": "ar",
                             "intake_outcome": "CONTACT_MADE", "interpreter_needed": True, "household_size": 3,
                             "next_appointment_on": _d(t, 7), "intake_situation": "Duldung, sucht Arbeit."},
    "kim_consent": lambda t: {"consent_decision": "GRANTED", "consent_signed_on": _d(t), "consent_scope": [
        {"office": code, "cat_master_data": True, "cat_residence": True, "cat_identity_documents": code == "ABH",
         "cat_work": code in ("AA", "JC"), "cat_school": code == "SCH", "cat_benefits": code in ("SOZ", "JC"),
         "cat_health": False, "purpose": "Klärung der Bleibeperspektive und Integration"}
        for code in ("ABH", "AA", "JC", "SOZ", "SCH")]},
    "kim_information_only": lambda t: {"information_given_on": _d(t), "information_next_step": "CLOSE",
                                       "information_topics": "Allgemeine Hinweise zu § 25b AufenthG"},
    "kim_counselling_session": lambda t: {"session_on": _d(t), "session_format": "IN_PERSON",
                                          "interpreter_used": True, "area_residence": True, "area_work": True,
                                          "session_notes": "Perspektiven besprochen.", "another_session": False},
    "kim_assessment": lambda t: {
        "status": "DULDUNG", "duldung_months": 30, "stay_years": 6.5, "entry_date": "2020-03-02",
        "work_ban": False, "deportation_measures": False, "current_obstruction": False,
        "identity": "CLARIFIED_PASSPORT", "identity_in_time": True, "passport_valid": True, "german_level": "B1",
        "basic_knowledge": True, "german_degree": False, "in_education": False, "school_success_years": 0,
        "training": "NONE", "qualified_work_route": False, "employment_hours_week": 38,
        "employment_insured": True, "employment_months": 20, "livelihood": "SECURED",
        "livelihood_expected": False, "livelihood_exception": "NONE", "minor_child_in_household": False,
        "children_school_ok": True, "conviction": "NONE", "special_achievements": False,
        "housing_situation": "MUNICIPAL_FLAT", "assessment_summary": "Stabil beschäftigt, Deutsch B1."},
    "kim_abh_precheck": lambda t: {"precheck_on": _d(t), "precheck_result": "CONFIRMED"},
    "kim_integration_plan": lambda t: {"plan_agreed_on": _d(t), "plan_goals": [
        {"goal_type": "LID_TEST", "title": "Test „Leben in Deutschland“ ablegen", "owner_office": "CM",
         "due_on": _d(t, 90)}]},
    "kim_goal": lambda t: {"goal_status": "ACHIEVED", "goal_completed_on": _d(t)},
    "kim_legal_review": lambda t: {"legal_review_on": _d(t), "legal_review_result": "NO_PERSPECTIVE"},
    "kim_monitoring": lambda t: {"monitoring_on": _d(t), "goals_progress": "ON_TRACK",
                                 "monitoring_outcome": "CONTINUE"},
    "kim_closure": lambda t: {"closure_reason": "PERMIT_GRANTED", "closed_on": _d(t)},
    "kim_deadline_warning": lambda t: {"deadline_action": "APPLICATION_FILED", "deadline_action_on": _d(t)},
    "kim_deadline_escalation": lambda t: {"escalation_measure": "CASE_CONFERENCE", "escalation_handled_on": _d(t)},
    "kim_reminder": lambda t: {"reminded_on": _d(t), "reminder_channel": "PHONE"},
    "identity_request": lambda t: {"request_sent_on": _d(t), "proof_due_on": _d(t, 28),
                                   "step_embassy_application": True, "step_personal_appearance": True,
                                   "request_text": "Passantrag bei der Botschaft stellen und Quittung vorlegen."},
    "identity_support": lambda t: {"support_on": _d(t), "support_appointment": True},
    "identity_proof": lambda t: {"proof_received_on": _d(t), "proof_passport": False,
                                 "proof_embassy_receipt": True},
    "identity_assessment": lambda t: {"assessed_on": _d(t), "identity_outcome": "CLARIFIED_PASSPORT",
                                      "embassy_application_pending": False},
    "identity_embassy_followup": lambda t: {"followup_on": _d(t), "embassy_status": "PENDING"},
    "permit_document_request": lambda t: {"application_received_on": _d(t), "applied_path": "25b",
                                          "documents_requested_on": _d(t), "documents_due_on": _d(t, 28),
                                          "doc_passport": True, "doc_payslips": True},
    "permit_documents": lambda t: {"documents_received_on": _d(t), "documents_complete": True},
    "permit_examination": lambda t: {"examined_on": _d(t), "requirements_met": "ALL", "intended_decision": "GRANT"},
    "permit_hearing": lambda t: {"hearing_letter_on": _d(t), "statement_due_on": _d(t, 14),
                                 "statement_received": True},
    "permit_decision": lambda t: {"permit_decision": "GRANTED", "decided_on": _d(t), "permit_legal_basis": "25b",
                                  "permit_valid_until": _d(t, 730), "permit_card_number": "L01X00T47"},
    "permit_decision_warning": lambda t: {"expected_decision_on": _d(t, 14), "delay_reason": "SECURITY_CHECK"},
    "permit_handover_soz": lambda t: {"benefits_end_on": _d(t, 30), "notice_sent_on": _d(t), "jc_informed": True},
    "permit_handover_jc": lambda t: {"sgb2_application_on": _d(t), "sgb2_benefits_from": _d(t, 30)},
    "permit_renewal": lambda t: {"renewal_prepared_on": _d(t), "renewal_requirements": "MET"},
}


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


# --- driving a case ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskView:
    """A task of the walked instance as the offices see it in their inbox."""

    id: UUID
    bpmn_id: str
    office: str
    state: str
    form_key: str | None
    created_at: datetime
    due_at: datetime | None
    escalation_level: int


class ProcessIncident(RuntimeError):
    """The model failed at run time; the message is the engine's incident."""


@dataclass
class CaseWalker:
    """Works one process instance (and its case) through its tasks, as the offices would.

    Every completion goes through :func:`complete_task` with data validated against the task's
    form first, so a walk proves the model and its forms together.
    """

    ctx: EngineContext
    actors: Mapping[str, Actor]  # office code -> someone who works that office's tasks
    instance_id: UUID
    case_id: UUID | None = None
    forms: FormRegistry = field(default_factory=lambda: FORMS)

    @classmethod
    def for_case(cls, ctx: EngineContext, actors: Mapping[str, Actor], case_id: UUID) -> CaseWalker:
        with ctx.uow(write=False) as uow:
            instance_id = uow.session.scalar(select(ProcessInstance.id).where(ProcessInstance.case_id == case_id))
        if instance_id is None:
            raise LookupError(f"case {case_id} has no process instance")
        return cls(ctx, actors, instance_id, case_id)

    def tasks(self, *states: str) -> list[TaskView]:
        """Tasks of the instance in ``states`` (default: open and claimed), oldest first."""
        wanted = states or ("open", "claimed")
        with self.ctx.uow(write=False) as uow:
            rows = uow.session.execute(
                select(HumanTask, Office.code).join(Office, Office.id == HumanTask.office_id)
                .where(HumanTask.instance_id == self.instance_id, HumanTask.state.in_(wanted))
                .order_by(HumanTask.created_at, HumanTask.bpmn_id))
            return [TaskView(t.id, t.bpmn_id, code, t.state, t.form_key, t.created_at, t.due_at, t.escalation_level)
                    for t, code in rows]

    def open_ids(self) -> list[str]:
        return sorted(t.bpmn_id for t in self.tasks())

    def task(self, bpmn_id: str) -> TaskView:
        found = [t for t in self.tasks() if t.bpmn_id == bpmn_id]
        if not found:
            raise LookupError(f"no open task '{bpmn_id}'; open: {self.open_ids()}")
        return found[0]

    def complete(self, bpmn_id: str, **overrides: Any) -> Completed:
        """Complete the oldest open task ``bpmn_id`` with sample data changed by ``overrides``."""
        task = self.task(bpmn_id)
        data = form_data(task.form_key, **overrides)
        done = complete_task(self.ctx, task.id, self.actors[task.office], data, forms=self.forms)
        self.check()
        return done

    def status(self) -> str:
        with self.ctx.uow(write=False) as uow:
            return str(uow.session.scalar(select(ProcessInstance.status)
                                          .where(ProcessInstance.id == self.instance_id)))

    def check(self) -> None:
        """Raise the engine's incident message if the model failed (tests and demo stop there)."""
        if self.status() == "incident":
            with self.ctx.uow(write=False) as uow:
                message = uow.session.scalar(select(Incident.message).where(Incident.instance_id == self.instance_id)
                                             .order_by(Incident.created_at.desc()).limit(1))
            raise ProcessIncident(str(message))

    def fire(self, moment: datetime) -> FireReport:
        """Move the engine clock to ``moment`` and fire what is due (for every instance)."""
        clock.freeze(moment)
        report = fire_due_timers(self.ctx)
        self.check()
        return report

    def record_consents(self, scope: list[Mapping[str, Any]]) -> None:
        if self.case_id is None:
            raise LookupError("consents belong to a case; this instance has none")
        for body in consent_bodies(scope):
            cases.record_consent(self.ctx, self.actors["CM"], self.case_id, body)


def office_actors(ctx: EngineContext, codes: tuple[str, ...] = tuple(OFFICE_LABELS)) -> dict[str, Actor]:
    """One caseworker per office (``cm1``, ``abh1``, ...), created without a password when missing."""
    actors: dict[str, Actor] = {}
    for code in codes:
        username = f"{OFFICE_LABELS.get(code, code.lower())}1"
        with ctx.uow(write=False) as uow:
            exists = uow.session.scalar(select(User.id).where(User.username == username)) is not None
        if not exists:
            directory.add_user(ctx.uow(), username, "caseworker", [code], display_name=f"Sachbearbeitung {code}")
        with ctx.uow(write=False) as uow:
            user = uow.session.scalar(select(User).where(User.username == username))
            assert user is not None  # noqa: S101  # created just above
            actors[code] = directory.actor_for(user)
    return actors


# --- the demo cases ----------------------------------------------------------------------------------

Step = tuple[str, dict[str, Any]]  # a task to complete (bpmn id) or an action ("@..."), with form changes
INTEGRATED = {"duldung_months": 60, "stay_years": 7, "identity": "NOT_CLARIFIED", "passport_valid": False,
              "duldung_valid_until": None}
PROFILES: dict[str, dict[str, Any]] = {  # assessment answers -> which path the screening opens
    "identity": INTEGRATED,  # 25b possible, identity clarification first
    "eligible": {},  # 25b eligible at once
    "review": {"stay_years": 2, "duldung_months": 10, "livelihood": "LOW", "german_level": "A1"},  # no path
    "young": {"duldung_months": 24, "stay_years": 5, "german_degree": True, "in_education": True,
              "livelihood": "NONE"},  # 25a eligible, 27th birthday ahead
}
GOALS = [("LANGUAGE_COURSE", "Deutschkurs B1 abschließen", "CM", 180),
         ("LID_TEST", "Test „Leben in Deutschland“ ablegen", "CM", 90),
         ("JOB_PLACEMENT", "Vermittlung in sozialversicherungspflichtige Arbeit", "AA", 180),
         ("IDENTITY_DOCUMENTS", "Passbeschaffung begleiten", "ABH", 28),
         ("SCHOOL_CERTIFICATE", "Schulbescheinigung der Kinder vorlegen", "SCH", 14)]


def _pathway(profile: str) -> list[Step]:
    """The route of a case with ``profile`` through kim_pathway, up to the closure by monitoring."""
    steps: list[Step] = [("intake", {}), ("@consents", {}), ("consent", {}),
                         ("counselling", {"another_session": True}), ("counselling", {}),
                         ("assessment", PROFILES[profile]), ("abh_precheck", {}), ("plan", {"@goals": True})]
    if profile == "identity":
        steps += [("request_steps", {}), ("support", {}), ("await_proof", {"proof_passport": True,
                  "passport_number": "N7715342", "passport_valid_until": "2031-06-30"}), ("assess", {})]
    if profile == "review":
        return [*steps, ("legal_review", {}), ("@monitoring", {}), ("monitoring", {})]
    return [*steps, ("request_documents", {}), ("receive_documents", {}), ("examine", {}), ("decide", {}),
            ("soz_end_benefits", {}), ("jc_take_over", {}), ("@monitoring", {}), ("monitoring", {})]


CLOSURE_NOTES = {"PERMIT_GRANTED": "Aufenthaltserlaubnis nach § 25b erteilt, Jobcenter hat übernommen.",
                 "MOVED_AWAY": "Umzug nach Dortmund, Übergabe an das dortige KIM.",
                 "NO_COOPERATION": "Mehrfach eingeladen, keine Rückmeldung.",
                 "CONSENT_WITHDRAWN": "Einwilligung schriftlich widerrufen.",
                 "DEPORTED_OR_LEFT": "Freiwillige Ausreise ins Herkunftsland.",
                 "OTHER": "Nur allgemeine Informationsberatung gewünscht."}


def _closed(reason: str) -> list[Step]:
    close: Step = ("closure", {"closure_reason": reason, "closure_note": CLOSURE_NOTES[reason]})
    if reason == "NO_COOPERATION":
        return [("intake", {"intake_outcome": "NOT_REACHABLE", "next_appointment_on": None}), close]
    if reason == "OTHER":
        return [("intake", {}), ("consent", {"consent_decision": "REFUSED", "consent_scope": None}),
                ("info_only", {}), close]
    route = _pathway("eligible" if reason == "PERMIT_GRANTED" else "review")[:-1]
    if reason == "CONSENT_WITHDRAWN":
        route.append(("@withdraw", {}))
    return [*route, ("monitoring", {"monitoring_outcome": "CLOSE"}), close]


@dataclass(frozen=True)
class Stage:
    """Where a demo case stops: after ``steps`` steps of ``route``; ``young`` cases face the § 25a deadline."""

    label: str
    route: list[Step]
    steps: int
    young: bool = False


# The first case of each stage comes first, so that a small demo still shows every stage.
STAGES: list[Stage] = [
    Stage("Erstkontakt offen", _pathway("eligible"), 0),
    Stage("Einwilligung offen", _pathway("eligible"), 1),
    Stage("Perspektivberatung", _pathway("eligible"), 3),
    Stage("Assessment", _pathway("identity"), 5),
    Stage("Vorprüfung ABH", _pathway("eligible"), 6),
    Stage("Integrationsplan", _pathway("identity"), 7),
    Stage("Ziele und Identitätsklärung", _pathway("identity"), 10),
    Stage("Frist § 25a", _pathway("young"), 8, young=True),
    Stage("Antrag bei der ABH", _pathway("eligible"), 9),
    Stage("Rechtliche Prüfung", _pathway("review"), 8),
    Stage("Rechtskreiswechsel", _pathway("eligible"), 12),
    Stage("Monitoring", _pathway("eligible"), 15),
    Stage("Informationsfall", _closed("OTHER"), 2),
    *(Stage(f"Abgeschlossen: {reason}", _closed(reason), 99) for reason in (
        "PERMIT_GRANTED", "MOVED_AWAY", "NO_COOPERATION", "CONSENT_WITHDRAWN", "DEPORTED_OR_LEFT", "OTHER")),
]
WEIGHTS = {"Erstkontakt offen": 10, "Perspektivberatung": 9, "Ziele und Identitätsklärung": 12, "Frist § 25a": 4,
           "Antrag bei der ABH": 8, "Monitoring": 8, "Integrationsplan": 6, "Assessment": 6}


@dataclass
class DemoReport:
    """What ``kim demo`` did; :meth:`lines` is what it prints (the logins included)."""

    password: str
    users: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)  # username, role, offices
    offices_added: int = 0
    users_added: int = 0
    stages: dict[str, int] = field(default_factory=dict)

    @property
    def cases_added(self) -> int:
        return sum(self.stages.values())

    def lines(self) -> list[str]:
        if not (self.offices_added or self.users_added or self.cases_added):
            head = ["demo data exists already: nothing added"]
        else:
            head = [f"demo data added: {self.offices_added} offices, {self.users_added} users, "
                    f"{self.cases_added} cases"]
            head += [f"  {count:3d}  {label}" for label, count in self.stages.items()]
        logins = [f"  {name:<14} {role:<13} {', '.join(offices) or '-'}" for name, role, offices in self.users]
        return [*head, f"demo logins (password for all: {self.password}):", *logins]


def seed_demo(ctx: EngineContext, cases: int = 100, now: datetime | None = None, seed: int = 2026) -> DemoReport:
    """Offices, users and ``cases`` cases over every stage; a second run adds nothing.

    Cases are walked with the engine clock set back to their referral, so their dates are spread
    over the last months; the clock is reset to real time afterwards.
    """
    report = DemoReport(DEMO_PASSWORD)
    report.offices_added = directory.seed_offices(ctx.uow())
    _ensure_processes(ctx)
    report.users, report.users_added = _ensure_users(ctx)
    if _demo_cases_exist(ctx):
        return report
    moment = now or clock.now()
    try:
        report.stages = _seed_cases(ctx, cases, moment, random.Random(seed))  # noqa: S311  # demo data
        clock.freeze(moment)
        for _round in range(5):  # what fell due while the cases were walked: overdue and escalated tasks
            if fire_due_timers(ctx).total == 0:
                break
    finally:
        clock.reset()
    return report


def _ensure_processes(ctx: EngineContext) -> None:
    with ctx.uow(write=False) as uow:
        deployed = uow.session.scalar(select(func.count()).select_from(ProcessDefinition)
                                      .where(ProcessDefinition.key == cases.DEFAULT_PROCESS))
    if not deployed:
        deployment.deploy(ctx.uow(), deployment.read_model_paths([PROCESSES_DIR]), SYSTEM)


def _demo_users() -> list[tuple[str, str, tuple[str, ...], str]]:
    users: list[tuple[str, str, tuple[str, ...], str]] = []
    for i, (code, label) in enumerate(OFFICE_LABELS.items()):
        users.append((f"{label}1", "caseworker", (code,), STAFF["caseworker"][i]))
        users.append((f"{label}.leitung", "supervisor", (code,), STAFF["supervisor"][i]))
    users += [("cm2", "caseworker", ("CM",), "Nadia Rahman"), ("abh2", "caseworker", ("ABH",), "Tobias Kern"),
              ("prozess", "process_owner", (), "Prozessverantwortung KIM"), ("admin", "admin", (), "Administration"),
              ("revision", "auditor", (), "Datenschutz und Revision")]
    return users


def _ensure_users(ctx: EngineContext) -> tuple[list[tuple[str, str, tuple[str, ...]]], int]:
    with ctx.uow(write=False) as uow:
        existing = set(uow.session.scalars(select(User.username)))
    password_hash = None
    added = 0
    for username, role, offices, name in _demo_users():
        if username in existing:
            continue
        password_hash = password_hash or directory.hash_password(DEMO_PASSWORD)  # argon2 is slow: hash once
        directory.add_user(ctx.uow(), username, role, list(offices), display_name=name, password_hash=password_hash)
        added += 1
    return [(u, r, o) for u, r, o, _n in _demo_users()], added


def _demo_cases_exist(ctx: EngineContext) -> bool:
    with ctx.uow(write=False) as uow:
        return bool(uow.session.scalar(select(func.count()).select_from(CaseFile)
                                       .where(CaseFile.created_by.in_(("cm1", "cm2")))))


def _actors(ctx: EngineContext) -> dict[str, Actor]:
    with ctx.uow(write=False) as uow:
        users = {u.username: directory.actor_for(u) for u in uow.session.scalars(select(User))}
    actors = {code: users[f"{label}1"] for code, label in OFFICE_LABELS.items()}
    actors["CM2"] = users["cm2"]
    return actors


def stage_plan(count: int, rng: random.Random) -> list[Stage]:
    plan = STAGES[:count]
    extra = max(0, count - len(STAGES))
    plan += rng.choices(STAGES, weights=[WEIGHTS.get(s.label, 2) for s in STAGES], k=extra)
    return plan


def _seed_cases(ctx: EngineContext, count: int, now: datetime, rng: random.Random) -> dict[str, int]:
    actors = _actors(ctx)
    counts: Counter[str] = Counter()
    for index, stage in enumerate(stage_plan(count, rng)):
        _seed_case(ctx, actors, stage, now, rng, opener=actors["CM" if index % 2 else "CM2"])
        counts[stage.label] += 1
    return {s.label: counts[s.label] for s in STAGES if counts[s.label]}


def _case_body(rng: random.Random, start: date, young: bool) -> dict[str, Any]:
    age_days = 27 * 365 - 150 if young else rng.randint(19 * 365, 52 * 365)  # young: 27 in about 5 months
    source, reason = rng.choice(REFERRALS)
    return {"person": {"given_name": rng.choice(GIVEN), "family_name": rng.choice(FAMILY),
                       "date_of_birth": (start - timedelta(days=age_days)).isoformat(),
                       "nationality": rng.choice(NATIONALITIES)},
            "referral": {"source": source, "reason": reason,
                         "referred_at": (start - timedelta(days=rng.randint(0, 4))).isoformat()}}


def _seed_case(ctx: EngineContext, actors: Mapping[str, Actor], stage: Stage, now: datetime, rng: random.Random,
               opener: Actor) -> None:
    """Walk one case so that its last step lies a little before ``now`` (some long enough to be overdue)."""
    route = stage.route[:stage.steps]
    gaps = [timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 6)) for _ in route]
    waiting = timedelta(days=rng.randint(0, 9) if rng.random() < 0.7 else rng.randint(15, 45))
    monitoring = timedelta(days=93) if ("@monitoring", {}) in route else timedelta(0)
    clock.freeze(now - sum(gaps, timedelta(0)) - waiting - monitoring)
    case = cases.open_case(ctx, opener, _case_body(rng, clock.local_now().date(), stage.young))
    walker = CaseWalker.for_case(ctx, actors, UUID(case["id"]))
    for (action, changes), gap in zip(route, gaps, strict=True):
        clock.freeze(min(clock.now() + gap, now))
        _run_step(walker, action, changes, now)


def _run_step(walker: CaseWalker, action: str, changes: dict[str, Any], now: datetime) -> None:
    if action == "@consents":
        walker.record_consents(form_data("kim_consent")["consent_scope"])
    elif action == "@monitoring":
        with walker.ctx.uow(write=False) as uow:
            due = uow.session.scalar(select(Timer.fire_at).where(Timer.instance_id == walker.instance_id,
                                                                 Timer.bpmn_id == "wait_monitoring"))
        walker.fire(min(max(due or now, clock.now()), now))
    elif action == "@withdraw":
        _withdraw_consent(walker, "ABH")
    elif "@goals" in changes:
        today = clock.local_now().date()
        goals = [{"goal_type": kind, "title": title, "owner_office": office, "due_on": _d(today, days)}
                 for kind, title, office, days in GOALS]
        walker.complete(action, plan_goals=goals)
    else:
        walker.complete(action, **changes)


def _withdraw_consent(walker: CaseWalker, office: str) -> None:
    assert walker.case_id is not None  # noqa: S101  # demo cases always have a case
    with walker.ctx.uow(write=False) as uow:
        consent_id = uow.session.scalar(select(Consent.id).join(Office, Office.id == Consent.office_id).where(
            Consent.case_id == walker.case_id, Office.code == office, Consent.withdrawn_at.is_(None)))
    if consent_id is not None:
        cases.withdraw_consent(walker.ctx, walker.actors["CM"], walker.case_id, consent_id)
