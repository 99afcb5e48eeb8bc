"""Signing in and out of the browser UI."""

from __future__ import annotations

from flask import Flask

from webapp.auth.pages import auth


def init_app(app: Flask) -> None:
    app.register_blueprint(auth)
