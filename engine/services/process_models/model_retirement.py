"""Withdraw ("zurückziehen") a process model that never ran a case.

A mistaken upload - a file published under a process id nobody wanted - cannot be deleted:
versions are history, and the audit log points at them. It can be withdrawn instead: every
version of its key is marked retired, new cases no longer start on it (engine.services.stepping
refuses), the model lists as withdrawn, and the row stays for history. Only a model that no
case ever ran on (as its process or as a called process or decision) and that no live model
calls may be withdrawn; otherwise the reason comes back as a Conflict. Publishing a new version
of the key makes it live again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import Actor
from engine.domain.errors import Conflict, NotAllowed, NotFound
from engine.domain.permissions import Permission, has
from engine.persistence import audit_log as audit
from engine.persistence.models import ProcessDefinition, ProcessInstance
from engine.services.context import UnitOfWork
from engine.services.process_models.deployment import display_name


def _require_role(actor: Actor) -> None:
    if not has(actor, Permission.EDIT_MODELS):
        raise NotAllowed("Prozessmodelle zurückziehen dürfen nur Prozessverantwortliche und Administratoren.")


def _versions(session: Session, key: str, lock: bool = False) -> list[ProcessDefinition]:
    """Every version of a key, newest first; a process wins over a decision of the same key."""
    query = select(ProcessDefinition).where(ProcessDefinition.key == key[:200]).order_by(
        ProcessDefinition.kind.desc(), ProcessDefinition.version.desc())
    rows = list(session.scalars(query.with_for_update() if lock else query))
    if not rows:
        raise NotFound(f"Es gibt kein Prozessmodell „{key[:200]}“.")
    return [r for r in rows if r.kind == rows[0].kind]


def _cases_run(session: Session, versions: list[ProcessDefinition]) -> int:
    """Instances that ran on one of the versions, or called it (dependency_ids: {"kind:key": id})."""
    own = session.scalar(select(func.count()).select_from(ProcessInstance).where(
        ProcessInstance.definition_id.in_([v.id for v in versions]))) or 0
    pattern = '%"' + f"{versions[0].kind}:{versions[0].key}".replace("\\", "\\\\").replace("%", "\\%") \
        .replace("_", "\\_") + '"%'
    called = session.scalar(select(func.count()).select_from(ProcessInstance).where(
        cast(ProcessInstance.dependency_ids, String).like(pattern, escape="\\"))) or 0
    return int(own) + int(called)


def _callers(session: Session, kind: str, key: str) -> list[str]:
    """Live processes whose newest version calls the key."""
    newest = (select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("version"))
              .where(ProcessDefinition.kind == "process").group_by(ProcessDefinition.key).subquery())
    rows = session.scalars(select(ProcessDefinition).join(
        newest, (ProcessDefinition.key == newest.c.key) & (ProcessDefinition.version == newest.c.version))
        .where(ProcessDefinition.kind == "process", ProcessDefinition.retired_at.is_(None)))
    field = "called_processes" if kind == "process" else "called_decisions"
    return [f"„{d.name or d.key}“ ({d.key})" for d in rows
            if d.key != key and key in (d.meta.get("process") or {}).get(field, [])]


def _blockers(session: Session, versions: list[ProcessDefinition], name: str) -> list[str]:
    """Why the model cannot be withdrawn (German, for the page and the 409)."""
    if versions[0].retired_at is not None:
        return [f"„{name}“ ist bereits zurückgezogen."]
    reasons = []
    cases = _cases_run(session, versions)
    if cases:
        reasons.append(f"Mit „{name}“ {'ist schon ein Fall' if cases == 1 else f'sind schon {cases} Fälle'} "
                       "gelaufen. Ein Modell mit Fällen bleibt für deren Verlauf bestehen und kann nicht "
                       "zurückgezogen werden; veröffentlichen Sie stattdessen eine neue Version.")
    callers = _callers(session, versions[0].kind, versions[0].key)
    if callers:
        reasons.append(f"„{name}“ wird von {', '.join(callers)} aufgerufen; entfernen Sie zuerst diesen Aufruf.")
    return reasons


def _status(session: Session, versions: list[ProcessDefinition]) -> dict[str, Any]:
    newest = versions[0]
    name = display_name(session, newest)
    return {"process_id": newest.key, "kind": newest.kind, "name": name, "versions": [v.version for v in versions],
            "retired_at": newest.retired_at.isoformat() if newest.retired_at else None,
            "blockers": _blockers(session, versions, name)}


def retirement_status(uow: UnitOfWork, actor: Actor, key: str) -> dict[str, Any]:
    """What the confirmation page shows: the model and why it cannot be withdrawn (if so)."""
    _require_role(actor)
    return _status(uow.session, _versions(uow.session, key))


def retire_model(uow: UnitOfWork, actor: Actor, key: str) -> dict[str, Any]:
    """Withdraw every version of ``key``; Conflict with the reasons when it ran cases or is called."""
    _require_role(actor)
    versions = _versions(uow.session, key, lock=True)
    status = _status(uow.session, versions)
    if status["blockers"]:
        raise Conflict(" ".join(status["blockers"]))
    now = clock.now()
    for version in versions:
        version.retired_at = now
    audit.record(uow.session, actor, "model.retire", "process_definition", versions[0].id,
                 details={"kind": versions[0].kind, "key": versions[0].key,
                          "versions": [v.version for v in versions]})
    return {**status, "retired_at": now.isoformat(), "blockers": []}
