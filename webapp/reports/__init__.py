"""The indicators (Kennzahlen): page, CSV and API."""

from __future__ import annotations

from flask import Flask

from engine.domain.permissions import Permission
from webapp.core.nav import NavItem, register_nav
from webapp.core.openapi import register_openapi
from webapp.reports.pages import describe, reports


def init_app(app: Flask) -> None:
    app.register_blueprint(reports)
    register_openapi(app, describe)
    register_nav(app, NavItem("reports.kpis_page", "Kennzahlen", Permission.VIEW_INDICATORS, order=80))
