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
from flask import Flask, Response, request, session
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


LANGUAGE_COOKIE = "kim_lang"


def select_locale() -> str:
    """German for every visitor; English only when chosen.

    A person chooses with the language switch (``?lang=en``), kept in the session and in a
    cookie so the choice survives signing in and out. The browser's ``Accept-Language`` is not
    asked for pages - a headless or foreign browser must not turn the German UI English - nor for
    API calls a page makes with its session. API clients with a token have no page to choose on:
    they say it with ``Accept-Language``, German when they say nothing.
    """
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        session["lang"] = chosen
        return str(chosen)
    stored = session.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    if stored in LANGUAGES:
        return str(stored)
    if request.path.startswith("/api/") and request.headers.get("Authorization"):
        return request.accept_languages.best_match(LANGUAGES, default="de") or "de"
    return "de"


def _remember_choice(response: Response) -> Response:
    """Keep an explicit ``?lang=`` choice in a long-lived cookie (the session ends at sign-out)."""
    chosen = request.args.get("lang")
    if chosen in LANGUAGES and request.cookies.get(LANGUAGE_COOKIE) != chosen:
        response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                            secure=request.is_secure)
    return response


def format_date(value: date | datetime | str | None) -> str:
    """TT.MM.JJJJ in Europe/Berlin."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(clock.BERLIN).date()
    return value.strftime("%d.%m.%Y")


def date_input(value: str | None) -> str:
    """A day for a text input: TT.MM.JJJJ when it is an ISO day, else as the person typed it
    (so a wrong entry stays in the field next to its message)."""
    try:
        return format_date(value) if value and len(value) == 10 and value[4] == "-" else (value or "")
    except ValueError:
        return value or ""


def format_datetime(value: datetime | str | None) -> str:
    if value is None or value == "":
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(clock.BERLIN).strftime("%d.%m.%Y %H:%M")


def task_state_label(state: str) -> str:
    labels = {"open": gettext("offen"), "claimed": gettext("übernommen"), "completed": gettext("erledigt"),
              "cancelled": gettext("abgebrochen")}
    return str(labels.get(state, state))


def case_status_label(status: str) -> str:
    labels = {"open": gettext("offen"), "closed": gettext("abgeschlossen")}
    return str(labels.get(status, status))


def init_i18n(app: Flask) -> None:
    compiled = Path(app.instance_path) / "translations"
    _compile(compiled)
    app.config["BABEL_DEFAULT_LOCALE"] = "de"
    app.config["BABEL_DEFAULT_TIMEZONE"] = "Europe/Berlin"
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(compiled)
    Babel(app, locale_selector=select_locale)
    app.after_request(_remember_choice)
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.filters["date_de"] = format_date
    app.jinja_env.filters["task_state"] = task_state_label
    app.jinja_env.filters["case_status"] = case_status_label
    app.jinja_env.filters["date_input"] = date_input
    app.jinja_env.filters["datetime_de"] = format_datetime
