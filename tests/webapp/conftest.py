"""Web fixtures: the Flask app on a fresh database, users per role, tokens and a login helper."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.demo.samples import PROCESSES_DIR
from engine.domain.actors import SYSTEM
from engine.services.admin import directory
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from tests.conftest import DATA, fresh_database
from webapp import create_app

PASSWORD = "ein-sicheres-passwort"
USERS = {  # username: (role, offices)
    "carla": ("caseworker", ["CM"]),
    "conrad": ("caseworker", ["CM"]),
    "achim": ("caseworker", ["ABH"]),
    "sina": ("supervisor", ["CM"]),
    "sofia": ("caseworker", ["SOZ"]),
    "paul": ("process_owner", []),
    "aude": ("auditor", []),
}


@dataclass
class Web:
    app: Flask
    ctx: EngineContext
    tokens: dict[str, str]

    def client(self) -> FlaskClient:
        return self.app.test_client()

    def api(self, user: str, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[user]}", **kwargs.pop("headers", {})}
        return self.client().open(f"/api/v1{path}", method=method, headers=headers, **kwargs)


@functools.cache
def _password_hash() -> str:
    return directory.hash_password(PASSWORD)  # argon2 is slow on purpose: hash once per test run


@contextmanager
def web_on(database_url: str, tmp_path: Path, forms: Path, models: list[Path],
           users: Mapping[str, tuple[str, list[str]]] = USERS, **config: Any) -> Iterator[Web]:
    """The web app on a fresh database with the offices, ``users`` (each with a token) and
    ``models`` deployed; ``config`` adds settings."""
    app = create_app({"KIM_DATABASE_URL": fresh_database(database_url, tmp_path),
                      "KIM_INSTANCE_PATH": str(tmp_path / "instance"), "KIM_FORMS_PATH": str(forms),
                      "TESTING": True, **config})
    ctx: EngineContext = app.extensions["kim"]
    try:
        ctx.run(directory.seed_offices)
        tokens = {}
        for name, (role, offices) in users.items():
            ctx.run(directory.add_user, name, role, offices, password_hash=_password_hash())
            tokens[name] = ctx.run(directory.create_token, name)
        ctx.run(deployment.deploy, deployment.read_model_paths(models), SYSTEM)
        yield Web(app, ctx, tokens)
    finally:
        ctx.db.dispose()


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[Web]:
    with web_on(database_url, tmp_path, DATA / "forms", [DATA / "intake.bpmn"], KIM_DEFAULT_PROCESS="intake") as site:
        yield site


@pytest.fixture
def shipped_web(database_url: str, tmp_path: Path, all_forms: Path) -> Iterator[Web]:
    """The web app with the shipped models and forms (the pathway's forms validate every step)."""
    with web_on(database_url, tmp_path, all_forms, [PROCESSES_DIR]) as site:
        yield site


NEW_CASE = {"person": {"given_name": "Amina", "family_name": "Haddad", "date_of_birth": "2003-04-17",
                       "nationality": "syrisch"},
            "referral": {"source": "ABH", "reason": "Duldung seit 2021, Perspektivberatung gewünscht"},
            "process_id": "intake"}


@pytest.fixture
def open_case(web: Web) -> Callable[..., dict[str, Any]]:
    def _open(user: str = "carla", **overrides: Any) -> dict[str, Any]:
        response = web.api(user, "POST", "/cases", json={**NEW_CASE, **overrides})
        assert response.status_code == 201, response.get_json()
        body: dict[str, Any] = response.get_json()
        return body
    return _open


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    page = client.get("/login")
    token = _csrf_from(page.get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def _csrf_from(html: str) -> str:
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]


def csrf_of(client: FlaskClient, path: str = "/inbox") -> str:
    return _csrf_from(client.get(path).get_data(as_text=True))
