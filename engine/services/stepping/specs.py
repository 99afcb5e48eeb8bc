"""Compiled specs of a running instance, cached by the content it runs.

Parsing BPMN costs far more than a step, so the compiled bundle and the routing metadata of
every definition an instance uses are kept per process. The key is the instance's
``spec_key`` (content hashes), never row ids: ids can be reused (a restored backup, a fresh
test database), content hashes cannot.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from engine.bpmn.loader import BUNDLES, SpecBundle
from engine.caching import LruCache
from engine.domain.model import ProcessMeta
from engine.persistence.definitions import definition_source, process_meta_of
from engine.persistence.models import ProcessDefinition
from engine.persistence.store import InstanceRecord


@dataclass(frozen=True)
class InstanceSpec:
    bundle: SpecBundle
    metas: dict[str, ProcessMeta]


_SPECS: LruCache[str, InstanceSpec] = LruCache(256)


def instance_spec(session: Session, instance: InstanceRecord) -> InstanceSpec:
    """Compiled specs and routing metadata of an instance (one query per definition on a miss)."""
    cached = _SPECS.get(instance.spec_key)
    if cached is not None:
        return cached
    ids = [instance.definition_id, *sorted(int(v) for v in instance.dependency_ids.values())]
    definitions = [d for d in (session.get(ProcessDefinition, i) for i in ids) if d is not None]
    sources = list({d.source_sha256: definition_source(session, d) for d in definitions}.values())
    spec = InstanceSpec(BUNDLES.get(definitions[0].key, sources),
                        {d.key: process_meta_of(d) for d in definitions if d.kind == "process"})
    return _SPECS.put(instance.spec_key, spec)
