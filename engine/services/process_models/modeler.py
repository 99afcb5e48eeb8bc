"""What the modeler pages need to open: which model, version or draft, and the office list.

The modeler edits files that other services store (deployed versions, drafts). This module
only answers "does the thing the caller asked to open exist, and may the caller edit models?"
so that the page can answer 403/404 before the browser loads anything, and it builds the
empty BPMN a new process starts from (lanes named after office codes, as the engine routes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lxml import etree
from sqlalchemy import select

from engine.domain.actors import Actor
from engine.domain.errors import InvalidInput, NotFound
from engine.domain.permissions import Permission, require
from engine.persistence.models import ModelDraft, Office, ProcessDefinition
from engine.services.context import UnitOfWork
from engine.services.process_models.deployment import display_name

DEFINITION_KIND = {"bpmn": "process", "dmn": "decision"}  # modeler kind -> process_definition.kind
PROCESS_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,199}$")


@dataclass(frozen=True)
class ModelerTarget:
    """What the modeler page opens: a deployed version (None: nothing deployed) and/or a draft."""

    kind: str  # bpmn | dmn
    key: str
    version: int | None
    draft_id: int | None
    name: str
    definition_id: int | None = None  # the deployed version opened (a new draft's base)


def require_model_editor(actor: Actor) -> None:
    require(actor, Permission.EDIT_MODELS)


def _versions(session: Any, kind: str, key: str) -> list[ProcessDefinition]:
    return list(session.scalars(select(ProcessDefinition).where(
        ProcessDefinition.kind == DEFINITION_KIND[kind], ProcessDefinition.key == key)
        .order_by(ProcessDefinition.version.desc())))


def modeler_target(uow: UnitOfWork, actor: Actor, kind: str, key: str, version: int | None = None,
                   draft_id: int | None = None) -> ModelerTarget:
    """Resolve the page's parameters; NotFound for an unknown key, version or draft."""
    require_model_editor(actor)
    if kind not in DEFINITION_KIND:
        raise NotFound(f"no modeler for '{kind[:20]}'")
    definitions = _versions(uow.session, kind, key[:200])
    draft = uow.session.get(ModelDraft, draft_id) if draft_id is not None else None
    if draft_id is not None:
        if draft is None or draft.kind != kind or draft.key != key:
            raise NotFound(f"no draft {draft_id} of '{key[:200]}'")
        return ModelerTarget(kind, key, None, draft.id, definitions[0].name if definitions else key)
    if not definitions:
        raise NotFound(f"no deployed {'process' if kind == 'bpmn' else 'decision'} '{key[:200]}'")
    chosen = definitions[0] if version is None else next((d for d in definitions if d.version == version), None)
    if chosen is None:
        raise NotFound(f"'{key[:200]}' has no version {version}")
    return ModelerTarget(kind, key, chosen.version, None, _display_name(uow, chosen), chosen.id)


def _display_name(uow: UnitOfWork, definition: ProcessDefinition) -> str:
    """Decisions are listed under the DMN decision's own name, not their id."""
    return display_name(uow.session, definition)


def list_offices(uow: UnitOfWork) -> list[dict[str, str]]:
    """Every office a lane or candidateGroups may name, by code."""
    return [{"code": o.code, "name": o.name} for o in uow.session.scalars(select(Office).order_by(Office.code))]


BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NSMAP = {"bpmn": BPMN, "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
         "dc": "http://www.omg.org/spec/DD/20100524/DC", "di": "http://www.omg.org/spec/DD/20100524/DI",
         "xsi": "http://www.w3.org/2001/XMLSchema-instance",
         "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
         "camunda": "http://camunda.org/schema/1.0/bpmn"}
LANE_HEIGHT, POOL_WIDTH, LANE_OFFSET = 160, 900, 30


def new_process_xml(process_id: str, name: str, lanes: list[str], known_offices: set[str]) -> str:
    """An empty executable process in a pool with one lane per office and a start event."""
    if not PROCESS_ID.match(process_id):
        raise InvalidInput("the process id must start with a letter and hold only letters, digits, _ . -",
                           {"key": "invalid"})
    unknown = [code for code in lanes if code not in known_offices]
    if unknown:
        raise InvalidInput(f"unknown office {unknown[0][:16]}", {"lanes": "unknown office"})
    lanes = list(dict.fromkeys(lanes)) or ["CM"]
    name = name.strip()[:300] or process_id

    def el(parent: etree._Element, prefix: str, tag: str, **attrs: str) -> etree._Element:
        return etree.SubElement(parent, f"{{{NSMAP[prefix]}}}{tag}", attrs)

    root = etree.Element(f"{{{BPMN}}}definitions", nsmap=NSMAP,
                         id=f"definitions_{process_id}", targetNamespace="https://kim-casework.example/processes",
                         exporter="KIM Casework Modeler", exporterVersion="1")
    collaboration = el(root, "bpmn", "collaboration", id=f"collaboration_{process_id}")
    el(collaboration, "bpmn", "participant", id=f"participant_{process_id}", name=name, processRef=process_id)
    process = el(root, "bpmn", "process", id=process_id, name=name, isExecutable="true")
    lane_set = el(process, "bpmn", "laneSet", id=f"laneset_{process_id}")
    for index, code in enumerate(lanes):
        lane = el(lane_set, "bpmn", "lane", id=f"lane_{code.lower()}", name=code)
        if index == 0:
            el(lane, "bpmn", "flowNodeRef").text = "start"
    el(process, "bpmn", "startEvent", id="start", name="Start")
    diagram = el(root, "bpmndi", "BPMNDiagram", id=f"diagram_{process_id}")
    plane = el(diagram, "bpmndi", "BPMNPlane", id=f"plane_{process_id}", bpmnElement=f"collaboration_{process_id}")
    pool = el(plane, "bpmndi", "BPMNShape", id=f"participant_{process_id}_di",
              bpmnElement=f"participant_{process_id}", isHorizontal="true")
    el(pool, "dc", "Bounds", x="100", y="80", width=str(POOL_WIDTH), height=str(LANE_HEIGHT * len(lanes)))
    for index, code in enumerate(lanes):
        shape = el(plane, "bpmndi", "BPMNShape", id=f"lane_{code.lower()}_di", bpmnElement=f"lane_{code.lower()}",
                   isHorizontal="true")
        el(shape, "dc", "Bounds", x=str(100 + LANE_OFFSET), y=str(80 + index * LANE_HEIGHT),
           width=str(POOL_WIDTH - LANE_OFFSET), height=str(LANE_HEIGHT))
    start = el(plane, "bpmndi", "BPMNShape", id="start_di", bpmnElement="start")
    el(start, "dc", "Bounds", x="182", y=str(80 + LANE_HEIGHT // 2 - 18), width="36", height="36")
    xml: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return xml.decode("utf-8")
