"""The ``residence_paths`` operation BPMN service tasks call (``screen_paths``, ``rescreen_paths``), and
``household_member_inputs``, which records a member's input the process learnt (see
:func:`record_member_inputs_for_process`).

Parameters: ``inputs`` (the main person's screening inputs), optionally ``household`` (a list of
members as for ``POST /decisions/residence_paths/evaluate``), ``case_id`` and ``trigger`` (why it
ran, e.g. ``monitoring``; stored with the run). With a ``case_id`` and no ``household`` the members
come from the case as they stand now (:mod:`.members`), so inputs edited after the case was opened
count at the next screening; members whose inputs are incomplete are listed under
``household_waiting`` with what they lack.

The answer is the screening as JSON; it is also noted in the step's outbox, and the step stores
it in its own transaction (:mod:`engine.services.stepping.screening_outbox`) - the operation
itself writes nothing (the transaction rule of :mod:`engine.services.wiring`).
"""

from __future__ import annotations

import re
from typing import Any, Final
from uuid import UUID

from engine.services.context import EngineContext
from engine.services.screening.household import evaluate_screening
from engine.services.screening.members import household_for_screening, read_household_inputs, single_problem
from engine.services.stepping.screening_outbox import NotedMemberInputs, NotedScreening, note

MEMBER_ID: Final = re.compile(r"m[1-9][0-9]*")


def screen_for_process(ctx: EngineContext, params: dict[str, Any]) -> dict[str, Any]:
    inputs = params.get("inputs")
    if not isinstance(inputs, dict):
        raise ValueError("the screening needs a parameter 'inputs' holding an object")
    household = params.get("household")
    waiting: list[dict[str, Any]] = []
    case_id = params.get("case_id")
    if household is None and case_id:
        with ctx.uow(write=False) as uow:
            members = read_household_inputs(uow.session, UUID(str(case_id)))
        household, waiting = household_for_screening(members, str(inputs.get("eval_date")))
    result = evaluate_screening(ctx, inputs, household).to_json()
    if household is not None:
        result["household_waiting"] = waiting
    note(NotedScreening(dict(inputs), list(household or ()), result, str(params.get("trigger") or "process")))
    return result


PROCESS_RECORDED: Final = frozenset({"application_filed_on"})
"""Member inputs a process may record: what a step of case management answers about the member."""


def record_member_inputs_for_process(params: dict[str, Any]) -> dict[str, Any]:
    """The ``household_member_inputs`` operation: record inputs of one household member from the process.

    Parameters: ``member`` (``m<position>``; ``"main"`` records nothing here - the main person's inputs
    are the process's own data), ``inputs`` (only :data:`PROCESS_RECORDED`, each checked as on the
    case) and ``trigger`` (why, kept in the audit entry). Like the screening, the operation writes
    nothing itself: it notes the change, and the step stores it in its transaction, audited like an
    edit on the case (``household.inputs``). Returns ``{"member", "fields"}`` (nothing noted: no fields).
    """
    member = str(params.get("member") or "")
    inputs = params.get("inputs")
    if not isinstance(inputs, dict):
        raise ValueError("the operation needs a parameter 'inputs' holding an object")
    unknown = sorted(set(inputs) - PROCESS_RECORDED)
    if unknown:
        raise ValueError(f"a process may not record the member inputs {', '.join(unknown)}")
    if not MEMBER_ID.fullmatch(member):
        return {"member": member, "fields": []}
    problems = {name: problem for name, value in inputs.items() if (problem := single_problem(name, value))}
    if problems:
        raise ValueError(f"invalid member inputs: {problems}")
    note(NotedMemberInputs(member, dict(inputs), str(params.get("trigger") or "process")))
    return {"member": member, "fields": sorted(inputs)}
