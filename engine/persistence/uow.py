"""Unit of work: one session, one transaction, one commit (ARCHITECTURE.md section 3)."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session

from engine.persistence.database import Database


class UnitOfWork:
    """Opened at an entry point and passed in; services call :meth:`commit` once."""

    def __init__(self, db: Database, write: bool = True) -> None:
        self._db = db
        self._write = write
        self._session: Session | None = None
        self.after_commit: list[object] = []

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is not open; use it as a context manager")
        return self._session

    @property
    def is_sqlite(self) -> bool:
        return self._db.is_sqlite

    def __enter__(self) -> UnitOfWork:
        self._session = self._db.session(self._write)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        # close() rolls back anything uncommitted without expiring loaded objects, so a
        # caller may still read what it loaded after the unit of work ends.
        try:
            self.session.close()
        finally:
            self._session = None

    def commit(self) -> None:
        self.session.commit()
