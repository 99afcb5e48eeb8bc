"""Deploy BPMN and DMN files: check everything, then store new versions (or nothing)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.bpmn.decision_tables import compile_decision
from engine.bpmn.loader import InspectedFile, build_bundle, checked_file, inspect_file
from engine.bpmn.metadata import OfficeResolver
from engine.bpmn.safe_xml import MAX_MODEL_BYTES, UnsafeXmlError, parse_model_xml
from engine.domain.actors import Actor
from engine.domain.errors import InvalidInput, ModelInvalid, NotFound
from engine.domain.model import ModelSource, ValidationProblem
from engine.persistence.definitions import (
    calls_of,
    definition_source,
    latest_definition,
    resolve_dependencies,
)
from engine.persistence.models import ModelSourceRow, ProcessDefinition
from engine.persistence.offices import office_resolver
from engine.services.context import UnitOfWork

MODEL_SUFFIXES = (".bpmn", ".bpmn20.xml", ".dmn")


@dataclass(frozen=True)
class Deployed:
    kind: str          # process | decision
    key: str
    version: int
    changed: bool      # False when the same content was deployed before


def read_model_paths(paths: Iterable[Path]) -> list[ModelSource]:
    """Files named directly, plus every model file below named folders (sorted)."""
    sources: list[ModelSource] = []
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(MODEL_SUFFIXES))
        elif path.is_file():
            files = [path]
        else:
            raise InvalidInput(f"no such file or folder: {path}", {"path": "missing"})
        for file in files:
            if file.stat().st_size > MAX_MODEL_BYTES:
                raise ModelInvalid([ValidationProblem(None, "file is larger than 2 MiB", file.name)])
            sources.append(ModelSource(file.name, file.read_bytes()))
    return sources


def dependency_files(session: Session, batch: Sequence[InspectedFile]) -> list[InspectedFile]:
    """Deployed files providing processes/decisions that the batch calls but does not contain."""
    provided = {p.process_id for f in batch for p in f.processes} | {d for f in batch for d in f.decisions}
    wanted = [call for f in batch for p in f.processes for call in calls_of(p)]
    definitions = resolve_dependencies(session, wanted, provided)
    by_sha = {d.source_sha256: d for d in definitions.values()}
    return [checked_file(definition_source(session, d)) for d in by_sha.values()]


def deploy(uow: UnitOfWork, sources: Sequence[ModelSource], actor: Actor) -> list[Deployed]:
    """Validate every file; store all of them or none. Raises ModelInvalid with every problem."""
    if not sources:
        raise InvalidInput("no BPMN or DMN files given", {"file": "required"})
    return deploy_in_session(uow.session, sources, actor)


def deploy_in_session(session: Session, sources: Sequence[ModelSource], actor: Actor) -> list[Deployed]:
    """The body of :func:`deploy` inside the caller's transaction (publishing a draft changes
    the draft row in the same commit); flushes, never commits."""
    lookup = office_resolver(session)
    batch, problems = _inspect_all(sources, lambda name: lookup.get(name.strip().lower()))
    problems.extend(_check_decisions(batch))
    if not problems:
        files = batch + dependency_files(session, batch)
        for f in batch:
            for process in f.processes:
                try:
                    build_bundle(process.process_id, files)
                except ModelInvalid as exc:
                    problems.extend(exc.problems)
    if problems:
        raise ModelInvalid(problems)
    return [d for f in batch for d in _store(session, f, actor)]


def _check_decisions(batch: Sequence[InspectedFile]) -> list[ValidationProblem]:
    """Every DMN cell is compiled under the sandbox rules, also when no process calls it yet."""
    problems: list[ValidationProblem] = []
    for f in batch:
        for decision_id in f.decisions:
            try:
                compile_decision(f.source, decision_id)
            except ModelInvalid as exc:
                problems.extend(exc.problems)
    return problems


def _inspect_all(sources: Sequence[ModelSource],
                 resolve: OfficeResolver) -> tuple[list[InspectedFile], list[ValidationProblem]]:
    batch: list[InspectedFile] = []
    problems: list[ValidationProblem] = []
    for source in sources:
        try:
            batch.append(inspect_file(source, resolve))
        except ModelInvalid as exc:
            problems.extend(exc.problems)
    return batch, problems


def _store(session: Session, f: InspectedFile, actor: Actor) -> list[Deployed]:
    sha = f.source.sha256
    if session.get(ModelSourceRow, sha) is None:
        session.add(ModelSourceRow(sha256=sha, filename=f.source.filename[:255], kind=f.kind,
                                   content=f.source.content, created_at=clock.now()))
    names = decision_names(f.root) if f.kind == "dmn" else {}
    entries: list[tuple[str, str, str, dict[str, Any]]] = (
        [("process", p.process_id, p.name, {"process": p.to_json()}) for p in f.processes]
        + [("decision", d, names.get(d) or d, {}) for d in f.decisions])
    result = []
    for kind, key, name, meta in entries:
        latest = latest_definition(session, kind, key)
        if latest is not None and latest.source_sha256 == sha and latest.retired_at is None:
            result.append(Deployed(kind, key, latest.version, changed=False))
            continue  # a withdrawn model published again gets a new version: it is live again
        version = (latest.version if latest else 0) + 1
        session.add(ProcessDefinition(kind=kind, key=key, version=version, name=name[:300],
                                      source_sha256=sha, meta=meta, deployed_at=clock.now(),
                                      deployed_by=actor.username))
        session.flush()
        result.append(Deployed(kind, key, version, changed=True))
    return result


def decision_names(root: etree._Element) -> dict[str, str]:
    """DMN decision id -> its ``name`` (what process owners call the table)."""
    namespace = etree.QName(root).namespace
    return {str(d.get("id")): " ".join(str(d.get("name")).split()) for d in root.iter(f"{{{namespace}}}decision")
            if d.get("id") and (d.get("name") or "").strip()}


def display_name(session: Session, definition: ProcessDefinition) -> str:
    """The name to list a definition under. Decisions deployed before names were stored carry
    their id as name: those are read from the DMN source."""
    if definition.kind != "decision" or definition.name != definition.key:
        return definition.name or definition.key
    try:
        root = parse_model_xml(definition_source(session, definition).content)
    except UnsafeXmlError:
        return definition.name
    return decision_names(root).get(definition.key, definition.name)



@dataclass(frozen=True)
class DefinitionView:
    """A deployed version of a process or decision, as listed to users and integrators."""

    id: int
    process_id: str
    kind: str
    version: int
    name: str
    deployed_at: datetime
    deployed_by: str | None
    sha256: str
    retired: bool
    retired_at: datetime | None


def _view(session: Session, d: ProcessDefinition) -> DefinitionView:
    return DefinitionView(d.id, d.key, d.kind, d.version, display_name(session, d), d.deployed_at, d.deployed_by,
                          d.source_sha256, d.retired_at is not None, d.retired_at)


def list_definitions(uow: UnitOfWork) -> list[DefinitionView]:
    """The newest version of every deployed process and decision (withdrawn ones say so)."""
    latest = (select(ProcessDefinition.kind, ProcessDefinition.key,
                     func.max(ProcessDefinition.version).label("version"))
              .group_by(ProcessDefinition.kind, ProcessDefinition.key).subquery())
    rows = uow.session.scalars(select(ProcessDefinition).join(
        latest, (ProcessDefinition.kind == latest.c.kind) & (ProcessDefinition.key == latest.c.key)
        & (ProcessDefinition.version == latest.c.version)).order_by(ProcessDefinition.key))
    return [_view(uow.session, d) for d in rows]


def definition_versions(uow: UnitOfWork, key: str) -> list[DefinitionView]:
    rows = list(uow.session.scalars(select(ProcessDefinition).where(ProcessDefinition.key == key[:200])
                                    .order_by(ProcessDefinition.version.desc())))
    if not rows:
        raise NotFound(f"no deployed process or decision '{key[:200]}'")
    return [_view(uow.session, d) for d in rows]
