"""Need to know (DOMAIN.md section 7): who may see which part of a case.

Pure rules, no I/O: the caller collects the facts (which offices own the case, hold tasks,
hold a valid consent) and asks what an actor may see. Deny by default: anything not granted
here is invisible, and an invisible case is reported as "not found".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from engine.domain.actors import Actor
from engine.domain.permissions import Permission, has

CASE_MANAGEMENT = frozenset({"CM", "FW"})
STATUS_ONLY_OFFICES = frozenset({"SOZ", "JC", "AA", "JA", "SCH"})


class CaseView(StrEnum):
    NONE = "none"              # 404
    MANAGER = "manager"        # the case management office that runs the case
    AUTHORITY = "authority"    # the ABH
    PARTNER = "partner"        # SOZ, JC, AA, JA: master data (read) and status
    SCHOOL = "school"          # SCH: name and date of birth only


@dataclass(frozen=True)
class CaseFacts:
    owner_office: str
    task_offices: frozenset[str]       # offices that hold (or held) a task of the case
    consented_offices: frozenset[str]  # offices with a valid (not withdrawn) consent


def case_view(actor: Actor, facts: CaseFacts) -> CaseView:
    """The widest view the actor has on the case, through any of their offices."""
    if not has(actor, Permission.WORK_TASKS):
        return CaseView.NONE  # admins, process owners, auditors and KI see no case content
    lead = has(actor, Permission.LEAD_OFFICE)  # leads see task metadata of their offices, no content
    views = [_view_through(code, lead, facts) for code in actor.office_codes]
    order = [CaseView.MANAGER, CaseView.AUTHORITY, CaseView.PARTNER, CaseView.SCHOOL]
    for view in order:
        if view in views:
            return view
    return CaseView.NONE


def _view_through(office: str, lead: bool, facts: CaseFacts) -> CaseView:
    if lead:
        return CaseView.NONE  # leads: task metadata only
    if office == facts.owner_office and office in CASE_MANAGEMENT:
        return CaseView.MANAGER
    if office not in facts.task_offices or office not in facts.consented_offices:
        return CaseView.NONE
    if office == "ABH":
        return CaseView.AUTHORITY
    if office == "SCH":
        return CaseView.SCHOOL
    if office in STATUS_ONLY_OFFICES:
        return CaseView.PARTNER
    return CaseView.NONE


def visible_sections(view: CaseView) -> frozenset[str]:
    """Which parts of the Case resource a view includes."""
    return {
        CaseView.NONE: frozenset(),
        CaseView.MANAGER: frozenset({"person", "household", "referral", "consents", "tasks", "status"}),
        CaseView.AUTHORITY: frozenset({"person", "referral", "own_consents", "own_tasks", "status"}),
        CaseView.PARTNER: frozenset({"person", "own_consents", "own_tasks", "status"}),
        CaseView.SCHOOL: frozenset({"person_name_dob", "own_tasks"}),
    }[view]
