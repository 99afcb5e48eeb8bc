"""The newest deployed version of decision tables, compiled once per content and shared.

Decision tables are deployed like processes (``process_definition`` rows of kind "decision").
Parsing and checking a table costs far more than evaluating it, so compiled tables are cached
per (content hash, decision id); a new version has a new hash and is compiled on first use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn.decision_tables import CompiledDecision, compile_decision
from engine.caching import LruCache
from engine.domain.errors import NotFound
from engine.domain.model import ModelSource
from engine.persistence.models import ModelSourceRow, ProcessDefinition
from engine.services.context import EngineContext

DECISIONS: LruCache[tuple[str, str], CompiledDecision] = LruCache(128)
"""Compiled tables per (content hash, decision id)."""


@dataclass(frozen=True)
class Loaded:
    """Compiled tables by decision id, and the version of each that answers."""

    decisions: dict[str, CompiledDecision]
    versions: dict[str, int]

    def __getitem__(self, decision_id: str) -> CompiledDecision:
        return self.decisions[decision_id]


def load(ctx: EngineContext, decision_ids: Sequence[str]) -> Loaded:
    """Newest deployed version of each decision, compiled: two queries, plus one per uncached file.

    Raises NotFound naming every decision that is not deployed.
    """
    with ctx.uow(write=False) as uow:
        latest = _latest_versions(uow.session, decision_ids)
        absent = [d for d in decision_ids if d not in latest]
        if absent:
            raise NotFound(f"no deployed decision {', '.join(repr(d[:200]) for d in absent)}")
        decisions: dict[str, CompiledDecision] = {}
        for key, (_version, sha) in latest.items():
            compiled = DECISIONS.get((sha, key))
            if compiled is None:
                compiled = DECISIONS.put((sha, key), compile_decision(_source(uow.session, sha), key))
            decisions[key] = compiled
    return Loaded(decisions, {key: version for key, (version, _sha) in latest.items()})


def _latest_versions(session: Session, decision_ids: Sequence[str]) -> dict[str, tuple[int, str]]:
    rows = session.execute(select(ProcessDefinition.key, ProcessDefinition.version, ProcessDefinition.source_sha256)
                           .where(ProcessDefinition.kind == "decision",
                                  ProcessDefinition.key.in_([d[:200] for d in decision_ids])))
    latest: dict[str, tuple[int, str]] = {}
    for key, version, sha in rows:
        if key not in latest or version > latest[key][0]:
            latest[key] = (version, sha)
    return latest


def _source(session: Session, sha: str) -> ModelSource:
    row = session.get(ModelSourceRow, sha)
    if row is None:  # the foreign key makes this impossible short of manual tampering
        raise NotFound(f"the model source {sha} is missing")
    return ModelSource(row.filename, row.content)
