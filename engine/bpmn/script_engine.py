"""SpiffWorkflow's script engine, with every expression and script run in our sandbox.

SpiffWorkflow calls ``environment.evaluate``/``execute`` for gateway conditions, timer
expressions, script tasks, pre/post scripts and DMN cells. Routing all of them through
:mod:`engine.bpmn.sandbox` is what makes an uploaded model safe to run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
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


EngineService = Callable[[dict[str, Any]], Any]


class KimScriptEngine(PythonScriptEngine):  # type: ignore[misc]  # untyped base
    """The script engine every workflow runs with. It carries the working-day calendar that
    timers need (SpiffWorkflow gives timer code no other handle on configuration) and the
    engine services that service tasks may call (trusted code of ours, e.g. the
    residence-path screening), so that models never need code outside the sandbox."""

    def __init__(self, calendar: Any, sandbox: Sandbox | None = None,
                 services: Mapping[str, EngineService] | None = None) -> None:
        super().__init__(environment=RestrictedEnvironment(sandbox))
        self.calendar = calendar
        self.services = dict(services or {})

    def call_service(self, task: Any, operation_name: str = "", operation_params: Any = None,
                     **_kwargs: Any) -> str:
        service = self.services.get(operation_name)
        if service is None:
            raise WorkflowTaskException(f"no engine service '{operation_name}'", task=task)
        params = {name: spec.get("value") for name, spec in (operation_params or {}).items()}
        try:
            result = service(params)
        except Exception as exc:  # any failure of the service becomes an incident on the instance
            raise WorkflowTaskException(f"service '{operation_name}' failed: {exc}", task=task,
                                        exception=exc) from exc
        return json.dumps(result, default=str)
