"""Database engines and sessions for SQLite (embedded default) and PostgreSQL (production).

SQLite allows one writer at a time. A transaction that starts by reading and later writes
would fail with "database is locked" under load, so write units of work begin with
``BEGIN IMMEDIATE`` (they queue for the write lock up front), while read-only ones stay
deferred and run beside writers thanks to WAL mode. On PostgreSQL both are plain
transactions and row locks (``FOR UPDATE``) serialize work on one process instance.

PostgreSQL pools ping a connection when it is checked out after lying idle for a while
(:data:`PING_AFTER_IDLE_SECONDS`): after a database restart or a network cut the pooled
connections are dead, and without the ping the first request on each of them would fail
although the server is back. A connection in steady use is not pinged (the ping is one more
round trip per request); if the database goes away under load, the first failing statement
marks the whole pool as stale (SQLAlchemy's disconnect handling), so no request after the
outage meets a dead connection either.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from engine.persistence import audit_log, direct

SQLITE_BUSY_TIMEOUT_MS = 30_000
PING_AFTER_IDLE_SECONDS = 5.0


@dataclass(frozen=True)
class Database:
    """A pair of engines on one database: ``write`` takes the write lock at BEGIN on SQLite.

    Each engine has its session factory here, made once with the database (sessions keep what
    they loaded after commit and flush only when asked: units of work control both).
    """

    url: str
    write: Engine
    read: Engine
    write_sessions: sessionmaker[Session] = field(init=False, repr=False, compare=False)
    read_sessions: sessionmaker[Session] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name, engine in (("write_sessions", self.write), ("read_sessions", self.read)):
            factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
            event.listen(factory, "before_commit", audit_log.append_queued)  # queued audit entries go in last
            object.__setattr__(self, name, factory)

    @property
    def is_sqlite(self) -> bool:
        return self.write.dialect.name == "sqlite"

    def session(self, write: bool = True) -> Session:
        return (self.write_sessions if write else self.read_sessions)()


    def dispose(self, close: bool = True) -> None:
        """Drop pooled connections; ``close=False`` after a fork leaves the parent's sockets open."""
        self.write.dispose(close=close)
        if self.read is not self.write:
            self.read.dispose(close=close)


def _sqlite_engine(url: str, immediate: bool) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def make_database(url: str, pool_size: int = 10) -> Database:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return Database(url, _sqlite_engine(url, True), _sqlite_engine(url, False))
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = str(parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
    # LIFO: the connection used last serves next, so a quiet hour keeps a few warm connections
    # (their prepared statements, caches) instead of cycling through all the pool ever opened.
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_use_lifo=True)
    # Several rows in one INSERT ... VALUES (...), (...) statement rather than psycopg's
    # executemany, which enters pipeline mode for each call: for the few rows of a step (a
    # task's reminder and escalations) that costs more than the statement itself.
    engine.dialect.use_insertmanyvalues_wo_returning = True
    _ping_after_idle(engine)
    direct.install(engine)
    return Database(url, engine, engine)


def _ping_after_idle(engine: Engine) -> None:
    """Ping a pooled connection at checkout if it lay idle (see the module docstring)."""
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return  # new, or in steady use
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(f"the pooled connection is dead: {exc}") from exc
        if not alive:
            raise DisconnectionError("the pooled connection is dead")


def default_database_url(instance_path: Path) -> str:
    return f"sqlite:///{instance_path / 'kim.sqlite3'}"


def database_from_config(config: Mapping[str, Any]) -> Database:
    url = config.get("KIM_DATABASE_URL") or default_database_url(Path(config.get("KIM_INSTANCE_PATH", "instance")))
    return make_database(str(url))
