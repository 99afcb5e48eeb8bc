"""A person's data on request (GDPR Art. 15), as one JSON document, for an admin.

The person is the one a case names: every case with the same given name, family name and date of
birth is theirs (names compared without regard to case), and a case that lists them as a
household member contributes that member entry (not the main person's data, which is someone
else's). Per case the export holds the master data, the household, the referral, the consents,
every task with its form data (counselling notes, screening inputs, minutes), the document
fields those forms record (KIM keeps no files of its own: documents are recorded as form
answers - which were requested, presented, received), the case conferences, and the audit
entries about the case. Only admins may export; each exported case gets an audit entry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import Actor
from engine.domain.permissions import Permission, require
from engine.persistence import audit_log
from engine.persistence.models import CaseConference, CaseFile, CaseRetention, Consent, HumanTask
from engine.services.context import UnitOfWork
from engine.services.retention.legal_hold import find_case

DOCUMENT_MARKERS = ("doc", "passport", "proof_", "certificate")
AUDIT_PAGE = 1000


def export_person(uow: UnitOfWork, actor: Actor, case_key: str) -> dict[str, Any]:
    """Everything held about the person of case ``case_key`` (its id or reference)."""
    require(actor, Permission.MANAGE_RETENTION)
    session = uow.session
    anchor = find_case(session, case_key)
    subject = {"given_name": anchor.given_name, "family_name": anchor.family_name,
               "date_of_birth": _iso(anchor.date_of_birth)}
    own = _own_cases(session, anchor)
    memberships = _household_memberships(session, anchor, {c.id for c in own})
    export = {"legal_basis": "Art. 15 DSGVO", "generated_at": clock.now().isoformat(), "generated_by": actor.username,
              "subject": subject, "cases": [_case_record(uow, case) for case in own],
              "household_memberships": [_membership_record(case, member) for case, member in memberships]}
    for case in own:
        audit_log.record(session, actor, "person.export", "case", case.id, case_id=case.id,
                         details={"requested_for": anchor.reference, "part": "person", "cases": len(own)})
    for case, _member in memberships:
        audit_log.record(session, actor, "person.export", "case", case.id, case_id=case.id,
                         details={"requested_for": anchor.reference, "part": "household_member"})
    return export


def _own_cases(session: Session, anchor: CaseFile) -> list[CaseFile]:
    if not anchor.given_name and not anchor.family_name:
        return [anchor]  # its content is deleted: nothing names the person any more
    # Names are compared in Python: SQLite's lower() leaves umlauts as they are ("Öztürk").
    born = CaseFile.date_of_birth == anchor.date_of_birth if anchor.date_of_birth else CaseFile.date_of_birth.is_(None)
    same_family = _folded(anchor.family_name)
    rows = session.scalars(select(CaseFile).where(born, CaseFile.family_name != "").order_by(CaseFile.opened_at))
    found = [case for case in rows if _folded(case.family_name) == same_family
             and _folded(case.given_name) == _folded(anchor.given_name)]
    return found if anchor in found else [anchor, *found]


def _household_memberships(session: Session, anchor: CaseFile, own: set[Any]) -> list[tuple[CaseFile, dict[str, Any]]]:
    """Cases listing the person as a household member: found by the name in the stored JSON text
    (as the JSON encoder wrote it), then compared member by member."""
    if not anchor.given_name:
        return []
    term = json.dumps(anchor.given_name)[1:-1]
    candidates = session.scalars(select(CaseFile).where(
        cast(CaseFile.household, String).icontains(term, autoescape=True)).order_by(CaseFile.opened_at))
    found = []
    for case in candidates:
        if case.id in own:
            continue
        for member in (case.household or {}).get("members") or []:
            if isinstance(member, Mapping) and _is_subject(member, case, anchor):
                found.append((case, dict(member)))
    return found


def _is_subject(member: Mapping[str, Any], case: CaseFile, anchor: CaseFile) -> bool:
    family = str(member.get("family_name") or case.family_name or "")
    return (_folded(str(member.get("given_name") or "")) == _folded(anchor.given_name)
            and _folded(family) == _folded(anchor.family_name)
            and member.get("date_of_birth") == _iso(anchor.date_of_birth))


def _folded(name: str) -> str:
    return " ".join(name.split()).casefold()


def _case_record(uow: UnitOfWork, case: CaseFile) -> dict[str, Any]:
    session, offices = uow.session, uow.ctx.offices
    retention = session.get(CaseRetention, case.id)
    tasks = list(session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)
                                 .order_by(HumanTask.created_at, HumanTask.id)))
    consents = session.scalars(select(Consent).where(Consent.case_id == case.id).order_by(Consent.granted_at))
    conferences = session.scalars(select(CaseConference).where(CaseConference.case_id == case.id)
                                  .order_by(CaseConference.held_on))
    return {
        "case_id": str(case.id), "reference": case.reference, "status": case.status,
        "owner_office": offices.code_of(session, case.owner_office_id),
        "opened_at": case.opened_at.isoformat(), "closed_at": _iso(case.closed_at),
        "closure_reason": case.closure_reason,
        "content_deleted_at": _iso(retention.content_deleted_at) if retention else None,
        "legal_hold": retention.legal_hold_reason if retention else None,
        "person": {"given_name": case.given_name, "family_name": case.family_name,
                   "date_of_birth": _iso(case.date_of_birth), "nationality": case.nationality},
        "household": list((case.household or {}).get("members") or []),
        "referral": {"source": case.referral_source, "reason": case.referral_reason,
                     "referred_at": _iso(case.referred_at)},
        "consents": [{"office": offices.code_of(session, c.office_id), "categories": list(c.categories or []),
                      "purpose": c.purpose, "granted_at": _iso(c.granted_at), "withdrawn_at": _iso(c.withdrawn_at)}
                     for c in consents],
        "tasks": [{"task_id": str(t.id), "name": t.name, "office": offices.code_of(session, t.office_id),
                   "state": t.state, "form_key": t.form_key, "created_at": _iso(t.created_at),
                   "due_at": _iso(t.due_at), "completed_at": _iso(t.completed_at), "data": t.data or {}}
                  for t in tasks],
        "documents": list(_documents(tasks)),
        "conferences": [{"held_on": _iso(c.held_on), "agenda": c.agenda, "offices": list(c.offices or [])}
                        for c in conferences],
        "audit_entries": _audit_entries(session, case),
    }


def _membership_record(case: CaseFile, member: dict[str, Any]) -> dict[str, Any]:
    return {"case_id": str(case.id), "reference": case.reference, "status": case.status, "member": member}


def _documents(tasks: Iterable[HumanTask]) -> Iterable[dict[str, Any]]:
    """Document answers of the forms: which documents were requested, presented or received."""
    for task in tasks:
        for field, value in (task.data or {}).items():
            if any(marker in field.lower() for marker in DOCUMENT_MARKERS) and value not in (None, "", [], {}):
                yield {"task": task.name, "form_key": task.form_key, "field": field, "value": value,
                       "recorded_at": _iso(task.completed_at)}


def _audit_entries(session: Session, case: CaseFile) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    after = 0
    while True:
        page = audit_log.read_entries(session, after, AUDIT_PAGE, case.id)
        entries.extend({k: e[k] for k in ("id", "at", "actor", "action", "object_type", "object_id", "details")}
                       for e in page)
        if len(page) < AUDIT_PAGE:
            return entries
        after = page[-1]["id"]


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None
