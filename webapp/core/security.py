"""Who is calling: a Bearer token (REST clients) or a server-side browser session.

Deny by default: a request without a valid identity gets 401 (API) or the login page (UI).
Session-authenticated requests that change something must carry the CSRF token.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Any, TypeVar, cast

import flask_login
from flask import Flask, abort, current_app, g, request, session
from flask_login import LoginManager, UserMixin
from werkzeug.middleware.proxy_fix import ProxyFix

from engine.domain.actors import Actor
from engine.persistence.models import User
from engine.services.admin import directory, sessions, tokens
from engine.services.context import EngineContext
from webapp.core.transactions import request_uow

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


class SessionUser(UserMixin):  # type: ignore[misc]  # flask-login ships no types
    """What flask-login keeps: the server-side session id, resolved to a user per request."""

    def __init__(self, session_id: str, user: User) -> None:
        self.id = session_id
        self.user = user
        self.actor = directory.actor_for(user)


ViewFunction = TypeVar("ViewFunction", bound=Callable[..., Any])


def login_required(view: ViewFunction) -> ViewFunction:
    """flask-login's decorator, typed: pages need a signed-in user (else the login page)."""
    return cast(ViewFunction, flask_login.login_required(view))


def engine_context() -> EngineContext:
    ctx: EngineContext = current_app.extensions["kim"]
    return ctx


def init_security(app: Flask) -> None:
    manager = LoginManager(app)
    manager.login_view = "auth.login_form"
    manager.session_protection = "strong"

    @manager.user_loader  # type: ignore[untyped-decorator]  # flask-login ships no types
    def load_session_user(session_id: str) -> SessionUser | None:
        if _bearer_token() is not None:
            return None  # a request with a bearer token authenticates by the token alone
        user = sessions.resume(request_uow(), session_id)
        return SessionUser(session_id, user) if user is not None else None

    app.before_request(_check_csrf)
    _trust_proxies(app)


def _trust_proxies(app: Flask) -> None:
    """Behind ``KIM_TRUSTED_PROXIES`` reverse proxies the client's address is the one they add to
    X-Forwarded-For (and the scheme and host they were asked for); without it those headers are
    ignored, so nobody can pick an address to dodge the sign-in limits per address."""
    raw = engine_context_of(app).config.get("KIM_TRUSTED_PROXIES") or 0
    try:
        hops = int(raw)
    except (TypeError, ValueError):
        raise ValueError(f"KIM_TRUSTED_PROXIES must be a number of proxy hops, not {raw!r}") from None
    if hops < 0:
        raise ValueError("KIM_TRUSTED_PROXIES must not be negative")
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]


def engine_context_of(app: Flask) -> EngineContext:
    ctx: EngineContext = app.extensions["kim"]
    return ctx


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else None


def bearer_actor(token: str) -> Actor | None:
    """The token's holder (cached per process for KIM_TOKEN_CACHE_SECONDS), in this request's
    unit of work: a request is one transaction, authentication included."""
    return tokens.actor_for_token(request_uow(), token)


def current_actor() -> Actor | None:
    """The caller, cached per request; None if not signed in.

    A request that sends a bearer token is the token's holder or nobody: a wrong token never
    falls back to the browser session.
    """
    if "actor" not in g:
        token = _bearer_token()
        g.via_token = token is not None
        if token is not None:
            g.actor = bearer_actor(token)
        else:
            from flask_login import current_user

            g.actor = current_user.actor if current_user.is_authenticated else None
    actor: Actor | None = g.actor
    return actor


def require_actor() -> Actor:
    """The signed-in user or bearer-token holder; 401 for anybody else (deny by default)."""
    actor = current_actor()
    if actor is None:
        abort(401, description="sign in or send 'Authorization: Bearer <token>'")
    return actor


def json_object_body() -> dict[str, Any]:
    """The request's JSON object; 400 for anything else (malformed, not an object, nested absurdly deep)."""
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        body = None
    if not isinstance(body, dict):
        abort(400, description="the request body must be a JSON object")
    return body


def csrf_token() -> str:
    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    token: str = session[CSRF_FIELD]
    return token


def _check_csrf() -> Any:
    """Only requests that a browser session authenticates can be forged cross-site; the login
    form is checked too once the browser has a token (against login CSRF)."""
    if request.method in SAFE_METHODS or _bearer_token() is not None:
        return None  # a bearer request never uses the session cookie, so it cannot be forged with it
    from flask_login import current_user

    is_login = request.endpoint == "auth.login"
    if not current_user.is_authenticated and not (is_login and CSRF_FIELD in session):
        return None  # nobody to impersonate: the view answers 401 or shows the login page
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD, "")
    expected = session.get(CSRF_FIELD)
    if not expected or not hmac.compare_digest(str(sent), str(expected)):
        abort(403, description="CSRF token missing or wrong; reload the page")
    return None
