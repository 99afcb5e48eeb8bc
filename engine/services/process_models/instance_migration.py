"""Move running cases to another version of their process (dry run and migration).

A process owner deploys version 2 and wants the cases already under way to follow it. The dry
run says, case by case, where each one stands, whether that element exists in the target
version, and what happens to its open tasks and timers. Migration then moves the selected (or
all compatible) instances, each in its own transaction with the instance row locked, so a
caseworker completing a task at the same moment either goes first (the migration sees the
next position) or after (the task completes on the new version) - never half of each.

Decisions (documented for process owners in the report):

* open tasks whose element still exists keep their id, assignee, due date, escalation level
  and draft data; if the element moved to another office (lane), the task is re-routed there,
  unassigned, keeping its due date;
* BPMN timers keep their moment (``fire_at``) - a changed duration applies to new waits only;
* a token on an element missing from the target, or of another type, or with changed boundary
  events, makes the case incompatible: it is skipped with the reasons.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.bpmn.migration import INTERNAL_TYPES, MigrationCheck, check_migration, migrate_workflow
from engine.bpmn.runtime import ReadyHumanTask
from engine.domain.actors import Actor
from engine.domain.errors import InvalidInput, NotAllowed, NotFound
from engine.domain.permissions import Permission, has
from engine.persistence import audit_log as audit
from engine.persistence import store
from engine.persistence.definitions import calls_of, process_meta_of, resolve_dependencies, spec_key_of
from engine.persistence.models import (
    LIVE_STATES,
    OPEN_STATES,
    CaseFile,
    HumanTask,
    InstanceMigration,
    InstanceStatus,
    Office,
    ProcessDefinition,
    ProcessInstance,
    TaskState,
    Timer,
)
from engine.persistence.store import INSTANCE, TASK, InstanceRecord
from engine.services.context import EngineContext, UnitOfWork
from engine.services.stepping.consent_hold import is_request
from engine.services.stepping.projection import find_meta
from engine.services.stepping.specs import InstanceSpec, instance_spec
from engine.services.stepping.step import persist_step

MIGRATION_ROLES = ("process_owner", "admin")
MIGRATABLE = (InstanceStatus.RUNNING.value, InstanceStatus.INCIDENT.value)
MAX_IDS = 1000


@dataclass(frozen=True)
class Request:
    to_version: int
    from_version: int | None
    instance_ids: list[UUID] | None
    all_compatible: bool


def _require_role(actor: Actor) -> None:
    if not has(actor, Permission.MIGRATE_CASES):
        raise NotAllowed("only process owners and admins migrate cases")


def _int(body: Mapping[str, Any], name: str, errors: dict[str, str], required: bool) -> int | None:
    value = body.get(name)
    if value is None:
        if required:
            errors[name] = "required (a version number)"
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1_000_000:
        errors[name] = "must be a version number (1 or more)"
        return None
    return value


def parse_request(body: Mapping[str, Any], migrating: bool = False) -> Request:
    errors: dict[str, str] = {}
    to_version = _int(body, "to_version", errors, True)
    from_version = _int(body, "from_version", errors, False)
    ids: list[UUID] | None = None
    raw = body.get("instance_ids")
    if raw is not None:
        if not isinstance(raw, list) or len(raw) > MAX_IDS:
            errors["instance_ids"] = f"must be a list of at most {MAX_IDS} instance ids"
        else:
            try:
                ids = [UUID(str(v)) for v in raw if isinstance(v, str)]
            except ValueError:
                errors["instance_ids"] = "every entry must be an instance id (UUID)"
            if ids is not None and len(ids) != len(raw):
                errors["instance_ids"] = "every entry must be an instance id (UUID)"
    all_compatible = body.get("all_compatible", False)
    if not isinstance(all_compatible, bool):
        errors["all_compatible"] = "must be true or false"
    elif migrating and not all_compatible and not ids:
        errors["instance_ids"] = "name the instances to migrate, or send all_compatible: true"
    if errors:
        raise InvalidInput("the migration request is invalid", errors)
    assert to_version is not None  # noqa: S101  # an error was raised otherwise
    return Request(to_version, from_version, ids, bool(all_compatible))


def _target(session: Session, process_id: str, version: int) -> ProcessDefinition:
    exists = session.scalar(select(ProcessDefinition.id).where(
        ProcessDefinition.kind == "process", ProcessDefinition.key == process_id).limit(1))
    if exists is None:
        raise NotFound(f"no deployed process '{process_id}'")
    target = session.scalar(select(ProcessDefinition).where(
        ProcessDefinition.kind == "process", ProcessDefinition.key == process_id,
        ProcessDefinition.version == version))
    if target is None:
        raise InvalidInput(f"process '{process_id}' has no version {version}", {"to_version": "no such version"})
    return target


def _candidates(session: Session, target: ProcessDefinition, request: Request,
                dependency_ids: Mapping[str, int]) -> list[UUID]:
    """Running instances on other versions - and on the target version itself when a process it
    calls got a newer version since they started (the called process changed, the caller not)."""
    query = (select(ProcessInstance.id, ProcessInstance.definition_id, ProcessInstance.dependency_ids)
             .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
             .where(ProcessDefinition.kind == "process", ProcessDefinition.key == target.key,
                    ProcessInstance.status.in_(MIGRATABLE))
             .order_by(ProcessInstance.started_at, ProcessInstance.id).limit(MAX_IDS))
    if request.from_version is not None:
        query = query.where(ProcessDefinition.version == request.from_version)
    if request.instance_ids is not None:
        query = query.where(ProcessInstance.id.in_(request.instance_ids))
    return [row.id for row in session.execute(query) if not _is_current(row, target, dependency_ids)]


def _is_current(row: Any, target: ProcessDefinition, dependency_ids: Mapping[str, int]) -> bool:
    deps = {k: int(v) for k, v in (row.dependency_ids or {}).items()}
    return bool(row.definition_id == target.id and deps == dict(dependency_ids))


def _target_spec(session: Session, target: ProcessDefinition) -> tuple[InstanceSpec, dict[str, int], str]:
    deps = resolve_dependencies(session, calls_of(process_meta_of(target)), {target.key})
    dependency_ids = {k: d.id for k, d in deps.items()}
    spec_key = spec_key_of([target, *sorted(deps.values(), key=lambda d: d.id)])
    record = InstanceRecord(UUID(int=0), target.id, dependency_ids, spec_key, None, "", "", 0)
    return instance_spec(session, record), dependency_ids, spec_key


@dataclass
class Inspected:
    record: InstanceRecord
    workflow: Any
    check: MigrationCheck
    item: dict[str, Any]
    reroutes: list[tuple[UUID, int, str]]  # task id, new office id, new name


def _office_codes(session: Session) -> dict[int, str]:
    return {i: c for i, c in session.execute(select(Office.id, Office.code))}


def _task_outcomes(session: Session, record: InstanceRecord, check: MigrationCheck,
                   new: InstanceSpec) -> tuple[list[dict[str, Any]], list[tuple[UUID, int, str]]]:
    """What happens to each live task row: kept, re-routed to another office, or removed."""
    codes = _office_codes(session)
    by_spiff = {p.spiff_id: p for p in check.positions}
    tasks: list[dict[str, Any]] = []
    reroutes: list[tuple[UUID, int, str]] = []
    rows = session.scalars(select(HumanTask).where(HumanTask.instance_id == record.id,
                                                   HumanTask.state.in_(LIVE_STATES)).order_by(HumanTask.created_at))
    for row in rows:
        entry: dict[str, Any] = {"id": str(row.id), "bpmn_id": row.bpmn_id, "name": row.name,
                                 "office": codes.get(row.office_id), "outcome": "kept"}
        position = by_spiff.get(row.spiff_task_id)
        if position is None:  # not a BPMN task (a consent request) unless its element is gone
            entry["outcome"] = "kept" if is_request(row.bpmn_id) else "removed"
        elif not position.exists_in_target:
            entry["outcome"] = "removed"
        else:
            meta = find_meta(new.metas, ReadyHumanTask(row.spiff_task_id, row.bpmn_id, row.name,
                                                       position.process_chain, {}))
            office = meta.office if meta else None
            same = office in (entry["office"], None) or (office == "CM" and entry["office"] == "FW")
            # a held task waits for the person's consent to its office: it stays with that office
            if not same and office in codes.values() and row.state in OPEN_STATES:
                entry.update(outcome="rerouted", new_office=office)
                new_id = next(i for i, c in codes.items() if c == office)
                reroutes.append((row.id, new_id, (meta.name if meta and meta.name else row.name)[:300]))
        tasks.append(entry)
    return tasks, reroutes


def _timer_outcomes(session: Session, record: InstanceRecord, check: MigrationCheck,
                    tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """BPMN timers stay when their element does; deadline timers go with their task."""
    by_spiff = {p.spiff_id: p for p in check.positions}
    removed_tasks = {t["id"] for t in tasks if t["outcome"] == "removed"}
    timers = []
    for timer in session.scalars(select(Timer).where(Timer.instance_id == record.id, Timer.fired_at.is_(None))
                                 .order_by(Timer.fire_at, Timer.level)):
        if timer.task_id is not None:
            outcome = "removed" if str(timer.task_id) in removed_tasks else "kept"
        else:
            position = by_spiff.get(timer.spiff_task_id)
            outcome = "kept" if position is not None and position.exists_in_target else "removed"
        timers.append({"bpmn_id": timer.bpmn_id, "kind": timer.kind, "fire_at": timer.fire_at.isoformat(),
                       "outcome": outcome})
    return timers


def _inspect(session: Session, ctx: EngineContext, record: InstanceRecord, target: ProcessDefinition,
             new: InstanceSpec) -> Inspected:
    old_version = session.scalar(select(ProcessDefinition.version).where(
        ProcessDefinition.id == record.definition_id))
    workflow = ctx.runtime.restore(instance_spec(session, record).bundle, record.state)
    check = check_migration(workflow, new.bundle, f"Version {target.version}")
    tasks, reroutes = _task_outcomes(session, record, check, new)
    reference = session.scalar(select(CaseFile.reference).where(CaseFile.id == record.case_id)) \
        if record.case_id else None
    item = {"instance_id": str(record.id), "case_id": str(record.case_id) if record.case_id else None,
            "case_reference": reference, "from_version": old_version, "status": record.status,
            "compatible": check.compatible,
            "positions": [{"bpmn_id": p.bpmn_id, "name": p.name, "exists_in_target": p.exists_in_target}
                          for p in check.positions if not p.internal],
            "open_tasks": tasks, "timers": _timer_outcomes(session, record, check, tasks),
            "reasons": list(check.reasons)}
    return Inspected(record, workflow, check, item, reroutes)


def _load(session: Session, instance_id: UUID, lock: bool) -> InstanceRecord | None:
    if lock:
        return store.lock_instance(session, instance_id)
    row = session.execute(select(*(INSTANCE.c[n] for n in ("id", "definition_id", "dependency_ids", "spec_key",
                                                            "case_id", "status", "state", "version")))
                          .where(INSTANCE.c.id == instance_id)).first()
    return InstanceRecord(*row) if row is not None else None


def dry_run(uow: UnitOfWork, actor: Actor, process_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """What migrating to ``to_version`` would do to each running instance (nothing is changed;
    looking at the cases is audited)."""
    _require_role(actor)
    request = parse_request(body)
    items = []
    session = uow.session
    target = _target(session, process_id[:200], request.to_version)
    new, dependency_ids, _key = _target_spec(session, target)
    for instance_id in _candidates(session, target, request, dependency_ids):
        record = _load(session, instance_id, lock=False)
        if record is None:
            continue
        inspected = _inspect(session, uow.ctx, record, target, new)
        items.append(inspected.item)
        audit.record(session, actor, "instance.migration_check", "process_instance", record.id,
                     case_id=record.case_id, instance_id=record.id,
                     details={"to_version": target.version, "compatible": inspected.check.compatible})
    return {"process_id": target.key, "to_version": target.version, "items": items}


def migrate(ctx: EngineContext, actor: Actor, process_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Migrate the named (or all compatible) instances, each in a unit of work of its own, so one
    that fails leaves the others migrated (a batch driver: call it outside a unit of work)."""
    _require_role(actor)
    request = parse_request(body, migrating=True)
    with ctx.uow(write=False) as uow:
        target = _target(uow.session, process_id[:200], request.to_version)
        _new, dependency_ids, _key = _target_spec(uow.session, target)
        candidates = _candidates(uow.session, target, request, dependency_ids)
    migrated: list[str] = []
    skipped: list[dict[str, Any]] = []
    for wanted in request.instance_ids or []:
        if wanted not in candidates:
            skipped.append({"instance_id": str(wanted), "reasons": [
                f"Keine laufende Instanz von „{target.key}“ außerhalb von Version {target.version}."]})
    for instance_id in candidates:
        reasons = _migrate_one(ctx, actor, target.id, instance_id)
        if reasons:
            skipped.append({"instance_id": str(instance_id), "reasons": reasons})
        else:
            migrated.append(str(instance_id))
    return {"to_version": target.version, "migrated": migrated, "skipped": skipped}


def _migrate_one(ctx: EngineContext, actor: Actor, target_id: int, instance_id: UUID) -> list[str]:
    with ctx.uow() as uow:
        session = uow.session
        record = _load(session, instance_id, lock=True)
        target = session.get(ProcessDefinition, target_id)
        assert target is not None  # noqa: S101  # read above; definitions are never deleted
        if record is None or record.status not in MIGRATABLE:
            return ["Die Instanz läuft nicht mehr."]
        new, dependency_ids, spec_key = _target_spec(session, target)
        if _is_current(record, target, dependency_ids):
            return [f"Die Instanz läuft bereits auf Version {target.version}."]
        inspected = _inspect(session, ctx, record, target, new)
        if not inspected.check.compatible:
            return list(inspected.check.reasons)
        from_id = record.definition_id
        _apply(session, ctx, inspected, new, target, dependency_ids, spec_key)
        details = {"from_version": inspected.item["from_version"], "to_version": target.version,
                   "positions": inspected.item["positions"], "open_tasks": inspected.item["open_tasks"],
                   "timers": inspected.item["timers"]}
        session.add(InstanceMigration(instance_id=record.id, from_definition_id=from_id, to_definition_id=target.id,
                                      migrated_at=clock.now(), migrated_by=actor.username, details=details))
        audit.record(session, actor, "instance.migrate", "process_instance", record.id, case_id=record.case_id,
                     instance_id=record.id, details={"process_id": target.key, **{
                         k: details[k] for k in ("from_version", "to_version")},
                         "rerouted": [t["id"] for t in details["open_tasks"] if t["outcome"] == "rerouted"]})
        uow.commit()
    return []


def _apply(session: Session, ctx: EngineContext, inspected: Inspected, new: InstanceSpec,
           target: ProcessDefinition, dependency_ids: dict[str, int], spec_key: str) -> None:
    """Re-point the workflow, record the new definition, re-route tasks, run and save the step."""
    record, workflow = inspected.record, inspected.workflow
    replaced = migrate_workflow(workflow, new.bundle)
    store.add_history(session, [
        {"instance_id": record.id, "spiff_task_id": r.spiff_id, "bpmn_id": r.bpmn_id[:200], "name": r.name[:300],
         "kind": r.kind[:64], "state": r.state, "finished_at": datetime.fromtimestamp(r.finished_at, tz=UTC)}
        for r in replaced if r.state == "COMPLETED" and r.kind not in INTERNAL_TYPES])
    workflow = ctx.runtime.restore(new.bundle, ctx.runtime.snapshot(workflow))  # proves it restores
    session.connection().execute(update(INSTANCE).where(INSTANCE.c.id == record.id).values(
        definition_id=target.id, dependency_ids=dependency_ids, spec_key=spec_key))
    record.definition_id, record.dependency_ids, record.spec_key = target.id, dependency_ids, spec_key
    for task_id, office_id, name in inspected.reroutes:
        session.connection().execute(update(TASK).where(TASK.c.id == task_id).values(
            office_id=office_id, assignee_id=None, name=name, version=TASK.c.version + 1,
            state=TaskState.OPEN.value).where(TASK.c.state.in_(OPEN_STATES)))
    result = ctx.runtime.retry(workflow)
    persist_step(session, ctx, record, workflow, result, new)
