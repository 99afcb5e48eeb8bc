"""engine.bpmn.diff: what changed between two versions of a BPMN or DMN model, by element id."""

from __future__ import annotations

import pytest

from engine.bpmn.diff import diff_models
from engine.bpmn.safe_xml import UnsafeXmlError
from tests.conftest import DATA

INTAKE = (DATA / "intake.bpmn").read_bytes()


def _edit(source: bytes, *pairs: tuple[str, str]) -> bytes:
    text = source.decode()
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new)
    return text.encode()


def test_identical_models_have_no_differences() -> None:
    result = diff_models(INTAKE, INTAKE)
    assert (result["kind"], result["added"], result["removed"], result["changed"]) == ("bpmn", [], [], [])


def test_layout_and_attribute_order_are_not_changes() -> None:
    reformatted = _edit(INTAKE, ('<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="erstkontakt"/>',
                                 '<bpmn:sequenceFlow  targetRef="erstkontakt" id="f1"\n sourceRef="start" />'))
    assert diff_models(INTAKE, reformatted)["changed"] == []


def test_added_and_removed_elements_by_id() -> None:
    new = _edit(INTAKE,
                ('<bpmn:sequenceFlow id="f3" sourceRef="vorpruefung" targetRef="abschluss"/>',
                 '<bpmn:sequenceFlow id="f3" sourceRef="vorpruefung" targetRef="pruefen"/>'
                 '<bpmn:task id="pruefen" name="Prüfen"><bpmn:incoming>f3</bpmn:incoming>'
                 '<bpmn:outgoing>f3b</bpmn:outgoing></bpmn:task>'
                 '<bpmn:sequenceFlow id="f3b" sourceRef="pruefen" targetRef="abschluss"/>'),
                ('<bpmn:sequenceFlow id="f4" sourceRef="abschluss" targetRef="end"/>', ""))
    result = diff_models(INTAKE, new)
    assert result["added"] == ["pruefen", "f3b"]
    assert result["removed"] == ["f4"]
    assert result["names"]["pruefen"] == "Prüfen"
    changed = {c["id"]: c["changes"] for c in result["changed"]}
    assert changed["f3"] == ["Ziel: „abschluss“ → „pruefen“"]


def test_changed_name_lane_and_routing_properties() -> None:
    new = _edit(INTAKE,
                ('name="Ergebnis besprechen"', 'name="Ergebnis mit der Person besprechen"'),
                ('<bpmn:flowNodeRef>abschluss</bpmn:flowNodeRef></bpmn:lane>', "</bpmn:lane>"),
                ('<bpmn:flowNodeRef>vorpruefung</bpmn:flowNodeRef>',
                 '<bpmn:flowNodeRef>vorpruefung</bpmn:flowNodeRef><bpmn:flowNodeRef>abschluss</bpmn:flowNodeRef>'),
                ('name="dueIn" value="10WD"', 'name="dueIn" value="15WD"'),
                ('name="formKey" value="vorpruefung"/>',
                 'name="formKey" value="vorpruefung_neu"/><spiffworkflow:property name="remindBefore" value="2WD"/>'))
    changed = {c["id"]: c for c in diff_models(INTAKE, new)["changed"]}
    assert changed["abschluss"]["name"] == "Ergebnis mit der Person besprechen"
    assert changed["abschluss"]["changes"] == [
        "Name: „Ergebnis besprechen“ → „Ergebnis mit der Person besprechen“",
        "Amt (Lane): „CM“ → „Ausländerbehörde“"]
    assert changed["erstkontakt"]["changes"] == ["Eigenschaft dueIn: „10WD“ → „15WD“"]
    assert changed["vorpruefung"]["changes"] == ["Eigenschaft formKey: „vorpruefung“ → „vorpruefung_neu“",
                                                 "Eigenschaft remindBefore: (leer) → „2WD“"]
    assert set(changed) == {"abschluss", "erstkontakt", "vorpruefung"}


def test_type_condition_and_flow_changes() -> None:
    new = _edit(INTAKE,
                ('<bpmn:userTask id="abschluss" name="Ergebnis besprechen">',
                 '<bpmn:manualTask id="abschluss" name="Ergebnis besprechen">'),
                ('<bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>',
                 '<bpmn:outgoing>f4</bpmn:outgoing></bpmn:manualTask>'),
                ('<bpmn:sequenceFlow id="f2" sourceRef="erstkontakt" targetRef="vorpruefung"/>',
                 '<bpmn:sequenceFlow id="f2" sourceRef="erstkontakt" targetRef="vorpruefung">'
                 '<bpmn:conditionExpression>sprache == "de"</bpmn:conditionExpression></bpmn:sequenceFlow>'))
    changed = {c["id"]: c["changes"] for c in diff_models(INTAKE, new)["changed"]}
    assert changed["abschluss"] == ["Typ: „userTask“ → „manualTask“"]
    assert changed["f2"] == ["Bedingung: (leer) → „sprache == \"de\"“"]


def test_timer_values() -> None:
    timers = (DATA / "timers.bpmn").read_bytes()
    new = _edit(timers, ("<bpmn:timeDuration>P14D</bpmn:timeDuration>", "<bpmn:timeDuration>P21D</bpmn:timeDuration>"))
    result = diff_models(timers, new)
    assert result["changed"] == [{"id": "ti_timer", "name": "14 Tage",
                                  "changes": ["Zeitgeber: „timeDuration=P14D“ → „timeDuration=P21D“"]}]


DMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="x">
  <decision id="fit" name="Eignung"><decisionTable id="t" hitPolicy="FIRST">
    <input id="i1" label="Alter"><inputExpression id="ie1" typeRef="number"><text>age</text></inputExpression></input>
    <output id="o1" name="ok" typeRef="string"/>
    <rule id="r1"><inputEntry id="r1i"><text>&lt; 27</text></inputEntry>
      <outputEntry id="r1o"><text>"JA"</text></outputEntry></rule>
    <rule id="r2"><inputEntry id="r2i"><text>-</text></inputEntry>
      <outputEntry id="r2o"><text>"NEIN"</text></outputEntry></rule>
  </decisionTable></decision>
</definitions>"""


def test_dmn_rules_added_removed_changed() -> None:
    new = _edit(DMN.decode("utf-8").encode(),
                ("&lt; 27", "&lt; 28"),
                ('<rule id="r2">', '<rule id="r1b"><inputEntry id="x"><text>28</text></inputEntry>'
                                   '<outputEntry id="y"><text>"PRÜFEN"</text></outputEntry></rule><rule id="r2">'),
                ('hitPolicy="FIRST"', 'hitPolicy="UNIQUE"'))
    result = diff_models(DMN, new)
    assert result["kind"] == "dmn"
    assert result["added"] == ["r1b"]
    assert result["removed"] == []
    changed = {c["id"]: c["changes"] for c in result["changed"]}
    assert changed == {"fit": ["Trefferrichtlinie: „FIRST“ → „UNIQUE“"],
                       "r1": ["Bedingungen: „< 27“ → „< 28“"]}, "renumbered rule r2 is not a change"
    assert result["names"]["r1b"] == "Eignung: Regel 2"


def test_bpmn_against_dmn_and_unsafe_xml_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot be compared"):
        diff_models(INTAKE, DMN)
    with pytest.raises(UnsafeXmlError):
        diff_models(INTAKE, b'<!DOCTYPE x [<!ENTITY e "x">]><x>&e;</x>')
