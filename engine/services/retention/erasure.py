"""What deleting a case's content means, table by table (DOMAIN.md section 10).

Goes: the person (names, date of birth, nationality), the household, the referral reason, the
form data of every task (counselling notes, screening inputs, minutes) and its follow-up
reason, except the coded answers and dates the indicators count, the consents, the conference
agendas, the workflow state (it carries the same data), incident and timer error texts, the
notifications about the case, and the stored screenings' inputs, results and reasons (what is
missing, what blocks - conviction codes among them).
Audit entries about the case keep their place and hash in the chain, their details become
``{"redacted": true}`` - the one update the database allows on the audit table.

Stays (anonymous, for the indicators): the case reference, its offices, its dates, the referral
source and the closure reason, the task rows (step, office, due and completion dates) with the
answers listed in :data:`KEPT_ANSWERS`, fired timers (escalations), the step history (path and
timings), each stored screening row's path, status and deadline (the "path screening results"
indicator counts them). Unfired timers of the ended processes go: nothing may restore their deleted state.

Audit entries without a case hold personal content in one place: the name a caseworker searched
the inbox for (``task.list``, its filter's ``q``). They follow the same period, counted from the
end of the year of the search, and are redacted the same way (:func:`redact_name_searches`).

Helpers here take a session; the caller (engine.services.retention.runs) owns the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from engine.persistence.audit_log import REDACTED
from engine.persistence.models import (
    AuditEntry,
    CaseConference,
    CaseFile,
    Consent,
    HumanTask,
    Incident,
    Notification,
    ProcessInstance,
    Screening,
    ScreeningPath,
    Timer,
)
from engine.services.reporting.kpi_steps import FIELDS

# The answers the indicators read from a step's form data (engine.services.reporting.kpi_steps),
# plus the closure reason; lists of objects keep only the coded keys named here.
KEPT_ANSWERS = frozenset({*FIELDS, "closure_reason"})
KEPT_LIST_KEYS: Mapping[str, tuple[str, ...]] = {"plan_goals": ("goal_type",)}
DELETED_TEXT = "(gelöscht)"
SEARCH_BATCH = 500  # entries redacted per statement


def indicator_facts(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """The part of a step's form data that the indicators count and that names nobody."""
    kept: dict[str, Any] = {}
    for key, value in (data or {}).items():
        if key in KEPT_ANSWERS and (value is None or isinstance(value, str | int | float | bool)):
            kept[key] = value
        elif key in KEPT_LIST_KEYS and isinstance(value, list):
            keys = KEPT_LIST_KEYS[key]
            kept[key] = [{k: item.get(k) for k in keys} for item in value if isinstance(item, Mapping)]
    return kept


def instances_of(session: Session, case_id: UUID) -> list[UUID]:
    """The case's own process and its case conferences' processes."""
    own = select(ProcessInstance.id).where(ProcessInstance.case_id == case_id)
    conferences = select(CaseConference.instance_id).where(CaseConference.case_id == case_id)
    return sorted(set(session.scalars(own)) | set(session.scalars(conferences)))


def erase_case_content(session: Session, case_id: UUID) -> dict[str, int]:
    """Delete the personal content of one case in the caller's transaction; returns counts."""
    instance_ids = instances_of(session, case_id)
    counts = {"tasks": _strip_tasks(session, case_id, instance_ids)}
    session.execute(update(CaseFile).where(CaseFile.id == case_id).values(
        given_name="", family_name="", date_of_birth=None, nationality=None, household={}, referral_reason="",
        version=CaseFile.version + 1), execution_options={"synchronize_session": False})
    counts["consents"] = _count(session.execute(delete(Consent).where(Consent.case_id == case_id)))
    counts["conferences"] = _count(session.execute(
        update(CaseConference).where(CaseConference.case_id == case_id).values(agenda=DELETED_TEXT),
        execution_options={"synchronize_session": False}))
    counts["instances"] = 0
    if instance_ids:
        counts["instances"] = _count(session.execute(
            update(ProcessInstance).where(ProcessInstance.id.in_(instance_ids))
            .values(state="", version=ProcessInstance.version + 1), execution_options={"synchronize_session": False}))
        session.execute(update(Incident).where(Incident.instance_id.in_(instance_ids)).values(message=DELETED_TEXT),
                        execution_options={"synchronize_session": False})
        session.execute(update(Timer).where(Timer.instance_id.in_(instance_ids), Timer.last_error.is_not(None))
                        .values(last_error=None), execution_options={"synchronize_session": False})
        # A timer left unfired on an ended process would make the scheduler restore a state that is gone.
        session.execute(delete(Timer).where(Timer.instance_id.in_(instance_ids), Timer.fired_at.is_(None)),
                        execution_options={"synchronize_session": False})
    counts["screenings"] = _erase_screenings(session, case_id)
    task_ids = select(HumanTask.id).where(HumanTask.case_id == case_id)
    counts["notifications"] = _count(session.execute(
        delete(Notification).where(or_(Notification.case_id == case_id, Notification.task_id.in_(task_ids))),
        execution_options={"synchronize_session": False}))
    counts["audit_entries"] = _redact_audit(session, case_id, instance_ids)
    return counts


def _erase_screenings(session: Session, case_id: UUID) -> int:
    """Inputs, results and reasons go; path, status and deadline per row stay for the indicator."""
    runs = select(Screening.id).where(Screening.case_id == case_id)
    session.execute(update(ScreeningPath).where(ScreeningPath.screening_id.in_(runs))
                    .values(missing=[], blocking=[], rules=[]), execution_options={"synchronize_session": False})
    return _count(session.execute(update(Screening).where(Screening.case_id == case_id).values(inputs={}, result={}),
                                  execution_options={"synchronize_session": False}))


def _strip_tasks(session: Session, case_id: UUID, instance_ids: list[UUID]) -> int:
    where = HumanTask.case_id == case_id
    if instance_ids:
        where = or_(where, HumanTask.instance_id.in_(instance_ids))
    rows = session.execute(select(HumanTask.id, HumanTask.data).where(where)).all()
    for task_id, data in rows:
        session.execute(update(HumanTask).where(HumanTask.id == task_id)
                        .values(data=indicator_facts(data), follow_up_reason=None, version=HumanTask.version + 1),
                        execution_options={"synchronize_session": False})
    return len(rows)


def _redact_audit(session: Session, case_id: UUID, instance_ids: list[UUID]) -> int:
    """Replace the details of the case's audit entries by the redaction marker (hashes stay).

    Only entries that still hold details are touched, so a second run changes nothing.
    """
    where = AuditEntry.case_id == case_id
    if instance_ids:
        where = or_(where, AuditEntry.instance_id.in_(instance_ids))
    ids = [entry_id for entry_id, details in session.execute(select(AuditEntry.id, AuditEntry.details).where(where))
           if details != REDACTED]
    for start in range(0, len(ids), 500):
        session.execute(update(AuditEntry).where(AuditEntry.id.in_(ids[start:start + 500])).values(details=REDACTED),
                        execution_options={"synchronize_session": False})
    return len(ids)


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _name_searches(before: datetime) -> ColumnElement[bool]:
    """Inbox reads with a name search, made before ``before``, not yet redacted (a redacted entry has
    no filter any more, so a second run finds nothing)."""
    return and_(AuditEntry.case_id.is_(None), AuditEntry.action == "task.list", AuditEntry.at < before,
                AuditEntry.details[("filter", "q")].as_string().is_not(None))


def count_name_searches(session: Session, before: datetime) -> int:
    """How many audit entries :func:`redact_name_searches` would redact (the dry run)."""
    return int(session.scalar(select(func.count()).select_from(AuditEntry).where(_name_searches(before))) or 0)


def redact_name_searches(session: Session, before: datetime) -> int:
    """Redact the audit entries of name searches made before ``before`` (their hashes stay)."""
    done = 0
    while ids := list(session.scalars(select(AuditEntry.id).where(_name_searches(before))
                                      .order_by(AuditEntry.id).limit(SEARCH_BATCH))):
        session.execute(update(AuditEntry).where(AuditEntry.id.in_(ids)).values(details=REDACTED),
                        execution_options={"synchronize_session": False})
        done += len(ids)
    return done
