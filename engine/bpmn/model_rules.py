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

from engine.bpmn.metadata import BPMN_NS, CAMUNDA_NS, FLOW_NODE_TAGS, SPIFF_NS
from engine.bpmn.sandbox import SandboxViolation, check_expression
from engine.bpmn.timers import check_timer_expression
from engine.domain.durations import is_literal_timer_value

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
    shown = value[:80]
    if is_literal_timer_value(value):
        reason = check_timer_expression(value, cycle)
        return f"Der Timer-Wert „{shown}“ ist ungültig: {reason}." if reason else None
    if _LITERAL_ATTEMPT.match(value):
        return (f"Der Timer-Wert „{shown}“ ist kein gültiger Zeitwert (Beispiele: P14D, PT48H, 10WD, "
                "R/P28D, 2027-01-01T00:00:00+01:00).")
    try:
        check_expression(value)
    except SandboxViolation as exc:
        return f"Der Timer-Ausdruck „{shown}“ ist nicht erlaubt: {exc}"
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
