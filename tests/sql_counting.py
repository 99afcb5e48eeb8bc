"""Count what a request costs the database: SQL statements and transactions, with engine events."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event

from engine.persistence.database import Database

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@dataclass
class SqlCount:
    statements: list[str] = field(default_factory=list)
    transactions: int = 0


@contextmanager
def counting(db: Database) -> Iterator[SqlCount]:
    """Statements (transaction control left out) and transactions begun on both engines of ``db``."""
    count = SqlCount()

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
            count.statements.append(" ".join(statement.split())[:160])

    def on_begin(_conn: Any) -> None:
        count.transactions += 1

    engines = {id(e): e for e in (db.write, db.read)}.values()
    for engine in engines:
        event.listen(engine, "before_cursor_execute", on_execute)
        event.listen(engine, "begin", on_begin)
    try:
        yield count
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", on_execute)
            event.remove(engine, "begin", on_begin)


@dataclass
class RoundTrips:
    """The exchanges with PostgreSQL: a message sent and its answer awaited, counted from libpq's
    protocol trace (a client message followed by the server's answer is one round trip)."""

    trace: Path

    @property
    def count(self) -> int:
        exchanges, previous = 0, None
        for line in self.trace.read_text(encoding="utf-8", errors="replace").splitlines():
            fields = line.split("\t")
            direction = fields[1] if len(fields) > 1 else None
            if direction == "B" and previous == "F":
                exchanges += 1
            previous = direction or previous
        return exchanges


@contextmanager
def round_trips(db: Database, trace: Path) -> Iterator[RoundTrips]:
    """Trace every connection the engine hands out meanwhile (PostgreSQL through psycopg only);
    one thread at a time, or the exchanges of two connections interleave."""
    engine = db.write
    tracing: list[Any] = []
    with trace.open("w", encoding="utf-8") as sink:
        def on_checkout(dbapi_connection: Any, *_args: Any) -> None:
            dbapi_connection.pgconn.trace(sink.fileno())
            tracing.append(dbapi_connection)

        event.listen(engine, "checkout", on_checkout)
        try:
            yield RoundTrips(trace)
        finally:
            event.remove(engine, "checkout", on_checkout)
            for dbapi_connection in tracing:
                if not dbapi_connection.closed:
                    dbapi_connection.pgconn.untrace()
