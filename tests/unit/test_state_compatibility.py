"""Cases live for years: state saved by an earlier release must keep loading and advancing."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from engine import clock
from engine.bpmn.state import STATE_FORMAT, StateFormatError
from tests.helpers import DATA, Driver, bundle_from

FIXTURE = DATA / "state_fixtures" / "counselling_loop.format1.json"


def _driver_from_fixture() -> Driver:
    saved = json.loads(FIXTURE.read_text(encoding="utf-8"))
    bundle = bundle_from(saved["process_id"], f"state_fixtures/{saved['model']}")
    driver = Driver(bundle)
    driver.state = saved["state"]
    driver.last = driver.fire_timers()  # restore + one engine pass, nothing is due yet
    return driver


def test_stored_state_carries_a_format_version() -> None:
    envelope = json.loads(json.loads(FIXTURE.read_text(encoding="utf-8"))["state"])
    assert envelope["format"] == 1
    assert STATE_FORMAT >= 1


def test_saved_instance_with_loop_and_pending_timer_keeps_advancing(frozen_clock: object) -> None:
    driver = _driver_from_fixture()
    (timer,) = driver.last.timers
    assert timer.fire_at == datetime.fromisoformat("2026-12-04T09:00:00+01:00")
    assert [t.bpmn_id for t in driver.ready()] == ["session"]
    assert driver.ready()[0].data["sitzung"] == 2

    clock.freeze(datetime.fromisoformat("2026-12-04T09:00:01+01:00"))
    fired = driver.fire_timers()
    assert fired.timers == [], "the non-interrupting reminder fired once"
    assert [t.bpmn_id for t in fired.ready_human] == ["session"], "the session task is still open"

    driver.complete("session", weitere_sitzung=True, sitzung=3)
    result = driver.complete("session", weitere_sitzung=False, sitzung=4)
    assert result.completed
    assert result.data["sitzung"] == 4
    assert result.data["notiz"] == "Sitzung 2: Perspektiven besprochen"


def test_state_of_an_unknown_future_format_is_refused() -> None:
    saved = json.loads(FIXTURE.read_text(encoding="utf-8"))
    envelope = json.loads(saved["state"])
    envelope["format"] = 99
    driver = _driver_from_fixture()
    with pytest.raises(StateFormatError, match="format 99"):
        driver.runtime.restore(driver.bundle, json.dumps(envelope))
