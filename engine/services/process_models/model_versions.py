"""What process owners look at before they change or migrate a model: every deployed process
and decision with its versions, how many cases still run on each version, open drafts, and
what changed between two versions (engine.bpmn.diff).

Read-only; supervisors may look too (they plan their office's work around model changes).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.bpmn.diff import diff_models
from engine.bpmn.safe_xml import UnsafeXmlError
from engine.domain.actors import Actor
from engine.domain.errors import InvalidInput, NotAllowed, NotFound
from engine.persistence.models import InstanceStatus, ModelDraft, ModelSourceRow, ProcessDefinition, ProcessInstance
from engine.services.context import UnitOfWork

VIEW_ROLES = ("process_owner", "admin", "supervisor")
EDIT_ROLES = ("process_owner", "admin")
LIVE = (InstanceStatus.RUNNING.value, InstanceStatus.INCIDENT.value)
OPEN_DRAFTS = ("draft", "submitted")


def require_viewer(actor: Actor) -> None:
    if actor.role not in VIEW_ROLES:
        raise NotAllowed("process models are shown to process owners, admins and office leads")


def _running_by_definition(session: Session) -> dict[int, int]:
    rows = session.execute(select(ProcessInstance.definition_id, func.count())
                           .where(ProcessInstance.status.in_(LIVE)).group_by(ProcessInstance.definition_id))
    return {int(d): int(n) for d, n in rows}


def models_overview(uow: UnitOfWork, actor: Actor) -> list[dict[str, Any]]:
    """One entry per process/decision key: newest version, running cases per version, drafts."""
    require_viewer(actor)
    session = uow.session
    definitions = list(session.scalars(select(ProcessDefinition)
                                       .order_by(ProcessDefinition.kind.desc(), ProcessDefinition.key,
                                                 ProcessDefinition.version.desc())))
    running = _running_by_definition(session)
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
            entry = entries[(d.kind, d.key)] = {
                "kind": d.kind, "key": d.key, "name": d.name or d.key, "editor": "bpmn" if d.kind == "process"
                else "dmn", "latest_version": d.version, "deployed_at": d.deployed_at.isoformat(),
                "deployed_by": d.deployed_by, "versions": 0, "running": [], "running_total": 0,
                "drafts": drafts.get(d.key, [])}
        entry["versions"] += 1
        if running.get(d.id):
            entry["running"].append({"version": d.version, "count": running[d.id]})
            entry["running_total"] += running[d.id]
    return list(entries.values())


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
    return {"key": rows[0].key, "kind": rows[0].kind, "name": rows[0].name or rows[0].key,
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
