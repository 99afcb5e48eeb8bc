"""Engine errors to HTTP: 403/404/409/422 (ARCHITECTURE.md section 3); never a 500 for bad input.

API paths answer JSON ``{"error", "message", "fields"}``; browser pages get a plain page.

A database that cannot be reached (a server restart, a network cut, a SQLite file locked by
another process for longer than a request waits) answers 503 with ``Retry-After``: the request
did nothing (its unit of work never began or was rolled back), and sending it again later is
right. The page for people is a standalone one, because the normal layout reads the database.

A setting that cannot work (:class:`engine.config.ConfigError`) stops the start; should one be
changed on a running engine all the same, the request that needs it answers 503 naming the
setting (the server's fault, and not a transient one: no ``Retry-After``), logged as an error.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, jsonify, make_response, render_template, request
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from markupsafe import escape
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from engine.config import ConfigError
from engine.domain.errors import Conflict, EngineError, InvalidInput, ModelInvalid, NotAllowed, NotFound
from webapp.core import transactions
from webapp.core.engine_messages import translate_fields, translate_message

STATUS = {NotFound: 404, NotAllowed: 403, Conflict: 409, InvalidInput: 422, ModelInvalid: 422}
RETRY_AFTER_SECONDS = 5
UNAVAILABLE = "Die Datenbank ist gerade nicht erreichbar. Bitte versuchen Sie es in einigen Sekunden noch einmal."
SQLITE_UNAVAILABLE = ("database is locked", "database table is locked", "unable to open database file",
                      "disk i/o error", "database or disk is full")
"""SQLite's OperationalErrors that mean "not now"; the others (no such table ...) are faults."""
UNAVAILABLE_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title} - KIM Casework</title></head>
<body><main><h1>{title}</h1><p>{message}</p><p>{hint}</p></main></body></html>"""
log = logging.getLogger(__name__)


def _status_of(exc: EngineError) -> int:
    for cls, status in STATUS.items():
        if isinstance(exc, cls):
            return status
    return 400


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, code: str, message: str, fields: dict[str, str] | None = None) -> Any:
    if status == 503:
        return unavailable_response(message)
    if _wants_json():
        response = jsonify({"error": code, "message": message, "fields": fields or {}})
        response.status_code = status
        return response
    return render_template("error.html", status=status, message=message, fields=fields or {}), status


HTTP_MESSAGES = {
    400: _l("Die Anfrage ist fehlerhaft."), 401: _l("Bitte melden Sie sich an."),
    403: _l("Dafür fehlt Ihnen die Berechtigung."), 404: _l("Diese Seite oder diesen Eintrag gibt es nicht."),
    405: _l("Diese Aktion ist hier nicht möglich."), 413: _l("Die Anfrage ist zu groß."),
    415: _l("Dieses Format wird nicht angenommen."),
}


def localized(message: str, fields: Mapping[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """An error's message and field messages in the reader's language (German unless English was
    chosen; API clients choose with Accept-Language). Engine messages are translated through the
    engine catalogue (webapp/core/engine_messages.py)."""
    return translate_message(message), translate_fields(fields)


def _http_message(exc: HTTPException, status: int) -> str:
    """Werkzeug's own English descriptions are replaced by ours; a description a view gave
    (``abort(404, "...")``) is kept and translated like an engine message."""
    default = type(exc).description
    if (exc.description is None or exc.description == default) and status in HTTP_MESSAGES:
        return str(HTTP_MESSAGES[status])
    return translate_message(exc.description or exc.name)


def unavailable_response(message: str = UNAVAILABLE) -> Any:
    """503, try again shortly: JSON for the API, a page without database reads for people; both
    in the reader's language (API clients choose it with Accept-Language, German by default)."""
    if _wants_json():
        response = jsonify({"error": "unavailable", "message": gettext(message), "fields": {}})
    else:
        # no template: the layout's navigation and signed-in user read the database (the language does not)
        response = make_response(UNAVAILABLE_PAGE.format(
            lang=escape(str(get_locale() or "de")), title=escape(gettext("Vorübergehend nicht erreichbar")),
            message=escape(gettext(message)),
            hint=escape(gettext("Ihre Eingaben wurden nicht gespeichert. Laden Sie die Seite gleich neu."))))
        response.mimetype = "text/html"
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def database_unavailable(exc: BaseException) -> bool:
    """The database cannot be reached or used just now (as opposed to a fault in the code)."""
    if isinstance(exc, PoolTimeout):
        return True  # every pooled connection busy for longer than the pool waits
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    if type(exc.orig).__module__.startswith("sqlite3"):
        return str(exc.orig).lower().startswith(SQLITE_UNAVAILABLE)
    return True  # PostgreSQL: connection refused or lost, server shutting down, statement cancelled


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(EngineError)
    def engine_error(exc: EngineError) -> Any:
        fields = getattr(exc, "fields", None)
        if isinstance(exc, ModelInvalid):
            fields = {p.element_id or "file": p.reason for p in exc.problems}
        message, translated = localized(str(exc), fields)
        return error_response(_status_of(exc), exc.code, message, translated)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        code = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type"}.get(status, "error")
        return error_response(status, code, _http_message(exc, status))

    @app.errorhandler(RecursionError)
    def too_deep(_exc: RecursionError) -> Any:
        # JSON nested thousands of levels deep fails inside the parser: malformed input, not a fault
        return error_response(400, "bad_request", translate_message("the request is nested too deeply"))

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(PoolTimeout)
    def unavailable(exc: Exception) -> Any:
        if not database_unavailable(exc):
            raise exc  # a fault of ours: the ordinary 500, logged
        log.warning("database unavailable during %s %s: %s", request.method, request.path, exc)
        transactions.abandon()  # the response must not try to commit on the broken connection
        return unavailable_response()

    @app.errorhandler(ConfigError)
    def misconfigured(exc: ConfigError) -> Any:
        log.error("%s %s needs a setting that cannot work: %s", request.method, request.path, exc)
        transactions.abandon()
        message = gettext("Die Einstellung %(setting)s des Servers ist ungültig. "
                          "Bitte wenden Sie sich an den Betrieb.", setting=exc.setting)
        if _wants_json():
            response = jsonify({"error": "misconfigured", "message": message, "fields": {}})
            response.status_code = 503
            return response
        return render_template("error.html", status=503, message=message, fields={}), 503

    @app.errorhandler(DataError)
    def data_error(_exc: DataError) -> Any:
        # e.g. a number out of range for a PostgreSQL column: the input was bad, not the server
        return error_response(422, "invalid", translate_message("a value is out of range or of the wrong type"))
