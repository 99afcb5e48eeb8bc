"""Model drafts: edit a BPMN/DMN file, check it, publish it - alone or with a second process owner.

A draft is not a version: running cases never see it. Publishing deploys the draft's exact bytes
as the next version of its key (engine.services.process_models.deployment) and marks the draft published in the
same transaction, so a crash leaves either both or neither. Running instances keep the version
they started on; only new cases start on the new one. With ``KIM_PUBLISH_APPROVAL=true`` the
four-eyes rule applies: publishing submits, and a different process owner approves.

Every write is audited (engine.persistence.audit_log); model code is untrusted input and is only ever
parsed by the hardened parser and compiled by the check (engine.services.process_models.model_check).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine import clock
from engine.bpmn.safe_xml import MAX_MODEL_BYTES, UnsafeXmlError, parse_model_xml
from engine.domain.actors import Actor
from engine.domain.errors import Conflict, InvalidInput, ModelInvalid, NotAllowed, NotFound
from engine.domain.model import ModelSource, ValidationProblem
from engine.domain.permissions import Permission, require
from engine.persistence import audit_log as audit
from engine.persistence.definitions import definition_source
from engine.persistence.models import ModelDraft, ProcessDefinition
from engine.services.context import UnitOfWork
from engine.services.process_models import deployment
from engine.services.process_models.model_check import (
    ERROR,
    Problem,
    check_in_session,
    forms_dir_of,
    german,
    has_errors,
    model_key,
)

STATUSES = ("draft", "submitted", "published", "discarded")
SUFFIXES = (".bpmn", ".bpmn20.xml", ".dmn", ".xml")
DEFINITION_KIND = {"bpmn": "process", "dmn": "decision"}


class ModelCheckFailed(ModelInvalid):
    """Publishing refused because the check found errors; ``checked`` holds every finding."""

    code = "model_invalid"

    def __init__(self, checked: list[Problem]) -> None:
        self.checked = checked
        errors = [p for p in checked if p.severity == ERROR]
        super().__init__([ValidationProblem(p.element_id, p.message) for p in errors])
        self.args = (f"Das Modell hat {len(errors)} Fehler und wurde nicht veröffentlicht.",)


@dataclass(frozen=True)
class Published:
    process_id: str
    version: int
    kind: str
    definition_id: int
    draft_id: int | None
    deployed: tuple[dict[str, Any], ...] = ()
    name: str = ""


def approval_required(config: Any) -> bool:
    return str(config.get("KIM_PUBLISH_APPROVAL", "false")).strip().lower() in {"true", "1", "yes", "on"}


def clean_filename(filename: object) -> str:
    if not isinstance(filename, str) or not filename.strip():
        raise InvalidInput("Der Dateiname fehlt.", {"filename": "required"})
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name.lower().endswith(SUFFIXES) or len(name) > 255 or any(ord(c) < 32 for c in name):
        raise InvalidInput("Der Dateiname muss auf .bpmn oder .dmn enden (höchstens 255 Zeichen).",
                           {"filename": "must end with .bpmn or .dmn"})
    return name


def kind_and_key(content: bytes) -> tuple[str, str]:
    """What a file would publish as; InvalidInput (field content) when it is not a model at all."""
    if len(content) > MAX_MODEL_BYTES:
        raise InvalidInput("Die Datei ist größer als 2 MiB.", {"content": "larger than 2 MiB"})
    try:
        root = parse_model_xml(content)
    except UnsafeXmlError as exc:
        raise InvalidInput(german(str(exc)), {"content": german(str(exc))}) from exc
    found = model_key(root)
    if found is None:
        raise InvalidInput("Die Datei enthält keinen Prozess und keine Entscheidung mit einer id.",
                           {"content": "no process or decision"})
    return found


@dataclass(frozen=True)
class DraftView:
    """A model draft as the modeler and the API show it (its content only when asked for)."""

    id: int
    kind: str
    key: str
    filename: str
    status: str
    problems: tuple[dict[str, Any], ...]
    base_definition_id: int | None
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    submitted_by: str | None
    submitted_at: datetime | None
    approved_by: str | None
    published_at: datetime | None
    published_definition_id: int | None
    version: int
    content: str | None = None
    hidden: frozenset[str] = field(default=frozenset({"content"}), metadata={"hidden_field": True})


def draft_view(draft: ModelDraft, with_content: bool = False) -> DraftView:
    return DraftView(
        draft.id, draft.kind, draft.key, draft.filename, draft.status, tuple(draft.problems or ()),
        draft.base_definition_id, draft.created_by, draft.created_at, draft.updated_by, draft.updated_at,
        draft.submitted_by, draft.submitted_at, draft.approved_by, draft.published_at,
        draft.published_definition_id, draft.version,
        content=draft.content.decode("utf-8") if with_content else None,
        hidden=frozenset() if with_content else frozenset({"content"}))


def _check(uow: UnitOfWork, filename: str, content: bytes) -> list[Problem]:
    return check_in_session(uow.session, filename, content, forms_dir_of(uow.ctx))


def _load(session: Session, draft_id: int) -> ModelDraft:
    draft = session.get(ModelDraft, draft_id) if 0 < draft_id < 2**31 else None
    if draft is None:
        raise NotFound(f"Es gibt keinen Entwurf {draft_id}.")
    return draft


def _base(session: Session, kind: str, base_definition_id: object) -> int | None:
    if base_definition_id is None:
        return None
    if not isinstance(base_definition_id, int) or isinstance(base_definition_id, bool) or \
            not 0 < base_definition_id < 2**31:
        raise InvalidInput("base_definition_id muss eine Zahl sein.", {"base_definition_id": "must be an integer"})
    base = session.get(ProcessDefinition, base_definition_id)
    if base is None or base.kind != DEFINITION_KIND[kind]:
        raise InvalidInput("Die Ausgangsversion gibt es nicht.", {"base_definition_id": "unknown definition"})
    return base.id


def create_draft(uow: UnitOfWork, actor: Actor, filename: object, content: bytes,
                 base_definition_id: object = None) -> DraftView:
    require(actor, Permission.EDIT_MODELS)
    name = clean_filename(filename)
    kind, key = kind_and_key(content)
    now = clock.now()
    draft = ModelDraft(kind=kind, key=key[:200], filename=name, content=content,
                       base_definition_id=_base(uow.session, kind, base_definition_id), status="draft",
                       problems=[p.to_json() for p in _check(uow, name, content)],
                       created_by=actor.username, created_at=now, updated_by=actor.username, updated_at=now)
    uow.session.add(draft)
    uow.session.flush()
    audit.record(uow.session, actor, "model_draft.create", "model_draft", draft.id,
                 details={"kind": kind, "key": draft.key, "filename": name, "bytes": len(content)})
    return draft_view(draft)


def list_drafts(uow: UnitOfWork, actor: Actor, key: str | None = None, status: str | None = None) -> list[DraftView]:
    require(actor, Permission.EDIT_MODELS)
    if status and status not in STATUSES:
        raise InvalidInput(f"Unbekannter Status '{status[:20]}'.", {"status": f"one of {', '.join(STATUSES)}"})
    query = select(ModelDraft).order_by(ModelDraft.updated_at.desc(), ModelDraft.id.desc()).limit(500)
    if key:
        query = query.where(ModelDraft.key == key[:200])
    if status:
        query = query.where(ModelDraft.status == status)
    return [draft_view(d) for d in uow.session.scalars(query)]


def get_draft(uow: UnitOfWork, actor: Actor, draft_id: int) -> DraftView:
    require(actor, Permission.EDIT_MODELS)
    return draft_view(_load(uow.session, draft_id), with_content=True)


def update_draft(uow: UnitOfWork, actor: Actor, draft_id: int, content: bytes, version: object) -> DraftView:
    require(actor, Permission.EDIT_MODELS)
    if not isinstance(version, int) or isinstance(version, bool):
        raise InvalidInput("version fehlt (die Version des Entwurfs, die bearbeitet wurde).",
                           {"version": "required (an integer)"})
    kind, key = kind_and_key(content)
    draft = _load(uow.session, draft_id)
    if draft.version != version:
        raise Conflict("Der Entwurf wurde inzwischen geändert; laden Sie ihn neu.")
    if draft.status not in ("draft", "submitted"):
        raise Conflict(f"Der Entwurf ist {_status_de(draft.status)} und kann nicht mehr bearbeitet werden.")
    if kind != draft.kind:
        raise InvalidInput("Ein BPMN-Entwurf bleibt BPMN, ein DMN-Entwurf DMN.", {"content": "kind changed"})
    withdrawn = draft.status == "submitted"
    if withdrawn:  # a second owner must approve what they saw: a change withdraws the submission
        draft.status, draft.submitted_by, draft.submitted_at = "draft", None, None
    draft.content, draft.key = content, key[:200]
    draft.problems = [p.to_json() for p in _check(uow, draft.filename, content)]
    draft.updated_by, draft.updated_at = actor.username, clock.now()
    audit.record(uow.session, actor, "model_draft.update", "model_draft", draft.id,
                 details={"key": draft.key, "bytes": len(content), "version": version + 1,
                          "submission_withdrawn": withdrawn})
    _flush(uow)
    return draft_view(draft)


def _flush(uow: UnitOfWork) -> None:
    """Write now, so a concurrent change is a conflict of this use case, not of the commit."""
    try:
        uow.session.flush()
    except StaleDataError as exc:  # someone saved between our read and our write
        raise Conflict("Der Entwurf wurde inzwischen geändert; laden Sie ihn neu.") from exc
    except IntegrityError as exc:  # a concurrent publish stored the same version number first
        raise Conflict("Gleichzeitig wurde eine andere Version veröffentlicht; bitte erneut versuchen.") from exc


def _status_de(status: str) -> str:
    return {"submitted": "zur Freigabe eingereicht", "published": "veröffentlicht",
            "discarded": "verworfen"}.get(status, status)


def publish_draft(uow: UnitOfWork, actor: Actor, draft_id: int) -> Published | DraftView:
    """Publish now (Published), or submit for approval (the draft) when approval is required."""
    require(actor, Permission.EDIT_MODELS)
    needs_approval = approval_required(uow.ctx.config)
    draft = _load(uow.session, draft_id)
    if draft.status not in ("draft", "submitted") or (draft.status == "submitted" and needs_approval):
        raise Conflict(f"Der Entwurf ist {_status_de(draft.status)}.")
    problems = _check(uow, draft.filename, draft.content)
    if has_errors(problems):
        raise ModelCheckFailed(problems)
    if needs_approval:
        draft.status, draft.submitted_by, draft.submitted_at = "submitted", actor.username, clock.now()
        draft.problems = [p.to_json() for p in problems]
        audit.record(uow.session, actor, "model_draft.submit", "model_draft", draft.id, details={"key": draft.key})
        _flush(uow)
        return draft_view(draft)
    published = _deploy_draft(uow.session, actor, draft, problems)
    _flush(uow)
    return published


def approve_draft(uow: UnitOfWork, actor: Actor, draft_id: int, seen_version: object = None) -> Published:
    """``seen_version`` (optional): the draft version the approver reviewed; 409 if it changed since."""
    require(actor, Permission.EDIT_MODELS)
    draft = _load(uow.session, draft_id)
    if seen_version is not None and seen_version != draft.version:
        raise Conflict("Der Entwurf wurde geändert, seit Sie ihn geöffnet haben; laden Sie ihn neu.")
    if draft.status != "submitted":
        raise Conflict(f"Nur eingereichte Entwürfe können freigegeben werden; dieser ist "
                       f"{_status_de(draft.status)}.")
    if draft.submitted_by == actor.username:
        raise NotAllowed("Freigeben muss ein anderer Prozessverantwortlicher als der, der eingereicht hat.")
    problems = _check(uow, draft.filename, draft.content)
    if has_errors(problems):  # the world may have changed since submission (offices, called models)
        raise ModelCheckFailed(problems)
    draft.approved_by = actor.username
    audit.record(uow.session, actor, "model_draft.approve", "model_draft", draft.id,
                 details={"key": draft.key, "submitted_by": draft.submitted_by})
    published = _deploy_draft(uow.session, actor, draft, problems)
    _flush(uow)
    return published


def discard_draft(uow: UnitOfWork, actor: Actor, draft_id: int) -> DraftView:
    require(actor, Permission.EDIT_MODELS)
    draft = _load(uow.session, draft_id)
    if draft.status not in ("draft", "submitted"):
        raise Conflict(f"Der Entwurf ist {_status_de(draft.status)}.")
    draft.status, draft.updated_by, draft.updated_at = "discarded", actor.username, clock.now()
    audit.record(uow.session, actor, "model_draft.discard", "model_draft", draft.id, details={"key": draft.key})
    _flush(uow)
    return draft_view(draft)


def _deploy_draft(session: Session, actor: Actor, draft: ModelDraft, problems: list[Problem]) -> Published:
    published = _deploy(session, actor, draft.filename, draft.content, draft.kind, draft.key, draft.id)
    now = clock.now()
    draft.status, draft.published_at, draft.published_definition_id = "published", now, published.definition_id
    draft.problems = [p.to_json() for p in problems]
    draft.updated_by, draft.updated_at = actor.username, now
    return published


def _deploy(session: Session, actor: Actor, filename: str, content: bytes, kind: str, key: str,
            draft_id: int | None) -> Published:
    try:
        deployed = deployment.deploy_in_session(session, [ModelSource(filename, content)], actor)
    except IntegrityError as exc:  # another publish of this key took the same version number first
        raise Conflict("Gleichzeitig wurde eine andere Version veröffentlicht; bitte erneut versuchen.") from exc
    except ModelInvalid as exc:  # the check passed but deployment disagrees: still the user's model
        raise ModelCheckFailed([Problem(p.element_id, ERROR, german(p.reason)) for p in exc.problems]) from exc
    target = next((d for d in deployed if d.key == key and d.kind == DEFINITION_KIND[kind]), deployed[0])
    definition = session.scalar(select(ProcessDefinition).where(
        ProcessDefinition.kind == target.kind, ProcessDefinition.key == target.key,
        ProcessDefinition.version == target.version))
    assert definition is not None  # noqa: S101  # deploy_in_session just stored or found it
    definition_id = definition.id
    audit.record(session, actor, "model.publish", "process_definition", definition_id,
                 details={"kind": target.kind, "key": target.key, "version": target.version,
                          "changed": target.changed, "draft_id": draft_id,
                          "deployed": [f"{d.kind}:{d.key}:{d.version}" for d in deployed]})
    return Published(target.key, target.version, target.kind, definition_id, draft_id,
                     tuple({"kind": d.kind, "key": d.key, "version": d.version, "changed": d.changed}
                           for d in deployed), definition.name or target.key)


def publish_upload(uow: UnitOfWork, actor: Actor, filename: object, content: bytes) -> Published | DraftView:
    """POST /process-models: the same check and audit as a draft; with approval required the
    upload becomes a submitted draft instead of bypassing the second process owner.

    A file the check refuses leaves nothing behind - no version, no draft.
    """
    require(actor, Permission.EDIT_MODELS)
    name = clean_filename(filename)
    problems = _check(uow, name, content)
    if has_errors(problems):
        raise ModelCheckFailed(problems)
    kind, key = kind_and_key(content)
    if approval_required(uow.ctx.config):
        draft = _submitted_upload(uow.session, actor, name, content, kind, key, problems)
        _flush(uow)
        return draft_view(draft)
    published = _deploy(uow.session, actor, name, content, kind, key, None)
    _flush(uow)
    return published


def _submitted_upload(session: Session, actor: Actor, filename: str, content: bytes, kind: str, key: str,
                      problems: list[Problem]) -> ModelDraft:
    """An upload under the four-eyes rule: a draft that is submitted at once, for a second owner."""
    now = clock.now()
    draft = ModelDraft(kind=kind, key=key[:200], filename=filename, content=content, status="submitted",
                       problems=[p.to_json() for p in problems], created_by=actor.username, created_at=now,
                       updated_by=actor.username, updated_at=now, submitted_by=actor.username, submitted_at=now)
    session.add(draft)
    session.flush()
    audit.record(session, actor, "model_draft.create", "model_draft", draft.id,
                 details={"kind": kind, "key": draft.key, "filename": filename, "bytes": len(content)})
    audit.record(session, actor, "model_draft.submit", "model_draft", draft.id, details={"key": draft.key})
    return draft


def version_source(uow: UnitOfWork, key: str, version: int) -> ModelSource:
    """The stored bytes of one deployed version (process first, then decision of that key)."""
    rows = uow.session.scalars(select(ProcessDefinition).where(
        ProcessDefinition.key == key[:200], ProcessDefinition.version == version)
        .order_by(ProcessDefinition.kind.desc()))
    definition = next(iter(rows), None)
    if definition is None:
        raise NotFound(f"Es gibt keine Version {version} von „{key[:200]}“.")
    return definition_source(uow.session, definition)
