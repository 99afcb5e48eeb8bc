"""Case conferences (Fallkonferenz, DOMAIN.md sections 2, 3 and 7): convene one from a case, list
them, read one with its minutes.

The case management running the case (CM or FW) or the KIM coordination (KI) convenes; invited
are offices that hold a valid consent for the case (the case management itself needs none), and
a request naming an office without one is refused with that reason. The conference's steps - a
task per invited office with date and agenda, the minutes for the convening office - run as an
instance of ``processes/case_conference.bpmn`` beside the case's own process. The minutes are the
data of the completed minutes task; the engine shows them to the participants only
(:func:`engine.domain.visibility.may_read_minutes`) and tells everybody else the conference does
not exist. Convening and every read are audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import Actor
from engine.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from engine.domain.fields import Fields
from engine.domain.visibility import (
    CaseFacts,
    CaseView,
    ConferenceFacts,
    conference_offices_of,
    convening_office,
    may_read_minutes,
    without_consent,
)
from engine.persistence import audit_log
from engine.persistence.models import (
    CaseConference,
    CaseFile,
    CaseStatus,
    HumanTask,
    Office,
    ProcessInstance,
    TaskState,
)
from engine.services.casework.cases import load_case
from engine.services.casework.task_actions import load_task_row
from engine.services.casework.views import ConferenceView
from engine.services.context import UnitOfWork
from engine.services.stepping import step
from engine.services.stepping.consent_hold import case_consents

CONFERENCE_PROCESS = "case_conference"
MINUTES_STEP = "conference_minutes"
MINUTES_FORM = "kim_conference_minutes"
MAX_AGENDA = 4000
MAX_OFFICES = 10


@dataclass(frozen=True)
class ConferenceRequest:
    offices: frozenset[str]
    held_on: date
    agenda: str


def parse_request(body: Mapping[str, Any]) -> ConferenceRequest:
    """``{"offices": [codes], "date": "YYYY-MM-DD", "agenda": text}``; every bad field is named (422)."""
    fields = Fields()
    offices = body.get("offices")
    if not isinstance(offices, list) or not 0 < len(offices) <= MAX_OFFICES \
            or not all(isinstance(o, str) and 0 < len(o.strip()) <= 16 for o in offices):
        fields.errors["offices"] = f"a list of 1 to {MAX_OFFICES} office codes"
        offices = []
    held_on = fields.day(body, "date", required=True)
    if held_on is not None and not clock.local_now().date() <= held_on <= date(2100, 12, 31):
        fields.errors["date"] = "must be today or a later day"
    agenda = fields.text(body, "agenda", max_length=MAX_AGENDA)
    fields.raise_if_any("the case conference cannot be convened")
    if held_on is None or agenda is None:  # required: reported above
        raise InvalidInput("the case conference cannot be convened", fields.errors)
    return ConferenceRequest(frozenset(o.strip().upper() for o in offices), held_on, agenda)


def convene_conference(uow: UnitOfWork, actor: Actor, case_id: UUID, body: Mapping[str, Any]) -> ConferenceView:
    """Convene a case conference for a case: each invited office gets a task (date, agenda), the
    convening office the minutes. Refused (422, with the offices named) for an office without a
    valid consent; 403 for anyone but the case management of the case and the KIM coordination."""
    request = parse_request(body)
    session = uow.session
    access = load_case(session, actor, case_id)
    convener = convening_office(access.view, access.facts)
    if convener is None:
        raise NotAllowed("Eine Fallkonferenz beruft das Case Management des Falls oder die KIM-Koordinierung ein.")
    if access.case.status != CaseStatus.OPEN.value:
        raise Conflict("Der Fall ist abgeschlossen; eine Fallkonferenz ist nicht mehr möglich.")
    invited = _invited(session, request.offices - {convener}, access.facts)
    conference_id = uuid4()
    data = {"case_id": str(case_id), "case_reference": access.case.reference, "conference_id": str(conference_id),
            "conference": {"held_on": request.held_on.isoformat(), "convener_office": convener},
            "invitations": [{"office": code} for code in invited]}
    started = step.start(session, uow.ctx, CONFERENCE_PROCESS, data, actor, case_id=case_id,
                         business_key=access.case.reference)
    office_id = session.scalar(select(Office.id).where(Office.code == convener))
    assert office_id is not None  # noqa: S101  # the convener is the actor's office
    conference = CaseConference(id=conference_id, case_id=case_id, instance_id=started.instance_id,
                                convener_office_id=office_id, offices=list(invited), held_on=request.held_on,
                                agenda=request.agenda, convened_by=actor.username, convened_at=clock.now())
    session.add(conference)
    session.flush()
    audit_log.record(session, actor, "conference.convene", "case_conference", conference_id, case_id=case_id,
                     instance_id=started.instance_id, details={"convener": convener, "offices": list(invited),
                                                               "held_on": request.held_on.isoformat()})
    return _view(session, conference, convener, access.case.reference)


def _invited(session: Session, offices: frozenset[str], facts: CaseFacts) -> tuple[str, ...]:
    """The invited offices in a stable order, once each; unknown offices and offices without a
    valid consent are refused, all named at once."""
    known = set(session.scalars(select(Office.code)))
    unknown = sorted(offices - known)
    if unknown:
        raise InvalidInput(f"unknown offices: {', '.join(unknown)}", {"offices": f"unbekannt: {', '.join(unknown)}"})
    if not offices:
        raise InvalidInput("no office invited", {"offices": "mindestens eine weitere Stelle einladen"})
    refused = sorted(without_consent(offices, facts))
    if refused:
        reason = f"keine gültige Einwilligung der Person für: {', '.join(refused)}"
        raise InvalidInput(f"Die Fallkonferenz kann nicht einberufen werden: {reason}.", {"offices": reason})
    return tuple(sorted(offices))


@dataclass(frozen=True)
class ConferenceOptions:
    """What the case page offers for convening: the actor's convening office (None: may not convene)
    and the offices that may be invited now (the case management and offices with a valid consent)."""

    convener: str | None
    invitable: tuple[str, ...]


def conference_options(uow: UnitOfWork, actor: Actor, case_id: UUID) -> ConferenceOptions:
    access = load_case(uow.session, actor, case_id)
    convener = convening_office(access.view, access.facts)
    if convener is None or access.case.status != CaseStatus.OPEN.value:
        return ConferenceOptions(None, ())
    candidates = ({access.facts.owner_office} | access.facts.consented_offices) - {convener}
    return ConferenceOptions(convener, tuple(sorted(candidates - without_consent(frozenset(candidates),
                                                                                 access.facts))))


def list_conferences(uow: UnitOfWork, actor: Actor, case_id: UUID) -> tuple[ConferenceView, ...]:
    """The case's conferences the actor may know of: all of them for the case management running
    the case, otherwise those their office takes part in. Minutes are never listed (read them one
    conference at a time, audited)."""
    session = uow.session
    access = load_case(session, actor, case_id)
    facts = _facts_of_case(session, case_id)
    rows = session.execute(select(CaseConference, Office.code)
                           .join(Office, Office.id == CaseConference.convener_office_id)
                           .where(CaseConference.case_id == case_id)
                           .order_by(CaseConference.held_on.desc(), CaseConference.convened_at.desc()))
    shown = []
    for conference, convener in rows:
        participants = _participants(conference, convener, facts)
        if access.view == CaseView.MANAGER or conference_offices_of(actor, participants):
            shown.append(_view(session, conference, convener, access.case.reference))
    return tuple(shown)


def get_conference(uow: UnitOfWork, actor: Actor, conference_id: UUID) -> ConferenceView:
    """A conference with its minutes, for its participants only (everybody else: not found); audited."""
    session = uow.session
    found = session.execute(select(CaseConference, Office.code, CaseFile.reference)
                            .join(Office, Office.id == CaseConference.convener_office_id)
                            .join(CaseFile, CaseFile.id == CaseConference.case_id)
                            .where(CaseConference.id == conference_id)).first()
    if found is None:
        raise NotFound("no such case conference")
    conference, convener, reference = found
    facts = _participants(conference, convener, _facts_of_case(session, conference.case_id))
    if not may_read_minutes(actor, facts):
        raise NotFound("no such case conference")
    minutes = _minutes(session, conference.instance_id)
    audit_log.record(session, actor, "conference.read", "case_conference", conference.id, case_id=conference.case_id,
                     instance_id=conference.instance_id,
                     details={"minutes": minutes is not None, "as": sorted(conference_offices_of(actor, facts))})
    return replace(_view(session, conference, convener, reference), minutes=minutes, hidden=frozenset())


def conference_of_task(uow: UnitOfWork, actor: Actor, task_id: UUID) -> ConferenceView | None:
    """Date and agenda shown on a task of a conference (its invitation or minutes), for whoever may
    open that task; None for any other task. The minutes stay with :func:`get_conference`."""
    session = uow.session
    row = load_task_row(session, actor, task_id)
    found = session.execute(select(CaseConference, Office.code, CaseFile.reference)
                            .join(Office, Office.id == CaseConference.convener_office_id)
                            .join(CaseFile, CaseFile.id == CaseConference.case_id)
                            .where(CaseConference.instance_id == row.instance_id)).first()
    return _view(session, found[0], found[1], found[2]) if found is not None else None


@dataclass(frozen=True)
class _CaseFacts:
    owner: str
    consented: frozenset[str]


def _facts_of_case(session: Session, case_id: UUID) -> _CaseFacts:
    consents = case_consents(session, case_id)
    return _CaseFacts(consents.owner_code or "", frozenset(consents.consented))


def _participants(conference: CaseConference, convener: str, case: _CaseFacts) -> ConferenceFacts:
    return ConferenceFacts(case.owner, frozenset({convener, *(conference.offices or [])}), case.consented)


def _minutes(session: Session, instance_id: UUID) -> dict[str, Any] | None:
    data = session.scalar(select(HumanTask.data).where(
        HumanTask.instance_id == instance_id, HumanTask.bpmn_id == MINUTES_STEP,
        HumanTask.state == TaskState.COMPLETED.value).order_by(HumanTask.completed_at.desc()).limit(1))
    return dict(data) if isinstance(data, dict) else None


def _view(session: Session, conference: CaseConference, convener: str, reference: str) -> ConferenceView:
    status = session.scalar(select(ProcessInstance.status).where(ProcessInstance.id == conference.instance_id))
    recorded = session.scalar(select(HumanTask.id).where(
        HumanTask.instance_id == conference.instance_id, HumanTask.bpmn_id == MINUTES_STEP,
        HumanTask.state == TaskState.COMPLETED.value).limit(1)) is not None
    return ConferenceView(conference.id, conference.case_id, reference, convener, conference.convened_by,
                          conference.convened_at, conference.held_on, conference.agenda,
                          tuple(conference.offices or ()), str(status), recorded, hidden=frozenset({"minutes"}))
