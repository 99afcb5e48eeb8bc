"""The hot statements run on the driver's cursor (engine/persistence/direct.py) behave like
SQLAlchemy's execution on every database: same rows and types, writes deferred to the next
statement yet never lost, reordered, read past or committed after a rollback, failures raised
as SQLAlchemy's errors inside the transaction, every statement seen by the engine's listeners."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import ARRAY, Table, any_, bindparam, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.persistence import direct
from engine.persistence.models import AuditCheckpoint, Office
from engine.services.context import EngineContext
from tests.sql_counting import counting, round_trips

OFFICE: Table = Office.__table__  # type: ignore[assignment]  # declarative tables are Tables
CHECKPOINT: Table = AuditCheckpoint.__table__  # type: ignore[assignment]
OFFICES_BY_CODE = direct.Statement(
    select(OFFICE.c.id, OFFICE.c.code, OFFICE.c.name).where(OFFICE.c.code.in_(("ZZ1", "ZZ2", "ZZ3")))
    .order_by(OFFICE.c.code))
CHECKPOINT_BY_ID = direct.Statement(select(CHECKPOINT).where(CHECKPOINT.c.id == bindparam("id")))
RENAME = direct.Statement(OFFICE.update().where(OFFICE.c.code == bindparam("b_code"))
                          .values(name=bindparam("b_name")))
RENAMED = direct.Statement(OFFICE.update().where(OFFICE.c.code == bindparam("b_code"))
                           .values(name=bindparam("b_name")).returning(OFFICE.c.name))
RENAME_ALL = direct.Statement(
    OFFICE.update().where(OFFICE.c.code.in_(bindparam("b_codes", expanding=True))).values(name=bindparam("b_name")),
    on_postgresql=OFFICE.update().where(OFFICE.c.code == any_(bindparam("b_codes", type_=ARRAY(OFFICE.c.code.type))))
    .values(name=bindparam("b_name")))


def _offices(*codes: str) -> list[dict[str, object]]:
    return [{"code": code, "name": f"Amt {code}"} for code in codes]


def _insert_and_rename(ctx: EngineContext, codes: list[str], rename: str | None = None) -> None:
    """One transaction: each code inserted by its own statement, then an update (which waits for
    an answer), then the commit. Where an error shows depends on the database: SQLite runs each
    insert at once, PostgreSQL defers them to the update or the commit."""
    with ctx.uow() as uow:
        for code in codes:
            direct.Inserting(OFFICE).execute(uow.session, _offices(code))
        if rename is not None:
            RENAME.execute(uow.session, {"b_code": rename, "b_name": "Neu"})
        uow.commit()


def _insert_in_plain_session(ctx: EngineContext, code: str) -> None:
    with Session(ctx.db.write) as session:
        direct.Inserting(OFFICE).execute(session, _offices(code))
        session.commit()


def _count(ctx: EngineContext, *codes: str) -> int:
    with ctx.uow(write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(OFFICE).where(OFFICE.c.code.in_(codes))) or 0)


def test_rows_come_back_with_names_positions_and_the_column_types(ctx: EngineContext) -> None:
    berlin = timezone(timedelta(hours=1))
    with ctx.uow() as uow:
        direct.Inserting(OFFICE).execute(uow.session, _offices("ZZ2", "ZZ1"))
        direct.Inserting(CHECKPOINT).execute(uow.session, [{
            "created_at": datetime(2026, 12, 6, 13, 5, 7, 123456, tzinfo=berlin), "heads": {"a": [1, 2]},
            "prev_mac": "0" * 64, "mac": "1" * 64}])
        rows = OFFICES_BY_CODE.execute(uow.session, {}).rows
        checkpoint_id = uow.session.scalar(select(func.max(CHECKPOINT.c.id)))
        checkpoint = CHECKPOINT_BY_ID.execute(uow.session, {"id": checkpoint_id}).one()
        uow.commit()
    assert [(r.code, r[2]) for r in rows] == [("ZZ1", "Amt ZZ1"), ("ZZ2", "Amt ZZ2")]
    assert rows[0]._mapping["name"] == "Amt ZZ1"
    assert checkpoint.created_at == datetime(2026, 12, 6, 12, 5, 7, 123456, tzinfo=UTC)
    assert checkpoint.created_at.tzinfo == UTC  # aware UTC on every database, as SQLAlchemy gives it
    assert checkpoint.heads == {"a": [1, 2]}


def test_an_update_reports_how_many_rows_it_changed(ctx: EngineContext) -> None:
    with ctx.uow() as uow:
        direct.Inserting(OFFICE).execute(uow.session, _offices("ZZ1"))
        assert RENAME.execute(uow.session, {"b_code": "ZZ1", "b_name": "Neu"}).rowcount == 1
        assert RENAME.execute(uow.session, {"b_code": "nobody", "b_name": "Neu"}).rowcount == 0
        uow.commit()


def test_deferred_writes_are_read_by_any_later_statement_and_committed(ctx: EngineContext) -> None:
    with ctx.uow() as uow, counting(ctx.db) as count:
        direct.Inserting(OFFICE).execute(uow.session, _offices("ZZ1", "ZZ2"))
        direct.Inserting(OFFICE).execute(uow.session, _offices("ZZ3"))
        # a statement SQLAlchemy runs itself (ORM or Core) sees them
        seen = uow.session.scalar(select(func.count()).select_from(OFFICE).where(OFFICE.c.code.like("ZZ%")))
        uow.commit()
    assert seen == 3
    assert _count(ctx, "ZZ1", "ZZ2", "ZZ3") == 3
    assert sum("INSERT INTO office" in s for s in count.statements) == 2, "listeners see every statement"


def test_deferred_writes_reach_a_commit_with_nothing_after_them(ctx: EngineContext) -> None:
    with ctx.uow() as uow:
        direct.Inserting(OFFICE).execute(uow.session, _offices("ZZ1"))
        uow.commit()
    assert _count(ctx, "ZZ1") == 1


def test_a_rollback_drops_deferred_writes_and_the_connection_serves_on(ctx: EngineContext) -> None:
    with ctx.uow() as uow:
        direct.Inserting(OFFICE).execute(uow.session, _offices("ZZ1"))
        uow.rollback()
    with ctx.uow() as uow:  # the same pooled connection: nothing of the old transaction is sent with this one
        direct.Inserting(OFFICE).execute(uow.session, _offices("ZZ2"))
        uow.commit()
    assert _count(ctx, "ZZ1") == 0
    assert _count(ctx, "ZZ2") == 1


def test_a_failing_deferred_write_raises_sqlalchemys_error_and_commits_nothing(ctx: EngineContext) -> None:
    _insert_and_rename(ctx, ["ZZ1"])
    with pytest.raises(IntegrityError):
        _insert_and_rename(ctx, ["ZZ2", "ZZ1"], rename="ZZ2")  # ZZ1 is taken
    assert _count(ctx, "ZZ2") == 0, "the whole transaction is gone, the write before the failing one too"
    with ctx.uow() as uow:  # and the pool hands out a working connection afterwards
        assert OFFICES_BY_CODE.execute(uow.session, {}).rows[0].code == "ZZ1"


def test_a_failing_write_at_the_commit_raises_there(ctx: EngineContext) -> None:
    _insert_and_rename(ctx, ["ZZ1"])
    with pytest.raises(IntegrityError):
        _insert_and_rename(ctx, ["ZZ1"])
    assert _count(ctx, "ZZ1") == 1


def test_a_textual_statement_answers_its_columns(ctx: EngineContext) -> None:
    statement = direct.Statement(text("SELECT code, name FROM office WHERE code = :code").bindparams(
        bindparam("code", type_=OFFICE.c.code.type)))
    with ctx.uow() as uow:
        direct.Inserting(OFFICE).execute(uow.session, _offices("ZZ1"))
        row = statement.execute(uow.session, {"code": "ZZ1"}).one()
        uow.commit()
    assert (row.code, row.name) == ("ZZ1", "Amt ZZ1")


def test_a_session_without_the_unit_of_works_hooks_still_commits_its_deferred_writes(ctx: EngineContext) -> None:
    """The commit carries the deferred writes of a session made elsewhere too (scripts, migrations)."""
    _insert_in_plain_session(ctx, "ZZ1")
    assert _count(ctx, "ZZ1") == 1
    with pytest.raises(IntegrityError):
        _insert_in_plain_session(ctx, "ZZ1")
    _insert_and_rename(ctx, ["ZZ2"])  # the failed transaction was rolled back in the database, not handed on
    assert _count(ctx, "ZZ1", "ZZ2") == 2


def test_a_deferred_update_with_a_list_of_values_lands_on_every_database(ctx: EngineContext) -> None:
    """``on_postgresql``: the list goes as one array (SQL compiled once); elsewhere as an IN list.
    Deferred, it answers its row count only where it ran at once (not PostgreSQL)."""
    with ctx.uow() as uow:
        direct.Inserting(OFFICE).execute(uow.session, _offices("ZZ1", "ZZ2", "ZZ3"))
        changed = RENAME_ALL.defer(uow.session, {"b_codes": ["ZZ1", "ZZ3", "nobody"], "b_name": "Neu"})
        names = {r.code: r.name for r in OFFICES_BY_CODE.execute(uow.session, {}).rows}  # the update went first
        uow.commit()
    assert changed == (2 if ctx.db.is_sqlite else None)
    assert names == {"ZZ1": "Neu", "ZZ2": "Amt ZZ2", "ZZ3": "Neu"}
    with ctx.uow(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(OFFICE).where(OFFICE.c.name == "Neu")) == 2


@pytest.mark.postgres
def test_a_hot_statement_is_prepared_at_its_first_run_on_a_connection(ctx: EngineContext) -> None:
    """psycopg prepares a statement at its fifth run on a connection; a pool of many connections
    would parse and plan the inbox page five times per connection before keeping its plan."""
    if ctx.db.is_sqlite:
        pytest.skip("SQLite: statements are SQLAlchemy's")
    with ctx.uow() as uow:
        OFFICES_BY_CODE.execute(uow.session, {})
        prepared = uow.session.scalar(text(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%office.code IN%'"))
    assert prepared == 1


@pytest.mark.postgres
def test_the_pool_hands_out_the_connection_used_last(ctx: EngineContext) -> None:
    """LIFO: in a quiet hour the same warm connection serves, not each one the pool ever opened."""
    if ctx.db.is_sqlite:
        pytest.skip("SQLite's pool is of another kind")
    first, second = ctx.db.write.connect(), ctx.db.write.connect()
    first_pid = first.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    second_pid = second.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    first.close()
    second.close()  # returned last
    with ctx.db.write.connect() as again:
        assert again.exec_driver_sql("SELECT pg_backend_pid()").scalar() == second_pid != first_pid


def test_a_write_that_opens_the_transaction_is_undone_by_its_rollback(ctx: EngineContext) -> None:
    """The BEGIN goes with the transaction's first statement (PostgreSQL): the statement still
    runs inside the transaction, not on its own (which would commit it at once)."""
    _insert_and_rename(ctx, ["ZZ1"])
    with ctx.uow() as uow:
        renamed = RENAMED.execute(uow.session, {"b_code": "ZZ1", "b_name": "Neu"}).rows
        uow.rollback()
    assert [r.name for r in renamed] == ["Neu"]
    with ctx.uow(write=False) as uow:
        assert uow.session.scalar(select(OFFICE.c.name).where(OFFICE.c.code == "ZZ1")) == "Amt ZZ1"


def test_a_read_that_opens_the_transaction_sees_the_writes_after_it_in_the_same_one(ctx: EngineContext) -> None:
    _insert_and_rename(ctx, ["ZZ1", "ZZ2"])
    with ctx.uow() as uow:
        before = [r.name for r in OFFICES_BY_CODE.execute(uow.session, {}).rows]
        RENAME.execute(uow.session, {"b_code": "ZZ2", "b_name": "Neu"})
        after = [r.name for r in OFFICES_BY_CODE.execute(uow.session, {}).rows]
        uow.commit()
    assert (before, after) == (["Amt ZZ1", "Amt ZZ2"], ["Amt ZZ1", "Neu"])


@pytest.mark.postgres
def test_the_begin_travels_with_the_first_statement(ctx: EngineContext, tmp_path: Path) -> None:
    """psycopg sends a transaction's BEGIN alone and waits for it; here it goes along."""
    if ctx.db.is_sqlite:
        pytest.skip("SQLite runs in this process: no round trips")
    _insert_and_rename(ctx, ["ZZ1"])
    with round_trips(ctx.db, tmp_path / "begin.trace") as trips, ctx.uow() as uow:
        RENAMED.execute(uow.session, {"b_code": "ZZ1", "b_name": "Neu"})
        uow.commit()
    trace = trips.trace.read_text()
    assert '"BEGIN"' in trace
    assert trips.count == 2, trace  # BEGIN with the update, then the COMMIT


def test_statements_sent_together_each_answer_and_see_the_writes_before_them(ctx: EngineContext,
                                                                             tmp_path: Path) -> None:
    """On PostgreSQL in one round trip with the BEGIN and the deferred writes; elsewhere the
    caller is told to run them itself (None)."""
    _insert_and_rename(ctx, ["ZZ1", "ZZ2"])
    if ctx.db.is_sqlite:
        with ctx.uow() as uow:
            assert direct.together(uow.session, (OFFICES_BY_CODE, {})) is None
        return
    with round_trips(ctx.db, tmp_path / "together.trace") as trips, ctx.uow() as uow:
        RENAME.defer(uow.session, {"b_code": "ZZ1", "b_name": "Neu"})
        outcomes = direct.together(uow.session, (RENAMED, {"b_code": "ZZ2", "b_name": "Auch neu"}),
                                   (OFFICES_BY_CODE, {}))
        uow.commit()
    assert outcomes is not None
    renamed, offices = outcomes
    assert [r.name for r in renamed.rows] == ["Auch neu"]
    assert [(r.code, r.name) for r in offices.rows] == [("ZZ1", "Neu"), ("ZZ2", "Auch neu")]
    assert trips.count == 2, trips.trace.read_text()  # BEGIN, the deferred update and both; the COMMIT


@pytest.mark.postgres
def test_a_rollback_keeps_the_connections_statements_prepared(ctx: EngineContext) -> None:
    """psycopg deallocates every prepared statement at a rollback; a request that ends in an
    error (a form with a mistake) would make its connection plan the hot statements anew."""
    if ctx.db.is_sqlite:
        pytest.skip("SQLite: statements are SQLAlchemy's")
    with ctx.uow() as uow:
        OFFICES_BY_CODE.execute(uow.session, {})
        pid = uow.session.scalar(text("SELECT pg_backend_pid()"))
        uow.rollback()
    with ctx.uow() as uow:  # the pool hands out the connection used last
        assert uow.session.scalar(text("SELECT pg_backend_pid()")) == pid
        prepared = uow.session.scalar(text(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%office.code IN%'"))
        rows = OFFICES_BY_CODE.execute(uow.session, {}).rows  # and it still runs as prepared
    assert prepared == 1
    assert rows == []
