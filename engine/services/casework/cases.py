"""Open cases and read them with need-to-know filtering (DOMAIN.md section 7).

Every read and write of a case queues an audit entry in the same unit of work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import Actor
from engine.domain.errors import NotFound
from engine.domain.fields import Fields
from engine.domain.permissions import Permission, require
from engine.domain.visibility import CaseFacts, CaseView, case_view, sees_lead_tasks, visible_sections
from engine.persistence import audit_log
from engine.persistence.case_references import next_reference
from engine.persistence.models import (
    OPEN_STATES,
    CaseConference,
    CaseFile,
    CaseStatus,
    Consent,
    HumanTask,
    Office,
    TaskState,
)
from engine.persistence.store import CaseHeader
from engine.services.casework.inbox import task_views, view_of
from engine.services.casework.views import CaseRecord, ConsentRecord, PersonRecord, ReferralRecord, TaskView
from engine.services.context import EngineContext, UnitOfWork
from engine.services.stepping import step

DEFAULT_PROCESS = "kim_pathway"
RELATIONS = ("SPOUSE", "CHILD", "PARENT", "SIBLING", "OTHER")
MAX_HOUSEHOLD = 20
ALL_SECTIONS = frozenset({"status", "person", "household", "referral", "consents", "tasks"})


@dataclass(frozen=True)
class CaseAccess:
    case: CaseFile
    view: CaseView
    facts: CaseFacts


def _parse_household(fields: Fields, body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Members living with the person (spouse and minor children matter for section 25b)."""
    members = body.get("household", [])
    if not isinstance(members, list) or len(members) > MAX_HOUSEHOLD:
        fields.errors["household"] = f"a list of at most {MAX_HOUSEHOLD} members"
        return []
    parsed = []
    today = clock.local_now().date()
    for i, member in enumerate(members):
        prefix = f"household.{i}."
        if not isinstance(member, Mapping):
            fields.errors[f"household.{i}"] = "must be an object"
            continue
        relation = member.get("relation")
        if relation not in RELATIONS:
            fields.errors[f"{prefix}relation"] = f"one of {', '.join(RELATIONS)}"
        born = fields.day(member, "date_of_birth", prefix, not_after=today)
        parsed.append({"given_name": fields.text(member, "given_name", prefix),
                       "family_name": fields.text(member, "family_name", prefix, required=False),
                       "relation": relation, "date_of_birth": born.isoformat() if born else None})
    return parsed


def _parse_new_case(body: Mapping[str, Any], default_process: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    fields = Fields()
    today = clock.local_now().date()
    person_in = fields.mapping(body, "person")
    referral_in = fields.mapping(body, "referral")
    person = {
        "given_name": fields.text(person_in, "given_name", "person."),
        "family_name": fields.text(person_in, "family_name", "person."),
        "date_of_birth": fields.day(person_in, "date_of_birth", "person.", not_after=today),
        "nationality": fields.text(person_in, "nationality", "person.", required=False, max_length=100),
        "household": _parse_household(fields, body),
    }
    referral = {
        "source": fields.text(referral_in, "source", "referral.", max_length=100),
        "reason": fields.text(referral_in, "reason", "referral.", max_length=4000),
        "referred_at": fields.day(referral_in, "referred_at", "referral.", not_after=today) or today,
    }
    process_id = body.get("process_id") or default_process
    if not isinstance(process_id, str) or not process_id.strip():
        fields.errors["process_id"] = "must be a process id"
    fields.raise_if_any("the case cannot be opened")
    return person, referral, str(process_id)


def _owner_office(session: Session, ctx: EngineContext, actor: Actor) -> tuple[int, str]:
    code = "FW" if "FW" in actor.office_codes and "CM" not in actor.office_codes else "CM"
    try:
        return ctx.offices.id_of(session, code), code
    except LookupError:
        raise NotFound(f"office {code} is missing; run kim init-db") from None


def _insert_case(session: Session, values: dict[str, Any]) -> CaseFile:
    case = CaseFile(reference=next_reference(session, clock.local_now().year), **values)
    session.add(case)
    session.flush()
    return case


def open_case(uow: UnitOfWork, actor: Actor, body: Mapping[str, Any]) -> CaseRecord:
    """POST /cases: a case with its process started, in the caller's unit of work.

    The reply is built from what this unit of work wrote: a new case has no consents, and its
    tasks are the ones its start created.
    """
    require(actor, Permission.OPEN_CASES)
    default = str(uow.ctx.config.get("KIM_DEFAULT_PROCESS") or DEFAULT_PROCESS)
    person, referral, process_id = _parse_new_case(body, default)
    session, ctx = uow.session, uow.ctx
    owner_id, owner_code = _owner_office(session, ctx, actor)
    case = _insert_case(session, {
        "id": uuid4(), "status": CaseStatus.OPEN.value, "owner_office_id": owner_id,
        "opened_at": clock.now(), "given_name": person["given_name"], "family_name": person["family_name"],
        "date_of_birth": person["date_of_birth"], "nationality": person["nationality"],
        "household": {"members": person["household"]},
        "referral_source": referral["source"], "referral_reason": referral["reason"],
        "referred_at": referral["referred_at"], "created_by": actor.username})
    audit_log.remember_head(session, case.id, 0, audit_log.GENESIS)  # a new case: its chain starts here
    header = CaseHeader(owner_id, owner_code, case.reference, case.given_name, case.family_name)
    started = step.start(session, ctx, process_id, _process_data(case), actor, case_id=case.id,
                         business_key=case.reference, case=header)
    audit_log.record(session, actor, "case.open", "case", case.id, case_id=case.id,
                     details={"reference": case.reference, "process_id": process_id})
    names = {"case_reference": case.reference, "given_name": case.given_name, "family_name": case.family_name,
             "assignee_name": None}
    tasks = [view_of({**names, **row, "office_code": ctx.offices.code_of(session, row["office_id"])})
             for row in started.task_rows]
    facts = CaseFacts(owner_code, frozenset(t.office for t in tasks), frozenset())
    access = CaseAccess(case, case_view(actor, facts), facts)
    return render_case(session, actor, access, Known(consents=(), tasks=tuple(tasks)))


def _process_data(case: CaseFile) -> dict[str, Any]:
    """What the process knows about the case from the start (dates as ISO text)."""
    return {
        "case_id": str(case.id), "case_reference": case.reference,
        "person": {"given_name": case.given_name, "family_name": case.family_name,
                   "date_of_birth": case.date_of_birth.isoformat() if case.date_of_birth else None,
                   "nationality": case.nationality},
        "household": household_of(case),
        "referral": {"source": case.referral_source, "reason": case.referral_reason,
                     "referred_at": case.referred_at.isoformat()},
    }


def household_of(case: CaseFile) -> list[dict[str, Any]]:
    return list(case.household.get("members", [])) if isinstance(case.household, dict) else []


def _facts(session: Session, case: CaseFile) -> CaseFacts:
    owner = session.get(Office, case.owner_office_id)
    by_state = session.execute(select(Office.code, HumanTask.state).join(HumanTask, HumanTask.office_id == Office.id)
                               .where(HumanTask.case_id == case.id).distinct()).all()
    consented = session.scalars(select(Office.code).join(Consent, Consent.office_id == Office.id)
                                .where(Consent.case_id == case.id, Consent.withdrawn_at.is_(None)).distinct())
    done = TaskState.COMPLETED.value
    return CaseFacts(owner.code if owner else "", frozenset(code for code, _ in by_state), frozenset(consented),
                     conference_participants(session, case.id),
                     open_task_offices=frozenset(code for code, state in by_state if state in OPEN_STATES),
                     done_task_offices=frozenset(code for code, state in by_state if state == done),
                     closed=case.status == CaseStatus.CLOSED.value)


def conference_participants(session: Session, case_id: UUID) -> frozenset[str]:
    """Offices that convened or were invited to a case conference of the case."""
    found: set[str] = set()
    for convener, invited in session.execute(
            select(Office.code, CaseConference.offices).join(Office, Office.id == CaseConference.convener_office_id)
            .where(CaseConference.case_id == case_id)):
        found |= {convener, *(invited or [])}
    return frozenset(found)


def case_access(session: Session, actor: Actor, case: CaseFile) -> CaseAccess:
    facts = _facts(session, case)
    return CaseAccess(case, case_view(actor, facts), facts)


def load_case(session: Session, actor: Actor, case_id: UUID) -> CaseAccess:
    """The case if the actor may see any of it; NotFound otherwise (no hint that it exists)."""
    case = session.get(CaseFile, case_id)
    if case is None:
        raise NotFound("no such case")
    access = case_access(session, actor, case)
    if access.view == CaseView.NONE:
        raise NotFound("no such case")
    return access


def get_case(uow: UnitOfWork, actor: Actor, case_id: UUID) -> CaseRecord:
    """The case with what the actor may see; the read itself is audited."""
    access = load_case(uow.session, actor, case_id)
    result = render_case(uow.session, actor, access)
    audit_log.record(uow.session, actor, "case.read", "case", case_id, case_id=case_id,
                     details={"view": access.view.value, "sections": sorted(visible_sections(access.view))})
    return result


@dataclass(frozen=True)
class Known:
    """Parts of a case the caller already holds (e.g. just wrote), so rendering need not read them."""

    consents: tuple[Consent, ...] | None = None
    tasks: tuple[TaskView, ...] | None = None


def render_case(session: Session, actor: Actor, access: CaseAccess, known: Known = Known()) -> CaseRecord:
    case, sections = access.case, visible_sections(access.view)
    shown: set[str] = set()
    values: dict[str, Any] = {}
    if "status" in sections:
        shown.add("status")
        values.update(status=case.status, opened_at=case.opened_at, closed_at=case.closed_at)
    if "person" in sections or "person_name_dob" in sections:
        shown.add("person")
        values["person"] = PersonRecord(case.given_name, case.family_name, case.date_of_birth, case.nationality,
                                        hidden=frozenset() if "person" in sections else frozenset({"nationality"}))
    if "household" in sections:
        shown.add("household")
        values["household"] = tuple(household_of(case))
    if "referral" in sections:
        shown.add("referral")
        values["referral"] = ReferralRecord(case.referral_source, case.referral_reason, case.referred_at)
    if "consents" in sections or "own_consents" in sections:
        shown.add("consents")
        own_only = "consents" not in sections
        consents = known.consents if known.consents is not None else _consents(session, case.id)
        values["consents"] = tuple(consent_record(session, c) for c in consents
                                   if not own_only or c.office_id in actor.office_ids)
    if "tasks" in sections or "own_tasks" in sections:
        shown.add("tasks")
        offices = None if "tasks" in sections else actor.office_ids
        lead_tasks = sees_lead_tasks(actor)
        if known.tasks is None:
            values["tasks"] = case_tasks(session, case.id, offices, lead_tasks)
        else:
            values["tasks"] = tuple(t for t in known.tasks if (offices is None or t.office in actor.office_codes)
                                    and (lead_tasks or t.audience is None))
        if access.view == CaseView.FORMER:  # the work is done: no master data beyond the reference
            values["tasks"] = tuple(t.metadata_only() for t in values["tasks"])
    hidden = (ALL_SECTIONS - shown) | ({"opened_at", "closed_at"} if "status" not in shown else set())
    return CaseRecord(case.id, case.reference, hidden=frozenset(hidden), **values)


def _consents(session: Session, case_id: UUID) -> list[Consent]:
    return list(session.scalars(select(Consent).where(Consent.case_id == case_id).order_by(Consent.granted_at)))


def consent_record(session: Session, consent: Consent) -> ConsentRecord:
    office = session.get(Office, consent.office_id)
    return ConsentRecord(consent.id, office.code if office else None, tuple(consent.categories or ()),
                         consent.purpose, consent.granted_at, consent.withdrawn_at, consent.signed_on,
                         consent.custodian)


def case_tasks(session: Session, case_id: UUID, office_ids: frozenset[int] | None,
               lead_tasks: bool = False) -> tuple[Any, ...]:
    """The case's tasks (of ``office_ids`` only, if given); the tasks for office leads only with
    ``lead_tasks`` (engine.domain.visibility.may_see_task)."""
    condition = [HumanTask.case_id == case_id]
    if office_ids is not None:
        condition.append(HumanTask.office_id.in_(office_ids))
    if not lead_tasks:
        condition.append(HumanTask.audience.is_(None))
    return tuple(task_views(session, condition, order_by=(HumanTask.created_at,)))
