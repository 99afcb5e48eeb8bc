"""German texts for the engine's English validation reasons, as process owners meet them.

The engine (engine.bpmn, SpiffWorkflow, libxml2, the expression sandbox, the duration parser)
speaks English to operators at the command line. The modeler's check shows every reason to a
process owner, so each one a real model produces is translated here: in full, never shortened,
with the element it concerns. A reason nobody has translated yet keeps its text behind a German
lead-in, so nothing is lost.
"""

from __future__ import annotations

import re

from engine.bpmn.model_rules import code_verdict, german_duration

_Table = list[tuple[re.Pattern[str], str]]


def _table(rows: list[tuple[str, str]]) -> _Table:
    return [(re.compile(p, re.DOTALL), t) for p, t in rows]


_PROPERTY = {"dueIn": "Die Frist (dueIn)", "dueDate": "Die Frist (camunda:dueDate)",
             "escalateAfter": "Die Eskalationsfrist (escalateAfter)",
             "remindBefore": "Die Erinnerung vorher (remindBefore)"}
_DEADLINE = re.compile(r"^(dueIn|dueDate|escalateAfter|remindBefore) '(.*)' of '(.*)' is not a valid duration: (.*)$",
                       re.DOTALL)
_LABELS = {"condition": "Die Bedingung", "script": "Das Skript", "prescript": "Das Vor-Skript",
           "postscript": "Das Nach-Skript", "cardinality": "Die Kardinalität",
           "event expression": "Der Ereignis-Ausdruck"}
_CODE = re.compile(r"^(condition|script|prescript|postscript|cardinality|event expression|service parameter '.*?'"
                   r"|rule \d+ (?:input|output)) '(.*)' is not allowed: (.*)$", re.DOTALL)
_RULE = re.compile(r"^rule (\d+) (input|output)$")
_ASSIGNMENT = re.compile(r"(?<![=!<>])=(?!=)")  # a lone "=" in an expression: meant "=="

_ENGINE = _table([
    (r"^candidateGroups '(.*)' is not a known office$",
     "candidateGroups „\\1“ ist keine bekannte Stelle (Kürzel oder Name einer Stelle)."),
    (r"^lane '(.*)' is not a known office code or name$",
     "Die Lane „\\1“ ist kein bekanntes Stellenkürzel und kein bekannter Stellenname."),
    (r"^user task has no office.*$",
     "Die Aufgabe hat keine Stelle: legen Sie sie in eine Lane, die nach einer Stelle benannt ist, "
     "oder setzen Sie camunda:candidateGroups."),
    (r"^audience '(.*)' is not allowed: use (.*)$",
     "Die Zielgruppe (audience) „\\1“ ist nicht erlaubt; erlaubt ist \\2 (die Leitung der Stelle)."),
    (r"^officeFrom '(.*)' is not a data field name.*$",
     "officeFrom „\\1“ ist kein Datenfeld; nennen Sie das Feld, das das Stellenkürzel enthält "
     "(z. B. invitation.office)."),
    (r"^officeFrom and candidateGroups both name the office.*$",
     "officeFrom und camunda:candidateGroups nennen beide die Stelle; behalten Sie eines von beiden."),
    (r"^showFrom entry '(.*)' is not 'Label=data\.path'.*$",
     "Der Eintrag „\\1“ in showFrom hat nicht die Form „Bezeichnung=Datenfeld“ (z. B. "
     "Frist=household_deadline.deadline); trennen Sie mehrere Einträge mit „;“."),
    (r"^showFrom names (\d+) entries; at most (\d+) are shown$",
     "showFrom nennt \\1 Einträge; eine Aufgabe zeigt höchstens \\2."),
    (r"^showFrom label '(.*)' is longer than (\d+) characters$",
     "Die Bezeichnung „\\1“ in showFrom ist länger als \\2 Zeichen."),
    (r"^showFrom path '(.*)' is not a data field name.*$",
     "„\\1“ in showFrom ist kein Datenfeld; nennen Sie einen Pfad wie household_deadline.deadline."),
    (r"^showFrom label '(.*)' appears more than once$",
     "Die Bezeichnung „\\1“ kommt in showFrom mehrfach vor."),
    (r"^endsCase '(.*)' is not allowed.*$",
     "endsCase „\\1“ ist nicht erlaubt; erlaubt sind 'true' (das Ende des Prozesses schließt den Fall) "
     "und 'false' (ein Schritt neben dem Fallprozess, z. B. eine Fallkonferenz)."),
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
     "\\1-Deklarationen sind nicht erlaubt (Schutz vor XML-Angriffen wie XXE). Speichern Sie das Modell "
     "ohne <!\\1 …>-Zeile, wie es BPMN-Modeler tun."),
    (r"^the file contains no executable process$", "Die Datei enthält keinen ausführbaren Prozess."),
    (r"^not a BPMN 2\.0 or DMN file$", "Die Datei ist weder ein BPMN-2.0- noch ein DMN-Modell."),
    (r"^the DMN file defines no decision$", "Die DMN-Datei enthält keine Entscheidung."),
    (r"^service task calls '(.*)', which the engine does not offer \(available: (.*)\)$",
     "Die Serviceaufgabe ruft „\\1“ auf, das die Engine nicht anbietet (verfügbar: \\2)."),
    (r"^hit policy (.*) is not supported$", "Die Hit Policy \\1 wird nicht unterstützt."),
    (r"^input column '(.*)' has no input expression$", "Die Eingabespalte „\\1“ hat keinen Eingabeausdruck."),
])
_SPIFF = _table([
    (r"^Non-default exclusive outgoing sequence flow without condition.*$",
     "Der Ausgang hat keine Bedingung und ist nicht der Standardfluss des Gateways."),
    (r"^No start event found", "Der Prozess hat kein Startereignis."),
    (r"^Exactly one start event is required in a SubWorkflow Task; found (\d+)",
     "Ein Teilprozess braucht genau ein Startereignis; dieser hat \\1."),
    (r"^A SubWorkflow Must contain an End event", "Ein Teilprozess braucht ein Endereignis."),
    (r"^Cannot resolve data(Input|Output)Association",
     "Eine Datenzuordnung (data\\1Association) verweist auf ein Datenobjekt, das es im Modell nicht gibt."),
    (r".*raise_validation_exception\(\) got an unexpected keyword argument 'node'",
     "Das Ereignis verweist auf eine Nachricht, ein Signal, einen Fehler oder eine Eskalation, die im Modell "
     "nicht definiert ist."),
    (r"^Expected an? (\w+) node", "Das Ereignis verweist auf ein Element vom Typ „\\1“, das es im Modell nicht gibt."),
    (r"^Could not find messageRef", "Das Nachrichtenereignis nennt keine Nachricht (messageRef)."),
    (r"^(Message|Signal|Error|Escalation|Correlation) identifier is missing",
     "Eine Definition vom Typ „\\1“ im Modell hat keine id."),
    (r"^(Correlation is missing|Message identifier is missing from correlation)",
     "Die Korrelation einer Nachricht ist unvollständig."),
    (r"^Data Store", "Datenspeicher (Data Stores) werden nicht unterstützt."),
    (r"^There is no support implemented for this task type",
     "Diese Art von Element kann die Engine nicht ausführen."),
    (r"^Multiple outgoing flows are not supported",
     "Dieses Element darf nur einen ausgehenden Fluss haben; verzweigen Sie mit einem Gateway."),
    (r"^A multiinstance task must specify",
     "Eine Mehrfachaufgabe braucht genau eine Angabe: eine Anzahl (loopCardinality) oder eine Liste "
     "(loopDataInputRef)."),
    (r"^A loopMaximum or loopCondition must be specified",
     "Eine Schleife braucht eine Höchstzahl (loopMaximum) oder eine Bedingung (loopCondition)."),
    (r"^The loop (input|output) data reference is missing",
     "Die Daten der Mehrfachaufgabe fehlen in der IO-Spezifikation."),
    (r"^Cancel Events may only be used with transactions",
     "Abbruchereignisse sind nur in Transaktionen möglich."),
    (r"^Conditional event definition with missing condition", "Dem bedingten Ereignis fehlt die Bedingung."),
    (r"^Unknown Time Specification",
     "Dem Zeitgeber fehlt die Art (Dauer, Zeitpunkt oder Wiederholung)."),
    (r"^Time Specification Error", "Der Zeitgeber ist fehlerhaft."),
    (r"^Duplicate process ID: (\S+)", "Die Prozess-ID „\\1“ kommt mehrfach vor."),
    (r"^The process '(.*?)' was not found", "Der Prozess „\\1“ wurde nicht gefunden."),
    (r"^Process (\S+) is not executable", "Der Prozess „\\1“ ist nicht ausführbar (isExecutable=\"false\")."),
    (r"^A Service Task must have an operator", "Die Serviceaufgabe nennt keinen Dienst (Operator)."),
    (r"^Invalid Script Task\.\s+No Script Provided", "Die Skriptaufgabe hat kein Skript."),
    (r"^Sequential ordering for ad hoc subprocesses",
     "Ad-hoc-Teilprozesse mit fester Reihenfolge werden nicht unterstützt."),
    (r"^Ad hoc subprocesses may not contain start or end events",
     "Ad-hoc-Teilprozesse dürfen keine Start- oder Endereignisse enthalten."),
    (r"^No \"calledElement\" attribute", "Die Aufrufaktivität nennt keinen aufgerufenen Prozess (calledElement)."),
    (r"^When looking for a task spec.*\((.*)\)",
     "Ein Sequenzfluss führt zu „\\1“, das es im Prozess nicht gibt."),
    (r"^No DMN Diagram available with id \"(.*?)\"", "Die Entscheidung „\\1“ gibt es nicht."),
    (r"^Multiple decision tables are not", "Eine Entscheidung darf nur eine Entscheidungstabelle haben."),
    (r"^No decisions found", "Die DMN-Datei enthält keine Entscheidung."),
    (r"^Unknown type in decision table", "Die Entscheidungstabelle enthält ein unbekanntes Element."),
    (r"^Malformed (Input|Output) Expression '(.*)'\. ",
     "Der Ausdruck „\\2“ ist fehlerhaft (Syntaxfehler)."),
])
_XML = _table([
    (r"^Document is empty", "Die Datei enthält kein XML-Dokument."),
    (r"^Start tag expected, '<' not found", "Die Datei ist kein XML-Dokument (es beginnt nicht mit „<“)."),
    (r"^Opening and ending tag mismatch: (\S+) line (\d+) and (\S+)",
     "Das Element „\\1“ (Zeile \\2) wird mit „\\3“ geschlossen."),
    (r"^Premature end of data in tag (\S+) line (\d+)",
     "Die Datei endet mitten im Element „\\1“ (begonnen in Zeile \\2); sie ist wohl unvollständig."),
    (r"^EndTag: '</' not found", "Ein schließendes Tag fehlt; die Datei ist wohl unvollständig."),
    (r"^Extra content at the end of the document", "Nach dem Ende des Dokuments folgt weiterer Inhalt."),
    (r"^Couldn't find end of Start Tag (\S+)", "Das Tag „\\1“ ist nicht abgeschlossen („>“ fehlt)."),
    (r"^Namespace prefix (\S+) on (\S+) is not defined",
     "Das Namensraum-Präfix „\\1“ (bei „\\2“) ist nicht deklariert."),
    (r"^Attribute (\S+) redefined", "Das Attribut „\\1“ steht doppelt im selben Element."),
    (r"^(xmlParseEntityRef: no name|EntityRef: expecting ';')",
     "Ein „&“ steht allein; schreiben Sie es als „&amp;“."),
    (r"^Entity '(.*)' not defined", "Die Entität „&\\1;“ ist nicht definiert."),
    (r"^Specification mandates value for attribute (\S+)", "Dem Attribut „\\1“ fehlt der Wert."),
    (r"^AttValue: \" or ' expected", "Ein Attributwert steht nicht in Anführungszeichen."),
    (r"^attributes construct error", "Die Attribute eines Elements sind fehlerhaft."),
    (r"^(PCDATA invalid Char value|Char 0x\w+ out of allowed range|invalid character in attribute value)",
     "Die Datei enthält Zeichen, die in XML nicht erlaubt sind (Steuerzeichen)."),
    (r"^StartTag: invalid element name", "Ein Elementname ist ungültig."),
    (r"^Excessive depth in document: (\d+)", "Die Elemente sind zu tief verschachtelt (mehr als \\1 Ebenen)."),
    (r"^XML declaration allowed only at the start",
     "Die XML-Deklaration (<?xml …?>) steht nicht am Anfang der Datei."),
])
_XML_ERROR = re.compile(r"^not well-formed XML: (.*?)(?: \(line (\d+)\))?$", re.DOTALL)


def german(reason: str, element: str | None = None) -> str:
    """The German text of one engine validation reason; ``element`` is the name shown for it."""
    deadline = _DEADLINE.match(reason)
    if deadline:
        prop, value, name, why = deadline.groups()
        return f"{_PROPERTY[prop]} „{value}“ der Aufgabe „{element or name}“ ist ungültig: {german_duration(why)}."
    code = _CODE.match(reason)
    if code:
        verdict = code_verdict(code.group(3))
        if verdict.startswith("ist fehlerhaft") and code.group(1) != "script" and _ASSIGNMENT.search(code.group(2)):
            verdict += "; für einen Vergleich „==“ statt „=“ schreiben"
        return f"{_code_label(code.group(1))} „{code.group(2)}“ {verdict}."
    if reason.startswith("timer: "):
        return f"Der Timer ist ungültig: {_timer(reason[7:])}"
    if reason.startswith("the decision cannot be parsed: "):
        inner = reason[len("the decision cannot be parsed: "):]
        return f"Die Entscheidung lässt sich nicht einlesen: {_lookup(_SPIFF, inner) or inner}"
    xml = _XML_ERROR.match(reason)
    if xml:
        line = f" (Zeile {xml.group(2)})" if xml.group(2) else ""
        detail = _lookup(_XML, xml.group(1).strip())
        return f"Kein wohlgeformtes XML{line}: {detail or 'Meldung des XML-Parsers: ' + xml.group(1).strip()}"
    found = _lookup(_ENGINE, reason) or _lookup(_SPIFF, reason)
    return found or f"Das Modell lässt sich nicht ausführen: {reason}"


def _code_label(what: str) -> str:
    rule = _RULE.match(what)
    if rule:
        return f"Regel {rule.group(1)}, {'Bedingung' if rule.group(2) == 'input' else 'Ergebnis'}"
    return _LABELS.get(what) or f"Der Service-Parameter {what[18:]}"


def _timer(reason: str) -> str:
    quoted = re.match(r"^invalid duration value '(.*)': (.*)$", reason, re.DOTALL)
    if quoted:
        return f"„{quoted.group(1)}“: {german_duration(quoted.group(2))}."
    cycle = re.match(r"^'(.*)' is (not a repeating timer value|a repeating value)", reason, re.DOTALL)
    if cycle and cycle.group(2).startswith("not"):
        return f"„{cycle.group(1)}“ wiederholt sich nicht; ein Zyklus-Zeitgeber braucht z. B. R/P28D."
    if cycle:
        return f"„{cycle.group(1)}“ ist eine Wiederholung; dafür ist ein Zyklus-Zeitgeber (timeCycle) nötig."
    return reason


def _lookup(table: _Table, text: str) -> str | None:
    for pattern, template in table:
        found = pattern.match(text)
        if found:
            return found.expand(template)
    return None
