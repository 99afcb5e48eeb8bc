"""Forms edited in the browser: stored as numbered versions (table form_version), newest wins.

Each save appends a row, so earlier versions stay readable and nothing is overwritten. Every
web worker keeps the newest version of each key in memory and notices saves made by other
workers through one cheap query (the highest row id, asked at most once per RECHECK_SECONDS);
the worker that saves clears its cache at once. Tasks are shown and validated with the form
current at that moment (see engine.forms).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engine import clock
from engine.domain.actors import Actor
from engine.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from engine.form_check import check_form
from engine.forms import FORM_KEY, Form, FormRegistry
from engine.persistence import audit_log as audit
from engine.persistence.database import Database
from engine.persistence.models import FormVersion
from engine.services.context import EngineContext

EDIT_ROLES = ("process_owner", "admin")
RECHECK_SECONDS = 1.0


class DatabaseForms:
    """The newest stored version per key, cached until a newer row appears."""

    def __init__(self, db: Database, recheck_seconds: float = RECHECK_SECONDS) -> None:
        self.db = db
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

    def _refresh(self) -> None:
        now = time.monotonic()
        with self._lock:
            if self._generation is not None and now - self._checked_at < self.recheck_seconds:
                return
        with self.db.session(write=False) as session:
            generation = int(session.scalar(select(func.coalesce(func.max(FormVersion.id), 0))) or 0)
        with self._lock:
            if generation != self._generation:
                self._latest.clear()
                self._keys = None
            self._generation, self._checked_at = generation, now

    def latest(self, key: str) -> Form | None:
        self._refresh()
        with self._lock:
            if key in self._latest:
                return self._latest[key]
        with self.db.session(write=False) as session:
            row = session.scalar(select(FormVersion).where(FormVersion.form_key == key)
                                 .order_by(FormVersion.version.desc()).limit(1))
            form = Form(key, dict(row.schema), dict(row.ui or {}), row.version, "db") if row else None
        with self._lock:
            self._latest[key] = form
        return form

    def keys(self) -> list[str]:
        self._refresh()
        with self._lock:
            if self._keys is not None:
                return list(self._keys)
        with self.db.session(write=False) as session:
            keys = sorted(session.scalars(select(FormVersion.form_key).distinct()))
        with self._lock:
            self._keys = keys
        return list(keys)


def attach_database(registry: FormRegistry, ctx: EngineContext) -> DatabaseForms:
    """Make ``registry`` prefer stored versions (called once when the web app starts)."""
    stored = DatabaseForms(ctx.db)
    registry.stored = stored
    return stored


def require_editor(actor: Actor) -> None:
    if actor.role not in EDIT_ROLES:
        raise NotAllowed("forms are edited by process owners and admins")


RESERVED_KEYS = ("new", "preview")  # path segments of the editor's own pages and API


def _checked_key(key: str) -> str:
    if key in RESERVED_KEYS:
        raise InvalidInput(f"'{key}' is reserved", {"key": "reservierter Name"})
    if not FORM_KEY.match(key):
        raise InvalidInput("a form key is lower-case letters, digits, _ and -", {"key": "ungültiger Schlüssel"})
    return key


def list_forms(registry: FormRegistry, actor: Actor) -> list[dict[str, Any]]:
    require_editor(actor)
    items = []
    for key in registry.keys():  # noqa: SIM118  # a registry, not a dict
        try:
            form = registry.get(key)
        except NotFound:
            continue  # a broken file in forms/ must not hide all others
        items.append({"key": key, "title": str(form.schema.get("title") or key), "version": form.version,
                      "source": form.source})
    return items


def get_form(ctx: EngineContext, registry: FormRegistry, actor: Actor, key: str,
             version: int | None = None) -> dict[str, Any]:
    """The current form, or one stored version (0: the file)."""
    require_editor(actor)
    if version is None:
        form = registry.get(key)
    elif version == 0:
        form = registry.file_form(key)
    else:
        with ctx.uow(write=False) as uow:
            row = uow.session.scalar(select(FormVersion).where(FormVersion.form_key == key[:200],
                                                               FormVersion.version == version))
            if row is None:
                raise NotFound(f"form '{key[:200]}' has no version {version}")
            form = Form(key, dict(row.schema), dict(row.ui or {}), row.version, "db")
    return {"key": form.key, "schema": form.schema, "ui": form.ui, "version": form.version, "source": form.source}


def form_history(ctx: EngineContext, registry: FormRegistry, actor: Actor, key: str) -> list[dict[str, Any]]:
    """Stored versions newest first, then the file (version 0) if there is one."""
    require_editor(actor)
    with ctx.uow(write=False) as uow:
        rows = list(uow.session.execute(select(FormVersion.version, FormVersion.created_by, FormVersion.created_at)
                                        .where(FormVersion.form_key == key[:200])
                                        .order_by(FormVersion.version.desc())))
    items = [{"version": v, "created_by": by, "created_at": at.isoformat(), "source": "db"} for v, by, at in rows]
    try:
        registry.file_form(key)
        items.append({"version": 0, "created_by": None, "created_at": None, "source": "file"})
    except NotFound:
        if not items:
            raise
    return items


def check_body(body: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    schema, ui = body.get("schema"), body.get("ui", {})
    problems = check_form(schema, ui if ui is not None else {})
    if problems:
        raise InvalidInput("the form cannot be used as it is", problems)
    assert isinstance(schema, dict)  # noqa: S101  # check_form refused everything else
    return schema, dict(ui or {})


def save_form(ctx: EngineContext, registry: FormRegistry, actor: Actor, key: str,
              body: Mapping[str, Any]) -> dict[str, Any]:
    """Append a new version; ``base_version`` (optional) guards against overwriting a colleague's
    save made since the editor was opened (409)."""
    require_editor(actor)
    key = _checked_key(key)
    schema, ui = check_body(body)
    base = body.get("base_version")
    if base is not None and (not isinstance(base, int) or isinstance(base, bool) or base < 0):
        raise InvalidInput("base_version must be a whole number", {"base_version": "ungültig"})
    with ctx.uow() as uow:
        latest = uow.session.scalar(select(func.max(FormVersion.version)).where(FormVersion.form_key == key)) or 0
        if base is not None and base != latest:
            raise Conflict(f"form '{key}' was saved by someone else meanwhile (now version {latest})")
        row = FormVersion(form_key=key, version=latest + 1, schema=schema, ui=ui, created_by=actor.username,
                          created_at=clock.now())
        uow.session.add(row)
        try:
            uow.session.flush()
        except IntegrityError as exc:
            raise Conflict(f"form '{key}' was saved by someone else at the same time") from exc
        audit.record(uow.session, actor, "form.save", "form", key,
                     details={"version": row.version, "fields": sorted(schema.get("properties", {}))})
        uow.commit()
    if isinstance(registry.stored, DatabaseForms):
        registry.stored.invalidate()
    return {"key": key, "schema": schema, "ui": ui, "version": row.version, "source": "db",
            "created_by": row.created_by, "created_at": row.created_at.isoformat()}
