"""The Flask web app (inbox, cases, REST API). ``create_app`` is the only entry point."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from engine.config import load_config
from engine.forms import FormRegistry
from engine.services.wiring import create_context
from webapp import admin, auth, casework, modeler, notifications, reports, screening, supervision
from webapp.cli import register_cli
from webapp.core.converters import init_converters
from webapp.core.errors import register_error_handlers
from webapp.core.i18n import init_i18n
from webapp.core.json_provider import init_json
from webapp.core.nav import init_nav
from webapp.core.security import init_security
from webapp.core.transactions import init_transactions

MAX_UPLOAD_BYTES = 2 * 1024 * 1024 + 64 * 1024  # a 2 MiB model plus multipart overhead


def _secret_key(config: Mapping[str, Any]) -> str:
    """KIM_SECRET_KEY, or a key generated once and kept in the instance folder (single machine)."""
    if config.get("KIM_SECRET_KEY"):
        return str(config["KIM_SECRET_KEY"])
    path = Path(config["KIM_INSTANCE_PATH"]) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; keys in ``config`` override the KIM_* environment (and Flask settings)."""
    overrides = dict(config or {})
    kim = load_config(overrides)
    app = Flask(__name__, instance_path=kim["KIM_INSTANCE_PATH"])
    app.config.update(
        SECRET_KEY=_secret_key(kim),
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=True,
        MAX_CONTENT_LENGTH=MAX_UPLOAD_BYTES,
    )
    init_json(app)  # orjson, with the records' field order kept (sorting keys cost a sixth of a page)
    app.config.update({k: v for k, v in overrides.items() if not k.startswith("KIM_")})
    app.extensions["kim"] = create_context(kim)
    app.extensions["kim_forms"] = FormRegistry(Path(kim.get("KIM_FORMS_PATH") or Path(app.root_path).parent / "forms"))
    _register(app)
    return app


AREAS = (auth, casework, screening, supervision, modeler, reports, admin, notifications)
"""Each area registers its blueprints, navigation entries and OpenAPI part in its ``init_app``."""


def _register(app: Flask) -> None:
    init_converters(app)
    init_i18n(app)
    init_transactions(app)
    init_security(app)
    init_nav(app)
    register_error_handlers(app)
    for area in AREAS:
        area.init_app(app)
    register_cli(app)
    app.after_request(_security_headers)


def _security_headers(response: Any) -> Any:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'")
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response
