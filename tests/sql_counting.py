"""Count what a request costs the database: SQL statements and transactions, with engine events."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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
