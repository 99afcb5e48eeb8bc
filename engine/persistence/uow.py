"""Unit of work: one session, one transaction, one commit (ARCHITECTURE.md section 3).

Entry points (a web request, a CLI command, one item of a scheduler batch) open a unit of work
and commit it once; use cases take it and never commit; helpers take its session.

What a unit of work adds to a plain session:

* **Audit entries are queued** while the use case runs (:func:`engine.persistence.audit_log.record`)
  and appended once, just before commit, so no use case holds the audit chain while it runs a
  workflow. On SQLite a read-only unit of work appends them in a short write transaction of its
  own right after its reads (a read transaction there cannot become a writer safely).
* :meth:`attempt` rolls back everything a failed use case did, so an error page or a 4xx
  answer never commits half a change, while the entry point can still commit what it writes
  afterwards (e.g. a failed sign-in).
* :meth:`after_commit` runs callbacks once the commit is durable (e.g. reload a cache).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType

from sqlalchemy.orm import Session

from engine.persistence import audit_log
from engine.persistence.database import Database

log = logging.getLogger(__name__)


class UnitOfWork:
    """Opened at an entry point (``with ctx.uow() as uow``) and passed to use cases."""

    def __init__(self, db: Database, write: bool = True) -> None:
        self.db = db
        self.write = write
        self._session: Session | None = None
        self._after_commit: list[Callable[[], None]] = []
        self._deferred: list[Callable[[Session], None]] = []

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is not open; use it as a context manager")
        return self._session

    @property
    def is_open(self) -> bool:
        return self._session is not None

    @property
    def is_sqlite(self) -> bool:
        return self.db.is_sqlite

    def __enter__(self) -> UnitOfWork:
        if self._session is not None:
            raise RuntimeError("the unit of work is open already")
        self._session = self.db.session(self.write)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        # close() rolls back anything uncommitted without expiring loaded objects, so a
        # caller may still read what it loaded after the unit of work ends.
        try:
            if self._session is not None:
                audit_log.discard_queued(self._session)
                self._session.close()
        finally:
            self._session = None
            self._after_commit.clear()
            self._deferred.clear()

    def commit(self) -> None:
        """Run the deferred writes, append the queued audit entries, commit, then run the
        after-commit callbacks."""
        session = self.session
        deferred, self._deferred = self._deferred, []
        if not self.write and self.db.is_sqlite and (deferred or audit_log.has_queued(session)):
            entries = audit_log.take_queued(session)
            session.commit()  # ends the read transaction
            with self.db.session(write=True) as writer:
                for write in deferred:
                    write(writer)
                audit_log.append(writer, entries)
                writer.commit()
        else:
            for write in deferred:
                write(session)
            session.commit()  # the before_commit hook appends the queued audit entries
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            try:
                callback()
            except Exception:  # the commit stands; a failed cache refresh must not turn it into an error
                log.exception("after-commit callback failed")

    def rollback(self) -> None:
        audit_log.discard_queued(self.session)
        self.session.rollback()
        self._after_commit.clear()
        self._deferred.clear()

    def defer_write(self, write: Callable[[Session], None]) -> None:
        """A small write that a read may cause (e.g. a session's last-seen time), done at commit.

        In a write unit of work it runs in the same transaction; in a read-only one on SQLite in
        the short write transaction that also appends the audit entries.
        """
        self._deferred.append(write)

    @contextmanager
    def attempt(self) -> Iterator[UnitOfWork]:
        """Run a use case: if it raises, everything it did (and queued) is rolled back."""
        try:
            yield self
        except BaseException:
            if self._session is not None:
                self.rollback()
            raise

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._after_commit.append(callback)
