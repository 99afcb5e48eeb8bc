"""Small helpers shared by tests that drive the runtime without a database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.bpmn.loader import SpecBundle, build_bundle, inspect_file
from engine.bpmn.runtime import Runtime, StepResult
from engine.calendar import WorkingDayCalendar
from engine.domain.model import ModelSource

DATA = Path(__file__).parent / "data"
OFFICES = {"cm", "fw", "ki", "abh", "ebb", "soz", "jc", "aa", "ja", "sch"}


def resolve_office(name: str) -> str | None:
    return name.upper() if name.lower() in OFFICES else None


def bundle_from(process_id: str, *files: str) -> SpecBundle:
    inspected = [inspect_file(ModelSource(f, (DATA / f).read_bytes()), resolve_office) for f in files]
    return build_bundle(process_id, inspected)


class Driver:
    """Runs one workflow through the runtime, saving and restoring it after every step."""

    def __init__(self, bundle: SpecBundle, data: dict[str, Any] | None = None) -> None:
        self.runtime = Runtime(WorkingDayCalendar())
        self.bundle = bundle
        workflow, self.last = self.runtime.start(bundle, data or {})
        self.state = self.runtime.snapshot(workflow)

    def _cycle(self, step: Any) -> StepResult:
        workflow = self.runtime.restore(self.bundle, self.state)
        result: StepResult = step(workflow)
        self.state = self.runtime.snapshot(workflow)
        self.last = result
        return result

    def ready(self, bpmn_id: str | None = None) -> list[Any]:
        return [t for t in self.last.ready_human if bpmn_id is None or t.bpmn_id == bpmn_id]

    def complete(self, bpmn_id: str, **data: Any) -> StepResult:
        (task,) = self.ready(bpmn_id)
        return self._cycle(lambda wf: self.runtime.complete(wf, task.spiff_id, data))

    def fire_timers(self) -> StepResult:
        return self._cycle(self.runtime.fire_due_timers)
