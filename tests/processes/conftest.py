"""Every walked step keeps our tables in line with the workflow (the completion writes only the
difference to what the workflow waited for; a drift would show here first)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine.demo.samples import PROCESSES_DIR
from engine.demo.walker import CaseWalker, office_actors
from engine.domain.actors import SYSTEM, Actor
from engine.services.casework import cases
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from tests.invariants import assert_tables_match_the_workflow
from tests.processes.test_kim_pathway import PERSON, REFERRAL


@pytest.fixture(autouse=True)
def tables_follow_the_workflow(monkeypatch: pytest.MonkeyPatch) -> None:
    walk = CaseWalker.complete

    def complete_and_check(walker: CaseWalker, bpmn_id: str, **overrides: Any) -> Any:
        done = walk(walker, bpmn_id, **overrides)
        assert_tables_match_the_workflow(walker.ctx, walker.instance_id)
        return done

    monkeypatch.setattr(CaseWalker, "complete", complete_and_check)


@pytest.fixture
def actors(ctx: EngineContext) -> dict[str, Actor]:
    """The shipped models deployed and one caseworker per office."""
    ctx.run(deployment.deploy, deployment.read_model_paths([PROCESSES_DIR]), SYSTEM)
    return office_actors(ctx)


@pytest.fixture
def open_case(ctx: EngineContext, actors: dict[str, Actor], frozen_clock: object) -> Callable[..., CaseWalker]:
    """Opens a pathway case for the sample person (fields overridden by keyword) and walks it."""
    def _open(**person: Any) -> CaseWalker:
        case = ctx.run(cases.open_case, actors["CM"], {"person": {**PERSON, **person}, "referral": REFERRAL})
        return CaseWalker.for_case(ctx, actors, case.id)

    return _open
