"""Read routing metadata (office, assignee, due dates, forms) out of BPMN XML.

SpiffWorkflow parses the executable semantics; the properties that route work to an office
come from three dialects that process owners actually use: lanes, SpiffWorkflow
``spiffworkflow:properties`` and Camunda attributes. Reading them here, once at deploy time,
keeps the runtime independent of whichever modeler wrote the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from lxml import etree

from engine.bpmn.show_from import DATA_PATH, parse_show_from
from engine.domain.durations import DurationError, parse_deadline
from engine.domain.model import HumanTaskMeta, ProcessMeta, ValidationProblem

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    "https://www.omg.org/spec/DMN/20230324/MODEL/",
)
HUMAN_TASK_TAGS = ("userTask", "manualTask")
FLOW_NODE_TAGS = (
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway",
)

OfficeResolver = Callable[[str], "str | None"]
AUDIENCES = ("lead",)  # property ``audience``: who in the office works the task; absent: every caseworker


def _q(tag: str, ns: str = BPMN_NS) -> str:
    return f"{{{ns}}}{tag}"


def is_dmn(root: etree._Element) -> bool:
    return etree.QName(root).namespace in DMN_NAMESPACES


def decision_ids(root: etree._Element) -> list[str]:
    ns = etree.QName(root).namespace
    return [str(d.get("id")) for d in root.iter(f"{{{ns}}}decision") if d.get("id")]


def executable_processes(root: etree._Element) -> list[etree._Element]:
    """Processes that can be started: all with isExecutable not set to false."""
    return [p for p in root.iter(_q("process")) if p.get("isExecutable", "true").lower() != "false"]


def _lane_of_elements(process: etree._Element) -> dict[str, str]:
    """Map flow node id -> innermost lane name that references it."""
    result: dict[str, str] = {}

    def visit(lane: etree._Element) -> None:
        name = (lane.get("name") or "").strip()
        for ref in lane.findall(_q("flowNodeRef")):
            if ref.text and name:
                result[ref.text.strip()] = name
        for child_set in lane.findall(_q("childLaneSet")):
            for child in child_set.findall(_q("lane")):
                visit(child)  # inner lanes overwrite outer ones

    for lane_set in process.findall(_q("laneSet")):
        for lane in lane_set.findall(_q("lane")):
            visit(lane)
    return result


def _properties(element: etree._Element) -> dict[str, str]:
    """spiffworkflow:properties and camunda:properties of an element, by name."""
    props: dict[str, str] = {}
    ext = element.find(_q("extensionElements"))
    if ext is None:
        return props
    for ns in (CAMUNDA_NS, SPIFF_NS):
        for prop in ext.iter(f"{{{ns}}}property"):
            name, value = prop.get("name"), prop.get("value")
            if name and value is not None:
                props[name] = value.strip()
    return props


def _spiff_extension_text(element: etree._Element, tag: str) -> str | None:
    ext = element.find(_q("extensionElements"))
    if ext is None:
        return None
    found = ext.find(f"{{{SPIFF_NS}}}{tag}")
    return found.text.strip() if found is not None and found.text else None


def _enclosing_lane(element: etree._Element, lanes: dict[str, str]) -> str | None:
    """The lane of the element, or of the nearest enclosing subprocess that has one."""
    node: etree._Element | None = element
    while node is not None and etree.QName(node).localname != "process":
        lane = lanes.get(node.get("id") or "")
        if lane:
            return lane
        node = node.getparent()
    return None


def _human_task(
    element: etree._Element, lane: str | None, resolve_office: OfficeResolver, problems: list[ValidationProblem]
) -> HumanTaskMeta:
    task_id = element.get("id") or ""
    props = _properties(element)
    office, office_from = _routing(element, props, lane, resolve_office, problems)
    due_in = props.get("dueIn") or (element.get(_q("dueDate", CAMUNDA_NS)) or "").strip() or None
    name = (element.get("name") or task_id).strip()
    _check_deadline(task_id, name, "dueIn" if props.get("dueIn") else "dueDate", due_in, problems)
    _check_deadline(task_id, name, "escalateAfter", props.get("escalateAfter") or None, problems)
    form_key = (props.get("formKey") or (element.get(_q("formKey", CAMUNDA_NS)) or "").strip()
                or _spiff_extension_text(element, "formJsonSchemaFilename"))
    if form_key and form_key.endswith(".schema.json"):
        form_key = form_key[: -len(".schema.json")]
    return HumanTaskMeta(
        bpmn_id=task_id,
        name=name,
        office=office,
        assignee=(element.get(_q("assignee", CAMUNDA_NS)) or "").strip() or None,
        due_in=due_in,
        escalate_after=props.get("escalateAfter"),
        form_key=form_key or None,
        due_from=props.get("dueFrom") or None,
        remind_before=_remind_before(task_id, name, props.get("remindBefore"), problems),
        audience=_audience(task_id, props.get("audience"), problems),
        office_from=office_from,
        show_from=parse_show_from(task_id, props.get("showFrom"), problems),
    )


def _office_from(task_id: str, value: str, has_groups: bool, problems: list[ValidationProblem]) -> str | None:
    """``officeFrom``: the dotted path of a data field that holds the office code (an office chosen
    at run time, e.g. one task per invited office). It replaces lane and candidateGroups, so
    naming both is refused rather than one of them silently ignored."""
    if not DATA_PATH.fullmatch(value):
        problems.append(ValidationProblem(task_id, f"officeFrom '{value[:80]}' is not a data field name "
                                                   "(e.g. invitation.office)"))
        return None
    if has_groups:
        problems.append(ValidationProblem(task_id, "officeFrom and candidateGroups both name the office: "
                                                   "keep one"))
        return None
    return value


def _routing(element: etree._Element, props: dict[str, str], lane: str | None, resolve_office: OfficeResolver,
             problems: list[ValidationProblem]) -> tuple[str | None, str | None]:
    """(office, officeFrom) of a user task: candidateGroups, else its lane - or, with ``officeFrom``,
    no fixed office at all (the lane then only draws the diagram)."""
    task_id = element.get("id") or ""
    groups = (element.get(_q("candidateGroups", CAMUNDA_NS)) or "").strip()
    if "officeFrom" in props:
        return None, _office_from(task_id, props["officeFrom"], bool(groups), problems)
    office: str | None = None
    if groups:
        first = groups.split(",")[0].strip()
        office = resolve_office(first)
        if office is None:
            problems.append(ValidationProblem(task_id, f"candidateGroups '{first}' is not a known office"))
    elif lane:
        office = resolve_office(lane)
        if office is None:
            problems.append(ValidationProblem(task_id, f"lane '{lane}' is not a known office code or name"))
    else:
        problems.append(ValidationProblem(task_id, "user task has no office: put it in a lane named after an "
                                                   "office or set camunda:candidateGroups"))
    return office, None


def _audience(task_id: str, value: str | None, problems: list[ValidationProblem]) -> str | None:
    """``audience``: ``lead`` routes the task to the lead(s) of its office (escalations); anything
    else is refused, so a typo cannot quietly send an escalation to every caseworker."""
    if value is None:
        return None
    if value not in AUDIENCES:
        problems.append(ValidationProblem(task_id, f"audience '{value[:50]}' is not allowed: use "
                                                   f"{' or '.join(repr(a) for a in AUDIENCES)}"))
        return None
    return value


def _check_deadline(task_id: str, name: str, prop: str, value: str | None,
                    problems: list[ValidationProblem]) -> bool:
    """A deadline property must parse as the engine parses it at run time (engine.domain.durations);
    otherwise the task would silently get no due date or the default escalation."""
    if value is None:
        return True
    try:
        parse_deadline(value)
    except DurationError as exc:
        problems.append(ValidationProblem(task_id, f"{prop} '{value}' of '{name}' is not a valid duration: "
                                                   f"{exc.reason}"))
        return False
    return True


def _remind_before(task_id: str, name: str, value: str | None, problems: list[ValidationProblem]) -> str | None:
    """``remindBefore``: a duration or ``<n>WD`` before the due day; ``0``/``none`` switch it off."""
    if value is None:
        return None
    if value.strip().strip("'\"").lower() in ("0", "none", "off", "false", "0wd", "p0d"):
        return "none"
    return value if _check_deadline(task_id, name, "remindBefore", value, problems) else None


def _flow_nodes(process: etree._Element) -> Iterator[etree._Element]:
    for element in process.iter():
        if isinstance(element.tag, str) and etree.QName(element).namespace == BPMN_NS \
                and etree.QName(element).localname in FLOW_NODE_TAGS:
            yield element


def process_meta(
    process: etree._Element, resolve_office: OfficeResolver, problems: list[ValidationProblem]
) -> ProcessMeta:
    """Collect routing metadata of one process; problems found are appended to ``problems``."""
    lanes = _lane_of_elements(process)
    human: dict[str, HumanTaskMeta] = {}
    names: dict[str, str] = {}
    called: list[str] = []
    decisions: list[str] = []
    for element in _flow_nodes(process):
        element_id = element.get("id") or ""
        local = etree.QName(element).localname
        names[element_id] = (element.get("name") or element_id).strip()
        if local in HUMAN_TASK_TAGS:
            human[element_id] = _human_task(element, _enclosing_lane(element, lanes), resolve_office, problems)
        elif local == "callActivity" and element.get("calledElement"):
            called.append(str(element.get("calledElement")))
        elif local == "businessRuleTask":
            ref = _spiff_extension_text(element, "calledDecisionId") or element.get(
                _q("decisionRef", CAMUNDA_NS))
            if ref:
                decisions.append(ref)
    return ProcessMeta(
        process_id=str(process.get("id")),
        name=(process.get("name") or str(process.get("id"))).strip(),
        human_tasks=human,
        element_names=names,
        called_processes=tuple(dict.fromkeys(called)),
        called_decisions=tuple(dict.fromkeys(decisions)),
        ends_case=_ends_case(process, problems),
    )


def _ends_case(process: etree._Element, problems: list[ValidationProblem]) -> bool:
    """Process property ``endsCase``: ``false`` for a process that runs beside the case's own (a case
    conference): when it ends, the case stays open. Default ``true``."""
    value = _properties(process).get("endsCase")
    if value is None or value.lower() == "true":
        return True
    if value.lower() == "false":
        return False
    problems.append(ValidationProblem(str(process.get("id")), f"endsCase '{value[:50]}' is not allowed: use "
                                                              "'true' or 'false'"))
    return True
