"""Consent as an engine step sees it: which offices of a case may receive its data.

A task for an office without a valid consent is created *held*, and case management gets a
request task to obtain the consent (:func:`request_row`). Recording and withdrawing consents
are case-work use cases (:mod:`engine.services.casework.consent_gate`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.calendar import WorkingDayCalendar
from engine.domain.durations import due_moment, parse_deadline
from engine.persistence.models import CaseFile, Consent, HumanTask, Office, TaskState

EXEMPT_OFFICES = frozenset({"CM", "FW", "KI"})
REQUEST_PREFIX = "consent_request:"
REQUEST_FORM = "einwilligung_einholen"
REQUEST_DUE_IN = "5WD"


class CaseConsents:
    """Who may receive data of one case, read once per engine step.

    The case's own offices and the exempt ones never need a consent, so the consents are only
    read when a step routes work elsewhere (most steps do not).
    """

    def __init__(self, session: Session, case_id: UUID, owner_office_id: int | None, owner_code: str | None) -> None:
        self._session, self._case_id = session, case_id
        self.owner_office_id, self.owner_code = owner_office_id, owner_code
        self._consented: set[str] | None = None

    @property
    def consented(self) -> set[str]:
        if self._consented is None:
            self._consented = set(self._session.scalars(
                select(Office.code).join(Consent, Consent.office_id == Office.id)
                .where(Consent.case_id == self._case_id, Consent.withdrawn_at.is_(None))))
        return self._consented

    def needs_consent(self, office_code: str) -> bool:
        if office_code in EXEMPT_OFFICES or office_code == self.owner_code:
            return False
        return office_code not in self.consented


def case_consents(session: Session, case_id: UUID) -> CaseConsents:
    owner = session.execute(select(Office.id, Office.code).join(CaseFile, CaseFile.owner_office_id == Office.id)
                            .where(CaseFile.id == case_id)).first()
    return CaseConsents(session, case_id, owner.id if owner else None, owner.code if owner else None)


def request_row(session: Session, case_id: UUID, instance_id: UUID, process_id: str, office_code: str,
                owner_office_id: int, calendar: WorkingDayCalendar, now: datetime) -> dict[str, Any] | None:
    """A task for case management to obtain the consent, unless one is open already."""
    bpmn_id = f"{REQUEST_PREFIX}{office_code}"
    exists = session.scalar(select(HumanTask.id).where(HumanTask.case_id == case_id, HumanTask.bpmn_id == bpmn_id,
                                                       HumanTask.state.in_((TaskState.OPEN.value,
                                                                            TaskState.CLAIMED.value))))
    if exists is not None:
        return None
    return {"id": uuid4(), "instance_id": instance_id, "case_id": case_id, "spiff_task_id": uuid4(),
            "process_id": process_id, "bpmn_id": bpmn_id, "name": f"Einwilligung für {office_code} einholen",
            "office_id": owner_office_id, "assignee_id": None, "state": TaskState.OPEN.value, "created_at": now,
            "due_at": (due := due_moment(now, parse_deadline(REQUEST_DUE_IN), calendar)), "due_sort": due,
            "escalation_level": 0,
            "escalate_after": None, "due_in": REQUEST_DUE_IN, "remind_before": None, "form_key": REQUEST_FORM,
            "audience": None, "data": {}, "version": 1, "context": None}


def is_request(task_bpmn_id: str) -> bool:
    return task_bpmn_id.startswith(REQUEST_PREFIX)
