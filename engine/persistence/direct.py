"""The hot statements on PostgreSQL: compiled once, sent on the driver's cursor.

Why: a completion runs eight statements, and SQLAlchemy's execution of each one (execution
context, cache lookup, result set-up, a new cursor) costs more CPU than PostgreSQL takes to run
it: measured with bench/http.py, the ORM layer and the driver together were almost half of a
web process's CPU per completion. The statements of the hot paths (complete a task, start a
case, append to the audit trail) are therefore compiled once per dialect from the same Core
statements and run on the psycopg connection of the session's transaction.

What is kept of SQLAlchemy: the SQL itself (the compiler's output, bind casts included), the
type processing (the compiled statement's bind and result processors: aware UTC datetimes, JSON),
the engine's ``before_cursor_execute`` listeners (the statement budgets of the tests count these
statements too), and its error handling (driver errors become SQLAlchemy's exceptions, a lost
connection invalidates the pool). An INSERT whose rows leave out a column with a Python-side
default goes through SQLAlchemy, which computes the default.

SQLite (the embedded default) runs the same Core statements through SQLAlchemy: there is no
network round trip to save and the type handling differs (UUIDs as text, naive datetimes).
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from sqlalchemy import Connection, Insert, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

_CURSOR_KEY = "kim_direct_cursor"
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
    """A Core statement run directly on PostgreSQL, through SQLAlchemy elsewhere."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled | None] = {}

    def execute(self, session: Session, params: Mapping[str, Any]) -> Outcome:
        connection = session.connection()
        dialect = connection.dialect
        compiled = None
        if dialect.name == "postgresql":
            if dialect.name not in self._compiled:
                self._compiled[dialect.name] = _compile(self.statement, dialect)
            compiled = self._compiled[dialect.name]
        if compiled is None:
            result = connection.execute(self.statement, dict(params))
            return Outcome(list(result) if result.returns_rows else [], result.rowcount)
        values = {**compiled.constants, **params}
        for key, process in compiled.processors.items():
            if key in values:
                values[key] = process(values[key])
        return _run(connection, compiled, values)


def _run(connection: Connection, compiled: _Compiled, values: Mapping[str, Any]) -> Outcome:
    fairy = connection.connection
    cursor = fairy.info.get(_CURSOR_KEY)
    if cursor is None or cursor.closed:
        cursor = fairy.info[_CURSOR_KEY] = cast(Any, fairy.driver_connection).cursor()
    if connection._has_events or connection.engine._has_events:
        connection.dispatch.before_cursor_execute(connection, cursor, compiled.sql, values, None, False)
    try:
        cursor.execute(compiled.sql, values)
        result = cursor.pgresult  # not cursor.description: that builds a column object per column
        fetched = cursor.fetchall() if result is not None and result.nfields else []
    except connection.dialect.loaded_dbapi.Error as error:
        fairy.info.pop(_CURSOR_KEY, None)
        connection._handle_dbapi_exception(error, compiled.sql, values, cursor, None)
        raise  # not reached: the line above raises SQLAlchemy's form of the error
    if not fetched:
        return Outcome([], cursor.rowcount)
    row = compiled.row or _text_row(tuple(c.name for c in cursor.description))
    if compiled.results:
        fetched = [_processed(r, compiled.results) for r in fetched]
    return Outcome([row._make(r) for r in fetched], cursor.rowcount)


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
        if dialect.name == "postgresql" and all(tuple(r) == keys for r in rows):
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
        _run(connection, compiled, values)

    def _compile(self, dialect: Dialect, keys: tuple[str, ...], count: int) -> _Compiled | None:
        compiled = self.statement.compile(dialect=dialect, column_keys=list(keys))
        if compiled.insert_prefetch or compiled.construct_params(_check=False).keys() - set(keys):
            return None  # a Python-side default to compute, or a literal to carry: SQLAlchemy's job
        head, _, group = compiled.string.partition(" VALUES ")
        groups = [_PLACEHOLDER.sub(f"%(\\1__{i})s", group) for i in range(count)]
        return _Compiled(f"{head} VALUES {', '.join(groups)}", {}, _bind_processors(compiled), None, ())
