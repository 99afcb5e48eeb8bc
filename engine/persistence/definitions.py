"""Deployed process and decision versions: the queries every room asks of them.

A definition row names its source by content hash; the source rows hold the exact bytes that
were deployed. Nothing here parses or compiles a model (that is :mod:`engine.bpmn`).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.domain.model import ModelSource, ProcessMeta
from engine.persistence.models import ModelSourceRow, ProcessDefinition


def latest_definition(session: Session, kind: str, key: str) -> ProcessDefinition | None:
    return session.scalar(select(ProcessDefinition).where(ProcessDefinition.kind == kind,
                                                          ProcessDefinition.key == key)
                          .order_by(ProcessDefinition.version.desc()).limit(1))


def definition_source(session: Session, definition: ProcessDefinition) -> ModelSource:
    row = session.get(ModelSourceRow, definition.source_sha256)
    assert row is not None  # noqa: S101  # foreign key guarantees it
    return ModelSource(row.filename, row.content)


def process_meta_of(definition: ProcessDefinition) -> ProcessMeta:
    return ProcessMeta.from_json(definition.meta["process"])


def calls_of(meta: ProcessMeta) -> list[tuple[str, str]]:
    return [("process", c) for c in meta.called_processes] + [("decision", d) for d in meta.called_decisions]


def resolve_dependencies(session: Session, wanted: list[tuple[str, str]],
                         provided: set[str]) -> dict[str, ProcessDefinition]:
    """Latest deployed definitions for everything called (transitively), keyed "kind:key"."""
    found: dict[str, ProcessDefinition] = {}
    while wanted:
        kind, key = wanted.pop()
        if key in provided or f"{kind}:{key}" in found:
            continue
        definition = latest_definition(session, kind, key)
        if definition is None:
            continue  # SpiffWorkflow's parser reports the missing reference with the element id
        found[f"{kind}:{key}"] = definition
        if kind == "process":
            wanted += calls_of(process_meta_of(definition))
    return found


def spec_key_of(definitions: list[ProcessDefinition]) -> str:
    """What an instance runs, by content: kind, key and source hash of every definition."""
    return "|".join(f"{d.kind}:{d.key}:{d.source_sha256}" for d in definitions)


def count_definitions(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(ProcessDefinition)) or 0)
