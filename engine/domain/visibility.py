"""Need to know (DOMAIN.md section 7): who may see which part of a case, which task, which minutes.

Pure rules, no I/O: the caller collects the facts (which offices own the case, hold tasks,
hold a valid consent, take part in a case conference) and asks what an actor may see. Deny by
default: anything not granted here is invisible, and an invisible case, task or conference is
reported as "not found".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from engine.domain.actors import Actor
from engine.domain.permissions import Permission, has

CASE_MANAGEMENT = frozenset({"CM", "FW"})
COORDINATION = "KI"
STATUS_ONLY_OFFICES = frozenset({"SOZ", "JC", "AA", "JA", "SCH"})
LEAD_AUDIENCE = "lead"


class CaseView(StrEnum):
    NONE = "none"              # 404
    MANAGER = "manager"        # the case management office that runs the case
    AUTHORITY = "authority"    # the ABH
    PARTNER = "partner"        # SOZ, JC, AA, JA: master data (read) and status
    SCHOOL = "school"          # SCH: name and date of birth only
    COORDINATION = "coordination"  # KI with consent: name, status, its own tasks (to convene a case conference)
    FORMER = "former"          # an office whose work in the case is done: the reference and its own tasks


@dataclass(frozen=True)
class CaseFacts:
    owner_office: str
    task_offices: frozenset[str]       # offices that hold (or held) a task of the case
    consented_offices: frozenset[str]  # offices with a valid (not withdrawn) consent
    conference_offices: frozenset[str] = frozenset()  # offices taking part in a case conference of the case
    open_task_offices: frozenset[str] | None = None   # offices with an open task now (None: task_offices)
    done_task_offices: frozenset[str] = frozenset()   # offices that completed a task of the case
    closed: bool = False

    @property
    def working_offices(self) -> frozenset[str]:
        """Offices working in the case now: an open task, or a case conference (open cases only)."""
        if self.closed:
            return frozenset()
        open_now = self.task_offices if self.open_task_offices is None else self.open_task_offices
        return open_now | self.conference_offices


def case_view(actor: Actor, facts: CaseFacts) -> CaseView:
    """The widest view the actor has on the case, through any of their offices."""
    if not has(actor, Permission.WORK_TASKS):
        return CaseView.NONE  # admins, process owners, auditors and KI see no case content
    lead = has(actor, Permission.LEAD_OFFICE)  # leads see task metadata of their offices, no content
    views = [_view_through(code, lead, facts) for code in actor.office_codes]
    order = [CaseView.MANAGER, CaseView.AUTHORITY, CaseView.PARTNER, CaseView.COORDINATION, CaseView.SCHOOL,
             CaseView.FORMER]
    for view in order:
        if view in views:
            return view
    return CaseView.NONE


def _view_through(office: str, lead: bool, facts: CaseFacts) -> CaseView:
    """An office other than the case management reads the case while it works in it (an open
    task or a case conference, in an open case) and holds a valid consent. Afterwards - and
    after a withdrawal - it keeps what it lawfully holds: its own completed tasks, under the
    case reference, and no master data of the person (:data:`CaseView.FORMER`)."""
    if lead:
        return CaseView.NONE  # leads: task metadata only
    if office == facts.owner_office and office in CASE_MANAGEMENT:
        return CaseView.MANAGER
    if office not in facts.working_offices or office not in facts.consented_offices:
        return CaseView.FORMER if office in facts.done_task_offices else CaseView.NONE
    if office == COORDINATION:
        return CaseView.COORDINATION
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
        CaseView.COORDINATION: frozenset({"person_name_dob", "own_tasks", "status"}),
        CaseView.FORMER: frozenset({"own_tasks"}),  # the tasks without the person's name
    }[view]


# --- tasks ------------------------------------------------------------------------------------


def may_see_task(actor: Actor, office_id: int, audience: str | None) -> bool:
    """A task is its office's: caseworkers and leads of that office see and work it - except a task
    for the lead (``audience="lead"``, e.g. an escalation), which only the office's leads see."""
    if not has(actor, Permission.WORK_TASKS) or office_id not in actor.office_ids:
        return False
    return audience is None or (audience == LEAD_AUDIENCE and has(actor, Permission.LEAD_OFFICE))


def sees_task_content(actor: Actor, audience: str | None, assigned_to_actor: bool) -> bool:
    """Whether the actor sees a visible task's content - its form data and the person's name -
    and may save drafts of it and complete it.

    Caseworkers do, for the tasks of their offices. Office leads see the task *metadata* of their
    offices only (step, due date, assignee, escalation, case reference; DOMAIN.md section 7),
    except for the tasks meant for them (``audience="lead"``: escalations, conference
    invitations) and the tasks they work themselves as a member of the office: claimed by or
    assigned to them, they work those as a caseworker (:func:`role_used`)."""
    if not has(actor, Permission.LEAD_OFFICE):
        return True
    return audience == LEAD_AUDIENCE or assigned_to_actor


def role_used(actor: Actor, audience: str | None) -> str:
    """The role in which the actor works a task whose content they see, for the audit trail: a
    lead working a caseworker task of their office does so as a caseworker."""
    if has(actor, Permission.LEAD_OFFICE) and audience != LEAD_AUDIENCE:
        return "caseworker"
    return actor.role


def sees_lead_tasks(actor: Actor) -> bool:
    """Whether lists of the actor's offices include the tasks for their leads."""
    return has(actor, Permission.LEAD_OFFICE)


# --- case conferences (Fallkonferenz) ---------------------------------------------------------


def convening_office(view: CaseView, facts: CaseFacts) -> str | None:
    """The office through which someone who sees the case this way convenes a case conference:
    the case management running the case, or the KIM coordination (DOMAIN.md sections 2 and 3)."""
    if view == CaseView.MANAGER:
        return facts.owner_office
    if view == CaseView.COORDINATION:
        return COORDINATION
    return None


def without_consent(offices: frozenset[str], facts: CaseFacts) -> frozenset[str]:
    """Offices that may not be invited: all but the case management of the case need a valid
    consent, since the conference shares the person's data with them."""
    return frozenset(o for o in offices if o != facts.owner_office and o not in facts.consented_offices)


@dataclass(frozen=True)
class ConferenceFacts:
    owner_office: str                  # the case management running the case
    participants: frozenset[str]       # the convening office and the invited offices
    consented_offices: frozenset[str]  # offices with a valid consent for the case now


def conference_offices_of(actor: Actor, facts: ConferenceFacts) -> frozenset[str]:
    """The actor's offices that take part in the conference lawfully: a participant, and either the
    case management of the case or holding a valid consent (a withdrawn consent ends the access).
    Leads see task metadata only, as everywhere (DOMAIN.md section 7)."""
    if not has(actor, Permission.WORK_TASKS) or has(actor, Permission.LEAD_OFFICE):
        return frozenset()
    return frozenset(o for o in actor.office_codes if o in facts.participants
                     and (o == facts.owner_office or o in facts.consented_offices))


def may_read_minutes(actor: Actor, facts: ConferenceFacts) -> bool:
    """The minutes are for the participants only: the caseworkers of an office that takes part;
    everybody else - the case manager of a conference they were not invited to included - is told
    the conference does not exist."""
    return bool(conference_offices_of(actor, facts))
