"""SpiffWorkflow's script engine, with every expression and script run in our sandbox.

SpiffWorkflow calls ``environment.evaluate``/``execute`` for gateway conditions, timer
expressions, script tasks, pre/post scripts and DMN cells. Routing all of them through
:mod:`engine.bpmn.sandbox` is what makes an uploaded model safe to run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.bpmn.sandbox import Sandbox, default_sandbox


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):  # type: ignore[misc]  # untyped base
    """Evaluates with RestrictedPython, bounded in time and memory."""

    def __init__(self, sandbox: Sandbox | None = None) -> None:
        super().__init__({})
        self._sandbox = sandbox

    @property
    def sandbox(self) -> Sandbox:
        return self._sandbox or default_sandbox()

    def evaluate(self, expression: str, context: Mapping[str, Any],
                 external_context: Mapping[str, Any] | None = None) -> Any:
        names = dict(external_context or {})
        names.update(context)
        return self.sandbox.evaluate(expression, names)

    def execute(self, script: str, context: dict[str, Any],
                external_context: Mapping[str, Any] | None = None) -> bool:
        external = dict(external_context or {})
        names = dict(external)
        names.update(context)
        self.sandbox.execute(script, names)
        context.clear()
        context.update({k: v for k, v in names.items() if k not in external})
        return True

    def call_service(self, context: Mapping[str, Any], **kwargs: Any) -> Any:
        raise NotImplementedError("service tasks are not supported: model the call as a user task")


class KimScriptEngine(PythonScriptEngine):  # type: ignore[misc]  # untyped base
    """The script engine every workflow runs with; it also carries the working-day calendar
    that timers need (SpiffWorkflow gives timer code no other handle on configuration)."""

    def __init__(self, calendar: Any, sandbox: Sandbox | None = None) -> None:
        super().__init__(environment=RestrictedEnvironment(sandbox))
        self.calendar = calendar
