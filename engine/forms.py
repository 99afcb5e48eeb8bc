"""Load the JSON Schema of a form (``forms/<formKey>.schema.json``) and validate task data.

Validation happens here, in the engine, so that the REST API, the browser UI and any future
client are held to the same rules; messages are keyed by the field they concern.

Forms edited in the browser are stored as versions in the database (services.form_versions);
when a registry has such a ``stored`` source attached, the newest stored version of a key wins
over the file. A task always shows and is validated with the form that is current when it is
rendered or completed, also when it was opened under an older version: the form edit is the
process owner's decision, and draft data that no longer fits shows up as field errors.
"""

from __future__ import annotations

import json
import re
import stat
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

from engine import clock
from engine.domain.errors import InvalidInput, NotFound

NOT_FUTURE = "x-kim-not-future"  # on a date field: no day after today
FORM_KEY = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,99}$")
DEFAULT_FORMS_DIR = Path(__file__).resolve().parent.parent / "forms"


@dataclass(frozen=True)
class ConsentRow:
    office: str
    purpose: str
    categories: tuple[str, ...]


@dataclass(frozen=True)
class Form:
    key: str
    schema: dict[str, Any]
    ui: dict[str, Any]
    version: int = 0       # 0: the file in forms/; 1, 2, ...: versions saved in the browser
    source: str = "file"   # file | db

    @cached_property
    def validator(self) -> Draft202012Validator:
        """Made once per form version: building a validator and its format checker cost more
        than checking a completed form against it (validators are immutable: threads share it)."""
        return Draft202012Validator(self.schema, format_checker=FormatChecker())

    def consent_rows(self, data: Mapping[str, Any]) -> list[ConsentRow]:
        """Consents a completed form grants, as its schema's ``x-kim-consents`` declares:
        ``{"field": rows, "office": key, "purpose": key, "category_prefix": "cat_",
        "granted_if": {key: value}}``. The consent step of a process thus records the consent
        records that open the hand-overs, instead of a second entry on the case page."""
        spec = self.schema.get("x-kim-consents")
        if not isinstance(spec, Mapping):
            return []
        condition = spec.get("granted_if") or {}
        if any(data.get(k) != v for k, v in condition.items()):
            return []
        prefix = str(spec.get("category_prefix", "cat_"))
        rows = data.get(str(spec.get("field")), [])
        return [ConsentRow(str(row[spec.get("office", "office")]), str(row.get(spec.get("purpose", "purpose"), "")),
                           tuple(sorted(k[len(prefix):] for k, v in row.items() if k.startswith(prefix) and v)))
                for row in rows if isinstance(row, Mapping) and row.get(spec.get("office", "office"))]


class StoredForms(Protocol):
    """The newest stored version of each form (engine.persistence.stored_forms.DatabaseForms),
    read through the caller's session (its unit of work), never a connection of its own."""

    def latest(self, key: str, session: Session) -> Form | None: ...

    def keys(self, session: Session) -> list[str]: ...


class FormRegistry:
    """Forms by key: the newest stored version if any, else the file in the folder (cached
    until the file changes)."""

    def __init__(self, folder: Path = DEFAULT_FORMS_DIR, stored: StoredForms | None = None) -> None:
        self.folder = folder
        self.stored = stored
        self._cache: dict[str, tuple[float, Form]] = {}
        self._lock = threading.Lock()

    def keys(self, session: Session | None = None) -> list[str]:
        files = {p.name[: -len(".schema.json")] for p in self.folder.glob("*.schema.json")}
        if self.stored is None:
            return sorted(files)
        return sorted(files | set(self.stored.keys(self._session(session))))

    def get(self, key: str, session: Session | None = None) -> Form:
        """The current form: stored versions (read through ``session``) win over the file."""
        if not FORM_KEY.match(key):
            raise NotFound(f"no form '{key}'")
        if self.stored is not None:
            stored = self.stored.latest(key, self._session(session))
            if stored is not None:
                return stored
        return self.file_form(key)

    @staticmethod
    def _session(session: Session | None) -> Session:
        if session is None:  # a registry with stored forms is always asked inside a unit of work
            raise TypeError("this form registry reads stored forms: pass the unit of work's session")
        return session

    def file_form(self, key: str) -> Form:
        """The form as shipped in the folder, ignoring stored versions."""
        if not FORM_KEY.match(key):
            raise NotFound(f"no form '{key}'")
        path = self.folder / f"{key}.schema.json"
        try:
            found = path.stat()
        except OSError:
            found = None
        if found is None or not stat.S_ISREG(found.st_mode):
            raise NotFound(f"no form '{key}'")
        mtime = found.st_mtime
        with self._lock:
            cached = self._cache.get(key)
            if cached and cached[0] == mtime:
                return cached[1]
        ui_path = self.folder / f"{key}.ui.json"
        form = Form(key, json.loads(path.read_text(encoding="utf-8")),
                    json.loads(ui_path.read_text(encoding="utf-8")) if ui_path.is_file() else {})
        try:
            Draft202012Validator.check_schema(form.schema)
        except SchemaError as exc:
            raise NotFound(f"form '{key}' has an invalid schema: {exc.message}") from exc
        with self._lock:
            self._cache[key] = (mtime, form)
        return form

    def validate(self, key: str | None, data: Mapping[str, Any], session: Session | None = None) -> None:
        """Raise InvalidInput with one message per field; no form means any object is accepted."""
        if not isinstance(data, Mapping):
            raise InvalidInput("data must be an object", {"data": "must be an object"})
        if key is None:
            return
        form = self.get(key, session)
        errors: dict[str, str] = {}
        for error in sorted(form.validator.iter_errors(dict(data)), key=lambda e: list(e.path)):
            errors.setdefault(_field_of(error), _message(error))
        for name in future_dates(form.schema, data):
            errors.setdefault(name, "darf nicht in der Zukunft liegen")
        if errors:
            raise InvalidInput("the form has errors", errors)


def future_dates(schema: Mapping[str, Any], data: Mapping[str, Any]) -> list[str]:
    """Date fields marked ``"x-kim-not-future": true`` (e.g. the day of a first contact: it cannot
    have happened tomorrow) whose value lies after today in Europe/Berlin."""
    today = clock.local_now().date().isoformat()
    late = []
    for name, prop in (schema.get("properties") or {}).items():
        value = data.get(name)
        if (isinstance(prop, Mapping) and prop.get(NOT_FUTURE) is True and isinstance(value, str)
                and len(value) == 10 and value > today):
            late.append(name)
    return late


def _field_of(error: Any) -> str:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        path += missing[:1]
    return ".".join(path) or "data"


def _message(error: Any) -> str:
    messages = {
        "required": "Pflichtfeld",
        "type": "falscher Typ",
        "enum": "kein zulässiger Wert", "oneOf": "kein zulässiger Wert", "const": "kein zulässiger Wert",
        "format": "ungültiges Format",
        "minimum": "zu klein", "exclusiveMinimum": "zu klein",
        "maximum": "zu groß", "exclusiveMaximum": "zu groß",
        "minLength": "zu kurz", "maxLength": "zu lang",
        "pattern": "ungültiges Format",
        "additionalProperties": "unbekanntes Feld",
        "minItems": "zu wenige Einträge", "maxItems": "zu viele Einträge",
    }
    return messages.get(str(error.validator), str(error.message))
