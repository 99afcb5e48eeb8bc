"""Hardened parsing of uploaded BPMN and DMN files.

Uploaded models are untrusted input (ARCHITECTURE.md, decision 5): a process owner's account can
be stolen, and the engine holds data about vulnerable people. XML's document type declarations
are the door to the classic attacks - external entities that read ``file:///etc/passwd`` or call
out to the network (XXE), nested entities that expand to gigabytes ("billion laughs"), and
parameter entities that pull in external DTDs. BPMN and DMN never need a DTD, so any document
that declares one is refused outright, both by a byte scan before parsing and by inspecting the
parsed tree, and the parser itself is configured to resolve nothing and load nothing.

XInclude is never processed: lxml only expands ``xi:include`` when ``xinclude()`` is called,
which this module never does, so such elements stay inert elements in the tree.

Every model must be UTF-8 (what bpmn.io and Camunda Modeler write). A file that declares another
ASCII-compatible encoding (many older tools write ``ISO-8859-1``) but contains only ASCII bytes
is the same document in UTF-8 and is accepted; anything else is refused with a clear message
instead of being guessed at.
"""

from __future__ import annotations

import re

from lxml import etree

__all__ = ["MAX_MODEL_BYTES", "MAX_MODEL_ELEMENTS", "UnsafeXmlError", "parse_model_xml"]

MAX_MODEL_BYTES = 2 * 1024 * 1024
# The largest real model (the KIM pathway) has about 1,300 elements; libxml2 already caps nesting
# at 256 levels. A 2 MiB file of empty elements would hand SpiffWorkflow half a million nodes.
MAX_MODEL_ELEMENTS = 50_000

# Case-insensitive on purpose: a lower-case "<!doctype" is not well-formed XML anyway, and
# refusing it early gives a clearer message than the parser would.
_DTD_MARKERS = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_XML_DECLARATION_ENCODING = re.compile(
    rb"""\A(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']"""
)
_UTF8_NAMES = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
# Encodings in which a pure-ASCII file has the same bytes as in UTF-8.
_ASCII_COMPATIBLE = re.compile(r"\A(iso-?8859-\d+|latin-?\d|windows-125\d|cp125\d)\Z", re.IGNORECASE)


class UnsafeXmlError(ValueError):
    """The uploaded file is not a model we are willing to parse; the message says why."""


def parse_model_xml(content: bytes) -> etree._Element:
    """Parse an uploaded BPMN/DMN document and return its root element.

    Raises :class:`UnsafeXmlError` for oversized, non-UTF-8, DTD-bearing or malformed input.
    """
    if not isinstance(content, bytes | bytearray):
        raise TypeError("parse_model_xml expects bytes, as uploaded")
    _check_size(content)
    _check_encoding(content)
    _check_no_dtd_markers(content)
    root = _parse(bytes(content))
    _check_tree_has_no_dtd(root)
    _check_element_count(root)
    return root


def _check_size(content: bytes | bytearray) -> None:
    if not content.strip():
        raise UnsafeXmlError("the file is empty")
    if len(content) > MAX_MODEL_BYTES:
        raise UnsafeXmlError(
            f"the file is too large: {len(content)} bytes, at most {MAX_MODEL_BYTES} bytes are allowed"
        )


def _check_encoding(content: bytes | bytearray) -> None:
    try:
        bytes(content).decode("utf-8")
    except UnicodeDecodeError as err:
        raise UnsafeXmlError(
            f"the file is not valid UTF-8 text (bad byte at offset {err.start}); save the model as UTF-8"
        ) from None
    declared = _XML_DECLARATION_ENCODING.match(content)
    if declared is not None:
        name = declared.group(1).decode("ascii")
        if name.lower() not in _UTF8_NAMES and not (_ASCII_COMPATIBLE.match(name) and bytes(content).isascii()):
            raise UnsafeXmlError(f"the file declares the encoding {name}; models must be UTF-8")


def _check_no_dtd_markers(content: bytes | bytearray) -> None:
    match = _DTD_MARKERS.search(content)
    if match is not None:
        kind = match.group(1).decode("ascii").upper()
        raise UnsafeXmlError(f"{kind} declarations are not allowed")


def _new_parser() -> etree.XMLParser:
    # A fresh parser per document: cheap, and no state is shared between threads.
    return etree.XMLParser(
        encoding="utf-8",
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _parse(content: bytes) -> etree._Element:
    try:
        return etree.fromstring(content, _new_parser())
    except etree.XMLSyntaxError as err:
        raise UnsafeXmlError(_describe_syntax_error(err)) from None


def _describe_syntax_error(err: etree.XMLSyntaxError) -> str:
    last = err.error_log.last_error
    if last is not None and last.message:
        return f"not well-formed XML: {last.message.strip()} (line {last.line})"
    return f"not well-formed XML: {err.msg}"


def _check_element_count(root: etree._Element) -> None:
    for count, _element in enumerate(root.iter(), start=1):
        if count > MAX_MODEL_ELEMENTS:
            raise UnsafeXmlError(f"the file has more than {MAX_MODEL_ELEMENTS} elements")


def _check_tree_has_no_dtd(root: etree._Element) -> None:
    # Belt and braces: the byte scan above should already have refused any DTD.
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXmlError("DOCTYPE declarations are not allowed")
