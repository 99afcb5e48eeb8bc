"""Service tasks call engine services (trusted code), never code of the model's own."""

from __future__ import annotations

from typing import Any

import pytest

from engine.bpmn.runtime import Runtime
from engine.calendar import WorkingDayCalendar
from engine.domain.errors import ModelInvalid
from tests.helpers import Driver, bundle_from


def _driver(service: Any, data: dict[str, Any]) -> Driver:
    driver = Driver.__new__(Driver)
    driver.runtime = Runtime(WorkingDayCalendar(), services={"residence_paths": service})
    driver.bundle = bundle_from("screening_call", "screening_call.bpmn")
    workflow, driver.last = driver.runtime.start(driver.bundle, data)
    driver.state = driver.runtime.snapshot(workflow)
    return driver


def test_service_result_lands_in_the_process_data() -> None:
    seen: list[dict[str, Any]] = []

    def screening(params: dict[str, Any]) -> dict[str, Any]:
        seen.append(params)
        return {"outputs": [{"path": "25a", "status": "ELIGIBLE"}], "recommended": "25a"}

    driver = _driver(screening, {"status": "DULDUNG"})
    assert seen == [{"inputs": {"status": "DULDUNG", "eval_date": "2026-11-20"}}]
    (task,) = driver.ready("after")
    assert task.data["screening"]["recommended"] == "25a"


def test_a_failing_service_becomes_an_incident() -> None:
    def broken(_params: dict[str, Any]) -> Any:
        raise ValueError("no residence_paths decision deployed")

    driver = _driver(broken, {"status": "DULDUNG"})
    assert driver.last.incident is not None
    assert driver.last.incident.element_id == "screen"
    assert "no residence_paths decision deployed" in driver.last.incident.message


def test_unknown_service_is_refused_at_deploy_time() -> None:
    with pytest.raises(ModelInvalid) as refused:
        bundle_from("bad_service", "bad_service.bpmn")
    assert "element 'screen'" in str(refused.value)
    assert "send_mail" in str(refused.value)


def test_dmn_cells_with_operators_run_as_process_owners_write_them() -> None:
    from engine.bpmn.dmn import cell_expression

    assert cell_expression("status", 'not in ("A", "B")') == 'status not in ("A", "B")'
    assert cell_expression("age", "< 27") == "age < 27"
    assert cell_expression("status", '"DULDUNG"') == '(status) == ("DULDUNG")'
    assert cell_expression("age", "14 <= ? < 27") == "14 <= dmninputexpr < 27"
