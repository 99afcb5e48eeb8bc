"""Household members as people of the case with screening inputs of their own (DOMAIN.md section 9).

The members are listed on the case at opening (name, date of birth, relation; ``case_file.household
["members"]``). Their screening inputs are kept beside that list (``household["screening_inputs"]``,
keyed by member id), not in it: the case's household section is shown to every office that may
see the household, while screening inputs include the ABH's (a conviction, the §60b status) that
only the ABH may see (DOMAIN.md section 7). A member's id is ``m<position>`` (``m1`` is the first
member); members are never removed from the list, so the id stays.

Who enters what: the ABH owns the inputs in :data:`ABH_INPUTS` (and the status DULDUNG_60B);
case management (the case's own office) enters the rest. Each save is a partial update, checked
field by field, and audited with the names of the fields that changed (never their values).
A member is screened once their inputs are complete; until then the screening lists them with
what is missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID

from sqlalchemy.orm import Session

from engine.domain.actors import Actor
from engine.domain.errors import InvalidInput, NotAllowed, NotFound
from engine.domain.household import Relation
from engine.domain.residence import check_screening_inputs, screening_fields
from engine.domain.visibility import CaseView
from engine.persistence import audit_log
from engine.persistence.household_inputs import change_member_inputs, member_ids, stored_entry
from engine.persistence.models import CaseFile
from engine.services.casework.cases import load_case
from engine.services.context import UnitOfWork

ABH_INPUTS: Final = frozenset({"conviction", "work_ban", "deportation_measures", "months_60b"})
"""Inputs only the ABH enters and sees (DOMAIN.md sections 5 and 7)."""
FROM_MASTER_DATA: Final = frozenset({"eval_date", "date_of_birth"})
"""Inputs taken from the case, never entered per member: the screening day and the member's birth date."""
EDITORS: Final = (CaseView.MANAGER, CaseView.AUTHORITY)


@dataclass(frozen=True)
class CaseMember:
    """A member of the case's household as the screening sees them."""

    id: str
    given_name: str
    family_name: str | None
    relation: str            # as recorded on the case: SPOUSE, CHILD, PARENT, SIBLING, OTHER
    date_of_birth: str | None
    inputs: Mapping[str, Any]
    married: bool = False

    @property
    def screening_relation(self) -> Relation | None:
        """The relation the derivation tables know; None (e.g. OTHER) derives nothing."""
        try:
            return Relation(self.relation.lower())
        except ValueError:
            return None

    def to_json(self, view: CaseView) -> dict[str, Any]:
        shown = self.inputs if view is CaseView.AUTHORITY else {k: v for k, v in self.inputs.items()
                                                                  if k not in ABH_INPUTS}
        return {"id": self.id, "given_name": self.given_name, "family_name": self.family_name,
                "relation": self.relation, "date_of_birth": self.date_of_birth, "married": self.married,
                "inputs": dict(shown)}


def case_members(case: CaseFile) -> tuple[CaseMember, ...]:
    """The household members of ``case`` with their stored screening inputs."""
    household = case.household if isinstance(case.household, dict) else {}
    members = []
    for member_id, member in zip(member_ids(case), household.get("members") or (), strict=True):
        entry = stored_entry(case, member_id)
        members.append(CaseMember(member_id, str(member.get("given_name") or ""), member.get("family_name"),
                                  str(member.get("relation") or "OTHER"), member.get("date_of_birth"),
                                  dict(entry.get("inputs") or {}), bool(entry.get("married"))))
    return tuple(members)


def household_for_screening(members: tuple[CaseMember, ...], eval_date: str
                            ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The members ready to screen (``{id, relation, married, inputs}``) and those that are not yet,
    with the inputs they still lack (``{id, missing}``)."""
    ready: list[dict[str, Any]] = []
    waiting: list[dict[str, Any]] = []
    for member in members:
        relation = member.screening_relation
        if relation is None:
            continue
        inputs = {**member.inputs, "eval_date": eval_date, "date_of_birth": member.date_of_birth}
        _values, problems = check_screening_inputs(inputs)
        if problems:
            waiting.append({"id": member.id, "missing": sorted(problems)})
            continue
        ready.append({"id": member.id, "relation": relation.value, "married": member.married, "inputs": inputs})
    return ready, waiting


def read_household_inputs(session: Session, case_id: UUID) -> tuple[CaseMember, ...]:
    """For the screening operation (a read, in its own read-only transaction)."""
    case = session.get(CaseFile, case_id)
    return case_members(case) if case is not None else ()


def _member(case: CaseFile, member_id: str) -> CaseMember:
    for member in case_members(case):
        if member.id == member_id:
            return member
    raise NotFound("no such household member")


def list_members(uow: UnitOfWork, actor: Actor, case_id: UUID) -> list[dict[str, Any]]:
    """GET: the members with their inputs as the caller may see them (ABH inputs for the ABH only)."""
    access = load_case(uow.session, actor, case_id)
    if access.view not in EDITORS:
        raise NotAllowed("Die Angaben zur Prüfung der Bleibewege sehen nur das Case Management und die ABH.")
    audit_log.record(uow.session, actor, "household.read", "case", case_id, case_id=case_id,
                     details={"view": access.view.value})
    return [m.to_json(access.view) for m in case_members(access.case)]


def set_member_inputs(uow: UnitOfWork, actor: Actor, case_id: UUID, member_id: str,
                      body: Mapping[str, Any]) -> dict[str, Any]:
    """PUT: change some of a member's screening inputs (``{"inputs": {...}, "married"?: bool}``).

    A value of null removes the input. Each field is checked alone (a partial answer may be
    saved); the ABH's inputs may only be given by the ABH, the others only by case management or
    the ABH. InvalidInput names every bad field as ``inputs.<name>``.
    """
    access = load_case(uow.session, actor, case_id)
    if access.view not in EDITORS:
        raise NotAllowed("Die Angaben zur Prüfung der Bleibewege ändern nur das Case Management und die ABH.")
    case = access.case
    _member(case, member_id)  # NotFound for an unknown member
    changes, married = _checked_changes(body, access.view)
    change_member_inputs(uow.session, actor, case, member_id, changes, married)
    return _member(case, member_id).to_json(access.view)


def _checked_changes(body: Mapping[str, Any], view: CaseView) -> tuple[dict[str, Any], bool | None]:
    problems: dict[str, str] = {f"{key}": "unknown field" for key in body if key not in ("inputs", "married")}
    raw = body.get("inputs", {})
    married = body.get("married")
    if married is not None and not isinstance(married, bool):
        problems["married"] = "must be true or false"
    if not isinstance(raw, Mapping):
        raise InvalidInput("the inputs must be an object", {**problems, "inputs": "must be an object"})
    known = screening_fields()
    changes: dict[str, Any] = {}
    for name, value in raw.items():
        field = f"inputs.{name}"
        if name not in known:
            problems[field] = "unknown input"
        elif name in FROM_MASTER_DATA:
            problems[field] = "taken from the case (the member's date of birth, the day of the screening)"
        elif (name in ABH_INPUTS or value == "DULDUNG_60B") and view is not CaseView.AUTHORITY:
            problems[field] = "entered by the ABH only"
        elif value is None:
            changes[name] = None
        else:
            problem = single_problem(name, value)
            if problem:
                problems[field] = problem
            else:
                changes[name] = value
    if problems:
        raise InvalidInput("the household member's inputs are invalid", problems)
    return changes, married


def single_problem(name: str, value: Any) -> str | None:
    """What is wrong with one input on its own (the others may still be missing)."""
    _values, problems = check_screening_inputs({name: value})
    return problems.get(name)
