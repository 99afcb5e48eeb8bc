"""The residence-path screening of a case: the household's inputs, the stored screenings, the plan goals.

API under /api/v1 (cases/<id>/household, cases/<id>/screening, ...), the case page's forms and
buttons (the panel is the template include ``_screening.html``, filled by the template function
``case_screening``).
"""

from __future__ import annotations

from flask import Flask

from webapp.core.openapi import register_openapi
from webapp.screening.views import describe, init_views, screening_api, screening_ui


def init_app(app: Flask) -> None:
    app.register_blueprint(screening_api)
    app.register_blueprint(screening_ui)
    init_views(app)
    register_openapi(app, describe)
