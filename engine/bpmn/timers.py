"""BPMN timers that run on the engine clock and understand working days.

SpiffWorkflow's timer event definitions read ``datetime.now`` themselves and only accept a
Python expression. We swap in subclasses (after parsing, see :func:`install_clocked_timers`;
the swap and the internals they use are in :mod:`engine.bpmn.spiff_compat`) that

* read time from :mod:`engine.clock`, so tests and the scheduler can move time;
* accept a plain ISO 8601 value as Camunda writes it (``P14D``), a quoted expression as
  SpiffWorkflow writes it (``"P14D"``) and working days (``10WD``);
* record the moment they fire in ``internal_data['event_value']``, from which the runtime
  writes a row into our ``timer`` table. The scheduler fires that row; nothing polls Spiff.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.util.task import TaskState

from engine import clock
from engine.bpmn import spiff_compat
from engine.domain.durations import (
    Cycle,
    DurationError,
    is_literal_timer_value,
    next_cycle_fire_at,
    parse_timer_value,
    timer_fire_at,
)
from engine.domain.model import ValidationProblem


def _calendar(my_task: Any) -> Any:
    return my_task.workflow.top_workflow.script_engine.calendar


def _timer_value(my_task: Any, expression: str) -> Any:
    """Literal values are parsed directly; anything else is a restricted expression."""
    calendar = _calendar(my_task)
    if is_literal_timer_value(expression):
        return parse_timer_value(expression, calendar.tz)
    result = my_task.workflow.script_engine.evaluate(my_task, expression)
    if isinstance(result, datetime):
        return result
    return parse_timer_value(str(result), calendar.tz)


def _fired(my_task: Any, fire_at_iso: str) -> bool:
    if datetime.fromisoformat(fire_at_iso) <= clock.now():
        spiff_compat.set_internal(my_task, event_fired=True)
    return bool(spiff_compat.internal(my_task, "event_fired", False))


class ClockedTimeDate(TimeDateEventDefinition):  # type: ignore[misc]  # untyped base
    """A timer at a fixed date and time."""

    def has_fired(self, my_task: Any) -> bool:
        event_value = spiff_compat.internal(my_task, "event_value")
        if event_value is None:
            value = _timer_value(my_task, self.expression)
            if not isinstance(value, datetime):
                value = timer_fire_at(clock.now(), value, _calendar(my_task))
            event_value = value.isoformat()
            spiff_compat.set_internal(my_task, event_value=event_value)
        return _fired(my_task, event_value)


class ClockedDuration(DurationTimerEventDefinition):  # type: ignore[misc]  # untyped base
    """A timer that fires a duration (calendar time or working days) after it starts waiting."""

    def has_fired(self, my_task: Any) -> bool:
        event_value = spiff_compat.internal(my_task, "event_value")
        if event_value is None:
            value = _timer_value(my_task, self.expression)
            fire_at = value if isinstance(value, datetime) else timer_fire_at(clock.now(), value, _calendar(my_task))
            event_value = fire_at.isoformat()
            spiff_compat.set_internal(my_task, event_value=event_value)
        return _fired(my_task, event_value)


class ClockedCycle(CycleTimerEventDefinition):  # type: ignore[misc]  # untyped base
    """A repeating timer (``R/P28D``, ``R3/PT1H``, ``R/10WD``)."""

    def _cycle(self, my_task: Any) -> Cycle:
        value = _timer_value(my_task, self.expression)
        if not isinstance(value, Cycle):
            raise DurationError(self.expression, "not a repeating timer (expected e.g. R/P28D)")
        return value

    def cycle_complete(self, my_task: Any) -> bool:
        state = spiff_compat.internal(my_task, "event_value")
        calendar = _calendar(my_task)
        if state is None:
            first = next_cycle_fire_at(self._cycle(my_task), None, clock.now(), calendar, fired=0)
            state = {"fired": 0, "next": first.isoformat() if first else None}
        ready = False
        if state["next"] is not None and datetime.fromisoformat(state["next"]) <= clock.now():
            previous = datetime.fromisoformat(state["next"])
            state["fired"] += 1
            following = next_cycle_fire_at(self._cycle(my_task), previous, clock.now(), calendar,
                                           fired=state["fired"])
            state["next"] = following.isoformat() if following else None
            ready = True
        if state["next"] is None:
            my_task.internal_data["event_fired"] = True
        spiff_compat.set_internal(my_task, event_value=state)
        return ready

    def update_task(self, my_task: Any) -> None:
        if self.cycle_complete(my_task):
            for output in my_task.task_spec.outputs:
                child = spiff_compat.add_child(my_task, output, TaskState.FUTURE)
                spiff_compat.predict(child, TaskState.NOT_FINISHED_MASK)
                spiff_compat.update(child)


_SWAP = {
    TimeDateEventDefinition: ClockedTimeDate,
    DurationTimerEventDefinition: ClockedDuration,
    CycleTimerEventDefinition: ClockedCycle,
}


def timer_definitions(spec: Any) -> list[tuple[Any, Any]]:
    """(task spec, timer definition) pairs of a process spec."""
    found = []
    for task_spec in spec.task_specs.values():
        definition = getattr(task_spec, "event_definition", None)
        if isinstance(definition, TimerEventDefinition):
            found.append((task_spec, definition))
    return found


def install_clocked_timers(spec: Any) -> list[ValidationProblem]:
    """Replace Spiff's timer classes in a parsed spec (also inside combined definitions,
    which is how SpiffWorkflow represents an event-based gateway)."""
    for task_spec in spec.task_specs.values():
        definition = getattr(task_spec, "event_definition", None)
        nested = definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]
        for item in nested:
            replacement = _SWAP.get(type(item)) if item is not None else None
            if replacement is not None:
                spiff_compat.swap_class(item, type(item), replacement)
    return []


def check_timer_expression(expression: str, cycle: bool) -> str | None:
    """Deploy-time check of a literal timer value; returns a reason or None.

    Non-literal values are Python expressions and are checked by the sandbox instead.
    """
    if not is_literal_timer_value(expression):
        return None
    try:
        value = parse_timer_value(expression, clock.BERLIN)
    except DurationError as exc:
        return str(exc)
    if cycle and not isinstance(value, Cycle):
        return f"'{expression}' is not a repeating timer value (expected e.g. R/P28D)"
    if not cycle and isinstance(value, Cycle):
        return f"'{expression}' is a repeating value; use a timeCycle for it"
    return None
