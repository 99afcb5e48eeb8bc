"""The tasks the pathway creates say what they are about (the model's showFrom, stored with the task):
whose deadline, which path and which day a warning or an escalation concerns, and which goal a goal
task is for - without opening the case's data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import select

from engine.demo.walker import CaseWalker
from engine.domain.actors import Actor
from engine.persistence.models import HumanTask
from engine.services.casework import task_actions
from engine.services.casework.views import ContextEntry
from engine.services.context import EngineContext
from engine.services.screening import members
from tests.processes.test_kim_pathway import YOUNG_IN_TRAINING, berlin, to_assessment, to_plan
from tests.screening.test_case_screening import (  # noqa: F401  # family_case: the Haddads, Leila is m1
    _screen,
    family_case,
)

Context = list[tuple[str, Any]]


def contexts(walker: CaseWalker, bpmn_id: str) -> list[Context]:
    """The stored context of every open task ``bpmn_id`` of the case, as (label, value) pairs."""
    with walker.ctx.uow(write=False) as uow:
        rows = uow.session.scalars(select(HumanTask.context).where(
            HumanTask.case_id == walker.case_id, HumanTask.bpmn_id == bpmn_id,
            HumanTask.state.in_(("open", "claimed")))).all()
    return [[(e["label"], e["value"]) for e in row or ()] for row in rows]


def test_a_household_members_warning_and_both_escalations_say_whose_deadline_which_path_and_which_day(
        ctx: EngineContext, actors: dict[str, Actor], family_case: CaseWalker) -> None:  # noqa: F811  # family_case
    """Leila (m1) holds § 104c until 30.04.2027: the warning 8 weeks before and the escalations to the ABH
    lead and to the KIM coordination 4 weeks before name her, the path and the day."""
    assert family_case.case_id is not None
    ctx.run(members.set_member_inputs, actors["CM"], family_case.case_id, "m1",
            {"inputs": {"status": "AE_104C", "holds_104c_until": "2027-04-30"}})
    _screen(family_case)
    leila = [("Familienmitglied", "Leila Haddad"), ("Weg", "§ 104c"), ("Frist", "2027-04-30")]
    family_case.fire(berlin("2027-03-05T08:00:00"))
    assert leila in contexts(family_case, "deadline_household")
    family_case.fire(berlin("2027-04-02T08:00:00"))
    assert contexts(family_case, "escalate_household_deadline") == [leila]
    assert contexts(family_case, "escalate_household_deadline_second") == [leila]
    karim = [("Familienmitglied", "Karim Haddad"), ("Weg", "§ 60a Abs. 2b"), ("Frist", "2027-08-15")]
    assert karim in contexts(family_case, "deadline_household"), "the protection derived from his daughter's 18th"
    read = [ctx.run(task_actions.get_task, actors["CM"], t.id).context
            for t in family_case.tasks() if t.bpmn_id == "deadline_household"]
    hers = (ContextEntry("Familienmitglied", "Leila Haddad"), ContextEntry("Weg", "§ 104c"))
    (shown,) = [c for c in read if c[:2] == hers]
    assert shown[2] == ContextEntry("Frist", date(2027, 4, 30)), "a day, shown as the reader's language shows days"


def test_the_main_persons_warnings_and_escalations_show_the_day_and_a_goal_task_its_goal(
        open_case: Callable[..., CaseWalker]) -> None:
    walker = open_case(date_of_birth="2000-08-15")
    to_assessment(walker, **YOUNG_IN_TRAINING)
    to_plan(walker, precheck_result="NOT_YET")
    (goal,) = contexts(walker, "goals_cm")
    assert goal[0] == ("Ziel", "Test „Leben in Deutschland“ ablegen")
    assert goal[1][0] == "Fällig am"
    assert goal[1][1] == walker.task("goals_cm").due_at.date().isoformat()
    walker.fire(berlin("2027-01-03T08:00:00"))
    assert contexts(walker, "deadline_duldung") == [[("Duldung gültig bis", "2027-01-31")]]
    walker.fire(berlin("2027-01-24T08:00:00"))
    assert contexts(walker, "escalate_deadline_duldung") == [[("Duldung gültig bis", "2027-01-31")]]
    walker.fire(berlin("2027-02-15T08:00:00"))
    assert contexts(walker, "deadline_25a") == [[("Antrag spätestens am", "2027-08-14")]]
    assert contexts(walker, "deadline_training") == [[("Ausbildungsbeginn", "2027-09-01")]]
    walker.fire(berlin("2027-08-01T08:00:00"))
    assert contexts(walker, "escalate_deadline_25a_cm") == [[("Antrag spätestens am", "2027-08-14")]]
    assert contexts(walker, "escalate_deadline_25a_abh") == [[("Antrag spätestens am", "2027-08-14")]]
    assert contexts(walker, "escalate_deadline_training") == [[("Ausbildungsbeginn", "2027-09-01")]]
