"""Check before publish: one small model per rule, asserting the element and the German message."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.domain.actors import SYSTEM, Actor
from engine.domain.errors import ModelInvalid
from engine.persistence.models import FormVersion
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from engine.services.process_models.model_check import check_model, german
from tests.conftest import DATA, deploy_files

NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"')


def bpmn(body: str, process_id: str = "pruefling") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NS} id="d" targetNamespace="t">'
            f'<bpmn:process id="{process_id}" name="Prüfling" isExecutable="true">{body}'
            "</bpmn:process></bpmn:definitions>").encode()


def user_task(task_id: str, name: str = "Beraten", office: str = "CM", form: str | None = "kim_intake") -> str:
    form_xml = (f'<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="formKey" '
                f'value="{form}"/></spiffworkflow:properties></bpmn:extensionElements>') if form else ""
    return f'<bpmn:userTask id="{task_id}" name="{name}" camunda:candidateGroups="{office}">{form_xml}</bpmn:userTask>'


def flow(flow_id: str, source: str, target: str, condition: str | None = None, name: str = "") -> str:
    cond = f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression>" if condition else ""
    return f'<bpmn:sequenceFlow id="{flow_id}" name="{name}" sourceRef="{source}" targetRef="{target}">{cond}' \
           "</bpmn:sequenceFlow>"


LINE = ('<bpmn:startEvent id="start"/>' + flow("f1", "start", "t1") + user_task("t1") + flow("f2", "t1", "end")
        + '<bpmn:endEvent id="end"/>')


Found = list[tuple[str | None, str, str]]


def problems_of(ctx: EngineContext, content: bytes, filename: str = "pruefling.bpmn") -> Found:
    return [(p.element_id, p.severity, p.message) for p in ctx.run(check_model, filename, content)]


def test_a_good_model_has_no_problems(ctx: EngineContext) -> None:
    assert problems_of(ctx, bpmn(LINE)) == []


def test_our_processes_pass_the_check_once_their_dependencies_are_deployed(ctx: EngineContext) -> None:
    from pathlib import Path

    processes = Path(__file__).parents[2] / "processes"
    ctx.run(deployment.deploy, deployment.read_model_paths([processes / "residence_paths",
                                                              processes / "identity_clarification.bpmn",
                                                              processes / "permit_application.bpmn"]), SYSTEM)
    for name in ("kim_pathway.bpmn", "identity_clarification.bpmn", "permit_application.bpmn"):
        found = problems_of(ctx, (processes / name).read_bytes(), name)
        assert [p for p in found if p[1] == "error"] == [], name


def test_unknown_office_in_candidate_groups_and_in_a_lane(ctx: EngineContext) -> None:
    assert problems_of(ctx, bpmn(LINE.replace('candidateGroups="CM"', 'candidateGroups="XYZ"'))) == [
        ("t1", "error", "candidateGroups „XYZ“ ist keine bekannte Stelle (Kürzel oder Name einer Stelle).")]
    in_lane = LINE.replace(' camunda:candidateGroups="CM"', "")
    lanes = ('<bpmn:laneSet id="ls"><bpmn:lane id="l" name="Hausmeisterei"><bpmn:flowNodeRef>t1</bpmn:flowNodeRef>'
             "</bpmn:lane></bpmn:laneSet>")
    assert problems_of(ctx, bpmn(lanes + in_lane)) == [
        ("t1", "error", "Die Lane „Hausmeisterei“ ist kein bekanntes Stellenkürzel und kein bekannter Stellenname.")]
    no_office = problems_of(ctx, bpmn(in_lane))
    assert [(p[0], p[1]) for p in no_office] == [("t1", "error")]
    assert no_office[0][2].startswith("Die Aufgabe hat keine Stelle")


def test_a_form_key_needs_a_form_file_or_an_edited_form(ctx: EngineContext) -> None:
    missing = bpmn(LINE.replace('value="kim_intake"', 'value="gibt_es_nicht"'))
    assert problems_of(ctx, missing) == [
        ("t1", "error", "Zur Aufgabe „Beraten“ gibt es kein Formular „gibt_es_nicht“.")]
    with ctx.uow() as uow:
        uow.session.add(FormVersion(form_key="gibt_es_nicht", version=1, schema={"type": "object"}, ui={},
                                    created_by="paul", created_at=datetime.now(UTC)))
        uow.commit()
    assert problems_of(ctx, missing) == [], "a form edited in the browser counts as well"
    bad_key = problems_of(ctx, bpmn(LINE.replace('value="kim_intake"', 'value="../../etc/passwd"')))
    assert bad_key[0][:2] == ("t1", "error")
    assert "Formularschlüssel" in bad_key[0][2]


def test_scripts_and_conditions_must_compile_under_the_sandbox(ctx: EngineContext) -> None:
    script = ('<bpmn:startEvent id="start"/>' + flow("f1", "start", "skript")
              + '<bpmn:scriptTask id="skript" name="Rechnen"><bpmn:script>import os</bpmn:script></bpmn:scriptTask>'
              + flow("f2", "skript", "end") + '<bpmn:endEvent id="end"/>')
    ((element, severity, message),) = problems_of(ctx, bpmn(script))
    assert (element, severity) == ("skript", "error")
    assert message.startswith("Das Skript „import os“ ist nicht erlaubt:")
    condition = ('<bpmn:startEvent id="start"/>' + flow("f1", "start", "gw")
                 + '<bpmn:exclusiveGateway id="gw" name="Weiter?" default="f3"/>'
                 + flow("f2", "gw", "end", "().__class__.__base__", name="ja") + flow("f3", "gw", "end")
                 + '<bpmn:endEvent id="end"/>')
    ((element, severity, message),) = problems_of(ctx, bpmn(condition))
    assert (element, severity) == ("gw", "error")
    assert message.startswith("Die Bedingung „().__class__.__base__“ ist nicht erlaubt:")


def _with_timer(kind: str, value: str) -> bytes:
    timer = (f'<bpmn:boundaryEvent id="frist" name="Frist" attachedToRef="t1"><bpmn:timerEventDefinition>'
             f"<bpmn:{kind}>{value}</bpmn:{kind}></bpmn:timerEventDefinition></bpmn:boundaryEvent>")
    return bpmn(LINE + timer + flow("f9", "frist", "end2") + '<bpmn:endEvent id="end2"/>')


@pytest.mark.parametrize(("kind", "value", "fragment"), [
    ("timeDuration", "P14X", "Der Timer-Wert „P14X“ ist kein gültiger Zeitwert"),
    ("timeDuration", "14 Tage", "Der Timer-Ausdruck „14 Tage“ ist fehlerhaft: Syntaxfehler in Zeile 1"),
    ("timeCycle", "P14D", "Der Timer-Wert „P14D“ wiederholt sich nicht; ein Zyklus-Zeitgeber (timeCycle)"),
    ("timeDuration", "R/P14D", "Der Timer-Wert „R/P14D“ ist eine Wiederholung; dafür ist ein Zyklus-Zeitgeber"),
    ("timeDuration", "P1.5D", "Der Timer-Wert „P1.5D“ ist kein gültiger Zeitwert: Jahre, Monate, Wochen und Tage "
                              "sind ganze Zahlen"),
    ("timeDuration", "10 WD", "Der Timer-Wert „10 WD“ ist kein gültiger Zeitwert: Arbeitstage ohne Leerzeichen "
                              "schreiben, z. B. 10WD"),
    ("timeDate", "2027-13-01T00:00", "Der Timer-Wert „2027-13-01T00:00“ ist kein gültiger Zeitwert: das ist kein "
                                     "gültiger Zeitpunkt nach ISO 8601"),
    ("timeDuration", "", "Der Timer hat keinen Wert"),
])
def test_every_timer_parses(ctx: EngineContext, kind: str, value: str, fragment: str) -> None:
    found = problems_of(ctx, _with_timer(kind, value))
    assert [(p[0], p[1]) for p in found] == [("frist", "error")]
    assert found[0][2].startswith(fragment)


@pytest.mark.parametrize("value", ["P14D", "10WD", "'P3M'", "frist_datum"])
def test_good_timer_values_pass(ctx: EngineContext, value: str) -> None:
    assert problems_of(ctx, _with_timer("timeDuration", value)) == []


def test_every_element_is_reachable_from_a_start_event(ctx: EngineContext) -> None:
    orphan = user_task("verwaist", name="Verwaiste Aufgabe") + flow("f8", "verwaist", "end")
    assert problems_of(ctx, bpmn(LINE + orphan)) == [
        ("verwaist", "error", "„Verwaiste Aufgabe“ ist von keinem Startereignis aus erreichbar.")]


def test_gateway_without_default_and_an_unconditioned_flow(ctx: EngineContext) -> None:
    gateway = ('<bpmn:startEvent id="start"/>' + flow("f1", "start", "gw")
               + '<bpmn:exclusiveGateway id="gw" name="Erreicht?"/>'
               + flow("f2", "gw", "end", "erreicht == True", name="ja") + flow("f3", "gw", "end", name="nein")
               + '<bpmn:endEvent id="end"/>')
    assert problems_of(ctx, bpmn(gateway)) == [
        ("gw", "error", "Das Gateway „Erreicht?“ hat mehrere Ausgänge, aber keinen Standardfluss, und der Ausgang "
                        "„nein“ hat keine Bedingung.")]
    assert problems_of(ctx, bpmn(gateway.replace('name="Erreicht?"', 'name="Erreicht?" default="f3"'))) == []
    all_conditions = gateway.replace('name="nein" sourceRef="gw" targetRef="end">',
                                     'name="nein" sourceRef="gw" targetRef="end"><bpmn:conditionExpression>'
                                     "erreicht == False</bpmn:conditionExpression>")
    assert problems_of(ctx, bpmn(all_conditions)) == []


def test_only_the_default_flow_may_go_without_a_condition(ctx: EngineContext) -> None:
    inclusive = ('<bpmn:startEvent id="start"/>' + flow("f1", "start", "gw")
                 + '<bpmn:inclusiveGateway id="gw" name="Hilfen" default="f2"/>'
                 + flow("f2", "gw", "end") + flow("f3", "gw", "end", name="Sprachkurs")
                 + '<bpmn:endEvent id="end"/>')
    assert problems_of(ctx, bpmn(inclusive)) == [
        ("gw", "error", "Beim Gateway „Hilfen“ hat der Ausgang „Sprachkurs“ keine Bedingung; ohne Bedingung darf "
                        "nur der Standardfluss sein.")]


def test_call_activities_must_call_a_deployed_process(ctx: EngineContext) -> None:
    call = ('<bpmn:startEvent id="start"/>' + flow("f1", "start", "aufruf")
            + '<bpmn:callActivity id="aufruf" name="Kind" calledElement="called_child"/>'
            + flow("f2", "aufruf", "end") + '<bpmn:endEvent id="end"/>')
    assert problems_of(ctx, bpmn(call)) == [
        ("aufruf", "error", "Die Aufrufaktivität ruft den Prozess „called_child“ auf, der nicht veröffentlicht ist.")]
    deploy_files(ctx, "called_child.bpmn")
    assert problems_of(ctx, bpmn(call)) == []


def test_business_rule_tasks_must_call_a_deployed_decision(ctx: EngineContext) -> None:
    rule = ('<bpmn:startEvent id="start"/>' + flow("f1", "start", "regel")
            + '<bpmn:businessRuleTask id="regel" name="Prüfen"><bpmn:extensionElements><spiffworkflow:calledDecisionId>'
              "keine_tabelle</spiffworkflow:calledDecisionId></bpmn:extensionElements></bpmn:businessRuleTask>"
            + flow("f2", "regel", "end") + '<bpmn:endEvent id="end"/>')
    assert problems_of(ctx, bpmn(rule)) == [
        ("regel", "error", "Die Geschäftsregel-Aufgabe ruft die Entscheidung „keine_tabelle“ auf, die nicht "
                           "veröffentlicht ist.")]


DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs" name="Test" namespace="t">
  <decision id="einstufung" name="Einstufung">
    <decisionTable id="table" hitPolicy="FIRST">
      <input id="in1" label="Alter">
        <inputExpression id="ie1" typeRef="number"><text>alter</text></inputExpression></input>
      <output id="out1" name="stufe" typeRef="string"/>
      <rule id="r1"><inputEntry id="e1"><text>&lt; 18</text></inputEntry>
        <outputEntry id="o1"><text>OUTPUT</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>"""


def test_dmn_tables_compile_under_the_sandbox(ctx: EngineContext) -> None:
    assert problems_of(ctx, DMN.replace("OUTPUT", '"jung"').encode(), "einstufung.dmn") == []
    ((element, severity, message),) = problems_of(ctx, DMN.replace("OUTPUT", "open('/etc/passwd')").encode(),
                                                  "einstufung.dmn")
    assert (element, severity) == ("einstufung", "error")
    assert message == "Regel 1, Ergebnis „open('/etc/passwd')“ ist nicht erlaubt: der Aufruf von „open“ ist gesperrt."


@pytest.mark.parametrize(("content", "message"), [
    ((DATA / "bad_xxe.bpmn").read_bytes(), "DOCTYPE-Deklarationen sind nicht erlaubt (Schutz vor XML-Angriffen"),
    (b"<bpmn:definitions", "Kein wohlgeformtes XML (Zeile 1): Das Tag „definitions“ ist nicht abgeschlossen"),
    (b"   ", "Die Datei ist leer."),
    (b"<a>" * 300 + b"</a>" * 300, "Kein wohlgeformtes XML (Zeile 1): Die Elemente sind zu tief verschachtelt"),
    (b"\x00\x01 kein XML", "Kein wohlgeformtes XML (Zeile 1): Die Datei enthält kein XML-Dokument."),
    (b"<a></b>", "Kein wohlgeformtes XML (Zeile 1): Das Element „a“ (Zeile 1) wird mit „b“ geschlossen."),
    (b"<x" + b" " * (2 * 1024 * 1024) + b"/>", "Die Datei ist größer als 2 MiB"),
    ('<?xml version="1.0" encoding="ISO-8859-1"?><a>Straße</a>'.encode(), "Die Datei ist als ISO-8859-1 kodiert"),
    (b"<html/>", "Die Datei ist weder ein BPMN-2.0- noch ein DMN-Modell."),
    (b"<r>" + b"<a/>" * 50_000 + b"</r>", "Die Datei hat mehr als 50000 XML-Elemente."),
])
def test_untrusted_files_are_refused_with_a_reason(ctx: EngineContext, content: bytes, message: str) -> None:
    ((element, severity, text),) = problems_of(ctx, content)
    assert (element, severity) == (None, "error")
    assert text.startswith(message)


def test_unknown_engine_messages_keep_their_text() -> None:
    assert german("something new") == "Das Modell lässt sich nicht ausführen: something new"


def _task_with(props: dict[str, str], camunda_due: str | None = None) -> bytes:
    values = "".join(f'<spiffworkflow:property name="{k}" value="{v}"/>' for k, v in props.items())
    due = f' camunda:dueDate="{camunda_due}"' if camunda_due is not None else ""
    task = (f'<bpmn:userTask id="t1" name="Beraten" camunda:candidateGroups="CM"{due}><bpmn:extensionElements>'
            f'<spiffworkflow:properties>{values}<spiffworkflow:property name="formKey" value="kim_intake"/>'
            "</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>")
    return bpmn('<bpmn:startEvent id="start"/>' + flow("f1", "start", "t1") + task + flow("f2", "t1", "end")
                + '<bpmn:endEvent id="end"/>')


ISO_OR_WD = "erwartet wird eine ISO-8601-Dauer (P14D, PT48H, P3M) oder eine Zahl von Arbeitstagen (10WD)."


@pytest.mark.parametrize(("props", "camunda_due", "message"), [
    ({"dueIn": "abc"}, None, f"Die Frist (dueIn) „abc“ der Aufgabe „Beraten“ ist ungültig: {ISO_OR_WD}"),
    ({"escalateAfter": "bald"}, None,
     f"Die Eskalationsfrist (escalateAfter) „bald“ der Aufgabe „Beraten“ ist ungültig: {ISO_OR_WD}"),
    ({"remindBefore": "vorher"}, None,
     f"Die Erinnerung vorher (remindBefore) „vorher“ der Aufgabe „Beraten“ ist ungültig: {ISO_OR_WD}"),
    ({}, "morgen", f"Die Frist (camunda:dueDate) „morgen“ der Aufgabe „Beraten“ ist ungültig: {ISO_OR_WD}"),
    ({"dueIn": "10 WD"}, None,
     "Die Frist (dueIn) „10 WD“ der Aufgabe „Beraten“ ist ungültig: Arbeitstage ohne Leerzeichen schreiben, "
     "z. B. 10WD."),
    ({"dueIn": "P1.5D"}, None, "Die Frist (dueIn) „P1.5D“ der Aufgabe „Beraten“ ist ungültig: Jahre, Monate, Wochen "
                               "und Tage sind ganze Zahlen; für Bruchteile eine kleinere Einheit nehmen."),
    ({"dueIn": "R/P14D"}, None, "Die Frist (dueIn) „R/P14D“ der Aufgabe „Beraten“ ist ungültig: eine Frist wiederholt "
                                "sich nicht; angeben als Dauer (P14D) oder Arbeitstage (10WD)."),
    ({"escalateAfter": "2027-01-01T00:00:00"}, None,
     "Die Eskalationsfrist (escalateAfter) „2027-01-01T00:00:00“ der Aufgabe „Beraten“ ist ungültig: eine Frist ist "
     "eine Dauer (P14D) oder eine Zahl von Arbeitstagen (10WD), kein Zeitpunkt."),
    ({"dueIn": "99999WD"}, None,
     "Die Frist (dueIn) „99999WD“ der Aufgabe „Beraten“ ist ungültig: mehr als 10000 Arbeitstage sind kein plausibler "
     "Wert."),
])
def test_every_deadline_property_parses_as_the_engine_parses_it(
        ctx: EngineContext, props: dict[str, str], camunda_due: str | None, message: str) -> None:
    assert problems_of(ctx, _task_with(props, camunda_due)) == [("t1", "error", message)]


def test_bad_deadlines_are_refused_at_deploy_time_too(ctx: EngineContext, tmp_path: Path) -> None:
    model = tmp_path / "frist.bpmn"
    model.write_bytes(_task_with({"dueIn": "abc", "escalateAfter": "bald"}))
    with pytest.raises(ModelInvalid) as refused:
        ctx.run(deployment.deploy, deployment.read_model_paths([model]), SYSTEM)
    assert [(p.element_id, p.reason.split(" is ")[0]) for p in refused.value.problems] == [
        ("t1", "dueIn 'abc' of 'Beraten'"), ("t1", "escalateAfter 'bald' of 'Beraten'")]


@pytest.mark.parametrize("props", [
    {"dueIn": "10WD", "escalateAfter": "3WD", "remindBefore": "1WD"}, {"dueIn": "P14D", "escalateAfter": "PT48H"},
    {"dueIn": "'P3M'", "remindBefore": "0"}, {"dueIn": "&quot;5wd&quot;", "remindBefore": "none"},
    {"escalateAfter": ""},
])
def test_good_deadlines_pass(ctx: EngineContext, props: dict[str, str]) -> None:
    assert problems_of(ctx, _task_with(props.copy())) == []


ENGLISH = re.compile(r"\b(the|is|are|not|allowed|expected|found|must|invalid|error|line|should)\b", re.IGNORECASE)


def _without_quotes(message: str) -> str:
    """The message without the quoted model text (expressions may be English)."""
    return re.sub(r"„[^“]*“", "", message)


def _gateway(condition: str) -> bytes:
    return bpmn('<bpmn:startEvent id="start"/>' + flow("f1", "start", "gw")
                + '<bpmn:exclusiveGateway id="gw" name="Weiter?" default="f3"/>'
                + flow("f2", "gw", "end", condition, name="ja") + flow("f3", "gw", "end") + '<bpmn:endEvent id="end"/>')


def _script(code: str) -> bytes:
    return bpmn('<bpmn:startEvent id="start"/>' + flow("f1", "start", "s")
                + f'<bpmn:scriptTask id="s" name="Rechnen"><bpmn:script>{code}</bpmn:script></bpmn:scriptTask>'
                + flow("f2", "s", "end") + '<bpmn:endEvent id="end"/>')


START, END = '<bpmn:startEvent id="start"/>', '<bpmn:endEvent id="end"/>'
MEETS: dict[str, tuple[bytes, str | None, str]] = {  # what process owners meet: (model, element, whole message)
    "single =": (_gateway('status = "X"'), "gw", "Die Bedingung „status = \"X\"“ ist fehlerhaft: Syntaxfehler in "
                                                 "Zeile 1 (ungültige Syntax); für einen Vergleich „==“ statt „=“ "
                                                 "schreiben."),
    "typographic quotes": (_gateway("status == „ja“"), "gw",
                           "Die Bedingung „status == „ja““ ist fehlerhaft: Syntaxfehler in Zeile 1 (typografisches "
                           "Anführungszeichen „„“; in Ausdrücken gerade Anführungszeichen (\" oder ') verwenden)."),
    "open bracket": (_gateway("len(ziele > 2"), "gw", "Die Bedingung „len(ziele > 2“ ist fehlerhaft: Syntaxfehler in "
                                                      "Zeile 1 (die Klammer „(“ wird nicht geschlossen)."),
    "dunder": (_gateway("__import__('os')"), "gw", "Die Bedingung „__import__('os')“ ist nicht erlaubt: Namen, die mit "
                                                   "„_“ beginnen, sind gesperrt: __import__."),
    "format": (_gateway("'{}'.format(x)"), "gw", "Die Bedingung „'{}'.format(x)“ ist nicht erlaubt: str.format ist "
                                                 "gesperrt (es erreicht interne Attribute); verwenden Sie einen "
                                                 "f-String."),
    "import": (_script("x = 1\nimport os"), "s", "Das Skript „x = 1\nimport os“ ist nicht erlaubt: Importe sind "
                                                 "gesperrt (Zeile 2)."),
    "class": (_script("class A: pass"), "s", "Das Skript „class A: pass“ ist nicht erlaubt: Klassendefinitionen sind "
                                             "gesperrt."),
    "no start event": (bpmn(user_task("t1") + flow("f2", "t1", "end") + END), "pruefling",
                       "Der Prozess hat kein Startereignis."),
    "empty subprocess": (bpmn(START + flow("f1", "start", "sp") + '<bpmn:subProcess id="sp" name="Teil"/>'
                              + flow("f2", "sp", "end") + END), "sp",
                         "Ein Teilprozess braucht genau ein Startereignis; dieser hat 0."),
    "undefined signal": (bpmn(START + flow("f1", "start", "c") + '<bpmn:intermediateCatchEvent id="c">'
                              '<bpmn:signalEventDefinition signalRef="fehlt"/></bpmn:intermediateCatchEvent>'
                              + flow("f2", "c", "end") + END), "c",
                         "Das Ereignis verweist auf eine Nachricht, ein Signal, einen Fehler oder eine Eskalation, "
                         "die im Modell nicht definiert ist."),
    "data object": (bpmn(START + flow("f1", "start", "s") + '<bpmn:scriptTask id="s" name="R">'
                         '<bpmn:dataInputAssociation id="a"><bpmn:sourceRef>nix</bpmn:sourceRef>'
                         "</bpmn:dataInputAssociation><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>"
                         + flow("f2", "s", "end") + END), "s",
                    "Eine Datenzuordnung (dataInputAssociation) verweist auf ein Datenobjekt, das es im Modell nicht "
                    "gibt."),
    "dmn cell": (DMN.replace("OUTPUT", '"a" +').encode(), "einstufung",
                 "Die Entscheidung lässt sich nicht einlesen: Der Ausdruck „\"a\" +“ ist fehlerhaft (Syntaxfehler)."),
}


@pytest.mark.parametrize("case", sorted(MEETS))
def test_engine_messages_a_process_owner_meets_are_german_and_whole(ctx: EngineContext, case: str) -> None:
    content, element, message = MEETS[case]
    found = problems_of(ctx, content, "einstufung.dmn" if case.startswith("dmn") else "pruefling.bpmn")
    assert found == [(element, "error", message)]
    assert not ENGLISH.search(_without_quotes(message)), message


def test_long_expressions_are_shown_whole(ctx: EngineContext) -> None:
    condition = " and ".join(f"ziel_{n} == 'erreicht'" for n in range(12)) + " and status = 'x'"
    ((element, _severity, message),) = problems_of(ctx, _gateway(condition))
    assert element == "gw"
    assert f"„{condition}“" in message, "the whole condition, not the first 80 characters"


def test_a_call_to_a_withdrawn_process_is_an_error(ctx: EngineContext) -> None:
    from engine.services.process_models import model_retirement

    deploy_files(ctx, "called_child.bpmn")
    call = (START + flow("f1", "start", "aufruf") + '<bpmn:callActivity id="aufruf" name="Kind" '
            'calledElement="called_child"/>' + flow("f2", "aufruf", "end") + END)
    assert problems_of(ctx, bpmn(call)) == []
    ctx.run(model_retirement.retire_model, Actor("paul", "process_owner"), "called_child")
    assert problems_of(ctx, bpmn(call)) == [
        ("aufruf", "error", "Die Aufrufaktivität ruft den Prozess „called_child“ auf, der zurückgezogen ist.")]
