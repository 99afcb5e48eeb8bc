"""`kim demo`: offices, users and cases over every stage of the pathway, produced by the real models.

The demo must show a living system (open work in every stage, overdue and escalated tasks,
closed cases with every closure reason, dates spread over months) and must be safe to run twice.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine import clock
from engine.demo import seed
from engine.demo.seed import DEMO_PASSWORD, STAGES, WEIGHTS, DemoReport, seed_demo, stage_plan
from engine.persistence.models import CaseConference, CaseFile, HumanTask, Incident, ProcessInstance, Timer, User
from engine.services.admin import directory
from engine.services.casework import conferences
from engine.services.context import EngineContext

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=clock.BERLIN)
OPEN_WORK = {  # stage -> a task that must be open in it
    "Erstkontakt offen": "intake", "Einwilligung offen": "consent", "Perspektivberatung": "counselling",
    "Assessment": "assessment", "Vorprüfung ABH": "abh_precheck", "Integrationsplan": "plan",
    "Ziele und Identitätsklärung": "await_proof", "Frist § 25a": "deadline_25a", "Antrag bei der ABH":
    "receive_documents", "Rechtliche Prüfung": "legal_review", "Rechtskreiswechsel": "jc_take_over",
    "Monitoring": "monitoring", "Informationsfall": "info_only", "Angaben der ABH": "abh_inputs",
    "§ 104c: Pass bei der Botschaft beantragt": "issue_fiction", "Beschäftigungsduldung § 60d erteilt":
    "duldung_renewal", "Ablehnung: Beratung und Klagefrist": "refusal_advice", "Familie": "plan",
    "Fallkonferenz": "conference_invitation",
}
CLOSURE_REASONS = {"PERMIT_GRANTED", "MOVED_AWAY", "NO_COOPERATION", "CONSENT_WITHDRAWN", "DEPORTED_OR_LEFT", "OTHER"}


def _open_tasks(ctx: EngineContext) -> list[HumanTask]:
    with ctx.uow(write=False) as uow:
        return list(uow.session.scalars(select(HumanTask).where(HumanTask.state.in_(("open", "claimed")))))


def check_every_stage_has_a_case_and_its_open_work(ctx: EngineContext, demo: DemoReport) -> None:
    assert demo.stages == {stage.label: 1 for stage in STAGES}
    open_ids = {t.bpmn_id for t in _open_tasks(ctx)}
    missing = {stage: bpmn_id for stage, bpmn_id in OPEN_WORK.items() if bpmn_id not in open_ids}
    assert missing == {}
    with ctx.uow(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Incident)) == 0
        opened = list(uow.session.scalars(select(CaseFile.opened_at)))
    assert len(opened) == len(STAGES)
    assert max(opened) - min(opened) > timedelta(days=90), "dates are spread over months"
    assert max(opened) <= NOW


def check_some_tasks_are_overdue_and_escalated_to_both_levels(ctx: EngineContext) -> None:
    tasks = _open_tasks(ctx)
    assert [t for t in tasks if t.due_at is not None and t.due_at < NOW]
    assert {t.escalation_level for t in tasks} >= {0, 1, 2}
    assert [t for t in tasks if t.due_at is not None and t.due_at > NOW], "and some are not due yet"


def check_closed_cases_cover_every_closure_reason(ctx: EngineContext) -> None:
    with ctx.uow(write=False) as uow:
        closures = list(uow.session.scalars(select(HumanTask).where(HumanTask.bpmn_id == "closure",
                                                                    HumanTask.state == "completed")))
        completed = set(uow.session.scalars(select(ProcessInstance.id)
                                            .where(ProcessInstance.status == "completed")))
    assert {t.data["closure_reason"] for t in closures} == CLOSURE_REASONS
    assert {t.instance_id for t in closures} <= completed


def check_users_for_every_office_and_role_sign_in_with_the_listed_password(ctx: EngineContext,
                                                                          demo: DemoReport) -> None:
    with ctx.uow(write=False) as uow:
        users = {u.username: u for u in uow.session.scalars(select(User))}
        roles = {(u.role, o.code) for u in users.values() for o in u.offices}
        assert {u.role for u in users.values()} >= {"caseworker", "supervisor", "process_owner", "admin", "auditor"}
        assert directory.verify_password(users["abh.leitung"], DEMO_PASSWORD)
    for code in ("CM", "FW", "KI", "ABH", "EBB", "SOZ", "JC", "AA", "JA", "SCH"):
        assert {("caseworker", code), ("supervisor", code)} <= roles
    listed = "\n".join(demo.lines())
    assert DEMO_PASSWORD in listed
    assert all(name in listed for name in users)


def check_the_cases_of_the_domain_pathway(ctx: EngineContext) -> None:
    """A § 104c holder applies while the passport is pending, a § 60d grant stays with the Sozialamt,
    a refusal brings advice and the lawsuit deadline, a family is recorded with its household."""
    with ctx.uow(write=False) as uow:
        tasks = list(uow.session.scalars(select(HumanTask)))
        pending = set(uow.session.scalars(select(Timer.instance_id).where(Timer.bpmn_id == "wait_embassy",
                                                                          Timer.fired_at.is_(None))))
        households = [len(c.household.get("members", [])) for c in uow.session.scalars(select(CaseFile))]
    steps: dict[object, set[str]] = {}
    for task in tasks:
        steps.setdefault(task.instance_id, set()).add(task.bpmn_id)
    (holder,) = [i for i, ids in steps.items() if "issue_fiction" in ids]
    assert "receive_documents" in steps[holder], "the application runs"
    assert holder in pending or "embassy_followup" in steps[holder], "identity clarification waits for the embassy"
    (duldung,) = [i for i, ids in steps.items() if "duldung_renewal" in ids]
    assert not {"soz_end_benefits", "jc_take_over"} & steps[duldung], "a Duldung stays with the Sozialamt"
    assert next(ids for ids in steps.values() if "refusal_advice" in ids) >= {"lawsuit_deadline"}
    assert 3 in households, "the family: spouse and two children"


def check_the_case_conference(ctx: EngineContext) -> None:
    """Convened by case management with the ABH and the Sozialamt: the ABH answered, the minutes are
    recorded (readable by the participants only), the Sozialamt's invitation is still open."""
    with ctx.uow(write=False) as uow:
        (conference,) = uow.session.scalars(select(CaseConference))
        steps = {(t.bpmn_id, t.state) for t in uow.session.scalars(
            select(HumanTask).where(HumanTask.instance_id == conference.instance_id))}
        cm1 = directory.actor_for(uow.session.scalar(select(User).where(User.username == "cm1")))
        soz1 = directory.actor_for(uow.session.scalar(select(User).where(User.username == "soz1")))
    assert conference.offices == ["ABH", "SOZ"]
    assert steps == {("conference_invitation", "completed"), ("conference_invitation", "open"),
                     ("conference_minutes", "completed")}
    minutes = ctx.read(conferences.get_conference, cm1, conference.id).minutes
    assert minutes is not None
    assert minutes["held_on"] == conference.held_on.isoformat()
    assert ctx.read(conferences.get_conference, soz1, conference.id).minutes == minutes


def check_a_second_run_adds_nothing_and_says_so(ctx: EngineContext) -> None:
    def counts() -> list[int]:
        with ctx.uow(write=False) as uow:
            return [int(uow.session.scalar(select(func.count()).select_from(model)) or 0)
                    for model in (CaseFile, HumanTask, User)]

    before = counts()
    again = seed_demo(ctx, cases=len(STAGES), now=NOW)
    assert (again.cases_added, again.users_added, again.offices_added) == (0, 0, 0)
    assert again.lines()[0] == "demo data exists already: nothing added"
    assert counts() == before


def test_the_demo_shows_a_living_system_and_a_second_run_adds_nothing(ctx: EngineContext) -> None:
    """One case per stage: the smallest demo that still shows everything (seeding is the slow part,
    so one seeding serves all checks)."""
    demo = seed_demo(ctx, cases=len(STAGES), now=NOW)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(minutes=1), "the clock runs in real time again"
    check_every_stage_has_a_case_and_its_open_work(ctx, demo)
    check_some_tasks_are_overdue_and_escalated_to_both_levels(ctx)
    check_closed_cases_cover_every_closure_reason(ctx)
    check_the_cases_of_the_domain_pathway(ctx)
    check_users_for_every_office_and_role_sign_in_with_the_listed_password(ctx, demo)
    check_the_case_conference(ctx)
    check_a_second_run_adds_nothing_and_says_so(ctx)


def test_the_demo_case_conference(ctx: EngineContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """The conference stage on its own (the whole demo walks every other stage as well)."""
    (stage,) = [s for s in STAGES if s.label == "Fallkonferenz"]
    monkeypatch.setattr(seed, "STAGES", [stage])
    assert seed_demo(ctx, cases=1, now=NOW).stages == {"Fallkonferenz": 1}
    check_the_case_conference(ctx)


def test_a_larger_demo_spreads_the_extra_cases_by_weight() -> None:
    """Without a database: the stage plan of the default 100 cases keeps every stage and favours busy ones."""
    plan = stage_plan(100, random.Random(2026))  # the seed the demo uses
    labels = [stage.label for stage in plan]
    assert len(plan) == 100
    assert {stage.label for stage in STAGES} == set(labels)
    assert labels.count("Ziele und Identitätsklärung") > labels.count("Abgeschlossen: OTHER")
    assert set(WEIGHTS) <= set(labels)
