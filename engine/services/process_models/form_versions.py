"""Forms edited in the browser: stored as numbered versions (table form_version), newest wins.

Each save appends a row, so earlier versions stay readable and nothing is overwritten. Every
web worker keeps the newest version of each key in memory and notices saves made by other
workers through one cheap query (the highest row id, asked at most once per RECHECK_SECONDS);
the worker that saves clears its cache at once. Tasks are shown and validated with the form
current at that moment (see engine.forms).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engine import clock
from engine.domain.actors import Actor
from engine.domain.errors import Conflict, InvalidInput, NotFound
from engine.domain.permissions import Permission, require
from engine.form_check import check_form
from engine.forms import FORM_KEY, Form
from engine.persistence import audit_log as audit
from engine.persistence.models import FormVersion
from engine.persistence.stored_forms import DatabaseForms
from engine.services.context import UnitOfWork


def require_editor(actor: Actor) -> None:
    require(actor, Permission.EDIT_FORMS)


RESERVED_KEYS = ("new", "preview")  # path segments of the editor's own pages and API


def _checked_key(key: str) -> str:
    if key in RESERVED_KEYS:
        raise InvalidInput(f"'{key}' is reserved", {"key": "reservierter Name"})
    if not FORM_KEY.match(key):
        raise InvalidInput("a form key is lower-case letters, digits, _ and -", {"key": "ungültiger Schlüssel"})
    return key


def list_forms(uow: UnitOfWork, actor: Actor) -> list[dict[str, Any]]:
    require_editor(actor)
    items = []
    for key in uow.ctx.forms.keys(uow.session):  # a registry, not a dict
        try:
            form = uow.ctx.forms.get(key, uow.session)
        except NotFound:
            continue  # a broken file in forms/ must not hide all others
        items.append({"key": key, "title": str(form.schema.get("title") or key), "version": form.version,
                      "source": form.source})
    return items


def get_form(uow: UnitOfWork, actor: Actor, key: str,
             version: int | None = None) -> dict[str, Any]:
    """The current form, or one stored version (0: the file)."""
    require_editor(actor)
    if version is None:
        form = uow.ctx.forms.get(key, uow.session)
    elif version == 0:
        form = uow.ctx.forms.file_form(key)
    else:
        row = uow.session.scalar(select(FormVersion).where(FormVersion.form_key == key[:200],
                                                           FormVersion.version == version))
        if row is None:
            raise NotFound(f"form '{key[:200]}' has no version {version}")
        form = Form(key, dict(row.schema), dict(row.ui or {}), row.version, "db")
    return {"key": form.key, "schema": form.schema, "ui": form.ui, "version": form.version, "source": form.source}


def form_history(uow: UnitOfWork, actor: Actor, key: str) -> list[dict[str, Any]]:
    """Stored versions newest first, then the file (version 0) if there is one."""
    require_editor(actor)
    rows = list(uow.session.execute(select(FormVersion.version, FormVersion.created_by, FormVersion.created_at)
                                    .where(FormVersion.form_key == key[:200])
                                    .order_by(FormVersion.version.desc())))
    items = [{"version": v, "created_by": by, "created_at": at.isoformat(), "source": "db"} for v, by, at in rows]
    try:
        uow.ctx.forms.file_form(key)
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


def save_form(uow: UnitOfWork, actor: Actor, key: str,
              body: Mapping[str, Any]) -> dict[str, Any]:
    """Append a new version; ``base_version`` (optional) guards against overwriting a colleague's
    save made since the editor was opened (409)."""
    require_editor(actor)
    key = _checked_key(key)
    schema, ui = check_body(body)
    base = body.get("base_version")
    if base is not None and (not isinstance(base, int) or isinstance(base, bool) or base < 0):
        raise InvalidInput("base_version must be a whole number", {"base_version": "ungültig"})
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
    if isinstance(uow.ctx.forms.stored, DatabaseForms):
        uow.ctx.forms.stored.invalidate()
    return {"key": key, "schema": schema, "ui": ui, "version": row.version, "source": "db",
            "created_by": row.created_by, "created_at": row.created_at.isoformat()}
