"""Shared by the modeler browser tests: the app with the real KIM models and forms, and
helpers that drive bpmn-js through real mouse and keyboard input."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
    """The app on a fresh SQLite copy with processes/ deployed and the real forms."""
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
