"""Evaluating deployed DMN decisions: plain tables, unknown decisions, bad inputs, unsafe cells."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import func, select

from engine.bpmn.decision_tables import compile_decision
from engine.domain.actors import SYSTEM
from engine.domain.errors import InvalidInput, ModelInvalid, NotFound
from engine.domain.model import ModelSource
from engine.persistence.models import ProcessDefinition
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from engine.services.screening.decisions import evaluate_decision
from tests.processes.test_residence_paths import BASE

ESCAPE = "().__class__"


def dmn(decision_id: str, rules: list[tuple[str, str]], hit_policy: str = "FIRST") -> ModelSource:
    """A one-column table ``status`` -> ``office`` as a DMN 1.3 file."""
    body = "".join(
        f'<rule id="r{n}"><inputEntry id="i{n}"><text>{escape(cell)}</text></inputEntry>'
        f'<outputEntry id="o{n}"><text>{escape(out)}</text></outputEntry></rule>'
        for n, (cell, out) in enumerate(rules, start=1))
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs" name="Test" '
        'namespace="https://kim-casework.example/test">'
        f'<decision id="{decision_id}" name="Zuständiges Amt">'
        f'<decisionTable id="table" hitPolicy="{hit_policy}">'
        '<input id="in_status" label="Status"><inputExpression id="ie" typeRef="string"><text>status</text>'
        '</inputExpression></input><output id="out_office" label="Amt" name="office" typeRef="string"/>'
        f"{body}</decisionTable></decision></definitions>")
    return ModelSource(f"{decision_id}.dmn", xml.encode())


OFFICE_RULES = [('"AE_104C"', '"JC"'), ('? in ("DULDUNG", "GESTATTUNG")', '"SOZ"'), ("-", '"CM"')]

CALLER_BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs"
    targetNamespace="https://kim-casework.example/test">
  <bpmn:process id="uses_office_decision" name="Amt bestimmen" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide"/>
    <bpmn:businessRuleTask id="decide" name="Amt bestimmen">
      <bpmn:extensionElements>
        <spiffworkflow:calledDecisionId>office_for_status</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def _deploy(ctx: EngineContext, *sources: ModelSource) -> list[deployment.Deployed]:
    return ctx.run(deployment.deploy, list(sources), SYSTEM)


def _definitions(ctx: EngineContext) -> int:
    with ctx.uow(write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(ProcessDefinition)) or 0)


def test_a_plain_table_answers_with_the_first_matching_rule(ctx: EngineContext) -> None:
    _deploy(ctx, dmn("office_for_status", OFFICE_RULES))
    assert evaluate_decision(ctx, "office_for_status", {"status": "AE_104C"}).to_json() == {
        "outputs": [{"office": "JC"}], "versions": {"office_for_status": 1}}
    assert evaluate_decision(ctx, "office_for_status", {"status": "GESTATTUNG"}).outputs == [{"office": "SOZ"}]
    assert evaluate_decision(ctx, "office_for_status", {"status": "OTHER"}).outputs == [{"office": "CM"}]


def test_collect_gives_every_match_and_no_match_gives_none(ctx: EngineContext) -> None:
    _deploy(ctx, dmn("offices_to_inform", [('"DULDUNG"', '"ABH"'), ('? != "AE_104C"', '"SOZ"')], "COLLECT"))
    assert evaluate_decision(ctx, "offices_to_inform", {"status": "DULDUNG"}).outputs == [
        {"office": "ABH"}, {"office": "SOZ"}]
    assert evaluate_decision(ctx, "offices_to_inform", {"status": "AE_104C"}).outputs == []


def test_the_newest_version_answers(ctx: EngineContext) -> None:
    _deploy(ctx, dmn("office_for_status", OFFICE_RULES))
    assert evaluate_decision(ctx, "office_for_status", {"status": "AE_104C"}).outputs == [{"office": "JC"}]
    _deploy(ctx, dmn("office_for_status", [('"AE_104C"', '"ABH"'), ("-", '"CM"')]))
    result = evaluate_decision(ctx, "office_for_status", {"status": "AE_104C"})
    assert (result.outputs, result.versions) == ([{"office": "ABH"}], {"office_for_status": 2})


def test_unknown_decision_is_not_found(ctx: EngineContext) -> None:
    with pytest.raises(NotFound, match="no_such_table"):
        evaluate_decision(ctx, "no_such_table", {})
    _deploy(ctx, dmn("office_for_status", OFFICE_RULES))
    with pytest.raises(NotFound, match="residence_paths_25a"):
        evaluate_decision(ctx, "residence_paths", BASE)  # the screening needs its tables deployed


def test_a_missing_input_of_a_plain_table_is_named(ctx: EngineContext) -> None:
    _deploy(ctx, dmn("office_for_status", OFFICE_RULES))
    with pytest.raises(InvalidInput) as refused:
        evaluate_decision(ctx, "office_for_status", {"state": "DULDUNG"})
    assert refused.value.fields == {"status": "required"}
    with pytest.raises(InvalidInput) as not_an_object:
        evaluate_decision(ctx, "office_for_status", ["DULDUNG"])  # type: ignore[arg-type]
    assert not_an_object.value.fields == {"inputs": "must be an object"}


def test_a_cell_failing_on_the_input_is_invalid_input(ctx: EngineContext) -> None:
    _deploy(ctx, dmn("months_check", [("< 12", '"short"'), ("-", '"long"')]))
    assert evaluate_decision(ctx, "months_check", {"status": 3}).outputs == [{"office": "short"}]
    with pytest.raises(InvalidInput, match="rule 1") as refused:
        evaluate_decision(ctx, "months_check", {"status": "three"})
    assert "TypeError" in refused.value.fields["inputs"]


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"status": "DULDUNG_XY"}, "status", "one of DULDUNG"),
    ({"eval_date": "2026-13-01"}, "eval_date", "YYYY-MM-DD"),
    ({"eval_date": "20261120"}, "eval_date", "YYYY-MM-DD"),
    ({"date_of_birth": None}, "date_of_birth", "required"),
    ({"date_of_birth": "2027-01-01"}, "date_of_birth", "after eval_date"),
    ({"german_lvl": "B1"}, "german_lvl", "unknown input"),
    ({"german_level": "C1"}, "german_level", "one of NONE, A1, A2, B1, B2"),
    ({"duldung_months": -1}, "duldung_months", "whole number"),
    ({"duldung_months": 1.5}, "duldung_months", "whole number"),
    ({"stay_years": True}, "stay_years", "number"),
    ({"passport_valid": "yes"}, "passport_valid", "true or false"),
    ({"training_start": None}, "training_start", "required when training is CONTRACT"),
    ({"status": "AE_104C"}, "holds_104c_until", "required when status is AE_104C"),
])
def test_bad_screening_inputs_name_the_field(ctx: EngineContext, changes: dict[str, Any], field: str,
                                             message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        evaluate_decision(ctx, "residence_paths", {**BASE, **changes})
    assert list(refused.value.fields) == [field]
    assert message in refused.value.fields[field]


def test_a_cell_escaping_the_sandbox_is_refused_at_deploy_time(ctx: EngineContext) -> None:
    bad = dmn("office_for_status", [(ESCAPE, '"JC"'), ("-", '"CM"')])
    with pytest.raises(ModelInvalid) as refused:
        _deploy(ctx, ModelSource("caller.bpmn", CALLER_BPMN), bad)
    assert "element 'office_for_status'" in str(refused.value), "the message points at the decision table"
    assert "rule 1 input" in str(refused.value)
    assert "not allowed" in str(refused.value)
    assert _definitions(ctx) == 0, "nothing of a refused batch is stored"


def test_an_output_cell_escaping_the_sandbox_is_refused_at_deploy_time(ctx: EngineContext) -> None:
    bad = dmn("office_for_status", [("-", "().__class__.__base__")])
    with pytest.raises(ModelInvalid, match="rule 1 output"):
        _deploy(ctx, ModelSource("caller.bpmn", CALLER_BPMN), bad)


def test_a_decision_deployed_on_its_own_is_checked_at_deploy_time(ctx: EngineContext) -> None:
    with pytest.raises(ModelInvalid, match="not allowed"):
        _deploy(ctx, dmn("office_for_status", [(ESCAPE, '"JC"'), ("-", '"CM"')]))


@pytest.mark.parametrize(("cell", "output"), [(ESCAPE, '"JC"'), ('"DULDUNG"', "().__class__.__base__"),
                                              ("? in _secret", '"JC"'), ('"DULDUNG"', "__import__('os')")])
def test_an_unsafe_table_never_runs(cell: str, output: str) -> None:
    with pytest.raises(ModelInvalid, match="not allowed"):
        compile_decision(dmn("office_for_status", [(cell, output), ("-", '"CM"')]), "office_for_status")


def test_unsupported_hit_policy_and_broken_xml_are_refused() -> None:
    with pytest.raises(ModelInvalid, match="PRIORITY"):
        compile_decision(dmn("office_for_status", OFFICE_RULES, "PRIORITY"), "office_for_status")
    with pytest.raises(ModelInvalid, match="cannot be parsed"):
        compile_decision(ModelSource("x.dmn", b"<definitions"), "office_for_status")
