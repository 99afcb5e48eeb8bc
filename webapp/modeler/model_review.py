"""Registers the process owner's review tools: the form editor, the model/version list and the
visual diff (blueprints, navigation, OpenAPI), and lets the app's form registry prefer forms
saved in the browser over the files in forms/."""

from __future__ import annotations

from flask import Flask

from engine.services.process_models.form_versions import attach_database
from webapp import api_forms, models_pages
from webapp.forms_pages import forms_pages
from webapp.nav import NavItem, register_nav
from webapp.openapi import register_openapi


def register_model_review(app: Flask) -> None:
    attach_database(app.extensions["kim_forms"], app.extensions["kim"])
    app.register_blueprint(api_forms.api_forms)
    app.register_blueprint(forms_pages)
    app.register_blueprint(models_pages.models_pages)
    app.register_blueprint(models_pages.api_model_diff)
    register_openapi(api_forms.describe)
    register_openapi(models_pages.describe)
    viewers = ("process_owner", "admin", "supervisor")
    register_nav(app, NavItem("models_pages.model_list", "Prozessmodelle", viewers, 60))
    register_nav(app, NavItem("forms_pages.form_list", "Formulare", ("process_owner", "admin"), 61))
