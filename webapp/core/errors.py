"""Engine errors to HTTP: 403/404/409/422 (ARCHITECTURE.md section 3); never a 500 for bad input.

API paths answer JSON ``{"error", "message", "fields"}``; browser pages get a plain page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from engine.domain.errors import Conflict, EngineError, InvalidInput, ModelInvalid, NotAllowed, NotFound
from webapp.core.engine_messages import translate_fields, translate_message

STATUS = {NotFound: 404, NotAllowed: 403, Conflict: 409, InvalidInput: 422, ModelInvalid: 422}


def _status_of(exc: EngineError) -> int:
    for cls, status in STATUS.items():
        if isinstance(exc, cls):
            return status
    return 400


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, code: str, message: str, fields: dict[str, str] | None = None) -> Any:
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

    @app.errorhandler(DataError)
    def data_error(_exc: DataError) -> Any:
        # e.g. a number out of range for a PostgreSQL column: the input was bad, not the server
        return error_response(422, "invalid", translate_message("a value is out of range or of the wrong type"))
