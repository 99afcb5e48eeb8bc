"""One test per thing the engine does to SpiffWorkflow behind its API (engine.bpmn.spiff_compat).

If a new SpiffWorkflow version moves one of these internals, these tests fail by name - and
``spiff_compat.verify`` refuses to start the engine - instead of a case failing months later.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import SpiffWorkflow.task as spiff_task_module
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine import clock
from engine.bpmn import spiff_compat
from engine.bpmn.decision_tables import compile_decision, evaluate_table
from engine.bpmn.dmn import KimDMNEngine
from engine.bpmn.script_engine import KimScriptEngine
from engine.bpmn.timers import ClockedDuration, timer_definitions
from engine.calendar import WorkingDayCalendar
from tests.helpers import Driver, bundle_from
from tests.integration.test_decisions import OFFICE_RULES, dmn


def test_the_installed_spiffworkflow_offers_everything_the_engine_relies_on() -> None:
    spiff_compat.verify()


@pytest.mark.parametrize(("owner", "name"), [
    (Task, "_get_internal_data"), (Task, "_set_internal_data"), (Task, "_add_child"),
    (TaskSpec, "_predict"), (TaskSpec, "_update"), (DMNEngine, "needs_eq"), (DMNEngine, "evaluate")])
def test_a_missing_internal_is_refused_by_name(monkeypatch: pytest.MonkeyPatch, owner: type, name: str) -> None:
    monkeypatch.delattr(owner, name)
    with pytest.raises(spiff_compat.SpiffCompatibilityError, match=name):
        spiff_compat.verify()


def test_an_unsupported_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spiff_compat, "version", lambda _name: "4.0.0")
    with pytest.raises(spiff_compat.SpiffCompatibilityError, match=r"4\.0\.0"):
        spiff_compat.verify()


def test_the_clock_patch_stamps_state_changes_with_the_engine_clock() -> None:
    spiff_compat.install()
    assert spiff_task_module.time is spiff_compat.EngineTime
    moment = datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)
    clock.freeze(moment)
    try:
        driver = Driver(bundle_from("counselling_loop", "counselling_loop.bpmn"))
        (ready,) = driver.ready()
        workflow = driver.runtime.restore(driver.bundle, driver.state)
        assert workflow.get_task_from_id(ready.spiff_id).last_state_change == moment.timestamp()
    finally:
        clock.reset()


def test_timer_definitions_are_swapped_for_clocked_subclasses() -> None:
    bundle = bundle_from("timer_interrupting", "timers.bpmn")
    kinds = {type(definition) for _spec, definition in timer_definitions(bundle.spec)}
    assert kinds == {ClockedDuration}, "every duration timer runs on the engine clock"


def test_swap_class_refuses_a_replacement_that_is_not_a_subclass() -> None:
    with pytest.raises(spiff_compat.SpiffCompatibilityError):
        spiff_compat.swap_class(object(), DMNEngine, int)


def test_dmn_engines_are_swapped_and_join_cells_with_a_space() -> None:
    compiled = compile_decision(dmn("office_for_status", OFFICE_RULES), "office_for_status")
    assert type(compiled.engine) is KimDMNEngine
    engine = KimScriptEngine(WorkingDayCalendar())
    assert evaluate_table(compiled, {"status": "GESTATTUNG"}, engine) == [{"office": "SOZ"}]


def test_private_task_attributes_hold_the_tree_as_pruning_expects() -> None:
    driver = Driver(bundle_from("counselling_loop", "counselling_loop.bpmn"))
    workflow: Any = driver.runtime.restore(driver.bundle, driver.state)
    for task in workflow.get_tasks():
        parent = task.parent
        assert spiff_compat.parent_id(task) == (parent.id if parent is not None else None)
        assert spiff_compat.child_ids(task) == [child.id for child in task.children]
    (ready,) = workflow.get_tasks(state=TaskState.READY)
    spiff_compat.set_internal(ready, event_value="2031-01-01T00:00:00+00:00")
    assert spiff_compat.internal(ready, "event_value") == "2031-01-01T00:00:00+00:00"
    assert spiff_compat.internal(ready, "missing", "default") == "default"
