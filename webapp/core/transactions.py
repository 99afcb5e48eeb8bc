"""A request is one unit of work: authentication, the use case and what the response shows.

The unit of work opens on first use (a write transaction for POST/PUT/PATCH/DELETE, a read
transaction otherwise) and commits once after the view returned, before the response leaves.
A use case that raises is rolled back on the spot (:func:`run`), so an error page never
commits half a change; what the view writes afterwards (e.g. a failed sign-in) still commits.
A failed commit answers 409 (someone else changed the object) or 503 (the database is gone).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from flask import Flask, g, request
from sqlalchemy.exc import DBAPIError, IntegrityError

from engine.services.context import EngineContext, UnitOfWork

P = ParamSpec("P")
R = TypeVar("R")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
log = logging.getLogger(__name__)


def _context() -> EngineContext:
    from flask import current_app

    ctx: EngineContext = current_app.extensions["kim"]
    return ctx


def request_uow() -> UnitOfWork:
    """This request's unit of work, opened on first use."""
    uow: UnitOfWork | None = g.get("kim_uow")
    if uow is None:
        uow = _context().uow(write=request.method not in SAFE_METHODS)
        uow.__enter__()
        g.kim_uow = uow
    return uow


def run(use_case: Callable[Concatenate[UnitOfWork, P], R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run one use case in the request's unit of work; if it raises, undo what it did."""
    uow = request_uow()
    with uow.attempt():
        return use_case(uow, *args, **kwargs)


def run_batch(driver: Callable[Concatenate[EngineContext, P], R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a batch driver that opens one unit of work per item (e.g. migrating many cases).

    The request's own unit of work is committed first: on SQLite it may hold the write lock,
    which the driver's units of work need. What the page shows afterwards is read anew.
    """
    uow: UnitOfWork | None = g.pop("kim_uow", None)
    if uow is not None and uow.is_open:
        uow.commit()
        uow.__exit__(None, None, None)
    return driver(_context(), *args, **kwargs)


def init_transactions(app: Flask) -> None:
    app.after_request(_commit)
    app.teardown_request(_close)


def _commit(response: Any) -> Any:
    uow: UnitOfWork | None = g.get("kim_uow")
    if uow is None or not uow.is_open:
        return response
    try:
        uow.commit()
    except IntegrityError:
        log.warning("commit refused at the end of %s %s", request.method, request.path, exc_info=True)
        return _failed(409, "conflict", "Jemand anderes hat das gleichzeitig geändert; bitte neu laden.")
    except DBAPIError:
        log.exception("commit failed at the end of %s %s", request.method, request.path)
        return _failed(503, "unavailable", "Die Datenbank ist gerade nicht erreichbar; bitte gleich noch einmal.")
    return response


def _failed(status: int, code: str, message: str) -> Any:
    from flask import make_response

    from webapp.core.errors import error_response

    response = make_response(error_response(status, code, message))
    if status == 503:
        response.headers["Retry-After"] = "5"
    return response


def abandon() -> None:
    """End this request's unit of work without committing (its connection may be dead): what it
    did is rolled back, and nothing is committed when the error response goes out."""
    uow: UnitOfWork | None = g.pop("kim_uow", None)
    if uow is not None and uow.is_open:
        try:
            uow.__exit__(None, None, None)
        except DBAPIError:  # rolling back on a connection that is gone: the server dropped it already
            log.warning("rollback failed on a lost connection", exc_info=True)


def _close(_exc: BaseException | None) -> None:
    uow: UnitOfWork | None = g.pop("kim_uow", None)
    if uow is not None and uow.is_open:
        uow.__exit__(None, None, None)
