"""Every text a person can read exists in German and in English.

The UI's source texts are German (msgids in templates and views) with English catalogues; the
engine words its errors in English (or German) and the web layer translates them through the
German engine catalogue. These tests walk the sources, so a new template string or a new engine
message without its translation fails here rather than in front of a caseworker.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from flask import Flask

from engine.domain.permissions import REFUSALS
from webapp.core.engine_messages import PLACEHOLDER, engine_msgids, translate_message
from webapp.core.i18n import init_i18n

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "webapp" / "translations"
ERRORS = {"InvalidInput", "NotFound", "NotAllowed", "Conflict"}
# German already: umlauts, German quotes or words no English message uses
GERMAN = re.compile(r"[äöüßÄÖÜ„“]|\b([Dd]er|[Dd]ie|[Dd]as|Den|ist|nicht|kein\w*|und|ein\w*|Es|[uU]nbekannt\w*|"
                    r"ungültig\w*|mindestens|reserviert\w*|fehlt|Pflichtfeld|Datei|Entwurf)\b")
COMPOSED = re.compile(r"(%\(\w+\)s|[\s:;,.])*")  # only values joined by punctuation: their parts are translated


def _template(node: ast.expr) -> str | None:
    """A message as written: a literal, or an f-string with %(name)s for each value."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if not isinstance(node, ast.JoinedStr):
        return None
    parts = []
    for index, value in enumerate(node.values):
        if isinstance(value, ast.Constant):
            parts.append(str(value.value))
        else:
            parts.append(f"%(value{index})s")
    return "".join(parts)


def engine_messages() -> Iterator[tuple[str, str]]:
    """(where, message) for every message raised with an engine error or collected as a field
    error, in the engine and in the web layer's own checks, and every ``abort(description=...)``."""
    for folder in ("engine", "webapp"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            where = str(path.relative_to(ROOT))
            for node in ast.walk(tree):
                found: list[ast.expr] = []
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "abort":
                    found += [k.value for k in node.keywords if k.arg == "description"]
                elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ERRORS:
                    found += node.args[:1]
                    if len(node.args) > 1 and isinstance(node.args[1], ast.Dict):
                        found += [v for v in node.args[1].values if v is not None]
                elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript):
                    target = node.targets[0].value
                    name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", "")
                    if name == "errors":
                        found.append(node.value)
                for expr in found:
                    text = _template(expr)
                    if text is not None:
                        yield f"{where}:{expr.lineno}", text


def _sample(template: str) -> str:
    """The message as the engine would raise it, with made-up values."""
    counter = iter(range(1, 100))
    return re.sub(r"%\(\w+\)s", lambda _m: f"X{next(counter)}", template)


@pytest.fixture(scope="module")
def web_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """Only the translation machinery of the web app (no database needed)."""
    app = Flask("kim-translations", instance_path=str(tmp_path_factory.mktemp("instance")))
    app.secret_key = "test"  # the locale selector reads the session
    init_i18n(app)
    return app


ENGLISH_MESSAGES = sorted({(where, text) for where, text in engine_messages()
                           if not GERMAN.search(text) and not COMPOSED.fullmatch(text)})


def test_the_walk_finds_the_messages_people_complained_about() -> None:
    texts = {text for _where, text in ENGLISH_MESSAGES}
    assert {"unknown user", "the user does not work in the task's office", "the follow-up date must be in the future",
            "a date (TT.MM.JJJJ or YYYY-MM-DD)", "CSRF token missing or wrong; reload the page"} <= texts
    assert len(texts) > 100


@pytest.mark.parametrize(("where", "message"), ENGLISH_MESSAGES, ids=[w for w, _m in ENGLISH_MESSAGES])
def test_every_engine_message_has_a_german_translation(web_app: Flask, where: str, message: str) -> None:
    with web_app.test_request_context("/inbox"):
        german = translate_message(_sample(message))
    assert german != _sample(message), f"{where}: add {message!r} to webapp/translations/de/LC_MESSAGES/engine.po"
    assert not re.search(r"%\(\w+\)s", german)


GERMAN_MESSAGES = sorted({(where, text) for where, text in engine_messages()
                          if GERMAN.search(text) and not COMPOSED.fullmatch(text)}
                         | {(f"engine/domain/permissions.py:REFUSALS[{permission.value}]", text)
                            for permission, text in REFUSALS.items()})


def test_the_walk_finds_the_german_messages_too() -> None:
    texts = {text for _where, text in GERMAN_MESSAGES}
    assert {"Der Entwurf wurde inzwischen geändert; laden Sie ihn neu.", "Es gibt keinen Entwurf %(value1)s.",
            "Das ist der Administration vorbehalten."} <= texts
    assert len(texts) > 40


@pytest.mark.parametrize(("where", "message"), GERMAN_MESSAGES, ids=[w for w, _m in GERMAN_MESSAGES])
def test_every_german_engine_message_has_an_english_translation(web_app: Flask, where: str, message: str) -> None:
    """Messages worded in German at their source: German as they are, English from the English
    engine catalogue - an English reader must not get German."""
    with web_app.test_request_context("/inbox?lang=en"):
        english = translate_message(_sample(message))
    with web_app.test_request_context("/inbox"):
        german = translate_message(_sample(message))
    assert english != _sample(message), f"{where}: add {message!r} to webapp/translations/en/LC_MESSAGES/engine.po"
    assert not GERMAN.search(english), f"{where}: the English text of {message!r} is still German: {english!r}"
    assert not re.search(r"%\(\w+\)s", english)
    assert german == _sample(message)


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_engine_catalogue_is_complete_and_its_values_fit(language: str) -> None:
    with (TRANSLATIONS / language / "LC_MESSAGES" / "engine.po").open("rb") as po_file:
        catalogue = read_po(po_file)
    for message in catalogue:
        if not message.id:
            continue
        assert message.string, f"no {language} text for {message.id!r}"
        assert set(PLACEHOLDER.findall(str(message.id))) == set(PLACEHOLDER.findall(str(message.string))), message.id
    plain, patterns = engine_msgids()
    assert "unknown user" in plain
    assert patterns


def test_permission_refusals_are_german() -> None:
    assert all(GERMAN.search(text) for text in REFUSALS.values())


def _ui_msgids() -> dict[str, str]:
    """Every msgid of the templates and of the web layer's Python code, with where it is."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "webapp").rglob("*.html")):
        for lineno, message, _comments, _context in extract_from_file(
                "jinja2", str(path), options={"extensions": "jinja2.ext.i18n"}):
            text = message[0] if isinstance(message, tuple) else message
            found.setdefault(text, f"{path.relative_to(ROOT)}:{lineno}")
    for path in sorted((ROOT / "webapp").rglob("*.py")):
        for lineno, message, _comments, _context in extract_from_file(
                "python", str(path), keywords={"_": None, "gettext": None, "lazy_gettext": None, "_l": None}):
            text = message[0] if isinstance(message, tuple) else message
            found.setdefault(text, f"{path.relative_to(ROOT)}:{lineno}")
    return {text: where for text, where in found.items() if text}


def _english() -> dict[str, str]:
    english: dict[str, str] = {}
    for po_path in sorted((TRANSLATIONS / "en" / "LC_MESSAGES").glob("*.po")):
        with po_path.open("rb") as po_file:
            for message in read_po(po_file):
                if message.id and message.string:
                    english[str(message.id)] = str(message.string)
    return english


def test_every_ui_text_is_german_with_an_english_translation() -> None:
    english = _english()
    missing = [f"{where}: {text}" for text, where in _ui_msgids().items() if text not in english]
    assert missing == [], "add these to an English catalogue (webapp/translations/en/LC_MESSAGES/*.po)"


WORKING_DAYS_SOURCES = ["webapp/**/*.html", "webapp/translations/**/*.po", "forms/*.json", "processes/**/*.bpmn",
                        "engine/**/*.py", "webapp/**/*.py", "webapp/static/*.js"]


def test_working_days_are_arbeitstage_everywhere() -> None:
    """„Werktage“ legally include Saturday; KIM counts Monday to Friday: „Arbeitstage“ (AT)."""
    files = [path for pattern in WORKING_DAYS_SOURCES for path in ROOT.glob(pattern)]
    assert len(files) > 50
    assert [str(p.relative_to(ROOT)) for p in files if "Werktag" in p.read_text(encoding="utf-8")] == []
