"""The in-app notifications: the list page, the unread badge and the API."""

from __future__ import annotations

from flask import Flask

from webapp.core.nav import NavItem, register_nav
from webapp.core.openapi import register_openapi
from webapp.notifications.pages import describe_api, notifications


def init_app(app: Flask) -> None:
    app.register_blueprint(notifications)
    register_nav(app, NavItem("notifications.page", "Benachrichtigungen", None, order=80,
                              count_key="notifications"))
    register_openapi(app, describe_api)
