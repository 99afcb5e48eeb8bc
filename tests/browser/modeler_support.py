"""Shared by the modeler browser tests: the app with the real KIM models and forms, and
helpers that drive bpmn-js through real mouse and keyboard input."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from engine.demo.samples import PROCESSES_DIR
from engine.domain.actors import SYSTEM
from engine.services.admin import directory
from engine.services.process_models import deployment
from tests.browser.conftest import LiveServer
from tests.conftest import fresh_database
from tests.webapp.conftest import _password_hash
from webapp import create_app

XSD = Path(__file__).resolve().parents[1] / "data" / "bpmn-xsd" / "BPMN20.xsd"
USERS: tuple[tuple[str, str, list[str]], ...] = (
    ("paul", "process_owner", []), ("petra", "process_owner", []), ("carla", "caseworker", ["CM"]),
    ("achim", "caseworker", ["ABH"]))


@contextmanager
def kim_server(template_url: str, tmp_path: Path, **config: Any) -> Iterator[tuple[str, Any]]:
    """The app on a fresh database (a SQLite copy, or emptied PostgreSQL tables) with processes/
    deployed and the real forms."""
    url = fresh_database(template_url, tmp_path)
    app = create_app({"KIM_DATABASE_URL": url, "KIM_INSTANCE_PATH": str(tmp_path / "instance"),
                      "KIM_DEFAULT_PROCESS": "kim_pathway", **config})
    ctx = app.extensions["kim"]
    ctx.run(directory.seed_offices)
    for name, role, offices in USERS:
        ctx.run(directory.add_user, name, role, list(offices), password_hash=_password_hash())
    ctx.run(deployment.deploy, deployment.read_model_paths([PROCESSES_DIR]), SYSTEM)
    with LiveServer(app) as server:
        yield server.url, ctx
    ctx.db.dispose()


def open_modeler(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("#canvas[data-ready='true']", timeout=20_000)


def show_point(page: Any, x: float, y: float) -> dict[str, float]:
    """Scroll the diagram (zoom 1) so the diagram point (x, y) is in view; its screen position."""
    point: dict[str, float] = page.evaluate("""([x, y]) => {
        const canvas = window.kimModeler.modeler.get('canvas');
        canvas.zoom(1);
        const box = canvas.viewbox();
        canvas.viewbox({x: x - box.width / 2, y: y - box.height / 2, width: box.width, height: box.height});
        const now = canvas.viewbox();
        const rect = canvas.getContainer().getBoundingClientRect();
        return {x: rect.left + (x - now.x) * now.scale, y: rect.top + (y - now.y) * now.scale};
    }""", [x, y])
    return point


def shape_center(page: Any, element_id: str) -> dict[str, float]:
    box = page.locator(f".djs-element[data-element-id='{element_id}']").first.bounding_box()
    assert box is not None, element_id
    return {"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2}


def selected_ids(page: Any) -> list[str]:
    return list(page.evaluate("() => window.kimModeler.modeler.get('selection').get().map(e => e.id)"))


def drag_from_palette(page: Any, entry: str, target: dict[str, float]) -> None:
    """Take a palette entry (e.g. 'bpmn-icon-task') and drop it at a screen point, moving in
    small steps as a hand would, so hover targets (lanes, sequence flows) are recognised."""
    palette = page.locator(f".djs-palette .entry.{entry}")
    box = palette.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(target["x"] - 40, target["y"] - 40, steps=15)
    page.mouse.move(target["x"], target["y"], steps=10)
    page.mouse.up()


def expect_status(page: Any, text: str) -> None:
    try:
        expect(page.locator("#modeler-status")).to_have_text(text, timeout=20_000)
    except AssertionError:
        error = page.locator("#modeler-error")
        raise AssertionError(f"status not '{text}'; error shown: {error.inner_text()}") from None


def expect_error(page: Any, start: str) -> str:
    """The error the page shows (German), which must begin with ``start``."""
    error = page.locator("#modeler-error")
    expect(error).to_be_visible(timeout=20_000)
    text: str = error.inner_text()
    assert text.startswith(start), text
    return text


def confirm_publish(page: Any, button: str = "Jetzt veröffentlichen") -> str:
    """Publishing asks first: the dialog's summary of the changes; then confirm it."""
    dialog = page.locator("#publish-confirm")
    try:
        expect(dialog).to_be_visible(timeout=20_000)
    except AssertionError:
        error = page.locator("#modeler-error").inner_text()
        problems = page.locator("#problem-list").inner_text()
        raise AssertionError(f"no confirmation; error shown: {error}; problems: {problems}") from None
    summary: str = dialog.locator("#publish-summary").inner_text()
    dialog.get_by_role("button", name=button).click()
    expect(dialog).to_be_hidden()
    return summary


def console_errors(page: Any) -> list[str]:
    """Console errors of the page (CSP violations land here); 4xx answers are the test's business."""
    errors: list[str] = []
    harmless = ("status of 4", "minified copy of the development build of Inferno")  # dmn-js' bundle says so

    def collect(message: Any) -> None:
        if message.type == "error" and not any(text in message.text for text in harmless):
            errors.append(message.text)

    page.on("console", collect)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def published_versions(page: Any, base: str, key: str) -> list[int]:
    response = page.request.get(f"{base}/api/v1/process-models/{key}/versions")
    return [v["version"] for v in response.json()["items"]] if response.status == 200 else []
