"""Forms saved in the browser (table ``form_version``): the newest version per key, cached.

The form registry (:class:`engine.forms.FormRegistry`) prefers these over the files in
``forms/``. Every web worker and scheduler notices a save of another process within
:data:`RECHECK_SECONDS` (one ``max(id)`` query at most that often); the process that saved
invalidates at once.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.forms import Form
from engine.persistence.models import FormVersion

RECHECK_SECONDS = 1.0


class DatabaseForms:
    """The newest stored version per key, cached until a newer row appears."""

    def __init__(self, recheck_seconds: float = RECHECK_SECONDS) -> None:
        self.recheck_seconds = recheck_seconds
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._checked_at = 0.0
        self._latest: dict[str, Form | None] = {}
        self._keys: list[str] | None = None

    def invalidate(self) -> None:
        with self._lock:
            self._generation, self._checked_at = None, 0.0
            self._latest.clear()
            self._keys = None

    def _refresh(self, session: Session) -> None:
        now = time.monotonic()
        with self._lock:
            if self._generation is not None and now - self._checked_at < self.recheck_seconds:
                return
        generation = int(session.scalar(select(func.coalesce(func.max(FormVersion.id), 0))) or 0)
        with self._lock:
            if generation != self._generation:
                self._latest.clear()
                self._keys = None
            self._generation, self._checked_at = generation, now

    def latest(self, key: str, session: Session) -> Form | None:
        self._refresh(session)
        with self._lock:
            if key in self._latest:
                return self._latest[key]
        row = session.scalar(select(FormVersion).where(FormVersion.form_key == key)
                             .order_by(FormVersion.version.desc()).limit(1))
        form = Form(key, dict(row.schema), dict(row.ui or {}), row.version, "db") if row else None
        with self._lock:
            self._latest[key] = form
        return form

    def keys(self, session: Session) -> list[str]:
        self._refresh(session)
        with self._lock:
            if self._keys is not None:
                return list(self._keys)
        keys = sorted(session.scalars(select(FormVersion.form_key).distinct()))
        with self._lock:
            self._keys = keys
        return list(keys)
