"""A screening on the deployed tables of ``processes/residence_paths``, once per database and module."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.bpmn.decision_tables import matched_rules
from engine.bpmn.script_engine import KimScriptEngine
from engine.domain.actors import SYSTEM
from engine.domain.residence_results import PathResult, PersonScreening, ScreeningResult
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from engine.services.screening.household import evaluate_screening
from engine.services.screening.tables import load
from engine.services.wiring import create_context
from tests.conftest import fresh_database
from tests.processes.test_residence_paths import BASE

TABLES = Path(__file__).resolve().parents[2] / "processes" / "residence_paths"


@dataclass(frozen=True)
class Screener:
    """Screens BASE changed by keyword arguments, or a household; evaluates one table directly."""

    ctx: EngineContext

    def person(self, **changes: Any) -> ScreeningResult:
        return evaluate_screening(self.ctx, {**BASE, **changes})

    def household(self, main: Mapping[str, Any], members: Sequence[Mapping[str, Any]]) -> ScreeningResult:
        return evaluate_screening(self.ctx, main, members)

    def rules(self, decision_id: str, inputs: Mapping[str, Any]) -> list[str]:
        """Ids of the matched rules of one table (the first only, for a FIRST table)."""
        decision = load(self.ctx, [decision_id])[decision_id]
        return [m.rule_id for m in matched_rules(decision, dict(inputs), KimScriptEngine(self.ctx.calendar))]


@pytest.fixture(scope="module")
def screener(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Screener]:
    tmp = tmp_path_factory.mktemp("screening")
    context = create_context({"KIM_DATABASE_URL": fresh_database(database_url, tmp), "KIM_INSTANCE_PATH": str(tmp)})
    context.run(deployment.deploy, deployment.read_model_paths([TABLES]), SYSTEM)
    yield Screener(context)
    context.db.dispose()


def row(person: PersonScreening | ScreeningResult, path: str, derived_from: str | None = None) -> PathResult:
    """The person's row for ``path`` (own row, or the one derived from ``derived_from``)."""
    rows = person.main.rows if isinstance(person, ScreeningResult) else person.rows
    found = [r for r in rows if r.path == path and r.derived_from == derived_from]
    assert len(found) == 1, f"expected one row {path} from {derived_from}, got {found}"
    return found[0]


def statuses(person: PersonScreening | ScreeningResult) -> dict[str, str]:
    """Own rows only: path -> status."""
    rows = person.main.rows if isinstance(person, ScreeningResult) else person.rows
    return {r.path: r.status.value for r in rows if r.derived_from is None}
