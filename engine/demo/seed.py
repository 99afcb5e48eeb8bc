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
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from engine import clock
from engine.demo.samples import OFFICE_LABELS, PROCESSES_DIR, form_data, iso_day
from engine.demo.walker import CaseWalker
from engine.domain.actors import SYSTEM, Actor
from engine.persistence.models import (
    CaseConference,
    CaseFile,
    Consent,
    Office,
    ProcessDefinition,
    Timer,
    User,
)
from engine.services.admin import directory
from engine.services.casework import cases, conferences, consents
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from engine.services.timers.firing import fire_due_timers

DEMO_PASSWORD = "kim-demo-2026"  # noqa: S105  # a published demo password, listed by `kim demo`
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


# --- the demo cases ----------------------------------------------------------------------------------

Step = tuple[str, dict[str, Any]]  # a task to complete (bpmn id) or an action ("@..."), with form changes
# "@+n" as a value: the day n days after the step (dates that must lie ahead of the walked case)
INTEGRATED = {"duldung_months": 60, "stay_years": 7, "identity": "NOT_CLARIFIED", "passport_valid": False,
              "duldung_valid_until": None}
PROFILES: dict[str, dict[str, Any]] = {  # assessment answers -> which path the screening opens
    "identity": {**INTEGRATED, "benefits": "ASYLBLG"},  # 25b possible: application beside identity clarification
    "eligible": {"benefits": "ASYLBLG"},  # 25b eligible at once
    "review": {"stay_years": 2, "duldung_months": 10, "livelihood": "LOW", "german_level": "A1"},  # no path
    "refused": {"stay_years": 2, "duldung_months": 10, "livelihood": "LOW", "german_level": "A1"},
    "young": {"duldung_months": 24, "stay_years": 5, "german_degree": True, "in_education": True,
              "livelihood": "NONE"},  # 25a eligible, 27th birthday ahead
    "holder_104c": {"status": "AE_104C", "holds_104c_until": "@+150", "duldung_months": 0, "benefits": "SGB2",
                    "identity": "NOT_CLARIFIED", "passport_valid": False},  # passport pending at the embassy
    "employed": {"stay_years": 4, "duldung_months": 14, "employment_hours_week": 30, "employment_months": 14,
                 "german_level": "A2", "entry_date": "2021-05-03", "benefits": "ASYLBLG"},  # § 60d
    "family": {"minor_child_in_household": True, "benefits": "ASYLBLG",
               "assessment_summary": "Familie mit zwei Kindern, Vater in Vollzeit beschäftigt."},
}
PRECHECK = {"holder_104c": {"precheck_result": "OTHER_PATH", "precheck_path": "25b"},
            "employed": {"precheck_result": "OTHER_PATH", "precheck_path": "60d"}}
HOUSEHOLD = [("SPOUSE", "Samira", 33 * 365), ("CHILD", "Nour", 8 * 365), ("CHILD", "Karim", 4 * 365)]
GOALS = [("LANGUAGE_COURSE", "Deutschkurs B1 abschließen", "CM", 180),
         ("LID_TEST", "Test „Leben in Deutschland“ ablegen", "CM", 90),
         ("JOB_PLACEMENT", "Vermittlung in sozialversicherungspflichtige Arbeit", "AA", 180),
         ("IDENTITY_DOCUMENTS", "Passbeschaffung begleiten", "ABH", 28),
         ("SCHOOL_CERTIFICATE", "Schulbescheinigung der Kinder vorlegen", "SCH", 14)]
APPLY: list[Step] = [("request_documents", {}), ("receive_documents", {}), ("examine", {})]
# A case conference convened by case management with the ABH and the Sozialamt: the ABH answers, minutes follow.
CONFERENCE: list[Step] = [
    ("@conference", {"offices": ["ABH", "SOZ"], "agenda": "Passbeschaffung und Antrag nach § 25b abstimmen; "
                                                           "Leistungen während des Verfahrens"}),
    ("@conference:conference_invitation", {}), ("@conference:conference_minutes", {})]
REFUSED = {"permit_decision": "REFUSED", "permit_legal_basis": None, "permit_valid_until": None,
           "permit_card_number": None, "notice_served_on": "@+0"}


def _pathway(profile: str) -> list[Step]:
    """The route of a case with ``profile`` through kim_pathway, up to the closure by monitoring."""
    steps: list[Step] = [("intake", {}), ("@consents", {}), ("consent", {}),
                         ("counselling", {"another_session": True}), ("counselling", {}),
                         ("assessment", PROFILES[profile]), ("abh_inputs", {}),
                         ("abh_precheck", PRECHECK.get(profile, {})), ("plan", {"@goals": True})]
    if profile == "identity":
        steps += [("request_steps", {}), ("await_proof", {"proof_passport": True, "passport_number": "N7715342",
                                                          "passport_valid_until": "2031-06-30"}), ("assess", {})]
    if profile == "holder_104c":
        return [*steps, ("request_steps", {}), ("await_proof", {"proof_embassy_receipt": True}),
                ("assess", {"identity_outcome": "EFFORTS_DOCUMENTED", "embassy_application_pending": True}),
                ("request_documents", {})]
    if profile == "employed":
        return [*steps, ("request_documents", {"applied_path": "60d"}), *APPLY[1:], ("decide", {
            "permit_legal_basis": "60d", "permit_card_number": None, "permit_valid_until": "@+20"})]
    if profile == "review":
        return [*steps, ("legal_review", {}), ("@monitoring", {}), ("monitoring", {})]
    if profile == "refused":
        return [*steps, ("legal_review", {"legal_review_result": "APPLICATION"}), *APPLY[:2],
                ("examine", {"intended_decision": "REFUSE", "requirements_met": "NOT_MET"}), ("hearing", {}),
                ("decide", REFUSED)]
    handover: list[Step] = [("soz_end_benefits", {}), ("jc_take_over", {})] \
        if PROFILES[profile].get("benefits") == "ASYLBLG" else []
    return [*steps, *APPLY, ("decide", {}), *handover, ("@monitoring", {}), ("monitoring", {})]


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
    """Where a demo case stops: after ``steps`` steps of ``route``; ``young`` cases face the § 25a deadline,
    ``family`` cases are opened with the household (spouse and two children)."""

    label: str
    route: list[Step]
    steps: int
    young: bool = False
    family: bool = False


# The first case of each stage comes first, so that a small demo still shows every stage.
STAGES: list[Stage] = [
    Stage("Erstkontakt offen", _pathway("eligible"), 0),
    Stage("Einwilligung offen", _pathway("eligible"), 1),
    Stage("Perspektivberatung", _pathway("eligible"), 3),
    Stage("Assessment", _pathway("identity"), 5),
    Stage("Angaben der ABH", _pathway("eligible"), 6),
    Stage("Vorprüfung ABH", _pathway("eligible"), 7),
    Stage("Integrationsplan", _pathway("identity"), 8),
    Stage("Ziele und Identitätsklärung", _pathway("identity"), 10),
    Stage("Frist § 25a", _pathway("young"), 9, young=True),
    Stage("Antrag bei der ABH", _pathway("eligible"), 10),
    Stage("§ 104c: Pass bei der Botschaft beantragt", _pathway("holder_104c"), 13),
    Stage("Beschäftigungsduldung § 60d erteilt", _pathway("employed"), 13),
    Stage("Rechtliche Prüfung", _pathway("review"), 9),
    Stage("Ablehnung: Beratung und Klagefrist", _pathway("refused"), 15),
    Stage("Rechtskreiswechsel", _pathway("eligible"), 13),
    Stage("Familie", _pathway("family"), 8, family=True),
    Stage("Fallkonferenz", [*_pathway("identity")[:10], *CONFERENCE], 13),
    Stage("Monitoring", _pathway("eligible"), 16),
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
    report.offices_added = ctx.run(directory.seed_offices)
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
        ctx.run(deployment.deploy, deployment.read_model_paths([PROCESSES_DIR]), SYSTEM)


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
        ctx.run(directory.add_user, username, role, list(offices), display_name=name, password_hash=password_hash)
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


def _case_body(rng: random.Random, start: date, stage: Stage) -> dict[str, Any]:
    age_days = 27 * 365 - 150 if stage.young else rng.randint(19 * 365, 52 * 365)  # young: 27 in about 5 months
    source, reason = rng.choice(REFERRALS)
    family_name = rng.choice(FAMILY)
    body: dict[str, Any] = {
        "person": {"given_name": rng.choice(GIVEN), "family_name": family_name,
                   "date_of_birth": (start - timedelta(days=max(age_days, 35 * 365) if stage.family
                                                       else age_days)).isoformat(),
                   "nationality": rng.choice(NATIONALITIES)},
        "referral": {"source": source, "reason": reason,
                     "referred_at": (start - timedelta(days=rng.randint(0, 4))).isoformat()}}
    if stage.family:
        body["household"] = [{"given_name": name, "family_name": family_name, "relation": relation,
                              "date_of_birth": (start - timedelta(days=days)).isoformat()}
                             for relation, name, days in HOUSEHOLD]
    return body


def _seed_case(ctx: EngineContext, actors: Mapping[str, Actor], stage: Stage, now: datetime, rng: random.Random,
               opener: Actor) -> None:
    """Walk one case so that its last step lies a little before ``now`` (some long enough to be overdue)."""
    route = stage.route[:stage.steps]
    gaps = [timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 6)) for _ in route]
    waiting = timedelta(days=rng.randint(0, 9) if rng.random() < 0.7 else rng.randint(15, 45))
    monitoring = timedelta(days=93) if ("@monitoring", {}) in route else timedelta(0)
    clock.freeze(now - sum(gaps, timedelta(0)) - waiting - monitoring)
    case = ctx.run(cases.open_case, opener, _case_body(rng, clock.local_now().date(), stage))
    walker = CaseWalker.for_case(ctx, actors, case.id)
    for (action, changes), gap in zip(route, gaps, strict=True):
        clock.freeze(min(clock.now() + gap, now))
        _run_step(walker, action, changes, now)


def _run_step(walker: CaseWalker, action: str, changes: dict[str, Any], now: datetime) -> None:
    today = clock.local_now().date()
    changes = {k: iso_day(today, int(v[2:])) if isinstance(v, str) and v.startswith("@+") else v
               for k, v in changes.items()}
    if action == "@consents":
        walker.record_consents(form_data("kim_consent")["consent_scope"])
    elif action == "@monitoring":
        with walker.ctx.uow(write=False) as uow:
            due = uow.session.scalar(select(Timer.fire_at).where(Timer.instance_id == walker.instance_id,
                                                                 Timer.bpmn_id == "wait_monitoring"))
        walker.fire(min(max(due or now, clock.now()), now))
    elif action == "@withdraw":
        _withdraw_consent(walker, "ABH")
    elif action == "@conference":
        assert walker.case_id is not None  # noqa: S101  # demo cases always have a case
        walker.ctx.run(conferences.convene_conference, walker.actors["CM"], walker.case_id,
                       {**changes, "date": iso_day(today, 1)})
    elif action.startswith("@conference:"):
        _conference_step(walker, action.split(":", 1)[1])
    elif "@goals" in changes:
        goals = [{"goal_type": kind, "title": title, "owner_office": office, "due_on": iso_day(today, days)}
                 for kind, title, office, days in GOALS]
        walker.complete(action, plan_goals=goals)
    else:
        walker.complete(action, **changes)


def _conference_step(walker: CaseWalker, bpmn_id: str) -> None:
    """Work a step of the case's newest conference (its own process instance) as its office would."""
    with walker.ctx.uow(write=False) as uow:
        conference = uow.session.scalar(select(CaseConference).where(CaseConference.case_id == walker.case_id)
                                        .order_by(CaseConference.convened_at.desc()).limit(1))
    assert conference is not None  # noqa: S101  # convened by the step before
    steps = CaseWalker(walker.ctx, walker.actors, conference.instance_id, walker.case_id)
    held = {"held_on": conference.held_on.isoformat()} if bpmn_id == "conference_minutes" else {}
    steps.complete(bpmn_id, **held)


def _withdraw_consent(walker: CaseWalker, office: str) -> None:
    assert walker.case_id is not None  # noqa: S101  # demo cases always have a case
    with walker.ctx.uow(write=False) as uow:
        consent_id = uow.session.scalar(select(Consent.id).join(Office, Office.id == Consent.office_id).where(
            Consent.case_id == walker.case_id, Office.code == office, Consent.withdrawn_at.is_(None)))
    if consent_id is not None:
        walker.ctx.run(consents.withdraw_consent, walker.actors["CM"], walker.case_id, consent_id)
