"""Check before publish: every reason a BPMN/DMN file would fail, element by element, in German.

This is the one check path: the modeler's "Prüfen" button, saving a draft, publishing a draft and
uploading a file through ``POST /process-models`` all call :func:`check_model`; errors block
publishing, warnings do not. The file is untrusted (ARCHITECTURE.md decision 5): the hardened
parser sees it first, and nothing here executes model code - expressions are only compiled.

The engine's deploy-time validation (engine.bpmn.loader) speaks English to operators at the
command line; its messages are translated here, unknown ones keep their text behind a German
lead-in so nothing is lost.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
from engine.persistence.models import FormVersion, ProcessDefinition
from engine.persistence.offices import office_resolver
from engine.persistence.uow import UnitOfWork
from engine.services.process_models import deployment

__all__ = ["ERROR", "WARNING", "Problem", "check_in_session", "check_model", "has_errors", "model_key"]


def has_errors(problems: list[Problem]) -> bool:
    return any(p.severity == ERROR for p in problems)


@contextmanager
def _session_of(uow_or_ctx: Any) -> Iterator[Session]:
    if isinstance(uow_or_ctx, UnitOfWork):
        try:
            session = uow_or_ctx.session  # already open: check inside the caller's transaction
        except RuntimeError:
            session = None
        if session is not None:
            yield session
            return
        with uow_or_ctx as uow:
            yield uow.session
        return
    with uow_or_ctx.uow(write=False) as uow:
        yield uow.session


def forms_dir_of(uow_or_ctx: Any) -> Path:
    config = getattr(uow_or_ctx, "config", None) or {}
    return Path(config.get("KIM_FORMS_PATH") or DEFAULT_FORMS_DIR)


def check_model(uow_or_ctx: Any, filename: str, content: bytes) -> list[Problem]:
    """All problems of one file, errors first; an empty list means it can be published."""
    forms_dir = forms_dir_of(uow_or_ctx)
    with _session_of(uow_or_ctx) as session:
        return check_in_session(session, filename, content, forms_dir)


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
    problems = _translated(office_problems)
    local_ids = model_rules.process_ids(root)
    for process, meta in zip(executable, metas, strict=True):
        problems += _form_problems(session, meta, forms_dir)
        problems += model_rules.unreachable_elements(process)
        problems += model_rules.gateway_problems(process)
        problems += model_rules.timer_problems(process)
        problems += _call_problems(session, process, local_ids)
    if not has_errors(problems):
        problems += _compile_problems(session, source, root, metas)
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


def _deployed(session: Session, kind: str, key: str) -> bool:
    return session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.kind == kind,
                                                             ProcessDefinition.key == key[:200]).limit(1)) is not None


def _call_problems(session: Session, process: etree._Element, local_ids: set[str],
                   local_decisions: frozenset[str] = frozenset()) -> list[Problem]:
    problems: list[Problem] = []
    for element_id, called in model_rules.call_targets(process):
        if called is None:
            problems.append(Problem(element_id, ERROR, "Die Aufrufaktivität nennt keinen aufgerufenen Prozess "
                                                       "(calledElement)."))
        elif called not in local_ids and not _deployed(session, "process", called):
            problems.append(Problem(element_id, ERROR, f"Die Aufrufaktivität ruft den Prozess „{called}“ auf, "
                                                       "der nicht veröffentlicht ist."))
    for element_id, decision in model_rules.decision_calls(process):
        if decision not in local_decisions and not _deployed(session, "decision", decision):
            problems.append(Problem(element_id, ERROR, f"Die Geschäftsregel-Aufgabe ruft die Entscheidung "
                                                       f"„{decision}“ auf, die nicht veröffentlicht ist."))
    return problems


def _compile_problems(session: Session, source: ModelSource, root: etree._Element,
                      metas: list[ProcessMeta]) -> list[Problem]:
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
            problems += _translated(exc.problems)
    return problems


# --- German messages for the engine's English validation reasons ---------------------------------

_LABELS = {"condition": "Die Bedingung", "script": "Das Skript", "prescript": "Das Vor-Skript",
           "postscript": "Das Nach-Skript", "cardinality": "Die Kardinalität",
           "event expression": "Der Ereignis-Ausdruck"}
_TRANSLATIONS: list[tuple[re.Pattern[str], str]] = [(re.compile(p, re.DOTALL), t) for p, t in [
    (r"^candidateGroups '(.*)' is not a known office$",
     "candidateGroups „\\1“ ist keine bekannte Stelle (Kürzel oder Name einer Stelle)."),
    (r"^lane '(.*)' is not a known office code or name$",
     "Die Lane „\\1“ ist kein bekanntes Stellenkürzel und kein bekannter Stellenname."),
    (r"^user task has no office.*$",
     "Die Aufgabe hat keine Stelle: legen Sie sie in eine Lane, die nach einer Stelle benannt ist, "
     "oder setzen Sie camunda:candidateGroups."),
    (r"^audience '(.*)' is not allowed: use (.*)$",
     "Die Zielgruppe (audience) „\\1“ ist nicht erlaubt; erlaubt ist \\2 (die Leitung der Stelle)."),
    (r"^the file is empty$", "Die Datei ist leer."),
    (r"^the file has more than (\d+) elements$", "Die Datei hat mehr als \\1 XML-Elemente."),
    (r"^the file is too large: (\d+) bytes.*$", "Die Datei ist zu groß (\\1 Bytes, höchstens 2 MiB)."),
    (r"^the file is not valid UTF-8 text \(bad byte at offset (\d+)\).*$",
     "Die Datei ist kein gültiger UTF-8-Text (ungültiges Byte an Position \\1); speichern Sie das Modell "
     "als UTF-8."),
    (r"^the file declares the encoding (.*); models must be UTF-8$",
     "Die Datei ist als \\1 kodiert; Modelle müssen UTF-8 sein (die XML-Deklaration auf "
     "encoding=\"UTF-8\" ändern und als UTF-8 speichern)."),
    (r"^(DOCTYPE|ENTITY) declarations are not allowed$",
     "\\1-Deklarationen sind nicht erlaubt (Schutz vor XML-Angriffen wie XXE)."),
    (r"^not well-formed XML: (.*) \(line (\d+)\)$", "Kein wohlgeformtes XML: \\1 (Zeile \\2)."),
    (r"^not well-formed XML: (.*)$", "Kein wohlgeformtes XML: \\1"),
    (r"^timer: (.*)$", "Der Timer ist ungültig: \\1"),
    (r"^service task calls '(.*)', which the engine does not offer \(available: (.*)\)$",
     "Die Serviceaufgabe ruft „\\1“ auf, das die Engine nicht anbietet (verfügbar: \\2)."),
    (r"^Non-default exclusive outgoing sequence flow without condition.*$",
     "Der Ausgang hat keine Bedingung und ist nicht der Standardfluss des Gateways."),
    (r"^the decision cannot be parsed: (.*)$", "Die Entscheidung lässt sich nicht einlesen: \\1"),
    (r"^hit policy (.*) is not supported$", "Die Hit Policy \\1 wird nicht unterstützt."),
    (r"^input column '(.*)' has no input expression$", "Die Eingabespalte „\\1“ hat keinen Eingabeausdruck."),
    (r"^rule (\d+) (input|output) '(.*)' is not allowed: (.*)$", "Regel \\1, \\2 „\\3“ ist nicht erlaubt: \\4"),
]]
_CODE = re.compile(r"^(condition|script|prescript|postscript|cardinality|event expression|service parameter '.*?') "
                   r"'(.*)' is not allowed: (.*)$", re.DOTALL)


def german(reason: str) -> str:
    """The German text of one engine validation reason."""
    code = _CODE.match(reason)
    if code:
        what = _LABELS.get(code.group(1)) or f"Der Service-Parameter {code.group(1)[18:]}"
        return f"{what} „{code.group(2)}“ ist nicht erlaubt: {code.group(3)}"
    for pattern, text in _TRANSLATIONS:
        if pattern.match(reason):
            return pattern.sub(text, reason)
    return f"Das Modell lässt sich nicht ausführen: {reason}"


def _translated(problems: list[ValidationProblem]) -> list[Problem]:
    return [Problem(p.element_id, ERROR, german(p.reason)) for p in problems]
