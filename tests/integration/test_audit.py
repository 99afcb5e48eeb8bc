"""The audit trail is append-only and hash-chained; an auditor can verify it."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from engine.domain.actors import SYSTEM, Actor
from engine.persistence import audit_log as audit
from engine.services.context import EngineContext


def _write(ctx: EngineContext, n: int) -> None:
    with ctx.uow() as uow:
        for i in range(n):
            audit.record(uow.session, Actor("anna", "caseworker"), "case.read", "case", f"case-{i}",
                         details={"felder": ["person"], "nr": i, "text": "Ärztliches Attest"})
        uow.commit()


def test_chain_verifies(ctx: EngineContext) -> None:
    _write(ctx, 5)
    with ctx.uow() as uow:
        audit.record(uow.session, SYSTEM, "timer.fire", "timer", "t1")
        uow.commit()
    with ctx.uow(write=False) as uow:
        check = audit.verify_chain(uow.session)
    assert check.ok
    assert check.checked == 6


@pytest.mark.parametrize("statement", ["UPDATE audit SET actor = 'mallory' WHERE id = 2",
                                       "DELETE FROM audit WHERE id = 2"])
def test_rows_cannot_be_changed_or_deleted(ctx: EngineContext, statement: str) -> None:
    _write(ctx, 3)
    with pytest.raises(DatabaseError, match="append-only"), ctx.db.write.begin() as conn:
        conn.execute(text(statement))


def test_tampering_is_detected_by_verification(ctx: EngineContext) -> None:
    _write(ctx, 4)
    with ctx.db.write.begin() as conn:  # an attacker with DDL rights disables the guard first
        if ctx.db.is_sqlite:
            conn.execute(text("DROP TRIGGER audit_no_update"))
        else:
            conn.execute(text("ALTER TABLE audit DISABLE TRIGGER audit_append_only"))
        conn.execute(text("UPDATE audit SET actor = 'mallory' WHERE id = 3"))
    try:
        with ctx.uow(write=False) as uow:
            check = audit.verify_chain(uow.session)
    finally:
        if not ctx.db.is_sqlite:  # the PostgreSQL test database is shared by later tests
            with ctx.db.write.begin() as conn:
                conn.execute(text("ALTER TABLE audit ENABLE TRIGGER audit_append_only"))
    assert not check.ok
    assert check.first_broken_id == 3
    assert check.checked == 2
