"""Engine errors to HTTP: 403/404/409/422 (ARCHITECTURE.md section 3); never a 500 for bad input.

API paths answer JSON ``{"error", "message", "fields"}``; browser pages get a plain page.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from engine.domain.errors import Conflict, EngineError, InvalidInput, ModelInvalid, NotAllowed, NotFound

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


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(EngineError)
    def engine_error(exc: EngineError) -> Any:
        fields = getattr(exc, "fields", None)
        if isinstance(exc, ModelInvalid):
            fields = {p.element_id or "file": p.reason for p in exc.problems}
        return error_response(_status_of(exc), exc.code, str(exc), fields)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        code = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type"}.get(status, "error")
        return error_response(status, code, exc.description or exc.name)

    @app.errorhandler(RecursionError)
    def too_deep(_exc: RecursionError) -> Any:
        # JSON nested thousands of levels deep fails inside the parser: malformed input, not a fault
        return error_response(400, "bad_request", "the request is nested too deeply")

    @app.errorhandler(DataError)
    def data_error(_exc: DataError) -> Any:
        # e.g. a number out of range for a PostgreSQL column: the input was bad, not the server
        return error_response(422, "invalid", "a value is out of range or of the wrong type")
