"""Record and withdraw a person's consent to pass data to an office (DOMAIN.md sections 3 and 7).

Only the case management that runs the case records or withdraws consents. Withdrawing takes
the office's open tasks of the case away again (audited) and asks for a new consent; what the
office already lawfully holds is not deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import Actor
from engine.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from engine.domain.fields import Fields
from engine.domain.visibility import CaseView
from engine.persistence import audit_log, store
from engine.persistence.models import CaseFile, Consent, HumanTask, Office
from engine.services.casework import consent_gate
from engine.services.casework.cases import CaseAccess, consent_record, load_case
from engine.services.casework.consent_options import is_minor
from engine.services.casework.views import ConsentRecord
from engine.services.context import UnitOfWork
from engine.services.stepping.consent_hold import request_row


def _manager_case(session: Session, actor: Actor, case_id: UUID) -> CaseAccess:
    access = load_case(session, actor, case_id)
    if access.view != CaseView.MANAGER:
        raise NotAllowed("only the case management of this case records consents")
    return access


def record_consent(uow: UnitOfWork, actor: Actor, case_id: UUID, body: Mapping[str, Any]) -> ConsentRecord:
    """Record a consent for one office; ``signed_on`` (not in the future) and, for a person who was
    a minor that day, the ``custodian`` who signed are optional in the API but checked when given."""
    fields = Fields()
    code = (fields.text(body, "office", max_length=16) or "").upper()
    purpose = fields.text(body, "purpose", max_length=2000)
    categories = body.get("categories", [])
    if not isinstance(categories, list) or not all(isinstance(c, str) and 0 < len(c) <= 64 for c in categories):
        fields.errors["categories"] = "must be a list of category names"
    signed_on = fields.day(body, "signed_on", not_after=clock.local_now().date())
    custodian = fields.text(body, "custodian", required=False, max_length=200)
    fields.raise_if_any("the consent cannot be recorded")
    session = uow.session
    _manager_case(session, actor, case_id)
    case = session.get(CaseFile, case_id)
    if signed_on is not None and custodian is None and case is not None and is_minor(case.date_of_birth, signed_on):
        raise InvalidInput("a minor's consent is signed by the custodian", {"custodian": "required for a minor"})
    office = session.scalar(select(Office).where(Office.code == code))
    if office is None:
        raise InvalidInput(f"unknown office '{code}'", {"office": "unknown office"})
    consent = consent_gate.record(session, actor, case_id, office.id, code, categories, purpose or "",
                                  uow.ctx.calendar)
    consent.signed_on, consent.custodian = signed_on, custodian
    session.flush()
    return consent_record(session, consent)


def withdraw_consent(uow: UnitOfWork, actor: Actor, case_id: UUID, consent_id: UUID) -> ConsentRecord:
    """Withdraw; open tasks of that office in this case are cancelled (each audited)."""
    session = uow.session
    _manager_case(session, actor, case_id)
    consent = session.get(Consent, consent_id)
    if consent is None or consent.case_id != case_id:
        raise NotFound("no such consent")
    if consent.withdrawn_at is not None:
        raise Conflict("the consent was withdrawn already")
    now = clock.now()
    consent.withdrawn_at, consent.withdrawn_by = now, actor.username
    session.flush()
    still_valid = session.scalar(select(func.count()).select_from(Consent).where(
        Consent.case_id == case_id, Consent.office_id == consent.office_id, Consent.withdrawn_at.is_(None),
        Consent.id != consent.id))
    taken = [] if still_valid else _take_away(session, uow, actor, case_id, consent.office_id, now)
    audit_log.record(session, actor, "consent.withdraw", "consent", consent.id, case_id=case_id,
                     details={"cancelled_tasks": [str(t) for t in taken]})
    return consent_record(session, consent)


def _take_away(session: Session, uow: UnitOfWork, actor: Actor, case_id: UUID, office_id: int,
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
                              case.owner_office_id, uow.ctx.calendar, now)
        if request:
            store.insert_rows(session, store.TASK, [request])
    return ids
