"""Save and restore the live part of a workflow, with a format version of our own.

SpiffWorkflow's serializer writes the whole process spec into every snapshot; our specs live
in the ``process_definition`` table and in :data:`engine.bpmn.loader.BUNDLES`, so a snapshot
holds only tasks, data and subprocesses. The envelope carries :data:`STATE_FORMAT`; a loader
for every older format stays here so that cases started years ago keep running.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SPIFF_STATE_VERSION
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.bpmn.loader import SpecBundle

STATE_FORMAT = 1


class StateFormatError(ValueError):
    """The stored state was written by an unknown (newer) release or is damaged."""


class _LiveStateConverter(BpmnWorkflowConverter):  # type: ignore[misc]  # untyped base
    """Like Spiff's converter, without the specs (they are restored from the bundle)."""

    def to_dict(self, workflow: Any) -> dict[str, Any]:
        dct: dict[str, Any] = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], bundle: SpecBundle | None = None, **kwargs: Any) -> Any:
        if bundle is None:
            raise StateFormatError("a process bundle is needed to restore a workflow")
        workflow = self.target_class(bundle.spec, bundle.subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _registry() -> Any:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = _LiveStateConverter
    return BpmnWorkflowSerializer.configure(config)


_REGISTRY = _registry()


def dump_state(workflow: Any) -> str:
    """JSON text of the live workflow state inside our versioned envelope."""
    body = _REGISTRY.convert(workflow)
    envelope = {"format": STATE_FORMAT, "spiff": SPIFF_STATE_VERSION, "workflow": body}
    return json.dumps(envelope, separators=(",", ":"), default=_json_default)


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, set | tuple):
        return list(value)
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"cannot store a value of type {type(value).__name__} in process data")


def load_state(text: str, bundle: SpecBundle, script_engine: Any) -> Any:
    """Restore a workflow saved by :func:`dump_state` (any format this release knows)."""
    try:
        envelope = json.loads(text)
    except ValueError as exc:
        raise StateFormatError(f"stored workflow state is not valid JSON: {exc}") from exc
    version = envelope.get("format") if isinstance(envelope, dict) else None
    if version != STATE_FORMAT:
        raise StateFormatError(f"stored workflow state has format {version!r}; this release reads "
                               f"format {STATE_FORMAT}")
    workflow = _REGISTRY.restore(envelope["workflow"], bundle=bundle)
    workflow.script_engine = script_engine
    return workflow
