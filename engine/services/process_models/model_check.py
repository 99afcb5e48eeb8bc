"""Check before publish: every reason a BPMN/DMN file would fail, element by element, in German.

This is the one check path: the modeler's "Prüfen" button, saving a draft, publishing a draft and
uploading a file through ``POST /process-models`` all call :func:`check_model`; errors block
publishing, warnings do not. The file is untrusted (ARCHITECTURE.md decision 5): the hardened
parser sees it first, and nothing here executes model code - expressions are only compiled.

The engine's deploy-time validation (engine.bpmn.loader) speaks English to operators at the
command line; its messages are translated by engine.services.process_models.model_messages.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn import metadata, model_rules
from engine.bpmn.decision_tables import compile_decision
from engine.bpmn.loader import InspectedFile, build_bundle
from engine.bpmn.model_rules import ERROR, WARNING, Problem
from engine.bpmn.safe_xml import MAX_MODEL_BYTES, UnsafeXmlError, parse_model_xml
from engine.domain.errors import ModelInvalid
from engine.domain.model import ModelSource, ProcessMeta, ValidationProblem
from engine.forms import DEFAULT_FORMS_DIR, FORM_KEY
from engine.persistence.definitions import latest_definition
from engine.persistence.models import FormVersion
from engine.persistence.offices import office_resolver
from engine.services.context import EngineContext, UnitOfWork
from engine.services.process_models import deployment
from engine.services.process_models.model_messages import german

__all__ = ["ERROR", "WARNING", "Problem", "check_in_session", "check_model", "german", "has_errors", "model_key"]


def has_errors(problems: list[Problem]) -> bool:
    return any(p.severity == ERROR for p in problems)


def forms_dir_of(ctx: EngineContext) -> Path:
    return Path(ctx.config.get("KIM_FORMS_PATH") or DEFAULT_FORMS_DIR)


def check_model(uow: UnitOfWork, filename: str, content: bytes) -> list[Problem]:
    """All problems of one file, errors first; an empty list means it can be published."""
    return check_in_session(uow.session, filename, content, forms_dir_of(uow.ctx))


def check_in_session(session: Session, filename: str, content: bytes, forms_dir: Path) -> list[Problem]:
    if len(content) > MAX_MODEL_BYTES:
        return [Problem(None, ERROR, f"Die Datei ist größer als 2 MiB ({len(content)} Bytes).")]
    try:
        root = parse_model_xml(content)
    except UnsafeXmlError as exc:
        return [Problem(None, ERROR, german(str(exc)))]
    source = ModelSource(filename, content)
    if metadata.is_dmn(root):
        problems = _check_dmn(source, root)
    elif etree.QName(root).localname == "definitions" and etree.QName(root).namespace == metadata.BPMN_NS:
        problems = _check_bpmn(session, source, root, forms_dir)
    else:
        problems = [Problem(None, ERROR, "Die Datei ist weder ein BPMN-2.0- noch ein DMN-Modell.")]
    return sorted(problems, key=lambda p: p.severity != ERROR)


def model_key(root: etree._Element) -> tuple[str, str] | None:
    """(kind, key) a file publishes under: its first executable process or first decision."""
    if metadata.is_dmn(root):
        ids = metadata.decision_ids(root)
        return ("dmn", ids[0]) if ids else None
    processes = metadata.executable_processes(root) or list(root.iter(f"{{{metadata.BPMN_NS}}}process"))
    return ("bpmn", str(processes[0].get("id"))) if processes and processes[0].get("id") else None


def _check_dmn(source: ModelSource, root: etree._Element) -> list[Problem]:
    ids = metadata.decision_ids(root)
    if not ids:
        return [Problem(None, ERROR, "Die DMN-Datei enthält keine Entscheidung.")]
    problems: list[Problem] = []
    for decision_id in ids:
        try:
            compile_decision(source, decision_id)
        except ModelInvalid as exc:
            problems.extend(_translated(exc.problems))
    return problems


def _check_bpmn(session: Session, source: ModelSource, root: etree._Element, forms_dir: Path) -> list[Problem]:
    executable = metadata.executable_processes(root)
    if not executable:
        return [Problem(None, ERROR, "Die Datei enthält keinen ausführbaren Prozess (isExecutable ist "
                                     "überall „false“); nur ausführbare Prozesse lassen sich veröffentlichen.")]
    lookup = office_resolver(session)
    office_problems: list[ValidationProblem] = []
    metas = [metadata.process_meta(p, lambda n: lookup.get(n.strip().lower()), office_problems)
             for p in executable]
    names = {k: v for meta in metas for k, v in meta.element_names.items()}
    problems = _translated(office_problems, names)
    local_ids = model_rules.process_ids(root)
    for process, meta in zip(executable, metas, strict=True):
        problems += _form_problems(session, meta, forms_dir)
        problems += model_rules.unreachable_elements(process)
        problems += model_rules.gateway_problems(process)
        problems += model_rules.timer_problems(process)
        problems += _call_problems(session, process, local_ids)
    if not has_errors(problems):
        problems += _compile_problems(session, source, root, metas, names)
    return problems


def _form_problems(session: Session, meta: ProcessMeta, forms_dir: Path) -> list[Problem]:
    problems: list[Problem] = []
    for task in meta.human_tasks.values():
        key = task.form_key
        if not key:
            continue
        if not FORM_KEY.match(key):
            problems.append(Problem(task.bpmn_id, ERROR, f"Der Formularschlüssel „{key[:100]}“ ist ungültig "
                                                         "(erlaubt: a-z, 0-9, _ und -)."))
        elif not (forms_dir / f"{key}.schema.json").is_file() and session.scalar(
                select(FormVersion.id).where(FormVersion.form_key == key).limit(1)) is None:
            problems.append(Problem(task.bpmn_id, ERROR, f"Zur Aufgabe „{task.name}“ gibt es kein Formular "
                                                         f"„{key}“."))
    return problems


def _deployed(session: Session, kind: str, key: str) -> str:
    """"" when nothing of that key is deployed, "retired" when it was withdrawn, else "live"."""
    latest = latest_definition(session, kind, key[:200])
    if latest is None:
        return ""
    return "retired" if latest.retired_at is not None else "live"


def _call_problems(session: Session, process: etree._Element, local_ids: set[str],
                   local_decisions: frozenset[str] = frozenset()) -> list[Problem]:
    problems: list[Problem] = []
    for element_id, called in model_rules.call_targets(process):
        if called is None:
            problems.append(Problem(element_id, ERROR, "Die Aufrufaktivität nennt keinen aufgerufenen Prozess "
                                                       "(calledElement)."))
        elif called not in local_ids:
            state = _deployed(session, "process", called)
            if state != "live":
                problems.append(Problem(element_id, ERROR, f"Die Aufrufaktivität ruft den Prozess „{called}“ auf, "
                                                           f"der {_NOT_LIVE[state]} ist."))
    for element_id, decision in model_rules.decision_calls(process):
        state = "live" if decision in local_decisions else _deployed(session, "decision", decision)
        if state != "live":
            problems.append(Problem(element_id, ERROR, f"Die Geschäftsregel-Aufgabe ruft die Entscheidung "
                                                       f"„{decision}“ auf, die {_NOT_LIVE[state]} ist."))
    return problems


_NOT_LIVE = {"": "nicht veröffentlicht", "retired": "zurückgezogen"}


def _compile_problems(session: Session, source: ModelSource, root: etree._Element,
                      metas: list[ProcessMeta], names: dict[str, str]) -> list[Problem]:
    """What SpiffWorkflow's parser and the sandbox say when the model is compiled for real."""
    inspected = InspectedFile(source, "bpmn", root, processes=metas)
    try:
        files = [inspected, *deployment.dependency_files(session, [inspected])]
    except UnsafeXmlError as exc:  # a stored dependency no longer parses: should never happen
        return [Problem(None, ERROR, german(str(exc)))]
    problems: list[Problem] = []
    for meta in metas:
        try:
            build_bundle(meta.process_id, files)
        except ModelInvalid as exc:
            problems += _translated(exc.problems, names)
    return problems


def _translated(problems: list[ValidationProblem], names: dict[str, str] | None = None) -> list[Problem]:
    """German problems; ``names`` (element id -> name on the diagram) names the element in the text."""
    return [Problem(p.element_id, ERROR, german(p.reason, (names or {}).get(p.element_id or ""))) for p in problems]
