"""Structural rules a BPMN model must meet before it is published, read from the XML tree.

SpiffWorkflow happily parses models that cannot work: an element no start event leads to,
an exclusive gateway whose unconditioned flow makes the choice arbitrary, a timer value with a
typo that the expression sandbox would read as a variable name. Those only fail months later in
a running case. These rules find them at check time and point at the element, so the modeler can
mark it on the diagram. Messages are German: process owners read them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from engine import clock
from engine.bpmn.metadata import BPMN_NS, CAMUNDA_NS, FLOW_NODE_TAGS, SPIFF_NS
from engine.bpmn.sandbox import SandboxViolation, check_expression
from engine.domain.durations import Cycle, DurationError, parse_timer_value

ERROR = "error"
WARNING = "warning"  # reported, does not block publishing
CONTAINER_TAGS = frozenset({"process", "subProcess", "transaction", "adHocSubProcess"})
TIMER_KINDS = {"timeDuration": False, "timeDate": False, "timeCycle": True}
# What a timer value that was meant as a literal looks like; such a value must parse as one,
# or the sandbox would accept "P14X" as the name of a variable and the timer would fail at run time.
_LITERAL_ATTEMPT = re.compile(r"""^\s*["']?\s*(R\d*/|P(T?\d|\d)|\d+\s*WD\b|\d{4}-\d{2})""", re.IGNORECASE)


@dataclass(frozen=True)
class Problem:
    """One finding of the check, on one element (None: the whole file)."""

    element_id: str | None
    severity: str  # error | warning
    message: str

    def to_json(self) -> dict[str, str | None]:
        return {"element_id": self.element_id, "severity": self.severity, "message": self.message}


def _q(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def _local(element: etree._Element) -> str:
    if not isinstance(element.tag, str) or etree.QName(element).namespace != BPMN_NS:
        return ""
    return str(etree.QName(element).localname)


def label(element: etree._Element) -> str:
    """The name a process owner sees on the diagram, else the id."""
    return (element.get("name") or element.get("id") or "?").strip()


def _flows(container: etree._Element) -> list[etree._Element]:
    return [c for c in container if _local(c) == "sequenceFlow"]


def _nodes(container: etree._Element) -> list[etree._Element]:
    return [c for c in container if _local(c) in FLOW_NODE_TAGS and c.get("id")]


def unreachable_elements(process: etree._Element) -> list[Problem]:
    """Flow nodes that no path from a start event (or implicit start) reaches."""
    problems: list[Problem] = []
    _visit_container(process, problems)
    return problems


def _roots(container: etree._Element, nodes: list[etree._Element], incoming: set[str]) -> set[str]:
    has_start = any(_local(n) == "startEvent" for n in nodes)
    roots: set[str] = set()
    for node in nodes:
        node_id = str(node.get("id"))
        kind = _local(node)
        if kind == "startEvent" or _local(container) == "adHocSubProcess":
            roots.add(node_id)
        elif kind == "subProcess" and node.get("triggeredByEvent") == "true":
            roots.add(node_id)  # event subprocesses start on their event, not on a flow
        elif node.get("isForCompensation") == "true":
            roots.add(node_id)  # reached through a compensation association
        elif kind == "intermediateCatchEvent" and node.find(_q("linkEventDefinition")) is not None:
            roots.add(node_id)  # reached by a link throw event of the same name
        elif not has_start and node_id not in incoming and kind != "boundaryEvent":
            roots.add(node_id)  # BPMN's implicit start: no start event, no incoming flow
    return roots


def _visit_container(container: etree._Element, problems: list[Problem]) -> None:
    nodes = _nodes(container)
    flows = _flows(container)
    targets: dict[str, list[str]] = {}
    for flow in flows:
        targets.setdefault(str(flow.get("sourceRef")), []).append(str(flow.get("targetRef")))
    boundaries: dict[str, list[str]] = {}
    for node in nodes:
        if _local(node) == "boundaryEvent" and node.get("attachedToRef"):
            boundaries.setdefault(str(node.get("attachedToRef")), []).append(str(node.get("id")))
    incoming = {str(f.get("targetRef")) for f in flows}
    reached: set[str] = set()
    stack = list(_roots(container, nodes, incoming))
    while stack:
        node_id = stack.pop()
        if node_id in reached:
            continue
        reached.add(node_id)
        stack.extend(targets.get(node_id, []))
        stack.extend(boundaries.get(node_id, []))
    for node in nodes:
        node_id = str(node.get("id"))
        if node_id not in reached:
            problems.append(Problem(node_id, ERROR, f"„{label(node)}“ ist von keinem Startereignis aus erreichbar."))
        elif _local(node) in CONTAINER_TAGS:
            _visit_container(node, problems)


def gateway_problems(process: etree._Element) -> list[Problem]:
    """Exclusive/inclusive gateways with several ways out need a default flow or conditions."""
    problems: list[Problem] = []
    flows_by_source: dict[str, list[etree._Element]] = {}
    for flow in process.iter(_q("sequenceFlow")):
        flows_by_source.setdefault(str(flow.get("sourceRef")), []).append(flow)
    for gateway in _iter_tags(process, ("exclusiveGateway", "inclusiveGateway")):
        outgoing = flows_by_source.get(str(gateway.get("id")), [])
        if len(outgoing) < 2:
            continue
        default = gateway.get("default")
        bare = [f for f in outgoing if f.get("id") != default and not _condition(f)]
        if not bare:
            continue
        names = ", ".join(f"„{label(f)}“" for f in bare)
        flows = f"der Ausgang {names} hat" if len(bare) == 1 else f"die Ausgänge {names} haben"
        if default:
            problems.append(Problem(gateway.get("id"), ERROR,
                                    f"Beim Gateway „{label(gateway)}“ {_inverted(bare, names)} keine Bedingung; ohne "
                                    "Bedingung darf nur der Standardfluss sein."))
        else:
            problems.append(Problem(gateway.get("id"), ERROR,
                                    f"Das Gateway „{label(gateway)}“ hat mehrere Ausgänge, aber keinen "
                                    f"Standardfluss, und {flows} keine Bedingung."))
    return problems


def _inverted(bare: list[etree._Element], names: str) -> str:
    return f"hat der Ausgang {names}" if len(bare) == 1 else f"haben die Ausgänge {names}"


def _condition(flow: etree._Element) -> str:
    condition = flow.find(_q("conditionExpression"))
    return (condition.text or "").strip() if condition is not None else ""


def _iter_tags(root: etree._Element, tags: tuple[str, ...]) -> Iterator[etree._Element]:
    for element in root.iter(*(_q(t) for t in tags)):
        if element.get("id"):
            yield element


def timer_problems(process: etree._Element) -> list[Problem]:
    """Every timer value parses (ISO 8601, <n>WD, R/...) or is an allowed expression."""
    problems: list[Problem] = []
    for definition in process.iter(_q("timerEventDefinition")):
        event = definition.getparent()
        event_id = event.get("id") if event is not None else None
        values = [(c, TIMER_KINDS[_local(c)]) for c in definition if _local(c) in TIMER_KINDS]
        if not values or not (values[0][0].text or "").strip():
            problems.append(Problem(event_id, ERROR, "Der Timer hat keinen Wert (Dauer, Datum oder Zyklus)."))
            continue
        value = (values[0][0].text or "").strip()
        reason = _timer_reason(value, values[0][1])
        if reason:
            problems.append(Problem(event_id, ERROR, reason))
    return problems


def _timer_reason(value: str, cycle: bool) -> str | None:
    """Why a timer value cannot run, in German; parsed by the engine's own parser (durations.py)."""
    try:
        parsed = parse_timer_value(value, clock.BERLIN)
    except DurationError as exc:
        if not _LITERAL_ATTEMPT.match(value):
            return _expression_reason(value)  # not meant as a literal: a Python expression
        return (f"Der Timer-Wert „{value}“ ist kein gültiger Zeitwert: {german_duration(exc.reason)} "
                "(Beispiele: P14D, PT48H, 10WD, R/P28D, 2027-01-01T00:00:00+01:00).")
    if cycle and not isinstance(parsed, Cycle):
        return (f"Der Timer-Wert „{value}“ wiederholt sich nicht; ein Zyklus-Zeitgeber (timeCycle) braucht eine "
                "Wiederholung wie R/P28D.")
    if not cycle and isinstance(parsed, Cycle):
        return (f"Der Timer-Wert „{value}“ ist eine Wiederholung; dafür ist ein Zyklus-Zeitgeber (timeCycle) "
                "nötig.")
    return None


def _expression_reason(value: str) -> str | None:
    try:
        check_expression(value)
    except SandboxViolation as exc:
        return f"Der Timer-Ausdruck „{value}“ {code_verdict(str(exc))}."
    return None


def call_targets(process: etree._Element) -> list[tuple[str, str | None]]:
    """(call activity id, calledElement) of every call activity."""
    return [(str(c.get("id")), (c.get("calledElement") or "").strip() or None)
            for c in _iter_tags(process, ("callActivity",))]


def decision_calls(process: etree._Element) -> list[tuple[str, str]]:
    """(business rule task id, decision id) as SpiffWorkflow or Camunda Modeler write them."""
    found = []
    for task in _iter_tags(process, ("businessRuleTask",)):
        ref = (task.get(f"{{{CAMUNDA_NS}}}decisionRef") or "").strip()
        extension = task.find(_q("extensionElements"))
        spiff = extension.find(f"{{{SPIFF_NS}}}calledDecisionId") if extension is not None else None
        if spiff is not None and (spiff.text or "").strip():
            ref = (spiff.text or "").strip()
        if ref:
            found.append((str(task.get("id")), ref))
    return found


def process_ids(root: etree._Element) -> set[str]:
    return {str(p.get("id")) for p in root.iter(_q("process")) if p.get("id")}


# --- German reasons for the engine's duration parser and the expression sandbox -----------------

_DURATION_REASONS: list[tuple[re.Pattern[str], str]] = [(re.compile(p), t) for p, t in [
    (r"^a deadline cannot repeat",
     "eine Frist wiederholt sich nicht; angeben als Dauer (P14D) oder Arbeitstage (10WD)"),
    (r"^a deadline is a duration", "eine Frist ist eine Dauer (P14D) oder eine Zahl von Arbeitstagen (10WD), kein "
                                   "Zeitpunkt"),
    (r"^a timer date-time needs a time of day", "ein Zeitpunkt braucht eine Uhrzeit, z. B. 2027-01-01T00:00:00+01:00"),
    (r"^the value is empty", "der Wert ist leer"),
    (r"^expected an ISO 8601 duration \(P14D, PT48H, P3M\) or working days \(10WD\)$",
     "erwartet wird eine ISO-8601-Dauer (P14D, PT48H, P3M) oder eine Zahl von Arbeitstagen (10WD)"),
    (r"^expected ", "erwartet wird eine ISO-8601-Dauer (P14D, PT48H, P3M), Arbeitstage (10WD), ein Zeitpunkt "
                    "(2027-01-01T00:00:00+01:00) oder eine Wiederholung (R/P28D)"),
    (r"^negative durations", "negative Dauern gibt es nicht"),
    (r"^more than (\d+) working days", "mehr als \\1 Arbeitstage sind kein plausibler Wert"),
    (r"^negative working days", "negative Arbeitstage gibt es nicht"),
    (r"^write working days without spaces, like (\S+)$", "Arbeitstage ohne Leerzeichen schreiben, z. B. \\1"),
    (r"^working days are written", "Arbeitstage werden als ganze Zahl mit WD geschrieben, z. B. 10WD"),
    (r"^not an ISO 8601 duration", "das ist keine ISO-8601-Dauer; erwartet z. B. P14D, PT48H, P3M oder "
                                   "P1Y2M10DT2H30M"),
    (r"^the duration names no amount", "die Dauer nennt keine Menge, z. B. P14D oder PT48H"),
    (r"^a 'T' must be followed", "nach „T“ folgen Stunden, Minuten oder Sekunden, z. B. PT48H"),
    (r"^(years|months|weeks|days) must be a whole number", "Jahre, Monate, Wochen und Tage sind ganze Zahlen; für "
                                                           "Bruchteile eine kleinere Einheit nehmen"),
    (r"^only the smallest unit", "nur die kleinste Einheit darf Nachkommastellen haben"),
    (r"^not a valid ISO 8601 date-time", "das ist kein gültiger Zeitpunkt nach ISO 8601"),
    (r"^a cycle starts with R", "eine Wiederholung beginnt mit R oder R<n>, z. B. R/P28D oder R3/PT1H"),
    (r"^supported cycles are", "Wiederholungen haben die Form R<n>/<Intervall> oder R<n>/<Beginn>/<Intervall>"),
    (r"^the cycle names no interval", "der Wiederholung fehlt das Intervall, z. B. R/P28D"),
    (r"^a cycle interval must be longer than zero", "das Intervall einer Wiederholung muss länger als null sein"),
    (r"^applied to .* leaves the supported date range", "das Ergebnis läge außerhalb des möglichen Datumsbereichs"),
]]
_CODE_REASONS: list[tuple[re.Pattern[str], str]] = [(re.compile(p), t) for p, t in [
    (r"^imports are not allowed", "Importe sind gesperrt"),
    (r"^class definitions are not allowed", "Klassendefinitionen sind gesperrt"),
    (r"^async code is not allowed", "asynchroner Code ist gesperrt"),
    (r"^calling '(.*)' is not allowed", "der Aufruf von „\\1“ ist gesperrt"),
    (r"^names starting with '_' are not allowed: (.*)$", "Namen, die mit „_“ beginnen, sind gesperrt: \\1"),
    (r"^access to '(.*)' is not allowed", "der Zugriff auf „\\1“ ist gesperrt"),
    (r"^str\.format is not allowed", "str.format ist gesperrt (es erreicht interne Attribute); "
                                     "verwenden Sie einen f-String"),
    (r"^'(.*)' is not allowed", "„\\1“ ist gesperrt"),
    (r"^the code is too long: at most (\d+)", "der Code ist zu lang (höchstens \\1 Zeichen)"),
    (r"^the code is nested too deeply", "der Code ist zu tief verschachtelt"),
    (r"^not allowed by the sandbox: (.*)$", "die Sandbox erlaubt das nicht: \\1"),
]]
_SYNTAX = re.compile(r"^syntax error(?: at line (\d+))?: (.*)$", re.DOTALL)
_PYTHON_SYNTAX: list[tuple[re.Pattern[str], str]] = [(re.compile(p), t) for p, t in [
    (r"^invalid syntax\. Maybe you meant '==' or ':=' instead of '='\?", "ungültige Syntax; meinten Sie „==“ "
                                                                         "statt „=“?"),
    (r"^invalid character '(.)' \(U\+201[CDEF]\)", "typografisches Anführungszeichen „\\1“; in Ausdrücken gerade "
                                                   "Anführungszeichen (\" oder ') verwenden"),
    (r"^invalid character '(.)'", "ungültiges Zeichen „\\1“"),
    (r"^unterminated string literal", "eine Zeichenkette ist nicht geschlossen (Anführungszeichen fehlt)"),
    (r"^unterminated triple-quoted string", "eine Zeichenkette ist nicht geschlossen (Anführungszeichen fehlt)"),
    (r"^'(.)' was never closed", "die Klammer „\\1“ wird nicht geschlossen"),
    (r"^unmatched '(.)'", "die Klammer „\\1“ wurde nie geöffnet"),
    (r"^closing parenthesis '(.)' does not match opening parenthesis '(.)'",
     "die schließende Klammer „\\1“ passt nicht zur öffnenden „\\2“"),
    (r"^expected ':'", "„:“ fehlt"),
    (r"^unexpected indent", "unerwartete Einrückung"),
    (r"^expected an indented block", "eingerückter Block fehlt"),
    (r"^unindent does not match", "die Einrückung passt nicht zu den Zeilen davor"),
    (r"^cannot assign to", "hier ist keine Zuweisung möglich (für Vergleiche „==“ verwenden)"),
    (r"^invalid decimal literal", "ungültige Zahl (Dezimalzahlen mit Punkt schreiben, z. B. 1.5)"),
    (r"^source code (string )?cannot contain null bytes", "der Code enthält Nullbytes"),
    (r"^(invalid syntax|unexpected EOF while parsing)", "ungültige Syntax"),
]]


def german_duration(reason: str) -> str:
    """The German text of a :class:`DurationError` reason (the engine's parser speaks English)."""
    return _expand(_DURATION_REASONS, reason) or f"ungültiger Wert ({reason})"


def code_verdict(reason: str) -> str:
    """"ist fehlerhaft: …" for a syntax error, "ist nicht erlaubt: …" for what the sandbox refuses.

    ``reason`` is a :class:`SandboxViolation` text, possibly ending in `` (line n)``.
    """
    line = re.search(r" \(line (\d+)\)$", reason)
    core = reason[: line.start()] if line else reason
    where = f" (Zeile {line.group(1)})" if line else ""
    syntax = _SYNTAX.match(core)
    if syntax:
        at = f" in Zeile {syntax.group(1)}" if syntax.group(1) else ""
        return f"ist fehlerhaft: Syntaxfehler{at} ({_python_syntax(syntax.group(2))})"
    return f"ist nicht erlaubt: {_expand(_CODE_REASONS, core) or core}{where}"


def _python_syntax(message: str) -> str:
    return _expand(_PYTHON_SYNTAX, message) or f"Python meldet: {message}"


def _expand(table: list[tuple[re.Pattern[str], str]], text: str) -> str | None:
    """The translation of the first pattern that matches ``text`` (its groups filled in)."""
    for pattern, template in table:
        found = pattern.match(text)
        if found:
            return found.expand(template)
    return None
