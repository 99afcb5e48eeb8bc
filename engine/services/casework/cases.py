"""Open cases, read them with need-to-know filtering, record and withdraw consents.

Every read and write of a case writes an audit entry in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import Actor
from engine.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from engine.domain.fields import Fields
from engine.domain.visibility import CaseFacts, CaseView, case_view, visible_sections
from engine.persistence import audit_log as audit
from engine.persistence import store
from engine.persistence.models import CaseFile, CaseStatus, Consent, HumanTask, Office, ProcessDefinition
from engine.services.casework import consent_gate
from engine.services.casework.inbox import task_json, task_query
from engine.services.context import EngineContext
from engine.services.stepping import step
from engine.services.stepping.consent_hold import request_row

DEFAULT_PROCESS = "kim_pathway"
WORKING_ROLES = ("caseworker", "supervisor")


@dataclass(frozen=True)
class CaseAccess:
    case: CaseFile
    view: CaseView
    facts: CaseFacts


RELATIONS = ("SPOUSE", "CHILD", "PARENT", "SIBLING", "OTHER")
MAX_HOUSEHOLD = 20


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


def _owner_office(session: Session, actor: Actor) -> Office:
    code = "FW" if "FW" in actor.office_codes and "CM" not in actor.office_codes else "CM"
    office = session.scalar(select(Office).where(Office.code == code))
    if office is None:
        raise NotFound(f"office {code} is missing; run kim init-db")
    return office


def _next_reference(session: Session, year: int) -> str:
    prefix = f"KIM-{year}-"
    count = session.scalar(select(func.count()).select_from(CaseFile).where(CaseFile.reference.like(f"{prefix}%")))
    return f"{prefix}{int(count or 0) + 1:05d}"


def _insert_case(session: Session, values: dict[str, Any]) -> CaseFile:
    """Insert with the next free reference; a concurrent insert of the same number retries."""
    for _attempt in range(5):
        case = CaseFile(reference=_next_reference(session, clock.local_now().year), **values)
        try:
            with session.begin_nested():
                session.add(case)
        except IntegrityError:
            continue
        return case
    raise Conflict("could not allocate a case reference; try again")


def open_case(ctx: EngineContext, actor: Actor, body: Mapping[str, Any]) -> dict[str, Any]:
    """POST /cases: a case with its process started, in one transaction."""
    if actor.role not in WORKING_ROLES:
        raise NotAllowed("only caseworkers and office leads open cases")
    person, referral, process_id = _parse_new_case(body, str(ctx.config.get("KIM_DEFAULT_PROCESS") or DEFAULT_PROCESS))
    with ctx.uow() as uow:
        session = uow.session
        owner = _owner_office(session, actor)
        case = _insert_case(session, {
            "id": uuid4(), "status": CaseStatus.OPEN.value, "owner_office_id": owner.id,
            "opened_at": clock.now(), "given_name": person["given_name"], "family_name": person["family_name"],
            "date_of_birth": person["date_of_birth"], "nationality": person["nationality"],
            "household": {"members": person["household"]},
            "referral_source": referral["source"], "referral_reason": referral["reason"],
            "referred_at": referral["referred_at"], "created_by": actor.username})
        data = _process_data(case)
        step.start(session, ctx, process_id, data, actor, case_id=case.id, business_key=case.reference)
        audit.record(session, actor, "case.open", "case", case.id, case_id=case.id,
                     details={"reference": case.reference, "process_id": process_id})
        result = _render(session, actor, _access(session, actor, case))
        uow.commit()
    return result


def _process_data(case: CaseFile) -> dict[str, Any]:
    """What the process knows about the case from the start (dates as ISO text)."""
    return {
        "case_id": str(case.id), "case_reference": case.reference,
        "person": {"given_name": case.given_name, "family_name": case.family_name,
                   "date_of_birth": case.date_of_birth.isoformat() if case.date_of_birth else None,
                   "nationality": case.nationality},
        "household": case.household.get("members", []) if isinstance(case.household, dict) else [],
        "referral": {"source": case.referral_source, "reason": case.referral_reason,
                     "referred_at": case.referred_at.isoformat()},
    }


def _facts(session: Session, case: CaseFile) -> CaseFacts:
    owner = session.get(Office, case.owner_office_id)
    task_offices = session.scalars(select(Office.code).join(HumanTask, HumanTask.office_id == Office.id)
                                   .where(HumanTask.case_id == case.id).distinct())
    consented = session.scalars(select(Office.code).join(Consent, Consent.office_id == Office.id)
                                .where(Consent.case_id == case.id, Consent.withdrawn_at.is_(None)).distinct())
    return CaseFacts(owner.code if owner else "", frozenset(task_offices), frozenset(consented))


def _access(session: Session, actor: Actor, case: CaseFile) -> CaseAccess:
    facts = _facts(session, case)
    return CaseAccess(case, case_view(actor, facts), facts)


def load_case(session: Session, actor: Actor, case_id: UUID) -> CaseAccess:
    """The case if the actor may see any of it; NotFound otherwise (no hint that it exists)."""
    case = session.get(CaseFile, case_id)
    if case is None:
        raise NotFound("no such case")
    access = _access(session, actor, case)
    if access.view == CaseView.NONE:
        raise NotFound("no such case")
    return access


def get_case(ctx: EngineContext, actor: Actor, case_id: UUID) -> dict[str, Any]:
    with ctx.uow() as uow:  # a write unit of work: the read itself is audited
        access = load_case(uow.session, actor, case_id)
        result = _render(uow.session, actor, access)
        audit.record(uow.session, actor, "case.read", "case", case_id, case_id=case_id,
                     details={"view": access.view.value, "sections": sorted(visible_sections(access.view))})
        uow.commit()
    return result


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _render(session: Session, actor: Actor, access: CaseAccess) -> dict[str, Any]:
    case, sections = access.case, visible_sections(access.view)
    result: dict[str, Any] = {"id": str(case.id), "reference": case.reference}
    if "status" in sections:
        result.update(status=case.status, opened_at=_iso(case.opened_at), closed_at=_iso(case.closed_at))
    if "person" in sections:
        result["person"] = {"given_name": case.given_name, "family_name": case.family_name,
                            "date_of_birth": _iso(case.date_of_birth), "nationality": case.nationality}
    elif "person_name_dob" in sections:
        result["person"] = {"given_name": case.given_name, "family_name": case.family_name,
                            "date_of_birth": _iso(case.date_of_birth)}
    if "household" in sections:
        result["household"] = case.household.get("members", []) if isinstance(case.household, dict) else []
    if "referral" in sections:
        result["referral"] = {"source": case.referral_source, "reason": case.referral_reason,
                              "referred_at": _iso(case.referred_at)}
    if "consents" in sections or "own_consents" in sections:
        own_only = "consents" not in sections
        result["consents"] = [consent_json(session, c) for c in _consents(session, case.id)
                              if not own_only or c.office_id in actor.office_ids]
    if "tasks" in sections or "own_tasks" in sections:
        result["tasks"] = case_tasks(session, case.id, None if "tasks" in sections else actor.office_ids)
    return result


def _consents(session: Session, case_id: UUID) -> list[Consent]:
    return list(session.scalars(select(Consent).where(Consent.case_id == case_id).order_by(Consent.granted_at)))


def consent_json(session: Session, consent: Consent) -> dict[str, Any]:
    office = session.get(Office, consent.office_id)
    return {"id": str(consent.id), "office": office.code if office else None, "categories": consent.categories,
            "purpose": consent.purpose, "granted_at": _iso(consent.granted_at),
            "withdrawn_at": _iso(consent.withdrawn_at)}


def case_tasks(session: Session, case_id: UUID, office_ids: frozenset[int] | None) -> list[dict[str, Any]]:
    query = task_query().where(HumanTask.case_id == case_id).order_by(HumanTask.created_at)
    if office_ids is not None:
        query = query.where(HumanTask.office_id.in_(office_ids))
    return [task_json(row) for row in session.execute(query)]


def _manager_case(session: Session, actor: Actor, case_id: UUID) -> CaseAccess:
    access = load_case(session, actor, case_id)
    if access.view != CaseView.MANAGER:
        raise NotAllowed("only the case management of this case records consents")
    return access


def record_consent(ctx: EngineContext, actor: Actor, case_id: UUID, body: Mapping[str, Any]) -> dict[str, Any]:
    fields = Fields()
    code = (fields.text(body, "office", max_length=16) or "").upper()
    purpose = fields.text(body, "purpose", max_length=2000)
    categories = body.get("categories", [])
    if not isinstance(categories, list) or not all(isinstance(c, str) and 0 < len(c) <= 64 for c in categories):
        fields.errors["categories"] = "must be a list of category names"
    fields.raise_if_any("the consent cannot be recorded")
    with ctx.uow() as uow:
        session = uow.session
        _manager_case(session, actor, case_id)
        office = session.scalar(select(Office).where(Office.code == code))
        if office is None:
            raise InvalidInput(f"unknown office '{code}'", {"office": "unknown office"})
        consent = consent_gate.record(session, actor, case_id, office.id, code, categories, purpose or "",
                                      ctx.calendar)
        result = consent_json(session, consent)
        uow.commit()
    return result


def withdraw_consent(ctx: EngineContext, actor: Actor, case_id: UUID, consent_id: UUID) -> dict[str, Any]:
    """Withdraw; open tasks of that office in this case are cancelled (each audited)."""
    with ctx.uow() as uow:
        session = uow.session
        _manager_case(session, actor, case_id)
        consent = session.get(Consent, consent_id)
        if consent is None or consent.case_id != case_id:
            raise NotFound("no such consent")
        if consent.withdrawn_at is not None:
            raise Conflict("the consent was withdrawn already")
        now = clock.now()
        consent.withdrawn_at, consent.withdrawn_by = now, actor.username
        still_valid = session.scalar(select(func.count()).select_from(Consent).where(
            Consent.case_id == case_id, Consent.office_id == consent.office_id, Consent.withdrawn_at.is_(None),
            Consent.id != consent.id))
        taken = [] if still_valid else _take_away(session, ctx, actor, case_id, consent.office_id, now)
        audit.record(session, actor, "consent.withdraw", "consent", consent.id, case_id=case_id,
                     details={"cancelled_tasks": [str(t) for t in taken]})
        result = consent_json(session, consent)
        uow.commit()
    return result


def _take_away(session: Session, ctx: EngineContext, actor: Actor, case_id: UUID, office_id: int,
               now: datetime) -> list[UUID]:
    """The office loses its open tasks of the case; case management is asked for a new consent."""
    ids = consent_gate.hold_open_tasks(session, actor, case_id, office_id)
    if not ids:
        return ids
    task = session.get(HumanTask, ids[0])
    case = session.get(CaseFile, case_id)
    code = session.scalar(select(Office.code).where(Office.id == office_id))
    if task is not None and case is not None and code is not None:
        request = request_row(session, case_id, task.instance_id, task.process_id, code,
                                           case.owner_office_id, ctx.calendar, now)
        if request:
            store.insert_rows(session, store.TASK, [request])
    return ids


TIMELINE_HIDDEN = ("case.read", "task.read")


def case_timeline(ctx: EngineContext, actor: Actor, case_id: UUID, limit: int = 200) -> list[dict[str, Any]]:
    """What happened in the case, newest first, from the audit table (reads left out).

    Only the case management of the case sees the whole timeline; other offices see the
    entries about their own tasks.
    """
    from engine.persistence.store import AUDIT

    with ctx.uow(write=False) as uow:
        access = load_case(uow.session, actor, case_id)
        rows = uow.session.execute(select(AUDIT).where(AUDIT.c.case_id == case_id,
                                                       AUDIT.c.action.not_in(TIMELINE_HIDDEN))
                                   .order_by(AUDIT.c.id.desc()).limit(limit)).mappings()
        entries = [{"at": r["at"].isoformat(), "actor": r["actor"], "action": r["action"],
                    "object_type": r["object_type"], "object_id": r["object_id"], "details": r["details"]}
                   for r in rows]
        if access.view == CaseView.MANAGER:
            return entries
        own = {str(t) for t in uow.session.scalars(select(HumanTask.id).where(
            HumanTask.case_id == case_id, HumanTask.office_id.in_(actor.office_ids)))}
    return [e for e in entries if e["object_id"] in own]


DIAGRAM_VIEWS = (CaseView.MANAGER, CaseView.AUTHORITY)


def case_process(ctx: EngineContext, actor: Actor, case_id: UUID) -> dict[str, Any] | None:
    """The case's process for the diagram and the screening panel: BPMN XML of its version,
    where it stands (open tasks, waiting timers), what it passed, and the latest screening.
    Case management and the ABH only; others get None."""
    from engine.persistence.definitions import definition_source
    from engine.persistence.models import ProcessInstance, StepHistory, Timer

    with ctx.uow(write=False) as uow:
        session = uow.session
        access = load_case(session, actor, case_id)
        if access.view not in DIAGRAM_VIEWS:
            return None
        instance = session.scalar(select(ProcessInstance).where(ProcessInstance.case_id == case_id)
                                  .order_by(ProcessInstance.started_at.desc()).limit(1))
        if instance is None:
            return None
        definition = session.get(ProcessDefinition, instance.definition_id)
        assert definition is not None  # noqa: S101  # foreign key
        active = set(session.scalars(select(HumanTask.bpmn_id).where(
            HumanTask.instance_id == instance.id, HumanTask.state.in_(("open", "claimed", "held")))))
        active |= set(session.scalars(select(Timer.bpmn_id).where(Timer.instance_id == instance.id,
                                                                  Timer.kind == "bpmn")))
        done = set(session.scalars(select(StepHistory.bpmn_id).where(StepHistory.instance_id == instance.id)))
        screening = _latest_screening(ctx, session, instance)
        xml = definition_source(session, definition).content.decode("utf-8")
    return {"process_id": definition.key, "version": definition.version, "xml": xml, "status": instance.status,
            "active": sorted(active), "done": sorted(done - active), "screening": screening}


def _latest_screening(ctx: EngineContext, session: Session, instance: Any) -> dict[str, Any] | None:
    """The ``screening`` value the process holds now (the residence-path screening result)."""
    from engine.persistence.store import InstanceRecord
    from engine.services.stepping.specs import instance_spec

    record = InstanceRecord(instance.id, instance.definition_id, instance.dependency_ids, instance.spec_key,
                            instance.case_id, instance.status, instance.state, instance.version)
    workflow = ctx.runtime.restore(instance_spec(session, record).bundle, instance.state)
    found = None
    for task in workflow.get_tasks():
        value = task.data.get("screening")
        if isinstance(value, dict) and (found is None or task.last_state_change >= found[0]):
            found = (task.last_state_change, value)
    return found[1] if found else None
