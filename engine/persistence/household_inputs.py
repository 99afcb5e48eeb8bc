"""Where a household member's screening inputs are kept on the case, and the one way to change them.

They live beside the member list (``case_file.household["screening_inputs"]``, keyed by member id
``m<position>``), not in it: the household section is shown to every office that may see the
household, the inputs include the ABH's (DOMAIN.md section 7). Two writers share this helper: case
management and the ABH on the case (:mod:`engine.services.screening.members`), and the pathway when
a deadline warning about a member is answered "application filed"
(:mod:`engine.services.stepping.screening_outbox`). Every change is audited as ``household.inputs``
with the member and the names of the fields that changed, never their values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import Actor
from engine.persistence import audit_log
from engine.persistence.models import CaseFile


def stored_entry(case: CaseFile, member_id: str) -> Mapping[str, Any]:
    """The member's stored entry ``{"inputs", "married", ...}`` (empty before the first save)."""
    household = case.household if isinstance(case.household, dict) else {}
    return dict((household.get("screening_inputs") or {}).get(member_id) or {})


def member_ids(case: CaseFile) -> tuple[str, ...]:
    household = case.household if isinstance(case.household, dict) else {}
    return tuple(f"m{index + 1}" for index in range(len(household.get("members") or ())))


def change_member_inputs(session: Session, actor: Actor, case: CaseFile, member_id: str,
                         changes: Mapping[str, Any], married: bool | None = None,
                         details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Apply ``changes`` (a value of None removes the input) to the member's inputs, audited.

    The caller has checked the values and the caller's right to give them. Returns the inputs now stored.
    """
    entry = stored_entry(case, member_id)
    inputs = {k: v for k, v in {**(entry.get("inputs") or {}), **changes}.items() if v is not None}
    household = dict(case.household or {})
    stored = dict(household.get("screening_inputs") or {})
    stored[member_id] = {"inputs": inputs, "married": bool(entry.get("married")) if married is None else married,
                         "changed_at": clock.now().isoformat(), "changed_by": actor.username}
    household["screening_inputs"] = stored
    case.household = household
    session.flush()
    case_id: UUID = case.id
    audit_log.record(session, actor, "household.inputs", "case", case_id, case_id=case_id,
                     details={"member": member_id, "fields": sorted(changes), **(details or {})})
    return inputs
