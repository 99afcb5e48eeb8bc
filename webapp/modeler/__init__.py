"""Process owners' tools: the modeler, model versions and diffs, the forms editor, drafts and
publishing, case migration and the instance view."""

from __future__ import annotations

from flask import Flask

from engine.domain.permissions import Permission
from engine.services.process_models.model_drafts import ModelCheckFailed
from webapp.core.nav import NavItem, register_nav
from webapp.core.openapi import register_openapi
from webapp.modeler import (
    api_directory,
    api_forms,
    api_migration,
    api_models,
    api_models_openapi,
    models_pages,
    openapi,
)
from webapp.modeler.api_definitions import api_definitions
from webapp.modeler.forms_pages import forms_pages
from webapp.modeler.migration_pages import migration_pages
from webapp.modeler.pages import modeler


def init_app(app: Flask) -> None:
    for blueprint in (modeler, api_directory.api_directory, api_definitions, api_models.api_models,
                      api_forms.api_forms, forms_pages, models_pages.models_pages, models_pages.api_model_diff,
                      api_migration.api_migration, migration_pages):
        app.register_blueprint(blueprint)
    app.register_error_handler(ModelCheckFailed, api_models.check_failed)
    for describe in (openapi.describe, api_models_openapi.describe, api_forms.describe, models_pages.describe,
                     api_migration.describe, api_directory.describe):
        register_openapi(app, describe)
    register_nav(app, NavItem("models_pages.model_list", "Prozessmodelle", Permission.VIEW_MODELS, 60))
    register_nav(app, NavItem("forms_pages.form_list", "Formulare", Permission.EDIT_FORMS, 61))
    register_nav(app, NavItem("modeler.new_page", "Neues Prozessmodell", Permission.EDIT_MODELS, order=72))
