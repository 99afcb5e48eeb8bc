"""Every walked step keeps our tables in line with the workflow (the completion writes only the
difference to what the workflow waited for; a drift would show here first)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.demo.walker import CaseWalker
from tests.invariants import assert_tables_match_the_workflow


@pytest.fixture(autouse=True)
def tables_follow_the_workflow(monkeypatch: pytest.MonkeyPatch) -> None:
    walk = CaseWalker.complete

    def complete_and_check(walker: CaseWalker, bpmn_id: str, **overrides: Any) -> Any:
        done = walk(walker, bpmn_id, **overrides)
        assert_tables_match_the_workflow(walker.ctx, walker.instance_id)
        return done

    monkeypatch.setattr(CaseWalker, "complete", complete_and_check)
