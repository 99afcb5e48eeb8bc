"""The supervisor dashboard (Steuerung) for office leads: pages, CSV downloads and its API."""

from __future__ import annotations

from flask import Flask

from engine.domain.permissions import Permission
from webapp.core.nav import NavItem, register_nav
from webapp.core.openapi import register_openapi
from webapp.supervision.pages import dashboard, describe_api
from webapp.supervision.reassign import describe_api as describe_reassign_api
from webapp.supervision.reassign import reassign


def init_app(app: Flask) -> None:
    app.register_blueprint(dashboard)
    register_nav(app, NavItem("dashboard.page", "Steuerung", Permission.SUPERVISE, order=40))
    register_openapi(app, describe_api)
    app.register_blueprint(reassign)
    register_openapi(app, describe_reassign_api)
