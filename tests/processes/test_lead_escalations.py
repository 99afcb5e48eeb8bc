"""The escalations of the shipped pathway reach the leads of their office, not every caseworker in it
(DOMAIN.md section 2): walked on the real models to the Duldung deadline, whose escalation goes to the
lead of the ABH one week before the Duldung ends."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine.demo.walker import CaseWalker, office_lead
from engine.domain.errors import NotFound
from engine.services.casework import inbox, task_actions
from engine.services.casework.instances import complete_task
from tests.processes.test_kim_pathway import YOUNG_IN_TRAINING, berlin, to_assessment, to_plan


def test_the_duldung_escalation_is_for_the_abh_lead_only(open_case: Callable[..., CaseWalker]) -> None:
    walker = open_case(date_of_birth="2000-08-15")
    to_assessment(walker, **YOUNG_IN_TRAINING)
    to_plan(walker, precheck_result="NOT_YET")
    walker.fire(berlin("2027-01-03T08:00:00"))
    walker.fire(berlin("2027-01-24T08:00:00"))
    escalation = walker.task("escalate_deadline_duldung")
    assert (escalation.office, escalation.audience) == ("ABH", "lead")
    caseworker, lead = walker.actors["ABH"], office_lead(walker.ctx, "ABH")
    ctx = walker.ctx
    mine = [t.bpmn_id for t in ctx.read(inbox.list_tasks, caseworker, inbox.parse_filter({})).items]
    assert "escalate_deadline_duldung" not in mine, "not every caseworker of the ABH"
    with pytest.raises(NotFound):
        ctx.read(task_actions.get_task, caseworker, escalation.id)
    with pytest.raises(NotFound):
        ctx.run(complete_task, escalation.id, caseworker, {})
    leads = [t.bpmn_id for t in ctx.read(inbox.list_tasks, lead, inbox.parse_filter({})).items]
    assert "escalate_deadline_duldung" in leads
    walker.complete("escalate_deadline_duldung")  # the walker hands it to the lead
    assert "escalate_deadline_duldung" not in walker.open_ids()
