"""Compare two versions of a BPMN or DMN model element by element (matched by id).

Process owners review what a new version changes before they publish it or move running
cases onto it; a text diff of XML shows layout noise (coordinates, attribute order), so this
compares what matters for execution and routing: names, types, lanes (offices), routing
properties, conditions, timers, scripts and the flows between elements. For DMN the unit
is the rule of a decision table. A pure function: bytes in, a JSON-ready dict out.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lxml import etree

from engine.bpmn.metadata import BPMN_NS, CAMUNDA_NS, FLOW_NODE_TAGS, SPIFF_NS, is_dmn
from engine.bpmn.safe_xml import parse_model_xml

ROUTING_PROPERTIES = ("dueIn", "dueFrom", "escalateAfter", "remindBefore", "formKey", "showFrom")
CAMUNDA_ATTRIBUTES = ("candidateGroups", "assignee", "dueDate", "formKey")
LABELS = {"type": "Typ", "name": "Name", "lane": "Amt (Lane)", "condition": "Bedingung", "timer": "Zeitgeber",
          "script": "Skript", "incoming": "Eingehende Flüsse", "outgoing": "Ausgehende Flüsse",
          "source": "Quelle", "target": "Ziel", "default": "Standardfluss", "called": "Aufgerufener Prozess",
          "attached": "Angeheftet an", "decision": "Entscheidung", "inputs": "Bedingungen",
          "outputs": "Ergebnisse", "description": "Beschreibung", "hit_policy": "Trefferrichtlinie",
          "decision_ref": "Entscheidungstabelle"}

Signature = dict[str, str]


def diff_models(old: bytes, new: bytes) -> dict[str, Any]:
    """``{kind, added: [ids], removed: [ids], changed: [{id, name, changes: [str]}], names: {id: name}}``.

    Raises safe_xml.UnsafeXmlError when either file cannot be parsed safely, and ValueError
    when one is BPMN and the other DMN.
    """
    old_root, new_root = parse_model_xml(old), parse_model_xml(new)
    if is_dmn(old_root) != is_dmn(new_root):
        raise ValueError("a BPMN model cannot be compared with a DMN model")
    kind = "dmn" if is_dmn(new_root) else "bpmn"
    collect = _dmn_signatures if kind == "dmn" else _bpmn_signatures
    before, after = collect(old_root), collect(new_root)
    changed = []
    for element_id in (i for i in after if i in before):
        changes = _describe(before[element_id], after[element_id])
        if changes:
            changed.append({"id": element_id, "name": after[element_id].get("name") or element_id,
                            "changes": changes})
    names = {i: s.get("name") or i for i, s in {**before, **after}.items()}
    return {"kind": kind, "added": [i for i in after if i not in before],
            "removed": [i for i in before if i not in after], "changed": changed, "names": names}


def _describe(old: Signature, new: Signature) -> list[str]:
    changes = []
    for key in dict.fromkeys([*old, *new]):
        before, after = old.get(key, ""), new.get(key, "")
        if before == after or (key == "name" and new.get("type") == "rule"):
            continue  # a rule's name is its position: inserting a rule renumbers the rest
        label = LABELS.get(key, key.removeprefix("prop:").removeprefix("attr:"))
        if key.startswith("prop:"):
            label = f"Eigenschaft {label}"
        changes.append(f"{label}: {_show(before)} → {_show(after)}")
    return changes


def _show(value: str) -> str:
    if not value:
        return "(leer)"
    return f"„{value if len(value) <= 80 else value[:77] + '…'}“"


def _q(tag: str, ns: str = BPMN_NS) -> str:
    return f"{{{ns}}}{tag}"


def _text(element: etree._Element | None) -> str:
    return " ".join((element.text or "").split()) if element is not None else ""


def _bpmn_signatures(root: etree._Element) -> dict[str, Signature]:
    lanes = _lanes(root)
    result: dict[str, Signature] = {}
    for element in _bpmn_elements(root):
        element_id = str(element.get("id"))
        local = etree.QName(element).localname
        signature: Signature = {"type": local, "name": " ".join((element.get("name") or "").split())}
        if local == "sequenceFlow":
            signature |= {"source": element.get("sourceRef") or "", "target": element.get("targetRef") or "",
                          "condition": _text(element.find(_q("conditionExpression")))}
        elif local != "lane":
            signature |= _node_signature(element, lanes.get(element_id, ""))
        result[element_id] = {k: v for k, v in signature.items() if v}
    return result


def _bpmn_elements(root: etree._Element) -> Iterator[etree._Element]:
    wanted = {*FLOW_NODE_TAGS, "sequenceFlow", "lane"}
    for element in root.iter():
        if isinstance(element.tag, str) and element.get("id") and etree.QName(element).namespace == BPMN_NS \
                and etree.QName(element).localname in wanted:
            yield element


def _lanes(root: etree._Element) -> dict[str, str]:
    """flow node id -> innermost lane name (inner lanes come later in document order)."""
    result: dict[str, str] = {}
    for lane in root.iter(_q("lane")):
        for ref in lane.findall(_q("flowNodeRef")):
            if ref.text:
                result[ref.text.strip()] = (lane.get("name") or "").strip()
    return result


def _node_signature(element: etree._Element, lane: str) -> Signature:
    signature: Signature = {
        "lane": lane,
        "incoming": ", ".join(sorted(_text(i) for i in element.findall(_q("incoming")))),
        "outgoing": ", ".join(sorted(_text(o) for o in element.findall(_q("outgoing")))),
        "default": element.get("default") or "",
        "called": element.get("calledElement") or "",
        "attached": element.get("attachedToRef") or "",
        "script": _text(element.find(_q("script"))),
        "timer": _timer(element),
        "decision_ref": _decision_ref(element),
    }
    for name in CAMUNDA_ATTRIBUTES:
        signature[f"attr:{name}"] = (element.get(_q(name, CAMUNDA_NS)) or "").strip()
    ext = element.find(_q("extensionElements"))
    if ext is not None:
        for ns in (SPIFF_NS, CAMUNDA_NS):
            for prop in ext.iter(_q("property", ns)):
                name = prop.get("name") or ""
                if name in ROUTING_PROPERTIES:
                    signature[f"prop:{name}"] = (prop.get("value") or "").strip()
    return signature


def _timer(element: etree._Element) -> str:
    definition = element.find(_q("timerEventDefinition"))
    if definition is None:
        return ""
    parts = [f"{etree.QName(child).localname}={_text(child)}" for child in definition
             if isinstance(child.tag, str)]
    return "; ".join(parts) or "(ohne Wert)"


def _decision_ref(element: etree._Element) -> str:
    ext = element.find(_q("extensionElements"))
    found = ext.find(_q("calledDecisionId", SPIFF_NS)) if ext is not None else None
    return _text(found) or (element.get(_q("decisionRef", CAMUNDA_NS)) or "").strip()


def _dmn_signatures(root: etree._Element) -> dict[str, Signature]:
    """One signature per decision (name, hit policy) and per rule (its cells, in order)."""
    ns = etree.QName(root).namespace
    result: dict[str, Signature] = {}
    for decision in root.iter(f"{{{ns}}}decision"):
        decision_id = str(decision.get("id") or "")
        decision_name = (decision.get("name") or decision_id).strip()
        table = decision.find(f"{{{ns}}}decisionTable")
        result[decision_id] = {"type": "decision", "name": decision_name,
                               "hit_policy": (table.get("hitPolicy") or "UNIQUE") if table is not None else ""}
        if table is None:
            continue
        for number, rule in enumerate(table.findall(f"{{{ns}}}rule"), start=1):
            cells = {"inputs": [_text(e.find(f"{{{ns}}}text")) for e in rule.findall(f"{{{ns}}}inputEntry")],
                     "outputs": [_text(e.find(f"{{{ns}}}text")) for e in rule.findall(f"{{{ns}}}outputEntry")]}
            rule_id = str(rule.get("id") or f"{decision_id}#{number}")
            result[rule_id] = {"type": "rule", "name": f"{decision_name}: Regel {number}",
                               "decision": decision_id,
                               "inputs": " | ".join(c or "-" for c in cells["inputs"]),
                               "outputs": " | ".join(c or "(leer)" for c in cells["outputs"]),
                               "description": _text(rule.find(f"{{{ns}}}description"))}
    return result
