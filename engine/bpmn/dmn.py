"""DMN cells as process owners write them.

SpiffWorkflow turns a cell that is not a plain value into ``input + cell`` without a space,
so ``not in ("A", "B")`` becomes ``statusnot in (...)`` and fails only when a case reaches
it. Our engine joins them with a space; the deploy-time check compiles exactly what runs.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine

from engine.bpmn import spiff_compat

_QUESTION_MARK = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")


class KimDMNEngine(DMNEngine):  # type: ignore[misc]  # untyped base
    def evaluate(self, input_expr: str, match_expr: str, task: Any) -> Any:
        if match_expr is None:
            return True
        script_engine = task.workflow.script_engine
        if _QUESTION_MARK.search(match_expr):
            return super().evaluate(input_expr, match_expr, task)
        script_engine.validate(input_expr)
        if self.needs_eq(script_engine, match_expr):
            return script_engine.evaluate(task, f"({input_expr}) == ({match_expr})")
        return script_engine.evaluate(task, f"{input_expr} {match_expr}")


def use_kim_dmn_engine(engine: Any) -> Any:
    """Switch a parsed DMNEngine to ours (same data, our evaluate)."""
    return spiff_compat.swap_class(engine, DMNEngine, KimDMNEngine)


def cell_expression(input_expr: str, match_expr: str) -> str:
    """The Python expression a cell becomes at run time (for the deploy-time check)."""
    if _QUESTION_MARK.search(match_expr):
        return _QUESTION_MARK.sub("dmninputexpr", match_expr)
    try:
        ast.parse(match_expr, mode="eval")
    except SyntaxError:
        return f"{input_expr} {match_expr}"
    return f"({input_expr}) == ({match_expr})"
