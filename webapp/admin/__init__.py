"""Administration: accounts and tokens, the working-day calendar and the audit trail for auditors."""

from __future__ import annotations

from flask import Flask

from engine.domain.permissions import Permission
from webapp.admin import calendar, openapi, retention, retention_pages, users
from webapp.admin.audit import api_audit
from webapp.core.nav import NavItem, register_nav
from webapp.core.openapi import register_openapi


def init_app(app: Flask) -> None:
    app.register_blueprint(calendar.admin_calendar)
    app.register_blueprint(api_audit)
    app.register_blueprint(users.admin_users)
    register_openapi(app, calendar.describe)
    register_openapi(app, openapi.describe)
    app.register_blueprint(retention.api_retention)
    register_openapi(app, retention.describe)
    app.register_blueprint(retention_pages.admin_retention)
    register_nav(app, NavItem("admin_retention.page", "Aufbewahrung", Permission.MANAGE_RETENTION, order=92))
    register_nav(app, NavItem("admin_calendar.page", "Arbeitskalender", Permission.MANAGE_CALENDAR, order=90))
    register_nav(app, NavItem("admin_users.page", "Benutzer", Permission.MANAGE_USERS, order=91))
