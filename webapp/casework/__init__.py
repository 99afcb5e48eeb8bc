"""Case work in the browser and the API: inbox, task page, case page, cases and tasks, decisions."""

from __future__ import annotations

from flask import Flask

from webapp.casework import openapi
from webapp.casework.api import api
from webapp.casework.pages import ui
from webapp.core.openapi import register_openapi


def init_app(app: Flask) -> None:
    app.register_blueprint(api)
    app.register_blueprint(ui)
    register_openapi(app, openapi.describe)
