"""The hot statements on PostgreSQL: compiled once, sent on the driver's cursor.

Why: a completion runs eight statements, and SQLAlchemy's execution of each one (execution
context, cache lookup, result set-up, a new cursor) costs the web process about as much CPU as
PostgreSQL spends running it. The statements of the hot paths (complete a task, start a case,
append to the audit trail, fire a timer, the inbox page) are therefore compiled once per dialect
from the same Core statements and run on the psycopg connection of the session's transaction.
Counted with valgrind (instructions of the web process per completion, in-process, the
differences of 10 and 70 completions): 10.7 million before, 9.5 million with this module.

What is kept of SQLAlchemy: the SQL itself (the compiler's output, bind casts included), the
type processing (the compiled statement's bind and result processors: aware UTC datetimes, JSON),
the engine's ``before_cursor_execute`` listeners (the statement budgets of the tests count these
statements too), and its error handling (driver errors become SQLAlchemy's exceptions, a lost
connection invalidates the pool). An INSERT whose rows leave out a column with a Python-side
default goes through SQLAlchemy, which computes the default.

Round trips: a write whose answer nobody waits for (an INSERT; an UPDATE or DELETE of rows the
transaction holds locked, :meth:`Statement.defer`) is deferred and sent together with the next
statement of the transaction that has an answer, in psycopg's pipeline mode: a step's task
updates, new tasks, deadlines, history and the instance's state reach the database in one round
trip with the next locking read or the audit chain's head, and the last ones of a transaction
(the request's audit entry) go with its COMMIT. psycopg closes every pipeline with a Sync of its
own and waits for it; :class:`_Pipeline` leaves without it when the block ended with a sync.
psycopg also sends a transaction's BEGIN alone and waits for it, in pipeline mode too; when a
statement of this module opens the transaction, the BEGIN goes with it (:func:`_begin`).
Counted from libpq's trace: a completion 3 round trips instead of 10, a fired timer 1.3 instead
of 5. Deferred writes are sent before any other statement runs on the connection (an engine
event: nothing reads past them) and with the commit; a rollback drops them with the
transaction. A write that fails (a constraint) raises at that next statement or at the commit
instead of at its own line, and nothing of the transaction is committed.

SQLite (the embedded default) runs the same Core statements through SQLAlchemy: there is no
network round trip to save and the type handling differs (UUIDs as text, naive datetimes).
So does PostgreSQL through any other driver than psycopg 3.
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from psycopg import Pipeline
from psycopg.pq import TransactionStatus
from sqlalchemy import Connection, Engine, Insert, Table, event, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

_CURSOR_KEYS = ("kim_direct_cursor", "kim_direct_cursor_2", "kim_direct_cursor_3", "kim_direct_cursor_4")
_CURSOR_KEY = _CURSOR_KEYS[0]
_PENDING_CURSOR_KEY = "kim_direct_pending_cursor"
_QUEUE_KEY = "kim_direct_queue"
_IDLE = TransactionStatus.IDLE
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True)
class Outcome:
    """What a statement gave back: rows (tuples with the column names as attributes) and the
    number of rows it changed."""

    rows: list[Any]
    rowcount: int

    def first(self) -> Any:
        return self.rows[0] if self.rows else None

    def one(self) -> Any:
        if len(self.rows) != 1:
            raise LookupError(f"expected one row, got {len(self.rows)}")
        return self.rows[0]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    constants: dict[str, Any]           # parameters the statement carries itself (IN lists, literals)
    processors: dict[str, Callable[[Any], Any]]
    row: Any                             # the namedtuple class of a result row, or None
    results: tuple[tuple[int, Callable[[Any], Any]], ...]  # (column index, result processor)


def _row_class(names: Sequence[str]) -> Any:
    """Rows as named tuples that also answer ``_mapping`` like SQLAlchemy's rows."""
    base = namedtuple("Row", list(names), rename=True)  # type: ignore[misc]  # columns known at run time only

    class Row(base):  # a class made at run time
        __slots__ = ()

        @property
        def _mapping(self) -> dict[str, Any]:
            return dict(zip(names, self, strict=True))

    return Row


def _compile(statement: Executable, dialect: Dialect) -> _Compiled | None:
    """None for a statement whose SQL depends on its values (an IN list of a supplied size)."""
    compiled = cast(SQLCompiler, cast(ClauseElement, statement).compile(dialect=dialect))
    if any(bind.expanding and bind.required for bind in compiled.binds.values()):
        return None
    expanded = compiled._process_parameters_for_postcompile(compiled.construct_params(_check=False))
    supplied = {name for name, bind in compiled.binds.items() if bind.required}
    constants = {k: v for k, v in expanded.parameters.items() if k not in supplied}
    columns = compiled._result_columns or []
    row = _row_class([c[0] for c in columns]) if columns else None
    processed = ((i, c[3]._cached_result_processor(dialect, None)) for i, c in enumerate(columns))
    results = tuple((i, p) for i, p in processed if p is not None)
    return _Compiled(expanded.statement, constants, _bind_processors(compiled), row, results)


def _bind_processors(compiled: SQLCompiler) -> dict[str, Callable[[Any], Any]]:
    return {k: cast(Callable[[Any], Any], p) for k, p in (compiled._bind_processors or {}).items() if p is not None}


class Statement:
    """A Core statement run directly on PostgreSQL, through SQLAlchemy elsewhere.

    Prepared on its first run on a connection (psycopg would prepare it only at the fifth):
    these are the statements every request runs, and the pool holds several connections, each
    of which would otherwise parse and plan a statement five times before keeping it.

    ``on_postgresql`` is the same statement written so that it compiles once, for a portable
    one that cannot: ``column = ANY(:array)`` for ``column IN :list`` of a size given with each
    call (an expanding IN changes the SQL with the number of values).
    """

    def __init__(self, statement: Executable, on_postgresql: Executable | None = None) -> None:
        self.statement = statement
        self.direct_statement = statement if on_postgresql is None else on_postgresql
        self._compiled: dict[str, _Compiled | None] = {}

    def execute(self, session: Session, params: Mapping[str, Any]) -> Outcome:
        connection = session.connection()
        compiled = self._compiled_for(connection.dialect)
        if compiled is None:
            result = connection.execute(self.statement, dict(params))
            return Outcome(list(result) if result.returns_rows else [], result.rowcount)
        return _run(connection, [(compiled, _bound(compiled, params))])[0]

    def defer(self, session: Session, params: Mapping[str, Any]) -> int | None:
        """Run a write whose outcome the caller already knows (the rows it changes are locked):
        on PostgreSQL it goes with the transaction's next statement (None: no row count comes
        back); elsewhere it runs now and answers the number of rows it changed."""
        connection = session.connection()
        compiled = self._compiled_for(connection.dialect)
        if compiled is None:
            return int(connection.execute(self.statement, dict(params)).rowcount)
        _defer(connection, compiled, _bound(compiled, params))
        return None

    def _compiled_for(self, dialect: Dialect) -> _Compiled | None:
        if not _is_direct(dialect):
            return None
        if dialect.name not in self._compiled:
            self._compiled[dialect.name] = _compile(self.direct_statement, dialect)
        return self._compiled[dialect.name]


def together(session: Session, *calls: tuple[Statement, Mapping[str, Any]]) -> list[Outcome] | None:
    """Statements none of which needs another's answer, in one round trip on PostgreSQL (with
    the deferred writes before them); None elsewhere, where nothing would be saved and the
    caller decides what to run. At most four."""
    connection = session.connection()
    compiled = [statement._compiled_for(connection.dialect) for statement, _ in calls]
    if not all(compiled) or len(calls) > len(_CURSOR_KEYS):
        return None
    return _run(connection, [(c, _bound(c, params)) for c, (_, params) in zip(compiled, calls, strict=True) if c])


def _bound(compiled: _Compiled, params: Mapping[str, Any]) -> dict[str, Any]:
    values = {**compiled.constants, **params}
    for key, process in compiled.processors.items():
        if key in values:
            values[key] = process(values[key])
    return values


def _is_direct(dialect: Dialect) -> bool:
    """PostgreSQL through psycopg 3 (the driver KIM installs; its pipeline mode is used here)."""
    return dialect.name == "postgresql" and dialect.driver == "psycopg"


def _cursor(fairy: Any, key: str) -> Any:
    cursor = fairy.info.get(key)
    if cursor is None or cursor.closed:
        cursor = fairy.info[key] = cast(Any, fairy.driver_connection).cursor()
    return cursor


def _announce(connection: Connection, cursor: Any, sql: str, values: Mapping[str, Any]) -> None:
    """The engine's ``before_cursor_execute`` listeners see every statement (context None: ours)."""
    if connection._has_events or connection.engine._has_events:
        connection.dispatch.before_cursor_execute(connection, cursor, sql, values, None, False)


def _defer(connection: Connection, compiled: _Compiled, values: Mapping[str, Any]) -> None:
    """A write whose answer nobody waits for: it goes with the next statement that has one."""
    fairy = connection.connection
    _announce(connection, fairy.info.get(_CURSOR_KEY), compiled.sql, values)
    fairy.info.setdefault(_QUEUE_KEY, []).append((compiled.sql, values))


def _run(connection: Connection, statements: Sequence[tuple[_Compiled, Mapping[str, Any]]]) -> list[Outcome]:
    """Run statements in one round trip; the deferred writes before them travel with them, and
    so does the BEGIN of a transaction they open. Pipeline mode costs more CPU than a plain
    execute: only when there is something to send along."""
    fairy = connection.connection
    driver = fairy.driver_connection
    cursors = [_cursor(fairy, key) for key, _ in zip(_CURSOR_KEYS, statements, strict=False)]
    for cursor, (compiled, values) in zip(cursors, statements, strict=True):
        _announce(connection, cursor, compiled.sql, values)
    pending = fairy.info.pop(_QUEUE_KEY, None)
    try:
        if pending or len(statements) > 1 or _opens_transaction(driver):
            with _pipeline(driver) as pipeline:
                if pending:
                    _send(_cursor(fairy, _PENDING_CURSOR_KEY), pending)
                for cursor, (compiled, values) in zip(cursors, statements, strict=True):
                    cursor.execute(compiled.sql, values, prepare=True)
                pipeline.sync()  # the one round trip: all sent, every answer read
                fetched = [_fetched(cursor) for cursor in cursors]
        else:
            compiled, values = statements[0]
            cursors[0].execute(compiled.sql, values, prepare=True)
            fetched = [_fetched(cursors[0])]
    except connection.dialect.loaded_dbapi.Error as error:
        _forget(fairy)
        sql = "; ".join(compiled.sql for compiled, _ in statements)
        connection._handle_dbapi_exception(error, sql, statements[0][1], cursors[0], None)
        raise  # not reached: the line above raises SQLAlchemy's form of the error
    return [_outcome(cursor, compiled, rows) for cursor, (compiled, _), rows in zip(cursors, statements, fetched,
                                                                                     strict=True)]


def _outcome(cursor: Any, compiled: _Compiled, fetched: list[Any]) -> Outcome:
    if not fetched:
        return Outcome([], cursor.rowcount)
    row = compiled.row or _text_row(tuple(c.name for c in cursor.description))
    if compiled.results:
        fetched = [_processed(r, compiled.results) for r in fetched]
    return Outcome([row._make(r) for r in fetched], cursor.rowcount)


def _opens_transaction(driver: Any) -> bool:
    """The next statement begins the transaction (psycopg would send its BEGIN alone and wait)."""
    return not driver.autocommit and driver.pgconn.transaction_status == _IDLE


def _fetched(cursor: Any) -> list[Any]:
    result = cursor.pgresult  # not cursor.description: that builds a column object per column
    return cursor.fetchall() if result is not None and result.nfields else []


def _send(cursor: Any, pending: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
    """The deferred writes, prepared as psycopg decides (the fifth time): inserts come in a shape
    per number of rows, and a connection keeps a hundred prepared statements at most."""
    for sql, values in pending:
        cursor.execute(sql, values)


def _forget(fairy: Any) -> None:
    for key in _CURSOR_KEYS:
        fairy.info.pop(key, None)
    fairy.info.pop(_PENDING_CURSOR_KEY, None)
    fairy.info.pop(_QUEUE_KEY, None)


def flush(connection: Connection) -> None:
    """Send the deferred writes now (in one round trip): before any other statement of the
    transaction, so that nothing reads past them."""
    fairy = connection.connection
    pending = fairy.info.pop(_QUEUE_KEY, None) if fairy is not None else None
    if not pending:
        return
    cursor = _cursor(fairy, _PENDING_CURSOR_KEY)
    try:
        if len(pending) == 1:
            _send(cursor, pending)
        else:
            with _pipeline(fairy.driver_connection) as pipeline:
                _send(cursor, pending)
                pipeline.sync()
    except connection.dialect.loaded_dbapi.Error as error:
        _forget(fairy)
        sql = "; ".join(sql for sql, _ in pending)
        connection._handle_dbapi_exception(error, sql, {}, cursor, None)
        raise


class _Pipeline(Pipeline):
    """psycopg's pipeline mode, left without a closing Sync when the block ended with one.

    psycopg ends every pipeline block with a Sync of its own and waits for its answer: one
    more round trip, even when the block's last step (a ``sync()`` or a COMMIT) left nothing
    to send and nothing to read. This one leaves at once then; otherwise as psycopg does.
    """

    def _exit_gen(self) -> Any:
        if self.command_queue or self.result_queue:
            yield from super()._exit_gen()


@contextmanager
def _pipeline(driver: Any) -> Iterator[Pipeline]:
    """Like psycopg's ``Connection.pipeline()`` (which it copies: the connection knows its
    pipeline by its ``_pipeline`` attribute), with :class:`_Pipeline`."""
    with driver.lock:
        if driver._pipeline is not None:
            raise RuntimeError("the connection is in pipeline mode already")
        pipeline = driver._pipeline = _Pipeline(driver)
    try:
        with pipeline:
            if _opens_transaction(driver):
                _begin(driver, pipeline)
            yield pipeline
    finally:
        with driver.lock:
            driver._pipeline = None


def _begin(driver: Any, pipeline: Pipeline) -> None:
    """The transaction's BEGIN as the pipeline's first message. psycopg would queue it and then
    sync and wait for its answer before the statements after it (a round trip of its own); sent
    to libpq directly, the connection counts as busy and psycopg leaves the BEGIN to us."""
    driver.pgconn.send_query_params(driver._get_tx_start_command(), None)
    pipeline.result_queue.append(None)  # its answer is checked for errors like psycopg's own commands


def install(engine: Engine) -> None:
    """The engine events that keep deferred writes in order (PostgreSQL engines)."""

    @event.listens_for(engine, "before_cursor_execute")
    def _before_other_statement(connection: Connection, _cursor: Any, _sql: str, _params: Any, context: Any,
                                _many: bool) -> None:
        if context is not None:  # SQLAlchemy's own statement (ours come with None): the writes go first
            flush(connection)

    engine.dialect.do_commit = _committing_deferred(engine.dialect.do_commit)  # type: ignore[method-assign,assignment]
    if _is_direct(engine.dialect):
        engine.dialect.do_rollback = _keeping_prepared(engine.dialect.do_rollback)  # type: ignore[method-assign,assignment]

    @event.listens_for(engine, "rollback")
    def _on_rollback(connection: Connection) -> None:
        fairy = connection.connection if not connection.invalidated else None
        if fairy is not None:
            fairy.info.pop(_QUEUE_KEY, None)  # the transaction is gone, and its unsent writes with it

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info.pop(_QUEUE_KEY, None)


def _keeping_prepared(plain_rollback: Callable[[Any], None]) -> Callable[[Any], None]:
    """The dialect's rollback, keeping the connection's prepared statements.

    psycopg forgets them all at a rollback and deallocates them on the server (a round trip), in
    case the transaction changed a table they read. KIM's requests change no tables (migrations
    run in a process of their own), but every request that ends in an error (a form with a
    mistake, a conflict) rolls back: each would make its connection parse and plan the hot
    statements anew. Elsewhere (a pipeline still open, no transaction) as psycopg does it."""

    def do_rollback(connection: Any) -> None:
        driver = getattr(connection, "driver_connection", connection)
        if driver.closed or driver._pipeline is not None or driver.pgconn.transaction_status == _IDLE:
            plain_rollback(connection)
            return
        with driver.lock:
            driver.wait(driver._exec_command(b"ROLLBACK"))

    return do_rollback


def _committing_deferred(plain_commit: Callable[[Any], None]) -> Callable[[Any], None]:
    """The dialect's commit, which takes the transaction's last deferred writes along: they and
    the COMMIT travel in one round trip (the audit entry written at the end of every request is
    such a write). If a write fails, the COMMIT after it is not run: nothing of the transaction
    is committed. The connection is rolled back here (SQLAlchemy counts the transaction as ended
    once its commit was attempted and would hand it back unrolled) and the error raised as
    SQLAlchemy's."""

    def do_commit(connection: Any) -> None:
        info = getattr(connection, "info", None)  # the pool's connection (SQLAlchemy passes it)
        pending = info.pop(_QUEUE_KEY, None) if info is not None else None
        if not pending:
            plain_commit(connection)
            return
        driver = cast(Any, connection.driver_connection)
        try:
            with _pipeline(driver):
                _send(_cursor(connection, _PENDING_CURSOR_KEY), pending)
                driver.commit()  # COMMIT and a Sync: the one round trip
        except Exception:
            _forget(connection)
            if not driver.closed:
                driver.rollback()
            raise

    return do_commit


def _processed(values: Sequence[Any], processors: Sequence[tuple[int, Callable[[Any], Any]]]) -> list[Any]:
    row = list(values)
    for i, process in processors:
        row[i] = process(row[i])
    return row


@cache
def _text_row(names: tuple[str, ...]) -> Any:
    """The row class of a textual statement's result (its columns are known from the cursor)."""
    return _row_class(names)


class Inserting:
    """``INSERT INTO table`` of any number of rows in one statement (one round trip)."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.statement: Insert = insert(table).inline()
        self._compiled: dict[tuple[str, tuple[str, ...], int], _Compiled | None] = {}

    def execute(self, session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        connection = session.connection()
        dialect = connection.dialect
        keys = tuple(rows[0])
        compiled = None
        if _is_direct(dialect) and all(tuple(r) == keys for r in rows):
            shape = (dialect.name, keys, len(rows))
            if shape not in self._compiled:
                self._compiled[shape] = self._compile(dialect, keys, len(rows))
            compiled = self._compiled[shape]
        if compiled is None:  # SQLite, rows of different shapes, or defaults to compute
            connection.execute(self.statement, [dict(r) for r in rows])
            return
        values: dict[str, Any] = {}
        processors = compiled.processors
        for i, row in enumerate(rows):
            for key, value in row.items():
                process = processors.get(key)
                values[f"{key}__{i}"] = value if process is None else process(value)
        _defer(connection, compiled, values)

    def _compile(self, dialect: Dialect, keys: tuple[str, ...], count: int) -> _Compiled | None:
        compiled = self.statement.compile(dialect=dialect, column_keys=list(keys))
        if compiled.insert_prefetch or compiled.construct_params(_check=False).keys() - set(keys):
            return None  # a Python-side default to compute, or a literal to carry: SQLAlchemy's job
        head, _, group = compiled.string.partition(" VALUES ")
        groups = [_PLACEHOLDER.sub(f"%(\\1__{i})s", group) for i in range(count)]
        return _Compiled(f"{head} VALUES {', '.join(groups)}", {}, _bind_processors(compiled), None, ())
