"""Legal holds: a lawsuit or an open hardship petition keeps a case's content past its period.

Admins set and clear a hold with a reason (API and CLI); both are audited in the case's chain.
The deletion run skips a held case and shows the reason. A hold on a case whose content is
already deleted is refused: there is nothing left to keep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import Actor
from engine.domain.errors import Conflict, InvalidInput, NotFound
from engine.domain.permissions import Permission, require
from engine.persistence import audit_log
from engine.persistence.models import CaseFile, CaseRetention
from engine.services.context import UnitOfWork

MAX_REASON = 1000


@dataclass(frozen=True)
class HoldView:
    case_id: UUID
    reference: str
    held: bool
    reason: str | None
    set_by: str | None
    set_at: datetime | None
    content_deleted_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {"case_id": str(self.case_id), "reference": self.reference, "held": self.held, "reason": self.reason,
                "set_by": self.set_by, "set_at": self.set_at.isoformat() if self.set_at else None,
                "content_deleted_at": self.content_deleted_at.isoformat() if self.content_deleted_at else None}


def find_case(session: Session, key: str | UUID, lock: bool = False) -> CaseFile:
    """A case by its id or its reference (``KIM-2026-00042``); NotFound otherwise.

    ``lock``: hold the case row until commit (two admins changing one hold wait for each other).
    """
    case_id: UUID | None = key if isinstance(key, UUID) else None
    if case_id is None:
        try:
            case_id = UUID(str(key))
        except ValueError:
            case_id = None
    where = CaseFile.id == case_id if case_id is not None else CaseFile.reference == str(key).strip()
    case = session.scalar(select(CaseFile).where(where).with_for_update() if lock else select(CaseFile).where(where))
    if case is None:
        raise NotFound(f"no case '{str(key)[:64]}'")
    return case


def parse_reason(raw: object, required: bool = True) -> str | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise InvalidInput("a legal hold needs a reason", {"reason": "required"})
        return None
    if not isinstance(raw, str) or len(raw) > MAX_REASON:
        raise InvalidInput(f"'reason' must be a text of at most {MAX_REASON} characters",
                           {"reason": f"a text of at most {MAX_REASON} characters"})
    return raw.strip()


def set_legal_hold(uow: UnitOfWork, actor: Actor, case_key: str | UUID, reason: object) -> HoldView:
    require(actor, Permission.MANAGE_RETENTION)
    text = parse_reason(reason)
    session = uow.session
    case = find_case(session, case_key, lock=True)
    row = _row(session, case.id)
    if row.content_deleted_at is not None:
        raise Conflict("the content of this case is already deleted; a legal hold keeps nothing")
    previous = row.legal_hold_reason
    row.legal_hold_reason, row.legal_hold_by, row.legal_hold_at = text, actor.username, clock.now()
    session.flush()
    audit_log.record(session, actor, "case.legal_hold.set", "case", case.id, case_id=case.id,
                     details={"reason": text, "previous_reason": previous})
    return _view(case, row)


def clear_legal_hold(uow: UnitOfWork, actor: Actor, case_key: str | UUID, reason: object = None) -> HoldView:
    require(actor, Permission.MANAGE_RETENTION)
    text = parse_reason(reason, required=False)
    session = uow.session
    case = find_case(session, case_key, lock=True)
    row = _row(session, case.id)
    if row.legal_hold_reason is None:
        raise Conflict("this case has no legal hold")
    previous = row.legal_hold_reason
    row.legal_hold_reason = row.legal_hold_by = None
    row.legal_hold_at = None
    session.flush()
    audit_log.record(session, actor, "case.legal_hold.clear", "case", case.id, case_id=case.id,
                     details={"reason": text, "previous_reason": previous})
    return _view(case, row)


def list_legal_holds(uow: UnitOfWork, actor: Actor) -> list[HoldView]:
    """Every case under a legal hold (reference and reason; the list read is audited)."""
    require(actor, Permission.MANAGE_RETENTION)
    rows = uow.session.execute(select(CaseFile, CaseRetention).join(CaseRetention, CaseRetention.case_id == CaseFile.id)
                               .where(CaseRetention.legal_hold_reason.is_not(None))
                               .order_by(CaseFile.reference)).all()
    audit_log.record(uow.session, actor, "case.legal_hold.list", "retention", None, details={"results": len(rows)})
    return [_view(case, row) for case, row in rows]


def _row(session: Session, case_id: UUID) -> CaseRetention:
    row = session.scalar(select(CaseRetention).where(CaseRetention.case_id == case_id).with_for_update())
    if row is None:
        row = CaseRetention(case_id=case_id)
        session.add(row)
    return row


def _view(case: CaseFile, row: CaseRetention) -> HoldView:
    return HoldView(case.id, case.reference, row.legal_hold_reason is not None, row.legal_hold_reason,
                    row.legal_hold_by, row.legal_hold_at, row.content_deleted_at)
