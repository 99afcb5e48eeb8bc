"""Retention (DOMAIN.md section 10): case content goes N years after the end of the year of
closure, the indicators' facts and the audit chain stay, legal holds keep a case, a dry run
changes nothing, one failing case leaves the others done - on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select, text, update

from engine import clock
from engine.domain.errors import Conflict, InvalidInput, NotAllowed
from engine.persistence import audit_checkpoints, audit_log
from engine.persistence.models import (
    AuditEntry,
    CaseFile,
    CaseRetention,
    Consent,
    HumanTask,
    Notification,
    ProcessInstance,
    Screening,
    ScreeningPath,
    Timer,
)
from engine.services.casework import inbox
from engine.services.context import EngineContext
from engine.services.retention import erasure, legal_hold, policy, runs
from engine.services.timers.firing import fire_due_timers
from tests.conftest import deploy_files
from tests.integration.retention_support import CARLA, add_admin, berlin, closed_case
from tests.threads import at_once

KEY = b"retention-test-key"


@pytest.fixture
def retention_ctx(ctx: EngineContext) -> Iterator[EngineContext]:
    ctx.config = {**ctx.config, "KIM_AUDIT_KEY": KEY.decode()}
    deploy_files(ctx, "beratung.bpmn")
    yield ctx
    clock.reset()


def _case(ctx: EngineContext, case_id: UUID) -> CaseFile:
    with ctx.uow(write=False) as uow:
        case = uow.session.get(CaseFile, case_id)
    assert case is not None
    return case


def _snapshot(ctx: EngineContext) -> dict[str, Any]:
    """Everything a run could change, as plain values."""
    with ctx.uow(write=False) as uow:
        s = uow.session
        return {
            "cases": sorted((str(c.id), c.given_name, c.family_name, str(c.date_of_birth), c.household,
                             c.referral_reason, c.version) for c in s.scalars(select(CaseFile))),
            "tasks": sorted((str(t.id), repr(t.data), t.version) for t in s.scalars(select(HumanTask))),
            "consents": s.scalar(select(text("count(*)")).select_from(Consent)),
            "states": sorted((str(i.id), len(i.state)) for i in s.scalars(select(ProcessInstance))),
            "audit": [(a.id, repr(a.details)) for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))],
            "retention": s.scalar(select(text("count(*)")).select_from(CaseRetention)),
        }


def _verify(ctx: EngineContext) -> audit_checkpoints.ChainCheck:
    with ctx.uow(write=False) as uow:
        return audit_checkpoints.verify(uow.session, KEY)


def _run(ctx: EngineContext, moment: str, dry_run: bool = False) -> runs.RetentionReport:
    clock.freeze(berlin(moment))
    return runs.run_retention(ctx, dry_run=dry_run)


def test_the_period_ends_with_the_third_year_after_the_year_of_closure() -> None:
    assert policy.due_on(berlin("2026-03-01T10:00"), 3) == berlin("2030-01-01T00:00")
    assert policy.due_on(berlin("2026-12-31T23:30"), 3) == berlin("2030-01-01T00:00")  # 22:30 UTC, still 2026
    assert policy.closed_before(berlin("2030-01-01T00:30"), 3) == berlin("2027-01-01T00:00")
    assert policy.retention_years({}) == 3
    assert policy.retention_years({"KIM_RETENTION_YEARS": "10"}) == 10
    with pytest.raises(ValueError, match="KIM_RETENTION_YEARS"):
        policy.retention_years({"KIM_RETENTION_YEARS": "0"})


def test_content_is_deleted_after_the_period_and_not_before(retention_ctx: EngineContext) -> None:
    ctx = retention_ctx
    case_id = closed_case(ctx, "2026-03-10", household=[{"given_name": "Lina", "relation": "CHILD",
                                                          "date_of_birth": "2015-06-01"}])
    assert _run(ctx, "2029-12-31T23:50").due == []
    assert _case(ctx, case_id).family_name == "Rahimi"

    report = _run(ctx, "2030-01-01T00:10")
    assert [d["reference"] for d in report.deleted] == [_case(ctx, case_id).reference]
    assert report.deleted[0]["closure_year"] == 2026
    case = _case(ctx, case_id)
    assert (case.given_name, case.family_name, case.date_of_birth, case.nationality, case.household,
            case.referral_reason) == ("", "", None, None, {}, "")
    # the anonymous facts stay
    assert (case.status, case.closure_reason, case.referral_source) == ("closed", "MOVED_AWAY", "SOZ")
    assert case.closed_at is not None
    assert case.opened_at is not None
    with ctx.uow(write=False) as uow:
        s = uow.session
        assert s.scalars(select(Consent).where(Consent.case_id == case_id)).all() == []
        datas = [t.data for t in s.scalars(select(HumanTask).where(HumanTask.case_id == case_id))]
        assert sorted(map(repr, datas)) == sorted(["{}", repr({"closure_reason": "MOVED_AWAY"})])
        assert {i.state for i in s.scalars(select(ProcessInstance).where(ProcessInstance.case_id == case_id))} == {""}
        assert s.scalars(select(Notification).where(Notification.case_id == case_id)).all() == []
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.case_id == case_id).order_by(AuditEntry.seq)))
        retention_row = s.get(CaseRetention, case_id)
    assert retention_row is not None
    assert retention_row.content_deleted_at == berlin("2030-01-01T00:10")
    *before, last = entries
    assert before
    assert all(e.details == audit_log.REDACTED for e in before)
    assert last.action == "retention.delete"
    assert last.details["rule"] == policy.rule_of(3)
    assert last.details["counts"]["consents"] == 1
    assert "Rahimi" not in repr(last.details)


def test_configured_years_move_the_deadline(retention_ctx: EngineContext) -> None:
    ctx = retention_ctx
    ctx.config = {**ctx.config, "KIM_RETENTION_YEARS": "5"}
    closed_case(ctx, "2026-03-10")
    assert _run(ctx, "2031-12-31T12:00").due == []
    assert len(_run(ctx, "2032-01-02T12:00").deleted) == 1


def test_dry_run_lists_and_changes_nothing(retention_ctx: EngineContext) -> None:
    ctx = retention_ctx
    first = closed_case(ctx, "2025-05-05")
    closed_case(ctx, "2027-05-05")  # not due in 2030
    before = _snapshot(ctx)
    report = _run(ctx, "2030-02-01T09:00", dry_run=True)
    assert [(d.reference, d.closure_year) for d in report.due] == [(_case(ctx, first).reference, 2025)]
    assert report.to_json()["would_delete"][0]["reference"] == _case(ctx, first).reference
    assert report.deleted == []
    assert _snapshot(ctx) == before


def test_legal_hold_keeps_a_case_and_the_run_shows_the_reason(retention_ctx: EngineContext) -> None:
    ctx = retention_ctx
    admin = add_admin(ctx)
    held = closed_case(ctx, "2025-05-05")
    other = closed_case(ctx, "2025-06-06", person={"given_name": "Sara", "family_name": "Ahmadi"})
    reference = _case(ctx, held).reference
    with pytest.raises(NotAllowed):
        ctx.run(legal_hold.set_legal_hold, CARLA, held, "Klage")
    with pytest.raises(InvalidInput) as missing:
        ctx.run(legal_hold.set_legal_hold, admin, held, "  ")
    assert missing.value.fields == {"reason": "required"}
    view = ctx.run(legal_hold.set_legal_hold, admin, reference, "Klage vor dem VG Köln, Az. 5 K 1/29")
    assert view.held
    assert view.set_by == "ada"

    report = _run(ctx, "2030-01-05T09:00")
    assert report.skipped == [{"reference": reference, "reason": "Sperrvermerk: Klage vor dem VG Köln, Az. 5 K 1/29"}]
    assert [d["reference"] for d in report.deleted] == [_case(ctx, other).reference]
    assert _case(ctx, held).family_name == "Rahimi"
    with ctx.uow(write=False) as uow:
        actions = [(a.action, a.actor, a.details) for a in uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("%retention%") | AuditEntry.action.like("%legal_hold%"))
            .order_by(AuditEntry.id))]
    assert ("case.legal_hold.set", "ada", {"reason": "Klage vor dem VG Köln, Az. 5 K 1/29",
                                           "previous_reason": None}) in actions
    run_entry = next(d for a, _, d in actions if a == "retention.run")
    assert run_entry["skipped_references"] == [reference]
    assert run_entry["deleted"] == 1

    ctx.run(legal_hold.clear_legal_hold, admin, held, "Klage zurückgenommen")
    assert [d["reference"] for d in runs.run_retention(ctx).deleted] == [reference]
    with pytest.raises(Conflict):
        ctx.run(legal_hold.set_legal_hold, admin, held, "zu spät")


def test_the_run_is_idempotent(retention_ctx: EngineContext) -> None:
    ctx = retention_ctx
    closed_case(ctx, "2025-05-05")
    assert len(_run(ctx, "2030-01-05T09:00").deleted) == 1
    after_first = _snapshot(ctx)
    again = runs.run_retention(ctx)
    assert (again.due, again.deleted, again.skipped) == ([], [], [])
    assert _snapshot(ctx) == after_first


def test_a_failing_case_is_rolled_back_alone(retention_ctx: EngineContext, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = retention_ctx
    broken = closed_case(ctx, "2025-01-10")
    fine = closed_case(ctx, "2025-02-10", person={"given_name": "Sara", "family_name": "Ahmadi"})
    erase = erasure.erase_case_content

    def failing(session: Any, case_id: UUID) -> dict[str, int]:
        counts = erase(session, case_id)  # the failure comes after writes: they must be undone
        if case_id == broken:
            raise RuntimeError("disk full")
        return counts

    monkeypatch.setattr(erasure, "erase_case_content", failing)
    report = _run(ctx, "2030-01-05T09:00")
    assert [f["reference"] for f in report.failed] == [_case(ctx, broken).reference]
    assert [d["reference"] for d in report.deleted] == [_case(ctx, fine).reference]
    untouched = _case(ctx, broken)
    assert (untouched.family_name, untouched.household) == ("Rahimi", {"members": []})
    with ctx.uow(write=False) as uow:
        assert uow.session.get(CaseRetention, broken) is None
        details = [e.details for e in uow.session.scalars(select(AuditEntry).where(AuditEntry.case_id == broken))]
    assert audit_log.REDACTED not in details
    monkeypatch.setattr(erasure, "erase_case_content", erase)
    assert [d["reference"] for d in runs.run_retention(ctx).deleted] == [untouched.reference]
    assert _verify(ctx).ok


def test_audit_verifies_after_retention_and_still_detects_tampering(retention_ctx: EngineContext) -> None:
    ctx = retention_ctx
    case_id = closed_case(ctx, "2025-05-05")
    with ctx.uow() as uow:  # heads signed before the run: redaction must not break the checkpoint
        assert audit_checkpoints.write_checkpoint(uow.session, KEY) is not None
        uow.commit()
    _run(ctx, "2030-01-05T09:00")
    with ctx.uow() as uow:
        audit_checkpoints.write_checkpoint(uow.session, KEY)
        uow.commit()
    check = _verify(ctx)
    assert check.ok, check.reason
    with ctx.uow(write=False) as uow:
        redacted = uow.session.scalars(select(AuditEntry.id).where(AuditEntry.case_id == case_id)
                                       .order_by(AuditEntry.seq)).first()
    assert redacted is not None
    _unguarded(ctx, "UPDATE audit SET actor = 'mallory' WHERE id = :id", redacted)
    check = _verify(ctx)
    assert not check.ok
    assert check.first_broken_id == redacted


def test_redacted_details_cannot_be_replaced_by_other_content(retention_ctx: EngineContext) -> None:
    ctx = retention_ctx
    case_id = closed_case(ctx, "2025-05-05")
    _run(ctx, "2030-01-05T09:00")
    with ctx.uow(write=False) as uow:
        first = uow.session.scalars(select(AuditEntry.id).where(AuditEntry.case_id == case_id)
                                    .order_by(AuditEntry.seq)).first()
    _unguarded(ctx, """UPDATE audit SET details = '{"reference": "gefälscht"}' WHERE id = :id""", first)
    check = _verify(ctx)
    assert not check.ok
    assert check.first_broken_id == first


def _unguarded(ctx: EngineContext, statement: str, entry_id: int | None) -> None:
    """An attacker with DDL rights disables the append-only guard, then changes a row."""
    with ctx.db.write.begin() as conn:
        if ctx.db.is_sqlite:
            conn.execute(text("DROP TRIGGER audit_no_update"))
        else:
            conn.execute(text("ALTER TABLE audit DISABLE TRIGGER audit_append_only"))
        conn.execute(text(statement), {"id": entry_id})
        if not ctx.db.is_sqlite:
            conn.execute(text("ALTER TABLE audit ENABLE TRIGGER audit_append_only"))


def test_redacted_entries_from_before_the_chains_still_verify(retention_ctx: EngineContext) -> None:
    """Entries of the legacy chain hashed their details themselves; redaction must not break them."""
    ctx = retention_ctx
    prev, rows = audit_log.GENESIS, []
    for seq in (1, 2):
        values = {"at": berlin(f"2024-01-0{seq}T10:00:00").astimezone(UTC), "actor": "anna", "action": "case.read",
                  "object_type": "case", "object_id": "c1", "case_id": None, "instance_id": None,
                  "details": {"name": "Rahimi", "nr": seq}, "prev_hash": prev}
        prev = audit_log.legacy_hash(values)
        rows.append({**values, "hash": prev, "chain": audit_log.LEGACY_CHAIN, "seq": seq, "details_hash": None})
    with ctx.db.write.begin() as conn:
        conn.execute(AuditEntry.__table__.insert(), rows)
    assert _verify(ctx).ok
    with ctx.db.write.begin() as conn:  # what retention does to an entry it no longer may hold
        conn.execute(AuditEntry.__table__.update().where(AuditEntry.seq == 1,
                                                          AuditEntry.chain == audit_log.LEGACY_CHAIN)
                     .values(details=audit_log.REDACTED))
    check = _verify(ctx)
    assert check.ok, check.reason


def test_two_runs_at_once_delete_each_case_once(retention_ctx: EngineContext) -> None:
    """Two schedulers running the daily job together: every case is deleted by exactly one."""
    ctx = retention_ctx
    for i in range(4):
        closed_case(ctx, "2025-05-05", person={"given_name": f"Person{i}", "family_name": "Rahimi"})
    clock.freeze(berlin("2030-01-05T09:00:00"))
    reports, errors = at_once(lambda: runs.run_retention(ctx))
    assert errors == []
    assert sorted(d["reference"] for r in reports for d in r.deleted) == sorted(
        {d["reference"] for r in reports for d in r.deleted})
    assert sum(len(r.deleted) for r in reports) == 4
    assert all(r.failed == [] for r in reports)
    with ctx.uow(write=False) as uow:
        deletions = uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "retention.delete")).all()
    assert len(deletions) == 4
    assert _verify(ctx).ok


def test_no_timer_is_left_to_restore_a_deleted_state(retention_ctx: EngineContext) -> None:
    ctx = retention_ctx
    case_id = closed_case(ctx, "2025-05-05")
    with ctx.uow() as uow:  # a timer the ended process left behind
        instance = uow.session.scalar(select(ProcessInstance).where(ProcessInstance.case_id == case_id))
        assert instance is not None
        uow.session.add(Timer(instance_id=instance.id, spiff_task_id=uuid4(), kind="bpmn", bpmn_id="t",
                              fire_at=berlin("2030-02-01T09:00:00"), created_at=berlin("2025-05-05T10:00:00")))
        uow.commit()
    _run(ctx, "2030-01-05T09:00")
    clock.freeze(berlin("2030-03-01T09:00:00"))
    assert fire_due_timers(ctx).failed == 0
    with ctx.uow(write=False) as uow:
        assert uow.session.scalars(select(Timer).where(Timer.fired_at.is_(None))).all() == []


def test_stored_screenings_and_follow_up_reasons_lose_their_content_path_and_status_stay(
        retention_ctx: EngineContext) -> None:
    """A stored screening holds the date of birth and, for the ABH, conviction codes: they go
    with the case's content; path, status and deadline stay for the indicator."""
    ctx = retention_ctx
    case_id = closed_case(ctx, "2026-03-10")
    run_id, screening_id = uuid4(), uuid4()
    with ctx.uow() as uow:
        uow.session.add(Screening(id=screening_id, run_id=run_id, run_seq=1, case_id=case_id, person="main",
                                  evaluated_at=berlin("2026-03-01T10:00"), eval_date=berlin("2026-03-01T10:00").date(),
                                  inputs={"date_of_birth": "1990-05-10", "conviction": "SERIOUS"},
                                  recommended=None, result={"outputs": [{"path": "25b"}]}, trigger="test",
                                  ran_by="carla"))
        uow.session.flush()
        uow.session.add(ScreeningPath(screening_id=screening_id, path="25b", status="BLOCKED", missing=["german_level"],
                                      blocking=["conviction_serious"], deadline=None, rules=["r7"]))
        uow.session.execute(update(HumanTask).where(HumanTask.case_id == case_id)
                            .values(follow_up_reason="Arztbrief zur Erkrankung abwarten"))
        uow.commit()
    _run(ctx, "2030-01-01T00:10")
    with ctx.uow(write=False) as uow:
        screening = uow.session.get(Screening, screening_id)
        (row,) = uow.session.scalars(select(ScreeningPath).where(ScreeningPath.screening_id == screening_id))
        reasons = set(uow.session.scalars(select(HumanTask.follow_up_reason).where(HumanTask.case_id == case_id)))
    assert reasons == {None}, "a follow-up reason is a note about the case"
    assert screening is not None
    assert (screening.inputs, screening.result) == ({}, {})
    assert (row.path, row.status, row.missing, row.blocking, row.rules) == ("25b", "BLOCKED", [], [], [])


def _inbox_read(ctx: EngineContext, moment: str, search: str | None) -> None:
    clock.freeze(berlin(moment))
    ctx.run(inbox.list_tasks, CARLA, inbox.TaskFilter(search=search))


def _list_details(ctx: EngineContext) -> list[dict[str, Any]]:
    with ctx.uow(write=False) as uow:
        return [dict(d) for d in uow.session.scalars(select(AuditEntry.details).where(
            AuditEntry.action == "task.list", AuditEntry.case_id.is_(None)).order_by(AuditEntry.id))]


def test_a_name_searched_in_the_inbox_is_redacted_after_the_period(retention_ctx: EngineContext) -> None:
    """The audit entry of an inbox search names the person searched for (and has no case): it follows the
    same period - counted from the end of the year of the search - and is redacted the same way; a
    newer search and a plain inbox read stay, the chain still verifies, a second run changes nothing."""
    ctx = retention_ctx
    _inbox_read(ctx, "2026-03-02T09:00", "Rahimi")
    _inbox_read(ctx, "2026-03-02T09:05", None)
    _inbox_read(ctx, "2027-01-04T09:00", "Haddad")
    before = _snapshot(ctx)
    dry = _run(ctx, "2030-01-05T09:00", dry_run=True)
    assert (dry.name_searches, dry.to_json()["name_searches"]) == (1, 1)
    assert _snapshot(ctx) == before, "the dry run only counts"
    report = _run(ctx, "2030-01-05T09:00")
    assert report.name_searches == 1
    searched, plain, newer = _list_details(ctx)
    assert searched == audit_log.REDACTED
    assert "q" not in plain["filter"]
    assert newer["filter"]["q"] == "Haddad", "searched in 2027: kept until the end of 2030"
    check = _verify(ctx)
    assert check.ok, check.reason
    assert _run(ctx, "2030-01-06T09:00").name_searches == 0
    with ctx.uow(write=False) as uow:
        (run,) = uow.session.scalars(select(AuditEntry.details).where(AuditEntry.action == "retention.run")).all()
    assert run["name_searches"] == 1
