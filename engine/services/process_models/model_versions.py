"""What process owners look at before they change or migrate a model: every deployed process
and decision with its versions, how many cases still run on each version, open drafts, and
what changed between two versions (engine.bpmn.diff).

Read-only; supervisors may look too (they plan their office's work around model changes).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import defaultdict
from typing import Any

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.bpmn.diff import diff_models
from engine.bpmn.safe_xml import UnsafeXmlError, parse_model_xml
from engine.domain.actors import Actor
from engine.domain.errors import InvalidInput, NotFound
from engine.domain.permissions import Permission, require
from engine.persistence.definitions import definition_source, latest_definition
from engine.persistence.models import InstanceStatus, ModelDraft, ModelSourceRow, ProcessDefinition, ProcessInstance
from engine.services.context import UnitOfWork
from engine.services.process_models.deployment import display_name
from engine.services.process_models.model_check import model_key
from engine.services.process_models.modeler import DEFINITION_KIND

LIVE = (InstanceStatus.RUNNING.value, InstanceStatus.INCIDENT.value)
OPEN_DRAFTS = ("draft", "submitted")


def require_viewer(actor: Actor) -> None:
    require(actor, Permission.VIEW_MODELS)


def _running_by_definition(session: Session, statuses: tuple[str, ...] | None = LIVE) -> dict[int, int]:
    """Instances per definition: running ones, or (``statuses=None``) every one that ever ran."""
    query = select(ProcessInstance.definition_id, func.count()).group_by(ProcessInstance.definition_id)
    if statuses is not None:
        query = query.where(ProcessInstance.status.in_(statuses))
    return {int(d): int(n) for d, n in session.execute(query)}


def models_overview(uow: UnitOfWork, actor: Actor) -> list[dict[str, Any]]:
    """One entry per process/decision key: newest version, running cases per version, drafts."""
    require_viewer(actor)
    session = uow.session
    definitions = list(session.scalars(select(ProcessDefinition)
                                       .order_by(ProcessDefinition.kind.desc(), ProcessDefinition.key,
                                                 ProcessDefinition.version.desc())))
    running = _running_by_definition(session)
    ever = _running_by_definition(session, None)
    drafts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for draft in session.scalars(select(ModelDraft).where(ModelDraft.status.in_(OPEN_DRAFTS))
                                 .order_by(ModelDraft.updated_at.desc())):
        drafts[draft.key].append({"id": draft.id, "kind": draft.kind, "status": draft.status,
                                  "updated_by": draft.updated_by, "updated_at": draft.updated_at.isoformat(),
                                  "filename": draft.filename})
    entries: dict[tuple[str, str], dict[str, Any]] = {}
    for d in definitions:
        entry = entries.get((d.kind, d.key))
        if entry is None:
            entry = entries[(d.kind, d.key)] = _overview_entry(session, d, drafts.get(d.key, []))
        entry["versions"] += 1
        entry["cases_total"] += ever.get(d.id, 0)
        if running.get(d.id):
            entry["running"].append({"version": d.version, "count": running[d.id]})
            entry["running_total"] += running[d.id]
    called = _called_by_live_models(entries.values())
    for entry in entries.values():
        entry["called"] = entry["key"] in called[entry["kind"]]
    return list(entries.values())


def _called_by_live_models(entries: Any) -> dict[str, set[str]]:
    """Keys the newest version of a live process calls (such a model cannot be withdrawn)."""
    called: dict[str, set[str]] = {"process": set(), "decision": set()}
    for entry in entries:
        if entry["kind"] == "process" and entry["retired_at"] is None:
            called["process"].update(entry["calls"]["called_processes"])
            called["decision"].update(entry["calls"]["called_decisions"])
    return called


def _overview_entry(session: Session, newest: ProcessDefinition, drafts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": newest.kind, "key": newest.key, "name": display_name(session, newest),
            "editor": "bpmn" if newest.kind == "process" else "dmn", "latest_version": newest.version,
            "deployed_at": newest.deployed_at.isoformat(), "deployed_by": newest.deployed_by, "versions": 0,
            "running": [], "running_total": 0, "cases_total": 0, "drafts": drafts,
            "retired_at": newest.retired_at.isoformat() if newest.retired_at else None,
            "calls": {k: list((newest.meta.get("process") or {}).get(k, []))
                      for k in ("called_processes", "called_decisions")}}


def _definitions(session: Session, key: str) -> list[ProcessDefinition]:
    """Versions of a key, newest first; a process wins over a decision of the same key."""
    rows = list(session.scalars(select(ProcessDefinition).where(ProcessDefinition.key == key[:200])
                                .order_by(ProcessDefinition.kind.desc(), ProcessDefinition.version.desc())))
    if not rows:
        raise NotFound(f"no deployed process or decision '{key[:200]}'")
    return [r for r in rows if r.kind == rows[0].kind]


def version_list(uow: UnitOfWork, actor: Actor, key: str) -> dict[str, Any]:
    require_viewer(actor)
    rows = _definitions(uow.session, key)
    running = _running_by_definition(uow.session)
    name = display_name(uow.session, rows[0])
    return {"key": rows[0].key, "kind": rows[0].kind, "name": name,
            "retired_at": rows[0].retired_at.isoformat() if rows[0].retired_at else None,
            "editor": "bpmn" if rows[0].kind == "process" else "dmn",
            "items": [{"version": r.version, "deployed_at": r.deployed_at.isoformat(), "deployed_by": r.deployed_by,
                       "running": running.get(r.id, 0), "sha256": r.source_sha256} for r in rows]}


def diff_versions(uow: UnitOfWork, actor: Actor, key: str, old: int, new: int,
                  with_sources: bool = False) -> dict[str, Any]:
    """The changes from version ``old`` to version ``new`` (either order is allowed)."""
    require_viewer(actor)
    by_version = {r.version: r for r in _definitions(uow.session, key)}
    for field, version in (("from", old), ("to", new)):
        if version not in by_version:
            raise InvalidInput(f"'{key[:200]}' has no version {version}", {field: "unbekannte Version"})
    sources = {}
    for version in (old, new):
        row = uow.session.get(ModelSourceRow, by_version[version].source_sha256)
        assert row is not None  # noqa: S101  # foreign key guarantees it
        sources[version] = row.content
    try:
        result = diff_models(sources[old], sources[new])
    except (UnsafeXmlError, ValueError) as exc:  # stored files were checked at deploy: not expected
        raise InvalidInput(f"the versions cannot be compared: {exc}", {"from": str(exc)}) from exc
    result = {"process_id": by_version[new].key, "from": old, "to": new, **result}
    if with_sources:
        result["old_xml"] = sources[old].decode("utf-8")
        result["new_xml"] = sources[new].decode("utf-8")
    return result


def publish_preview(uow: UnitOfWork, content: bytes) -> dict[str, Any] | None:
    """What publishing ``content`` would change: the key it publishes under, the version it would
    get and the diff against the current version (the confirmation before publishing shows it).
    None when the file is no model at all (the check says why)."""
    try:
        root = parse_model_xml(content)
    except UnsafeXmlError:
        return None
    found = model_key(root)
    if found is None:
        return None
    kind, key = found
    current = latest_definition(uow.session, DEFINITION_KIND[kind], key[:200])
    old = definition_source(uow.session, current).content if current is not None else None
    current_name = display_name(uow.session, current) if current is not None else None
    preview: dict[str, Any] = {
        "process_id": key, "kind": kind, "name": _model_name(root, kind, key) or current_name or key,
        "current_version": current.version if current else None, "retired": bool(current and current.retired_at),
        "identical": bool(current and current.source_sha256 == hashlib.sha256(content).hexdigest()),
        "added": [], "removed": [], "changed": [], "names": {}}
    current_version = current.version if current is not None else 0
    preview["next_version"] = current_version + (0 if preview["identical"] and not preview["retired"] else 1)
    if old is not None:
        with contextlib.suppress(UnsafeXmlError, ValueError):  # BPMN key now as DMN: the check refuses it
            preview.update({k: v for k, v in diff_models(old, content).items() if k != "kind"})
    return preview


def _model_name(root: Any, kind: str, key: str) -> str | None:
    ns = etree.QName(root).namespace
    tag = "decision" if kind == "dmn" else "process"
    found = [e.get("name") for e in root.iter(f"{{{ns}}}{tag}") if e.get("id") == key]
    return " ".join(str(found[0]).split()) if found and found[0] else None
