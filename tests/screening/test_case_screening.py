"""The household screening inside a case (DOMAIN.md sections 5, 7 and 9): members' own inputs on the
case, the pathway screening every member, each run stored, what changed, plan-goal proposals
accepted into the integration plan with one action, and who sees why.

The family: the father (main person, 40) is ELIGIBLE for §25b; the mother lacks German A2 herself;
a son of 12 and a daughter of 17. On the case the members are m1 (mother), m2 (son), m3 (daughter).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from engine import clock
from engine.demo.samples import PROCESSES_DIR
from engine.demo.walker import CaseWalker, office_actors
from engine.domain.actors import SYSTEM, Actor
from engine.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from engine.persistence.models import AuditEntry, HumanTask, Screening, ScreeningPath, Timer
from engine.services.casework import cases
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from engine.services.screening import members, panel, plan_acceptance
from tests.processes.test_kim_pathway import consent_rows
from tests.processes.walking import reached
from tests.screening.test_household import DAUGHTER_17, MOTHER, SON_12

FATHER = {"given_name": "Karim", "family_name": "Haddad", "date_of_birth": "1986-04-02", "nationality": "syrisch"}
HOUSEHOLD = [
    {"given_name": "Leila", "family_name": "Haddad", "relation": "SPOUSE", "date_of_birth": "1988-09-30"},
    {"given_name": "Omar", "family_name": "Haddad", "relation": "CHILD", "date_of_birth": "2014-06-01"},
    {"given_name": "Yasmin", "family_name": "Haddad", "relation": "CHILD", "date_of_birth": "2009-08-15"},
]
REFERRAL = {"source": "ABH", "reason": "Familie mit Duldung, Perspektivberatung", "referred_at": "2026-11-18"}
ABH_FIELDS = ("conviction", "work_ban", "deportation_measures")
HER_18TH = "2027-08-15"


def _own(inputs: dict[str, Any]) -> dict[str, Any]:
    """A member's inputs as entered on the case: the day and the birth date come from the case."""
    return {k: v for k, v in inputs.items() if k not in ("eval_date", "date_of_birth")}


def _cm_part(inputs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in _own(inputs).items() if k not in ABH_FIELDS}


def _abh_part(inputs: dict[str, Any]) -> dict[str, Any]:
    return {k: inputs[k] for k in ABH_FIELDS}


@pytest.fixture
def actors(ctx: EngineContext) -> dict[str, Actor]:
    ctx.run(deployment.deploy, deployment.read_model_paths([PROCESSES_DIR]), SYSTEM)
    return office_actors(ctx)


@pytest.fixture
def family_case(ctx: EngineContext, actors: dict[str, Actor], frozen_clock: object) -> CaseWalker:
    case = ctx.run(cases.open_case, actors["CM"], {"person": FATHER, "referral": REFERRAL, "household": HOUSEHOLD})
    walker = CaseWalker.for_case(ctx, actors, case.id)
    for member_id, inputs in FAMILY.items():
        ctx.run(members.set_member_inputs, actors["CM"], case.id, member_id, {"inputs": _cm_part(inputs)})
    return walker


FAMILY = {"m1": MOTHER, "m2": SON_12, "m3": DAUGHTER_17}


def _to_abh_inputs(walker: CaseWalker) -> None:
    walker.complete("intake")
    scope = consent_rows("ABH", "AA", "JC", "SOZ")
    walker.record_consents(scope)
    walker.complete("consent", consent_scope=scope)
    walker.complete("counselling")
    walker.complete("assessment", minor_child_in_household=True, livelihood="PREDOMINANT")


def _screen(walker: CaseWalker, abh: dict[str, Any] | None = None,
            member_abh: dict[str, dict[str, Any]] | None = None) -> None:
    """Intake to the ABH's inputs (the ABH enters its part for every member first): the pathway then
    screens the household (service task screen_paths)."""
    _to_abh_inputs(walker)
    assert walker.case_id is not None
    abh_actor = walker.actors["ABH"]
    for member_id, inputs in FAMILY.items():
        given = {**_abh_part(inputs), **(member_abh or {}).get(member_id, {})}
        walker.ctx.run(members.set_member_inputs, abh_actor, walker.case_id, member_id, {"inputs": given})
    walker.complete("abh_inputs", **(abh or {}))


def _latest(ctx: EngineContext, actor: Actor, walker: CaseWalker) -> panel.ScreeningPanel:
    assert walker.case_id is not None
    return panel.require_screening(ctx.run(panel.latest_screening, actor, walker.case_id))


def _rows(found: panel.ScreeningPanel, person: str) -> list[dict[str, Any]]:
    body = found.result.to_json()
    if person == "main":
        return list(body["outputs"])
    (member,) = [m for m in body["members"] if m["id"] == person]
    return list(member["outputs"])


def _row(found: panel.ScreeningPanel, person: str, path: str, derived_from: str | None = None) -> dict[str, Any]:
    matches = [r for r in _rows(found, person) if r["path"] == path and r.get("derived_from") == derived_from]
    assert len(matches) == 1, (person, path, derived_from, _rows(found, person))
    return matches[0]


def test_household_section_9_every_member_is_screened_in_the_case_and_each_run_is_stored(
        ctx: EngineContext, actors: dict[str, Actor], family_case: CaseWalker) -> None:
    _screen(family_case)
    with ctx.uow(write=False) as uow:
        stored = uow.session.scalars(select(Screening).where(Screening.case_id == family_case.case_id)).all()
        assert sorted(s.person for s in stored) == ["m1", "m2", "m3", "main"]
        assert {s.trigger for s in stored} == {"assessment"}
        assert {s.ran_by for s in stored} == {actors["ABH"].username}, "who completed the step that ran it"
        main = next(s for s in stored if s.person == "main")
        assert main.inputs["status"] == "DULDUNG"
        assert main.recommended
        paths = uow.session.execute(select(ScreeningPath.path, ScreeningPath.status, ScreeningPath.derived_from,
                                           ScreeningPath.rules)
                                    .where(ScreeningPath.screening_id == main.id)).all()
        assert ("25b", "ELIGIBLE", None) in [(p, s, d) for p, s, d, _r in paths]
        assert all(rules for _p, _s, _d, rules in paths), "the rule ids that fired are stored per row"
        audited = uow.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.case_id == family_case.case_id, AuditEntry.action == "screening.run"))
        assert audited == 1
    found = _latest(ctx, actors["ABH"], family_case)
    for member_id in ("m1", "m2", "m3"):
        assert _row(found, member_id, "§25b Abs. 4", "main")["status"] == "ELIGIBLE", member_id
    assert _row(found, "m3", "25a")["status"] == "ELIGIBLE", "the 17-year-old's own §25a row"
    for person in ("main", "m1", "m2"):
        assert _row(found, person, "§60a Abs. 2b", "m3")["deadline"] == HER_18TH
    listed = {(d["member"], d["path"], d["deadline"]) for d in found.result.to_json()["household"]["deadlines"]}
    assert {("main", "§60a Abs. 2b", HER_18TH), ("m1", "§60a Abs. 2b", HER_18TH)} <= listed, "parents' deadlines"
    assert found.names["m3"] == "Yasmin Haddad"


def test_household_section_9_a_serious_conviction_of_the_father_turns_off_all_derived_rows(
        ctx: EngineContext, actors: dict[str, Actor], family_case: CaseWalker) -> None:
    _screen(family_case, abh={"conviction": "SERIOUS"})
    found = _latest(ctx, actors["ABH"], family_case)
    derived_from_father = [r for m in ("m1", "m2", "m3") for r in _rows(found, m) if r.get("derived_from") == "main"]
    assert derived_from_father == []


def test_household_section_9_a_conviction_of_the_mother_blocks_only_her_rows(
        ctx: EngineContext, actors: dict[str, Actor], family_case: CaseWalker) -> None:
    _screen(family_case, member_abh={"m1": {"conviction": "SERIOUS"}})
    found = _latest(ctx, actors["ABH"], family_case)
    assert _row(found, "m1", "§25b Abs. 4", "main")["status"] == "BLOCKED"
    assert _row(found, "m2", "§25b Abs. 4", "main")["status"] == "ELIGIBLE"
    assert _row(found, "m3", "§25b Abs. 4", "main")["status"] == "ELIGIBLE"


def test_section_7_conviction_input_of_a_member_is_the_abhs_and_case_management_sees_it_held(
        ctx: EngineContext, actors: dict[str, Actor], family_case: CaseWalker) -> None:
    assert family_case.case_id is not None
    case_id = family_case.case_id
    with pytest.raises(InvalidInput) as refused:
        ctx.run(members.set_member_inputs, actors["CM"], case_id, "m1", {"inputs": {"conviction": "NONE"}})
    assert "inputs.conviction" in refused.value.fields
    _screen(family_case, member_abh={"m1": {"conviction": "SERIOUS"}})
    listed = ctx.run(members.list_members, actors["CM"], case_id)
    assert all("conviction" not in m["inputs"] for m in listed)
    assert ctx.run(members.list_members, actors["ABH"], case_id)[0]["inputs"]["conviction"] == "SERIOUS"
    with pytest.raises((NotAllowed, NotFound)):
        ctx.run(members.list_members, actors["SOZ"], case_id)
    abh = _latest(ctx, actors["ABH"], family_case).result.to_json()
    cm = _latest(ctx, actors["CM"], family_case).result.to_json()
    assert "conviction_serious" in str(abh["members"][0])
    assert "conviction_" not in str(cm)
    assert "reason_held_by_abh" in str(cm["members"][0])


def test_section_5_a_member_without_complete_inputs_waits_and_is_named(
        ctx: EngineContext, actors: dict[str, Actor], actors_case: Callable[..., CaseWalker]) -> None:
    walker = actors_case()
    _to_abh_inputs(walker)
    walker.complete("abh_inputs")
    found = _latest(ctx, actors["CM"], walker)
    assert [w["id"] for w in found.waiting] == ["m1", "m2", "m3"]
    assert "german_level" in found.waiting[0]["missing"]
    assert found.result.members == ()


@pytest.fixture
def actors_case(ctx: EngineContext, actors: dict[str, Actor], frozen_clock: object) -> Callable[..., CaseWalker]:
    def _open() -> CaseWalker:
        case = ctx.run(cases.open_case, actors["CM"], {"person": FATHER, "referral": REFERRAL,
                                                       "household": HOUSEHOLD})
        return CaseWalker.for_case(ctx, actors, case.id)
    return _open


def test_section_5_plan_goal_proposals_are_accepted_into_the_integration_plan_with_one_action(
        ctx: EngineContext, actors: dict[str, Actor], family_case: CaseWalker) -> None:
    assert family_case.case_id is not None
    _screen(family_case)
    with pytest.raises(Conflict):  # the plan step is not open yet: the ABH's pre-check comes first
        ctx.run(plan_acceptance.accept_proposals, actors["CM"], family_case.case_id)
    family_case.complete("abh_precheck")
    found = _latest(ctx, actors["CM"], family_case)
    mother = [o for o in found.proposals if o.member == "m1" and o.path == "25b"]
    assert mother, "what opens the mother's own §25b"
    assert mother[0].proposals[0].goal == "language_course_a2", "German A2 opens her own §25b"
    with pytest.raises(NotAllowed):
        ctx.run(plan_acceptance.accept_proposals, actors["ABH"], family_case.case_id)
    done = ctx.run(plan_acceptance.accept_proposals, actors["CM"], family_case.case_id)
    assert done["added"] >= 1
    (language,) = [g for g in done["goals"] if g["title"].startswith("Leila Haddad: Sprachkurs (Ziel Deutsch A2)")]
    assert language["owner_office"] == "CM"
    assert "§25b" in language["title"], "one goal naming every path it opens"
    again = ctx.run(plan_acceptance.accept_proposals, actors["CM"], family_case.case_id)
    assert again["added"] == 0, "accepting twice adds nothing twice"
    with ctx.uow(write=False) as uow:
        plan = uow.session.scalar(select(HumanTask).where(HumanTask.case_id == family_case.case_id,
                                                          HumanTask.bpmn_id == "plan"))
        assert plan is not None
        titles = [g["title"] for g in plan.data["plan_goals"]]
    assert len(titles) == len(set(titles)) == done["added"]
    family_case.complete("plan", plan_goals=[{**g} for g in done["goals"]])


HOUSEHOLD_ENDS = {"household_watch_end", "household_each_end", "end_escalation_household",
                  "end_household_second_lead_none"}
"""End events of the household deadline watch this module reaches (tests/processes/test_kim_pathway.py ENDS)."""


def _open_tasks(walker: CaseWalker, bpmn_id: str) -> list[Any]:
    return [t for t in walker.tasks() if t.bpmn_id == bpmn_id]


def test_section_3_and_9_the_childs_18th_birthday_warns_and_escalates_for_every_protected_member(
        ctx: EngineContext, actors: dict[str, Actor], family_case: CaseWalker) -> None:
    """§60a Abs. 2b protects the parents and the minor brother until the daughter turns 18 (15.08.2027):
    a warning to case management 6 months before, an escalation to the CM lead 2 months before."""
    _screen(family_case)
    family_case.complete("abh_precheck")
    family_case.complete("plan")
    timers = bpmn_timers_all(family_case)
    assert timers.count(("wait_household_deadline", berlin("2027-02-15T08:00:00"))) == 3, timers
    assert ("wait_household_deadline", berlin("2036-02-15T08:00:00")) in timers, "the daughter's own §25a"
    family_case.fire(berlin("2027-02-15T08:00:00"))
    warnings = _open_tasks(family_case, "deadline_household")
    assert [t.office for t in warnings] == ["CM", "CM", "CM"]
    family_case.complete("deadline_household", deadline_action="APPLICATION_FILED")
    family_case.fire(berlin("2027-06-15T08:00:00"))
    escalations = _open_tasks(family_case, "escalate_household_deadline")
    assert len(escalations) >= 2
    assert all(t.office == "CM" and t.audience == "lead" for t in escalations)
    for _ in escalations:
        family_case.complete("escalate_household_deadline")
    for _ in _open_tasks(family_case, "deadline_household"):
        family_case.complete("deadline_household", deadline_action="APPLICATION_FILED")
    assert reached(family_case) >= HOUSEHOLD_ENDS


def test_section_3_and_9_a_members_104c_end_escalates_to_the_abh_lead_and_ki(
        ctx: EngineContext, actors: dict[str, Actor], family_case: CaseWalker) -> None:
    """The mother holds §104c until 30.04.2027: a warning 8 weeks before, and 4 weeks before an escalation
    to the ABH lead and to the KIM coordination (DOMAIN.md section 3)."""
    assert family_case.case_id is not None
    ctx.run(members.set_member_inputs, actors["CM"], family_case.case_id, "m1",
            {"inputs": {"status": "AE_104C", "holds_104c_until": "2027-04-30"}})
    _screen(family_case)
    timers = bpmn_timers_all(family_case)
    assert ("wait_household_deadline", berlin("2027-03-05T08:00:00")) in timers, "30.04.2027 - 8 weeks"
    family_case.fire(berlin("2027-04-02T08:00:00"))
    assert [t.office for t in _open_tasks(family_case, "escalate_household_deadline")] == ["ABH"]
    assert [t.office for t in _open_tasks(family_case, "escalate_household_deadline_second")] == ["KI"]
    family_case.complete("escalate_household_deadline")
    family_case.complete("escalate_household_deadline_second")
    for _ in _open_tasks(family_case, "deadline_household"):
        family_case.complete("deadline_household", deadline_action="APPLICATION_FILED")
    assert {"end_escalation_household", "end_escalation_household_second"} <= reached(family_case)


def test_section_3_and_9_a_members_escalations_end_when_her_application_is_filed(
        ctx: EngineContext, actors: dict[str, Actor], family_case: CaseWalker) -> None:
    """The mother's §104c permit ends 30.04.2027; both leads were told 4 weeks before "no application yet".
    Case management then answers the warnings "application filed": the escalations are moot and end
    unworked."""
    assert family_case.case_id is not None
    ctx.run(members.set_member_inputs, actors["CM"], family_case.case_id, "m1",
            {"inputs": {"status": "AE_104C", "holds_104c_until": "2027-04-30"}})
    _screen(family_case)
    family_case.fire(berlin("2027-04-02T08:00:00"))
    escalations = {"escalate_household_deadline", "escalate_household_deadline_second"}
    assert escalations <= set(family_case.open_ids())
    for _ in _open_tasks(family_case, "deadline_household"):
        family_case.complete("deadline_household", deadline_action="APPLICATION_FILED",
                             application_filed_on="2027-04-02")
    assert not escalations & set(family_case.open_ids())
    assert {t.bpmn_id for t in family_case.tasks("cancelled")} >= escalations, "ended unworked"


def test_section_5_monitoring_screens_again_and_a_deadline_that_disappears_cancels_its_timers(
        ctx: EngineContext, actors: dict[str, Actor], family_case: CaseWalker) -> None:
    """The ABH records a serious conviction of the daughter: at the next monitoring the household is
    screened again, her §25a is BLOCKED, the §60a Abs. 2b protection derived from her is gone - and
    with it the warnings and timers of that deadline (audited); the run and its changes are stored."""
    assert family_case.case_id is not None
    _screen(family_case)
    family_case.complete("abh_precheck")
    family_case.complete("plan")
    assert len([t for t in bpmn_timers_all(family_case) if t[0] == "wait_household_deadline"]) == 4
    ctx.run(members.set_member_inputs, actors["ABH"], family_case.case_id, "m3", {"inputs": {"conviction": "SERIOUS"}})
    family_case.fire(berlin("2027-02-20T09:00:00"))  # monitoring 3 months after the plan; the warnings are due
    assert len(_open_tasks(family_case, "deadline_household")) == 3
    family_case.complete("monitoring")
    assert _open_tasks(family_case, "deadline_household") == [], "the §60a Abs. 2b warnings are cancelled"
    assert [t for t in bpmn_timers_all(family_case) if t[0] == "wait_household_deadline"] == []
    found = _latest(ctx, actors["ABH"], family_case)
    assert found.trigger == "monitoring"
    assert _row(found, "m3", "25a")["status"] == "BLOCKED"
    assert any(c.path == "§60a Abs. 2b" and c.after is None for c in found.changes), "shown as gone"
    with ctx.uow(write=False) as uow:
        gone = uow.session.scalars(select(AuditEntry.details).where(
            AuditEntry.case_id == family_case.case_id, AuditEntry.action == "screening.deadline_gone")).all()
    assert {(d["member"], d["path"]) for d in gone} >= {("main", "§60a Abs. 2b"), ("m1", "§60a Abs. 2b")}


def test_section_5_a_person_alone_is_screened_again_when_the_next_screening_date_comes(
        ctx: EngineContext, actors: dict[str, Actor], frozen_clock: object) -> None:
    """Without household deadlines the watch has nothing to warn about; the screening still runs again
    on the date a path may open, at the latest after 12 months [default]."""
    case = ctx.run(cases.open_case, actors["CM"], {"person": FATHER, "referral": REFERRAL})
    walker = CaseWalker.for_case(ctx, actors, case.id)
    _to_abh_inputs(walker)
    walker.complete("abh_inputs")
    (due,) = [at for bpmn_id, at in bpmn_timers_all(walker) if bpmn_id == "wait_household_rescreen"]
    assert due <= berlin("2027-11-20T08:00:00")
    walker.fire(due)
    assert {"end_household_each", "end_household_rescreen_due", "rescreen_household"} <= reached(walker)
    assert _latest(ctx, actors["CM"], walker).trigger == "date_reached"
    (again,) = [at for bpmn_id, at in bpmn_timers_all(walker) if bpmn_id == "wait_household_rescreen"]
    assert again > due, "the next re-screening is planned from the new result"


def bpmn_timers_all(walker: CaseWalker) -> list[tuple[str, datetime]]:
    """Every pending BPMN timer of the instance (several instances of one timer too)."""
    with walker.ctx.uow(write=False) as uow:
        rows = uow.session.scalars(select(Timer).where(Timer.instance_id == walker.instance_id,
                                                       Timer.kind == "bpmn", Timer.fired_at.is_(None)))
        return sorted((t.bpmn_id, t.fire_at) for t in rows)


def berlin(moment: str) -> datetime:
    return datetime.fromisoformat(moment).replace(tzinfo=clock.BERLIN)


def test_section_5_and_9_an_application_filed_on_a_members_warning_is_the_members_and_ends_that_watch(
        ctx: EngineContext, actors: dict[str, Actor], family_case: CaseWalker) -> None:
    """The mother's §104c permit ends 31.03.2027; the warning 8 weeks before is answered "application filed
    on 03.02.2027". As for the main person: the date is hers (her inputs, audited like an edit on the
    case), the monitoring screening sees it (§81 Abs. 4: the permit continues, ACTIVE), and the unchanged
    deadline is not watched again - no new warning, no escalation."""
    assert family_case.case_id is not None
    ctx.run(members.set_member_inputs, actors["CM"], family_case.case_id, "m1",
            {"inputs": {"status": "AE_104C", "holds_104c_until": "2027-03-31"}})
    _screen(family_case)
    family_case.complete("abh_precheck")
    family_case.complete("plan")
    assert ("wait_household_deadline", berlin("2027-02-03T08:00:00")) in bpmn_timers_all(family_case)
    family_case.fire(berlin("2027-02-03T08:00:00"))
    assert len(_open_tasks(family_case, "deadline_household")) == 1, "only the mother's warning is due"
    family_case.complete("deadline_household", deadline_action="APPLICATION_FILED", application_filed_on="2027-02-03")
    with ctx.uow(write=False) as uow:
        stored = members.read_household_inputs(uow.session, family_case.case_id)
        audited = uow.session.scalars(select(AuditEntry.details).where(
            AuditEntry.case_id == family_case.case_id, AuditEntry.action == "household.inputs")).all()
    assert {m.id: m.inputs.get("application_filed_on") for m in stored} == {"m1": "2027-02-03", "m2": None,
                                                                            "m3": None}
    assert {"member": "m1", "fields": ["application_filed_on"], "trigger": "deadline_warning"} in audited
    family_case.fire(berlin("2027-02-20T09:00:00"))  # the monitoring 3 months after the plan
    family_case.complete("monitoring")
    found = _latest(ctx, actors["ABH"], family_case)
    assert found.trigger == "monitoring"
    assert _row(found, "m1", "104c")["status"] == "ACTIVE", "the screening sees her filed application"
    timers = bpmn_timers_all(family_case)
    assert not [t for t in timers if t[0] == "wait_household_deadline" and t[1] < berlin("2027-03-31T00:00:00")], \
        "her unchanged §104c deadline is not watched again"
    family_case.fire(berlin("2027-03-03T08:00:00"))  # 4 weeks before the end: no escalation for her
    assert _open_tasks(family_case, "escalate_household_deadline") == []
