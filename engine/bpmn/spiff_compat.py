"""Everything the engine does to SpiffWorkflow behind its public API, in one place.

SpiffWorkflow is pinned (3.2.x) but still a dependency that moves. The engine relies on a few
of its internals; each is named here, checked by :func:`verify` (and by a test per patch in
tests/unit/test_spiff_compat.py), so a new SpiffWorkflow version that changes one of them fails
loudly at start-up and in CI instead of silently corrupting a case:

* **the clock**: SpiffWorkflow's task module stamps state changes with ``time.time()``;
  :func:`install` swaps that module's ``time`` for the engine clock (our step history and the
  scheduler's simulations rely on it);
* **class swaps**: parsed timer event definitions and DMN engines get our subclasses
  (:func:`swap_class`), which read the engine clock, understand working days and join DMN
  cells with a space;
* **private task attributes**: pruning and migration re-root the task tree through
  ``Task._parent`` / ``Task._children``; timers keep their fire moment in ``internal_data``
  through ``_get_internal_data`` / ``_set_internal_data``; cycle timers add children with
  ``_add_child`` and re-predict with ``TaskSpec._predict`` / ``_update``.
"""

from __future__ import annotations

import threading
from importlib.metadata import version
from typing import Any

import SpiffWorkflow.task as spiff_task_module
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task

from engine import clock

SUPPORTED = ("3.2.",)
TASK_INTERNALS = ("_parent", "_children")
TASK_METHODS = ("_get_internal_data", "_set_internal_data", "_add_child")
SPEC_METHODS = ("_predict", "_update")
DMN_METHODS = ("evaluate", "needs_eq")

_installed = False
_lock = threading.Lock()


class SpiffCompatibilityError(RuntimeError):
    """SpiffWorkflow no longer offers something the engine relies on."""


class EngineTime:
    """Stands in for the ``time`` module inside SpiffWorkflow's task module, so that the
    state-change timestamps it records (our step history) follow the engine clock."""

    @staticmethod
    def time() -> float:
        return clock.now().timestamp()


def verify() -> None:
    """Raise SpiffCompatibilityError naming what is missing; nothing is patched here."""
    found = version("SpiffWorkflow")
    if not found.startswith(SUPPORTED):
        raise SpiffCompatibilityError(f"SpiffWorkflow {found} is not a supported version ({', '.join(SUPPORTED)}x)")
    if not hasattr(spiff_task_module, "time"):
        raise SpiffCompatibilityError("SpiffWorkflow.task no longer imports 'time' (the clock swap needs it)")
    for name in TASK_METHODS:
        _require(Task, name)
    for name in SPEC_METHODS:
        _require(TaskSpec, name)
    for name in DMN_METHODS:
        _require(DMNEngine, name)
    slots = set(getattr(Task, "__slots__", ())) | set(Task.__init__.__code__.co_names)
    for name in TASK_INTERNALS:
        if name not in slots:
            raise SpiffCompatibilityError(f"SpiffWorkflow's Task no longer keeps '{name}' (pruning needs it)")


def _require(cls: type, name: str) -> None:
    if not callable(getattr(cls, name, None)):
        raise SpiffCompatibilityError(f"SpiffWorkflow's {cls.__name__} no longer has '{name}'")


def install() -> None:
    """Verify and apply the module-level patch (the clock). Idempotent; thread-safe."""
    global _installed
    with _lock:
        if _installed:
            return
        verify()
        spiff_task_module.time = EngineTime
        _installed = True


def swap_class(obj: Any, base: type, replacement: type) -> Any:
    """Give a parsed SpiffWorkflow object our subclass of its exact class (same data)."""
    if not issubclass(replacement, base):
        raise SpiffCompatibilityError(f"{replacement.__name__} must subclass {base.__name__}")
    if type(obj) is base:
        obj.__class__ = replacement
    return obj


# --- private task attributes ------------------------------------------------------------------


def parent_id(task: Any) -> Any:
    return task._parent


def set_parent_id(task: Any, parent: Any) -> None:
    task._parent = parent


def child_ids(task: Any) -> list[Any]:
    children: list[Any] = task._children
    return children


def internal(task: Any, key: str, default: Any = None) -> Any:
    return task._get_internal_data(key, default)


def set_internal(task: Any, **values: Any) -> None:
    task._set_internal_data(**values)


def add_child(task: Any, spec: Any, state: Any) -> Any:
    return task._add_child(spec, state)


def predict(task: Any, mask: Any) -> None:
    task.task_spec._predict(task, mask=mask)


def update(task: Any) -> None:
    task.task_spec._update(task)
