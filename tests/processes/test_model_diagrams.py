"""The shipped models follow the conventions users rely on: named elements, a form and a due date on
every user task, escalations for the leads - and they are drawn completely (BPMN DI): process owners
review and edit them in the modeler, and an element without a shape is invisible there, one outside
its lane looks routed to another office.

Checks every flow node and sequence flow has exactly one shape or edge, every lane and the pool are
drawn, the lanes are stacked inside the pool without gaps, each node sits inside the lane that routes
it (and inside its subprocess), boundary events sit on their activity's border, and every edge starts
at its source and ends at its target.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from itertools import pairwise

import pytest
from lxml import etree

from engine.demo.samples import PROCESSES_DIR

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DI = {"bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI", "dc": "http://www.omg.org/spec/DD/20100524/DC",
      "di": "http://www.omg.org/spec/DD/20100524/DI"}
NODES = {"userTask", "scriptTask", "serviceTask", "callActivity", "subProcess", "startEvent", "endEvent",
         "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent", "exclusiveGateway", "parallelGateway",
         "inclusiveGateway"}
MODELS = sorted(p.name for p in PROCESSES_DIR.glob("*.bpmn"))
TOLERANCE = 2.0


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    def holds(self, other: Box) -> bool:
        inside_x = self.x - TOLERANCE <= other.x and other.x + other.w <= self.x + self.w + TOLERANCE
        inside_y = self.y - TOLERANCE <= other.y and other.y + other.h <= self.y + self.h + TOLERANCE
        return inside_x and inside_y

    def touches(self, px: float, py: float) -> bool:
        inside_x = self.x - TOLERANCE <= px <= self.x + self.w + TOLERANCE
        inside_y = self.y - TOLERANCE <= py <= self.y + self.h + TOLERANCE
        on_edge = min(abs(px - self.x), abs(px - self.x - self.w), abs(py - self.y), abs(py - self.y - self.h))
        return inside_x and inside_y and on_edge <= TOLERANCE + max(self.w, self.h) / 2


def local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


@cache
def model(name: str) -> tuple[etree._Element, dict[str, Box], dict[str, list[tuple[float, float]]]]:
    root = etree.parse(str(PROCESSES_DIR / name)).getroot()
    shapes: dict[str, Box] = {}
    for shape in root.iterfind(".//bpmndi:BPMNShape", DI):
        bounds = shape.find("dc:Bounds", DI)
        assert bounds is not None, shape.get("id")
        assert shape.get("bpmnElement") not in shapes, f"{shape.get('bpmnElement')} is drawn twice"
        shapes[str(shape.get("bpmnElement"))] = Box(*(float(bounds.get(k) or 0) for k in ("x", "y", "width", "height")))
    edges: dict[str, list[tuple[float, float]]] = {}
    for edge in root.iterfind(".//bpmndi:BPMNEdge", DI):
        assert edge.get("bpmnElement") not in edges, f"{edge.get('bpmnElement')} is drawn twice"
        edges[str(edge.get("bpmnElement"))] = [(float(p.get("x") or 0), float(p.get("y") or 0))
                                               for p in edge.iterfind("di:waypoint", DI)]
    return root, shapes, edges


def elements(root: etree._Element, kinds: set[str]) -> list[etree._Element]:
    return [e for e in root.iter() if local(e) in kinds and etree.QName(e).namespace == BPMN]


@pytest.mark.parametrize("name", MODELS)
def test_every_element_and_flow_is_drawn_once(name: str) -> None:
    root, shapes, edges = model(name)
    wanted = {e.get("id") for e in elements(root, NODES | {"lane", "participant"})}
    flows = {e.get("id") for e in elements(root, {"sequenceFlow"})}
    assert wanted - set(shapes) == set(), "elements without a shape"
    assert flows - set(edges) == set(), "flows without an edge"
    assert set(shapes) - wanted == set(), "shapes of elements that do not exist"
    assert set(edges) - flows == set(), "edges of flows that do not exist"
    assert all(len(points) >= 2 for points in edges.values())


@pytest.mark.parametrize("name", MODELS)
def test_lanes_fill_the_pool_and_hold_their_elements(name: str) -> None:
    root, shapes, _edges = model(name)
    (pool,) = [shapes[str(p.get("id"))] for p in elements(root, {"participant"})]
    lanes = sorted(((shapes[str(lane.get("id"))], lane) for lane in elements(root, {"lane"})), key=lambda t: t[0].y)
    assert lanes[0][0].y == pool.y, "the first lane starts at the top of the pool"
    assert lanes[-1][0].y + lanes[-1][0].h == pool.y + pool.h, "the last lane ends at the bottom of the pool"
    for (upper, _), (lower, _) in pairwise(lanes):
        assert upper.y + upper.h == lower.y, "lanes are stacked without gaps or overlaps"
    for box, lane in lanes:
        assert pool.holds(box)
        for ref in lane.iterfind(f"{{{BPMN}}}flowNodeRef"):
            assert box.holds(shapes[str(ref.text)]), f"{ref.text} lies outside its lane {lane.get('name')}"


@pytest.mark.parametrize("name", MODELS)
def test_subprocesses_hold_their_elements_and_boundary_events_sit_on_their_activity(name: str) -> None:
    root, shapes, _edges = model(name)
    for sub in elements(root, {"subProcess"}):
        for child in sub:
            if local(child) in NODES and local(child) != "boundaryEvent":
                assert shapes[str(sub.get("id"))].holds(shapes[str(child.get("id"))]), child.get("id")
    for event in elements(root, {"boundaryEvent"}):
        host, box = shapes[str(event.get("attachedToRef"))], shapes[str(event.get("id"))]
        centre_x, centre_y = box.x + box.w / 2, box.y + box.h / 2
        assert host.x <= centre_x <= host.x + host.w, event.get("id")
        assert min(abs(centre_y - host.y), abs(centre_y - host.y - host.h)) <= TOLERANCE, event.get("id")


@pytest.mark.parametrize("name", MODELS)
def test_every_edge_runs_from_its_source_to_its_target(name: str) -> None:
    root, shapes, edges = model(name)
    for flow in elements(root, {"sequenceFlow"}):
        points = edges[str(flow.get("id"))]
        assert shapes[str(flow.get("sourceRef"))].touches(*points[0]), f"{flow.get('id')} starts elsewhere"
        assert shapes[str(flow.get("targetRef"))].touches(*points[-1]), f"{flow.get('id')} ends elsewhere"
        for (ax, ay), (bx, by) in pairwise(points):
            assert ax == bx or ay == by, f"{flow.get('id')} has a slanted segment"


@pytest.mark.parametrize("name", ["kim_pathway", "identity_clarification", "permit_application"])
def test_the_escalation_tasks_are_for_the_leads(name: str) -> None:
    """Every escalation except the one to KIM coordination carries audience="lead"."""
    tree = etree.parse(str(PROCESSES_DIR / f"{name}.bpmn"))
    for task in tree.iter(f"{TAG}userTask"):
        props = {p.get("name"): p.get("value") for p in task.iter(f"{SPIFF}property")}
        escalation = "Eskalation" in (task.get("name") or "")
        to_ki = "KIM-Koordinierung" in (task.get("name") or "")
        assert (props.get("audience") == "lead") == (escalation and not to_ki), task.get("id")


TAG = f"{{{BPMN}}}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
NAMED_KINDS = {"process", "participant", "lane", "userTask", "scriptTask", "serviceTask", "callActivity", "subProcess",
               "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
               "exclusiveGateway", "parallelGateway"}
GERMAN = re.compile(r"[äöüß]|\b(der|die|das|und|von|bis|zum|zur|auf|eine?)\b", re.IGNORECASE)


@pytest.mark.parametrize("name", ["kim_pathway", "identity_clarification", "permit_application"])
def test_every_element_is_named_and_every_user_task_has_a_form_and_a_due_date(name: str) -> None:
    """Users read the names in their inbox and in the modeler: no element may show its technical id."""
    tree = etree.parse(str(PROCESSES_DIR / f"{name}.bpmn"))
    unnamed = [e.get("id") for e in tree.iter() if isinstance(e.tag, str) and e.tag.startswith(TAG)
               and e.tag[len(TAG):] in NAMED_KINDS and not (e.get("name") or "").strip()]
    assert unnamed == []
    for gateway in tree.iter(f"{TAG}exclusiveGateway"):
        flows = [f for f in tree.iter(f"{TAG}sequenceFlow") if f.get("sourceRef") == gateway.get("id")]
        if len(flows) > 1:
            assert all(f.get("name") for f in flows), f"unlabelled branch of {gateway.get('id')}"
    for task in tree.iter(f"{TAG}userTask"):
        props = {p.get("name") for p in task.iter(f"{SPIFF}property")}
        assert {"formKey", "dueIn"} <= props, f"{task.get('id')} needs a form and a due date"
    lanes = {lane.get("name") for lane in tree.iter(f"{TAG}lane")}
    assert lanes <= {"CM", "FW", "KI", "ABH", "EBB", "SOZ", "JC", "AA", "JA", "SCH"}
    assert GERMAN.search(str(next(tree.iter(f"{TAG}process")).get("name")))


@pytest.mark.parametrize("name", MODELS)
def test_every_loop_input_names_an_element_the_modeler_can_resolve(name: str) -> None:
    """The browser modeler reads a multi-instance loop's input (loopDataInputRef) as a reference to an
    element of the model; one it cannot resolve is dropped when the process owner saves, and the saved
    model then fails its check. The shipped models name an element by the list's name."""
    root = etree.parse(str(PROCESSES_DIR / name)).getroot()
    ids = {e.get("id") for e in root.iter() if e.get("id")}
    unresolved = [e.text for e in root.iter(f"{{{BPMN}}}loopDataInputRef") if (e.text or "").strip() not in ids]
    assert unresolved == []
