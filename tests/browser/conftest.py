"""A real browser (Debian's Chromium driven by Playwright) against the app served on loopback."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from engine.domain.actors import SYSTEM
from engine.services.admin import directory
from engine.services.process_models import deployment
from tests.conftest import DATA, fresh_database
from tests.webapp.conftest import PASSWORD, _password_hash
from webapp import create_app

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--lang=de-DE"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed; `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


class LiveServer:
    def __init__(self, app: Any) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def live(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, Any]]:
    """The app on a fresh SQLite database (the browser tests exercise the web layer)."""
    template = request.getfixturevalue("sqlite_template_url")
    url = fresh_database(template, tmp_path)
    app = create_app({"KIM_DATABASE_URL": url, "KIM_INSTANCE_PATH": str(tmp_path / "instance"),
                      "KIM_FORMS_PATH": str(DATA / "forms"), "KIM_DEFAULT_PROCESS": "beratung"})
    ctx = app.extensions["kim"]
    ctx.run(directory.seed_offices)
    for name, role, offices in (("carla", "caseworker", ["CM"]), ("achim", "caseworker", ["ABH"])):
        ctx.run(directory.add_user, name, role, offices, password_hash=_password_hash())
    ctx.run(deployment.deploy, deployment.read_model_paths([DATA / "beratung.bpmn"]), SYSTEM)
    with LiveServer(app) as server:
        yield server.url, ctx
    ctx.db.dispose()


@pytest.fixture(scope="session")
def sqlite_template_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    from engine.persistence.migrate import upgrade
    from engine.services.wiring import create_context

    url = f"sqlite:///{tmp_path_factory.mktemp('browser-db') / 'template.sqlite3'}"
    ctx = create_context({"KIM_DATABASE_URL": url})
    upgrade(ctx.db.write)
    ctx.db.dispose()
    return url


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Benutzername").fill(username)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
