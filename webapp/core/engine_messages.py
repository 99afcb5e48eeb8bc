"""The engine's messages in the reader's language, translated at the web boundary.

The engine stays free of Flask and Babel: it raises ``InvalidInput("unknown user",
{"username": "unknown user"})`` in plain English (some rooms already word theirs in German).
Here each message is matched against the msgids of the German engine catalogue
(translations/de/LC_MESSAGES/engine.po) and, for the messages worded in German at their source,
of the English one (translations/en/LC_MESSAGES/engine.po): German is the source language of
the UI, so a German message needs no German entry, only an English one. A msgid may carry
``%(name)s`` for a value the message holds ("unknown office '%(code)s'"); the value is cut out
of the engine's text, translated in turn when it is itself a known message, and put into the
translation. A message no msgid
matches is passed on unchanged - tests/webapp/test_translations_complete.py makes sure every
message the engine can raise has an entry in the other language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po
from flask_babel import gettext

TRANSLATIONS = Path(__file__).parent.parent / "translations"
CATALOGUE = TRANSLATIONS / "de" / "LC_MESSAGES" / "engine.po"
"""German texts of the engine's English messages."""
GERMAN_SOURCE_CATALOGUE = TRANSLATIONS / "en" / "LC_MESSAGES" / "engine.po"
"""English texts of the engine's German messages."""
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@cache
def engine_msgids() -> tuple[frozenset[str], tuple[tuple[str, re.Pattern[str]], ...]]:
    """Both catalogues' msgids: those without values (looked up directly) and patterns for those
    with values, the most specific (longest fixed text) first."""
    ids: list[str] = []
    for catalogue in (CATALOGUE, GERMAN_SOURCE_CATALOGUE):
        with catalogue.open("rb") as po_file:
            ids += [str(m.id) for m in read_po(po_file) if m.id and isinstance(m.id, str)]
    plain = frozenset(i.replace("%%", "%") for i in ids if not PLACEHOLDER.search(i))
    patterns = [(i, _pattern(i)) for i in ids if PLACEHOLDER.search(i)]
    patterns.sort(key=lambda item: -len(PLACEHOLDER.sub("", item[0])))
    return plain, tuple(patterns)


def _pattern(msgid: str) -> re.Pattern[str]:
    parts, last = [], 0
    for match in PLACEHOLDER.finditer(msgid):
        parts.append(re.escape(msgid[last:match.start()].replace("%%", "%")))
        parts.append(f"(?P<{match.group(1)}>.+?)")
        last = match.end()
    parts.append(re.escape(msgid[last:].replace("%%", "%")))
    return re.compile("".join(parts), re.DOTALL)


def translate_message(text: str) -> str:
    """``text`` in the current locale (German unless English was chosen)."""
    plain, patterns = engine_msgids()
    if text in plain:
        return str(gettext(text))
    for msgid, pattern in patterns:
        match = pattern.fullmatch(text)
        if match:
            values = {name: translate_message(value) for name, value in match.groupdict().items()}
            return str(gettext(msgid, **values))
    return text


def translate_fields(fields: Mapping[str, str] | None) -> dict[str, str]:
    """Field messages translated; the field names stay as the API names them."""
    return {name: translate_message(problem) if isinstance(problem, str) else problem
            for name, problem in (fields or {}).items()}
