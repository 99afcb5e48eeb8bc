"""German by default, English on request: Flask-Babel with catalogs compiled at start-up.

Message ids are the German texts, so the UI is complete in German without any catalog; the
English catalog (translations/en) is compiled from its .po files into the instance folder
when it is missing or older than any of them.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, request, session
from flask_babel import Babel, get_locale, gettext

from engine import clock

LANGUAGES = ("de", "en")
SOURCE = Path(__file__).parent.parent / "translations"


def _compile(target: Path) -> None:
    """Merge every .po file of a language (one per UI area, so areas can be translated
    independently) into that language's messages.mo."""
    for folder in SOURCE.glob("*/LC_MESSAGES"):
        sources = sorted(folder.glob("*.po"))
        if not sources:
            continue
        mo_path = target / folder.relative_to(SOURCE) / "messages.mo"
        newest = max(path.stat().st_mtime for path in sources)
        if mo_path.exists() and mo_path.stat().st_mtime >= newest:
            continue
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        with sources[0].open("rb") as po_file:
            merged = read_po(po_file)
        for po_path in sources[1:]:
            with po_path.open("rb") as po_file:
                for message in read_po(po_file):
                    if message.id and message.id not in merged:
                        merged[message.id] = message
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, merged)


def select_locale() -> str:
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        session["lang"] = chosen
    stored = session.get("lang")
    if stored in LANGUAGES:
        return str(stored)
    return request.accept_languages.best_match(LANGUAGES, default="de") or "de"


def format_date(value: date | datetime | str | None) -> str:
    """TT.MM.JJJJ in Europe/Berlin."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(clock.BERLIN).date()
    return value.strftime("%d.%m.%Y")


def format_datetime(value: datetime | str | None) -> str:
    if value is None or value == "":
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(clock.BERLIN).strftime("%d.%m.%Y %H:%M")


def task_state_label(state: str) -> str:
    labels = {"open": gettext("offen"), "claimed": gettext("übernommen"), "completed": gettext("erledigt"),
              "cancelled": gettext("abgebrochen")}
    return str(labels.get(state, state))


def init_i18n(app: Flask) -> None:
    compiled = Path(app.instance_path) / "translations"
    _compile(compiled)
    app.config["BABEL_DEFAULT_LOCALE"] = "de"
    app.config["BABEL_DEFAULT_TIMEZONE"] = "Europe/Berlin"
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(compiled)
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.filters["date_de"] = format_date
    app.jinja_env.filters["task_state"] = task_state_label
    app.jinja_env.filters["datetime_de"] = format_datetime
