"""The audit trail: append-only, one hash chain per case, signed checkpoints; an auditor verifies it."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DatabaseError

from engine.domain.actors import SYSTEM, Actor
from engine.persistence import audit_checkpoints, audit_log
from engine.persistence.models import AuditChain, AuditEntry, User
from engine.services.admin import audit_trail, directory
from engine.services.casework import inbox
from engine.services.context import EngineContext
from tests.threads import at_once

KEY = b"the-installation's-audit-key"
ANNA = Actor("anna", "caseworker")


def _write(ctx: EngineContext, n: int, case_id: uuid.UUID | None = None) -> None:
    with ctx.uow() as uow:
        for i in range(n):
            audit_log.record(uow.session, ANNA, "case.read", "case", f"case-{i}", case_id=case_id,
                             details={"felder": ["person"], "nr": i, "text": "Ärztliches Attest"})
        uow.commit()


def _verify(ctx: EngineContext, key: bytes | None = KEY) -> audit_checkpoints.ChainCheck:
    with ctx.uow(write=False) as uow:
        return audit_checkpoints.verify(uow.session, key)


def _checkpoint(ctx: EngineContext) -> None:
    with ctx.uow() as uow:
        assert audit_checkpoints.write_checkpoint(uow.session, KEY) is not None
        uow.commit()


def _unguarded(ctx: EngineContext, *statements: str) -> None:
    """An attacker with DDL rights disables the guard first, then changes the table."""
    with ctx.db.write.begin() as conn:
        if ctx.db.is_sqlite:
            conn.execute(text("DROP TRIGGER audit_no_update"))
            conn.execute(text("DROP TRIGGER audit_no_delete"))
        else:
            conn.execute(text("ALTER TABLE audit DISABLE TRIGGER audit_append_only"))
        for statement in statements:
            conn.execute(text(statement))
        if not ctx.db.is_sqlite:  # the PostgreSQL test database is shared by later tests
            conn.execute(text("ALTER TABLE audit ENABLE TRIGGER audit_append_only"))


def test_each_case_has_a_chain_of_its_own(ctx: EngineContext) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    _write(ctx, 3, first)
    _write(ctx, 2, second)
    _write(ctx, 1, first)
    with ctx.uow() as uow:
        audit_log.record(uow.session, SYSTEM, "timer.fire", "timer", "t1")
        uow.commit()
    with ctx.uow(write=False) as uow:
        rows = list(uow.session.execute(select(AuditEntry.chain, AuditEntry.seq).order_by(AuditEntry.id)))
    assert rows == [(first, 1), (first, 2), (first, 3), (second, 1), (second, 2), (first, 4),
                    (audit_log.SYSTEM_CHAIN, 1)]
    check = _verify(ctx)
    assert (check.ok, check.checked) == (True, 7)


@pytest.mark.parametrize("statement", ["UPDATE audit SET actor = 'mallory' WHERE id = 2",
                                       "UPDATE audit SET details = '{}' WHERE id = 2",
                                       "DELETE FROM audit WHERE id = 2"])
def test_rows_cannot_be_changed_or_deleted(ctx: EngineContext, statement: str) -> None:
    _write(ctx, 3)
    with pytest.raises(DatabaseError, match="append-only"), ctx.db.write.begin() as conn:
        conn.execute(text(statement))


def test_tampering_is_detected_by_verification(ctx: EngineContext) -> None:
    _write(ctx, 4)
    _unguarded(ctx, "UPDATE audit SET actor = 'mallory' WHERE id = 3")
    check = _verify(ctx)
    assert not check.ok
    assert check.first_broken_id == 3
    assert check.checked == 2


def test_deleting_the_newest_entries_is_detected(ctx: EngineContext) -> None:
    case = uuid.uuid4()
    _write(ctx, 5, case)
    _unguarded(ctx, "DELETE FROM audit WHERE id > 3")
    check = _verify(ctx)
    assert not check.ok
    assert "missing at the end" in str(check.reason)


def test_a_cut_off_tail_with_a_forged_head_is_caught_by_the_checkpoint(ctx: EngineContext) -> None:
    case = uuid.uuid4()
    _write(ctx, 5, case)
    _checkpoint(ctx)
    _unguarded(ctx, "DELETE FROM audit WHERE id > 3")
    with ctx.uow() as uow:  # the attacker also moves the head back to what is left
        third = uow.session.scalar(select(AuditEntry.hash).where(AuditEntry.id == 3))
        uow.session.execute(update(AuditChain).where(AuditChain.chain == case).values(last_seq=3, last_hash=third))
        uow.commit()
    check = _verify(ctx)
    assert not check.ok
    assert "signed entry 5" in str(check.reason)


def test_a_recomputed_chain_without_the_key_is_caught(ctx: EngineContext) -> None:
    case = uuid.uuid4()
    _write(ctx, 3, case)
    _checkpoint(ctx)
    with ctx.uow(write=False) as uow:
        rows = [dict(r) for r in uow.session.execute(select(AuditEntry.__table__).order_by(AuditEntry.id)).mappings()]
    rows[1]["actor"] = "mallory"
    prev, statements = audit_log.GENESIS, []
    for row in rows:  # the attacker recomputes every hash after the change - no key needed for that
        row["prev_hash"] = prev
        row["hash"] = prev = audit_log.entry_hash(row)
        sql = (f"UPDATE audit SET actor = '{row['actor']}', prev_hash = '{row['prev_hash']}', "  # noqa: S608  # the attacker
               f"hash = '{row['hash']}' WHERE id = {row['id']}")
        statements.append(sql)
    _unguarded(ctx, *statements)
    with ctx.uow() as uow:
        uow.session.execute(update(AuditChain).where(AuditChain.chain == case).values(last_hash=prev))
        uow.commit()
    assert _verify(ctx, key=None).ok, "without the key only the chains can be checked: they were recomputed"
    check = _verify(ctx)
    assert not check.ok
    assert "checkpoint" in str(check.reason)


def test_a_checkpoint_forged_without_the_key_is_caught(ctx: EngineContext) -> None:
    _write(ctx, 2)
    with ctx.uow() as uow:
        audit_checkpoints.write_checkpoint(uow.session, b"a guessed key")
        uow.commit()
    check = _verify(ctx)
    assert not check.ok
    assert "not signed with KIM_AUDIT_KEY" in str(check.reason)


def test_redacted_details_keep_the_chain_verifiable(ctx: EngineContext) -> None:
    _write(ctx, 3, uuid.uuid4())
    with ctx.db.write.begin() as conn:  # what retention does: the only update the table allows
        conn.execute(update(AuditEntry).where(AuditEntry.id == 2).values(details=audit_log.REDACTED))
    assert _verify(ctx).ok


def test_checkpoints_are_exported_outside_the_database(ctx: EngineContext, tmp_path: Path) -> None:
    target = tmp_path / "checkpoints.jsonl"
    ctx.config = {**ctx.config, "KIM_AUDIT_EXPORT": str(target), "KIM_AUDIT_KEY": KEY.decode()}
    _write(ctx, 2, uuid.uuid4())
    written = audit_trail.write_checkpoint(ctx)
    assert written is not None
    (line,) = target.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["mac"] == written["mac"]
    assert audit_trail.write_checkpoint(ctx) is not None, "the checkpoint's own audit entry changed a chain"
    assert audit_trail.write_checkpoint(ctx) is not None
    assert _verify(ctx).ok


@pytest.mark.postgres
def test_appending_to_one_case_does_not_wait_for_another(ctx: EngineContext) -> None:
    """No system-wide lock: a transaction holding case A's chain does not block case B's."""
    if ctx.db.is_sqlite:
        pytest.skip("SQLite has one writer at a time by design")
    first, second = uuid.uuid4(), uuid.uuid4()
    _write(ctx, 1, first)
    _write(ctx, 1, second)
    holding = threading.Event()
    release = threading.Event()

    def hold_first() -> None:
        with ctx.uow() as uow:
            audit_log.record(uow.session, ANNA, "case.read", "case", "x", case_id=first)
            audit_log.append(uow.session, audit_log.take_queued(uow.session))  # holds A's head row lock
            holding.set()
            release.wait(10)
            uow.commit()

    thread = threading.Thread(target=hold_first)
    thread.start()
    try:
        assert holding.wait(10)
        began = time.monotonic()
        _write(ctx, 1, second)
        assert time.monotonic() - began < 2, "case B's entry did not wait for case A's transaction"
    finally:
        release.set()
        thread.join()
    assert _verify(ctx).ok


def test_entries_without_a_case_go_to_the_acting_users_chain(ctx: EngineContext) -> None:
    _write(ctx, 2)
    with ctx.uow() as uow:
        audit_log.record(uow.session, Actor("bernd", "caseworker"), "inbox.read", "inbox")
        audit_log.record(uow.session, SYSTEM, "timer.fire", "timer", "t1")
        uow.commit()
    with ctx.uow(write=False) as uow:
        rows = list(uow.session.execute(select(AuditEntry.actor, AuditEntry.chain, AuditEntry.seq)
                                        .order_by(AuditEntry.id)))
    anna, bernd = audit_log.actor_chain("anna"), audit_log.actor_chain("bernd")
    assert len({anna, bernd, audit_log.SYSTEM_CHAIN}) == 3
    assert sorted(rows) == [("anna", anna, 1), ("anna", anna, 2), ("bernd", bernd, 1),
                            ("system", audit_log.SYSTEM_CHAIN, 1)]
    assert _verify(ctx).ok


@pytest.mark.postgres
def test_first_entries_of_a_new_chain_written_at_once_are_numbered_in_turn(ctx: EngineContext) -> None:
    """The head of a new chain is created under lock: two first entries never both get number 1."""
    if ctx.db.is_sqlite:
        pytest.skip("SQLite has one writer at a time by design")
    case = uuid.uuid4()
    _written, failures = at_once(lambda: _write(ctx, 1, case), times=6)
    assert failures == []
    with ctx.uow(write=False) as uow:
        seqs = sorted(uow.session.scalars(select(AuditEntry.seq).where(AuditEntry.chain == case)))
    assert seqs == [1, 2, 3, 4, 5, 6]
    assert _verify(ctx).ok


def test_inbox_listings_of_one_user_at_once_are_chained_in_turn(ctx: EngineContext) -> None:
    """An inbox page locks its reader's chain with the page's read (PostgreSQL, one round trip):
    listings at once, the first ever of that user among them, still number their entries in turn."""
    ctx.run(directory.add_user, "lena", "caseworker", ["CM"])
    with ctx.uow(write=False) as uow:
        lena = directory.actor_for(uow.session.scalars(select(User).where(User.username == "lena")).one())
    pages, failures = at_once(lambda: ctx.read(inbox.list_tasks, lena, inbox.parse_filter({})), times=6)
    assert failures == []
    assert len(pages) == 6
    with ctx.uow(write=False) as uow:
        entries = uow.session.execute(select(AuditEntry.seq, AuditEntry.action)
                                      .where(AuditEntry.chain == audit_log.actor_chain("lena"))).all()
    assert sorted(seq for seq, _ in entries) == [1, 2, 3, 4, 5, 6]
    assert {action for _, action in entries} == {"task.list"}
    assert _verify(ctx).ok
