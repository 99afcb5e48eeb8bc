"""The need-to-know rules of DOMAIN.md section 7 for leads and for offices whose work is done
(engine.domain.visibility), as pure functions."""

from __future__ import annotations

from engine.domain.actors import Actor
from engine.domain.visibility import (
    LEAD_AUDIENCE,
    CaseFacts,
    CaseView,
    case_view,
    role_used,
    sees_task_content,
    visible_sections,
)

CM, ABH = 1, 2
CASEWORKER = Actor("carla", "caseworker", frozenset({CM}), 10, frozenset({"CM"}))
LEAD = Actor("sina", "supervisor", frozenset({CM}), 11, frozenset({"CM"}))
ABH_WORKER = Actor("achim", "caseworker", frozenset({ABH}), 20, frozenset({"ABH"}))


def test_leads_see_task_content_only_of_their_own_tasks_and_those_meant_for_them() -> None:
    assert sees_task_content(CASEWORKER, None, assigned_to_actor=False)
    assert not sees_task_content(LEAD, None, assigned_to_actor=False), "a caseworkers' task: metadata only"
    assert sees_task_content(LEAD, None, assigned_to_actor=True), "taken on: worked as a caseworker"
    assert sees_task_content(LEAD, LEAD_AUDIENCE, assigned_to_actor=False), "an escalation is the lead's"
    assert role_used(LEAD, None) == "caseworker"
    assert role_used(LEAD, LEAD_AUDIENCE) == "supervisor"
    assert role_used(CASEWORKER, None) == "caseworker"


def _facts(**changes: object) -> CaseFacts:
    base: dict[str, object] = {"task_offices": frozenset({"CM", "ABH"}), "consented_offices": frozenset({"ABH"}),
                               "open_task_offices": frozenset({"ABH"}), "done_task_offices": frozenset()}
    return CaseFacts("CM", **{**base, **changes})  # type: ignore[arg-type]


def test_an_office_reads_a_case_while_it_has_an_open_task_and_a_consent() -> None:
    assert case_view(ABH_WORKER, _facts()) == CaseView.AUTHORITY
    done = _facts(open_task_offices=frozenset({"CM"}), done_task_offices=frozenset({"ABH"}))
    assert case_view(ABH_WORKER, done) == CaseView.FORMER, "its task done: what it holds, nothing more"
    assert visible_sections(CaseView.FORMER) == {"own_tasks"}
    assert case_view(ABH_WORKER, _facts(closed=True)) == CaseView.NONE, "closed, nothing completed: nothing"
    assert case_view(ABH_WORKER, _facts(closed=True, done_task_offices=frozenset({"ABH"}))) == CaseView.FORMER
    withdrawn = _facts(consented_offices=frozenset(), done_task_offices=frozenset({"ABH"}))
    assert case_view(ABH_WORKER, withdrawn) == CaseView.FORMER, "a withdrawal keeps what it lawfully holds"
    assert case_view(CASEWORKER, _facts(closed=True)) == CaseView.MANAGER, "case management runs its case"
    assert case_view(LEAD, _facts()) == CaseView.NONE
