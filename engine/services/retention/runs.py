"""The deletion run: find the closed cases whose retention period is over, delete their content.

Entry points (``kim retention run``, the scheduler's daily job) call :func:`run_retention`
with the engine context: like the timer batches, it opens one unit of work per case, so a case
that fails is rolled back alone (and tried again on the next run) while the others stay done.
Each case is locked and checked again inside its transaction, so two schedulers running the job
at once, or a run repeated, delete nothing twice. A case under legal hold, or with a process
still running (a case conference), is skipped with the reason. A dry run only lists.

The same run redacts the audit entries of inbox name searches older than the period (the
searched name is the only personal content of entries without a case).

Audit: each deleted case gets an entry in its own chain (rule, closure year, counts); the run
gets one entry in the acting user's chain (rule, counts, references) when it did anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import SYSTEM, Actor
from engine.domain.permissions import Permission, require
from engine.persistence import audit_log
from engine.persistence.models import CaseFile, CaseRetention, CaseStatus, InstanceStatus, ProcessInstance
from engine.services.context import EngineContext, UnitOfWork
from engine.services.retention import erasure, policy

log = logging.getLogger(__name__)
LIVE = (InstanceStatus.RUNNING.value, InstanceStatus.INCIDENT.value)
PROCESS_RUNS = "ein Prozess des Falls läuft noch"


@dataclass(frozen=True)
class DueCase:
    case_id: UUID
    reference: str
    closed_at: datetime
    closure_year: int
    legal_hold: str | None = None  # the reason, when a hold keeps the content
    process_runs: bool = False

    @property
    def skip_reason(self) -> str | None:
        if self.legal_hold is not None:
            return f"Sperrvermerk: {self.legal_hold}"
        return PROCESS_RUNS if self.process_runs else None

    def to_json(self) -> dict[str, Any]:
        return {"case_id": str(self.case_id), "reference": self.reference, "closure_year": self.closure_year,
                "closed_at": self.closed_at.isoformat(), "skip_reason": self.skip_reason}


@dataclass
class RetentionReport:
    dry_run: bool
    rule: str
    closed_before: datetime
    due: list[DueCase] = field(default_factory=list)          # everything past its period (dry run: this list)
    deleted: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    remaining: int = 0  # due cases left for the next run (a run with a limit)
    name_searches: int = 0  # audit entries of name searches redacted (dry run: that would be)

    def to_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "rule": self.rule, "closed_before": self.closed_before.isoformat(),
                "would_delete": [d.to_json() for d in self.due if d.skip_reason is None] if self.dry_run else [],
                "deleted": self.deleted,
                "skipped": self.skipped if not self.dry_run else [d.to_json() for d in self.due if d.skip_reason],
                "failed": self.failed, "name_searches": self.name_searches}


def find_due(session: Session, now: datetime, years: int, case_id: UUID | None = None) -> list[DueCase]:
    """Closed cases past their retention period whose content is not deleted yet (or just ``case_id``)."""
    cutoff = policy.closed_before(now, years)
    query = (select(CaseFile.id, CaseFile.reference, CaseFile.closed_at, CaseRetention.legal_hold_reason)
             .outerjoin(CaseRetention, CaseRetention.case_id == CaseFile.id)
             .where(CaseFile.status == CaseStatus.CLOSED.value, CaseFile.closed_at < cutoff,
                    CaseRetention.content_deleted_at.is_(None))
             .order_by(CaseFile.closed_at, CaseFile.reference))
    if case_id is not None:
        query = query.where(CaseFile.id == case_id)
    rows = session.execute(query).all()
    running = set(session.scalars(  # closed cases with a process still running: few
        select(ProcessInstance.case_id).join(CaseFile, CaseFile.id == ProcessInstance.case_id)
        .where(CaseFile.status == CaseStatus.CLOSED.value, ProcessInstance.status.in_(LIVE)))) if rows else set()
    return [DueCase(r.id, r.reference, r.closed_at, policy.closure_year(r.closed_at), r.legal_hold_reason,
                    r.id in running) for r in rows]


def preview_retention(uow: UnitOfWork, actor: Actor) -> RetentionReport:
    """The dry run for an admin in the browser or API: what the next run deletes (the look is audited)."""
    require(actor, Permission.MANAGE_RETENTION)
    years = policy.retention_years(uow.ctx.config)
    now = clock.now()
    report = RetentionReport(True, policy.rule_of(years), policy.closed_before(now, years),
                             find_due(uow.session, now, years))
    report.name_searches = erasure.count_name_searches(uow.session, report.closed_before)
    audit_log.record(uow.session, actor, "retention.preview", "retention", None,
                     details={"due": len(report.due), "closed_before": report.closed_before.isoformat()})
    return report


def run_retention(ctx: EngineContext, actor: Actor = SYSTEM, dry_run: bool = False,
                  limit: int | None = None) -> RetentionReport:
    """Delete (or with ``dry_run`` only list) the content of every case past its period.

    ``limit``: delete at most this many cases now (the scheduler's cycle must not wait for a
    first run over years of cases); ``remaining`` says how many are left for the next run.
    """
    years = policy.retention_years(ctx.config)
    now = clock.now()
    report = RetentionReport(dry_run, policy.rule_of(years), policy.closed_before(now, years))
    with ctx.uow(write=False) as uow:
        report.due = find_due(uow.session, now, years)
        if dry_run:
            report.name_searches = erasure.count_name_searches(uow.session, report.closed_before)
    if dry_run:
        return report
    deletable = [d for d in report.due if d.skip_reason is None]
    report.skipped = [{"reference": d.reference, "reason": d.skip_reason} for d in report.due if d.skip_reason]
    if limit is not None:
        deletable, report.remaining = deletable[:limit], max(len(deletable) - limit, 0)
    for due in deletable:
        try:
            deleted = _delete_case(ctx, actor, due, years, now)
        except Exception as exc:  # one case failing must not stop the others; it is tried again next run
            log.exception("retention: deleting the content of case %s failed", due.reference)
            report.failed.append({"reference": due.reference, "error": type(exc).__name__})
            continue
        if deleted is not None:
            report.deleted.append(deleted)
    report.name_searches = _redact_name_searches(ctx, report.closed_before)
    if report.deleted or report.skipped or report.failed or report.name_searches:
        _audit_run(ctx, actor, report)
    return report


def _redact_name_searches(ctx: EngineContext, before: datetime) -> int:
    with ctx.uow() as uow:
        done = erasure.redact_name_searches(uow.session, before)
        uow.commit()
    return done


def _delete_case(ctx: EngineContext, actor: Actor, due: DueCase, years: int, now: datetime) -> dict[str, Any] | None:
    """One case in one transaction, checked again under its row lock; None if nothing was left to do."""
    with ctx.uow() as uow:
        session = uow.session
        again = [d for d in _locked_due(session, due.case_id, now, years) if d.skip_reason is None]
        if not again:
            return None
        counts = erasure.erase_case_content(session, due.case_id)
        _mark_deleted(session, due.case_id, now, policy.rule_of(years))
        entry = {"reference": due.reference, "closure_year": due.closure_year, "rule": policy.rule_of(years),
                 "counts": counts}
        audit_log.record(session, actor, "retention.delete", "case", due.case_id, case_id=due.case_id, details=entry)
        uow.commit()
    return entry


def _locked_due(session: Session, case_id: UUID, now: datetime, years: int) -> list[DueCase]:
    session.execute(select(CaseFile.id).where(CaseFile.id == case_id).with_for_update())
    return find_due(session, now, years, case_id)


def _mark_deleted(session: Session, case_id: UUID, now: datetime, rule: str) -> None:
    row = session.get(CaseRetention, case_id)
    if row is None:
        session.add(CaseRetention(case_id=case_id, content_deleted_at=now, deleted_by_rule=rule))
    else:
        row.content_deleted_at, row.deleted_by_rule = now, rule
    session.flush()


def _audit_run(ctx: EngineContext, actor: Actor, report: RetentionReport) -> None:
    with ctx.uow() as uow:
        audit_log.record(uow.session, actor, "retention.run", "retention", None, details={
            "rule": report.rule, "closed_before": report.closed_before.isoformat(),
            "deleted": len(report.deleted), "skipped": len(report.skipped), "failed": len(report.failed),
            "name_searches": report.name_searches,
            "references": [d["reference"] for d in report.deleted],
            "skipped_references": [s["reference"] for s in report.skipped],
            "failed_references": [f["reference"] for f in report.failed]})
        uow.commit()
