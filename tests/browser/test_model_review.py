"""A process owner in a real browser: edit a form with the live preview (an error shown at the
field, then fixed), save a new version; compare two versions of a process with coloured markers."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import expect

from engine.domain.actors import Actor
from engine.domain.model import ModelSource
from engine.services.admin import directory
from engine.services.process_models import deployment
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import DATA
from tests.webapp.conftest import _password_hash

SCHEMA = json.loads((DATA / "forms" / "erstkontakt.schema.json").read_text(encoding="utf-8"))
UI = json.loads((DATA / "forms" / "erstkontakt.ui.json").read_text(encoding="utf-8"))


def _beratung_v2() -> bytes:
    text = (DATA / "beratung.bpmn").read_text(encoding="utf-8")
    for old, new in (
        ('name="dueIn" value="10WD"', 'name="dueIn" value="15WD"'),
        ('<bpmn:sequenceFlow id="f3" sourceRef="planung" targetRef="end"/>',
         '<bpmn:sequenceFlow id="f3" sourceRef="planung" targetRef="nachfassen"/>'
         '<bpmn:userTask id="nachfassen" name="Nachfassen"><bpmn:incoming>f3</bpmn:incoming>'
         '<bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>'
         '<bpmn:sequenceFlow id="f4" sourceRef="nachfassen" targetRef="ende"/>'),
        ('<bpmn:endEvent id="end" name="Erledigt"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>',
         '<bpmn:endEvent id="ende" name="Erledigt"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>'),
        ('<bpmn:flowNodeRef>planung</bpmn:flowNodeRef>',
         '<bpmn:flowNodeRef>planung</bpmn:flowNodeRef><bpmn:flowNodeRef>nachfassen</bpmn:flowNodeRef>'),
        ('<bpmndi:BPMNShape id="end_di" bpmnElement="end"><dc:Bounds x="552" y="102" width="36" height="36"/>',
         '<bpmndi:BPMNShape id="nachfassen_di" bpmnElement="nachfassen"><dc:Bounds x="550" y="80" width="120" '
         'height="80"/></bpmndi:BPMNShape><bpmndi:BPMNShape id="ende_di" bpmnElement="ende">'
         '<dc:Bounds x="730" y="102" width="36" height="36"/>'),
        ('<di:waypoint x="490" y="120"/><di:waypoint x="552" y="120"/></bpmndi:BPMNEdge>',
         '<di:waypoint x="490" y="120"/><di:waypoint x="550" y="120"/></bpmndi:BPMNEdge>'
         '<bpmndi:BPMNEdge id="f4_di" bpmnElement="f4"><di:waypoint x="670" y="120"/>'
         '<di:waypoint x="730" y="120"/></bpmndi:BPMNEdge>'),
    ):
        assert old in text, old
        text = text.replace(old, new)
    return text.encode()


def test_edit_form_with_live_preview_and_compare_versions(browser: Any, live: tuple[str, Any]) -> None:
    base, ctx = live
    ctx.run(directory.add_user, "paul", "process_owner", [], password_hash=_password_hash())
    page = browser.new_page(locale="de-DE")
    sign_in(page, base, "paul")
    page.get_by_role("link", name="Formulare").click()
    page.get_by_role("link", name="erstkontakt").click()
    preview = page.locator("#preview")
    expect(preview.get_by_label("Datum des Erstkontakts")).to_be_visible()
    page.get_by_label("JSON Schema (2020-12)").fill('{"type": "object", "properties": {')
    error = page.locator("#schema-err")
    error.get_by_text(re.compile("Kein gültiges JSON")).wait_for()
    assert page.get_by_label("JSON Schema (2020-12)").get_attribute("aria-invalid") == "true"

    nested = {**SCHEMA, "properties": {**SCHEMA["properties"], "adresse": {"type": "object"}}}
    page.get_by_label("JSON Schema (2020-12)").fill(json.dumps(nested, ensure_ascii=False, indent=2))
    error.get_by_text(re.compile("properties.adresse.type: verschachtelte Objekte")).wait_for()

    schema = {**SCHEMA, "properties": {**SCHEMA["properties"],
                                       "wohnort": {"type": "string", "title": "Wohnort laut Meldebescheinigung"}}}
    ui = {**UI, "ui:order": [*UI["ui:order"], "wohnort"]}
    page.get_by_label("JSON Schema (2020-12)").fill(json.dumps(schema, ensure_ascii=False, indent=2))
    page.get_by_label(re.compile("UI-Hinweise")).fill(json.dumps(ui, ensure_ascii=False))
    preview.get_by_label("Wohnort laut Meldebescheinigung").wait_for()
    assert error.inner_text().strip() == ""
    assert page.get_by_label("JSON Schema (2020-12)").get_attribute("aria-invalid") == "false"
    screenshot(page, "form-editor-preview")
    page.get_by_role("button", name="Als neue Version speichern").click()
    expect(page.get_by_role("status")).to_have_text("Version 1 gespeichert.")
    expect(page.get_by_role("row", name=re.compile(r"^1 paul"))).to_be_visible()
    paul = Actor("paul", "process_owner")
    ctx.run(deployment.deploy, [ModelSource("beratung.bpmn", _beratung_v2())], paul)
    page.get_by_role("link", name="Prozessmodelle").click()
    screenshot(page, "models-list")
    page.get_by_role("row", name=re.compile("Erstkontakt und Beratung")).get_by_role("link", name="Vergleichen").click()
    page.locator("#model-diff[data-ready=true]").wait_for()
    assert page.locator("#diff-new .djs-element.diff-added").count() == 3  # nachfassen, f4, ende
    assert page.locator("#diff-old .djs-element.diff-removed").count() == 1  # end
    assert page.locator("#diff-new .djs-element.diff-changed").count() == 2  # erstkontakt, f3
    colour = page.locator('#diff-new [data-element-id="nachfassen"] .djs-visual > rect').first.evaluate(
        "el => getComputedStyle(el).stroke")
    assert colour == "rgb(26, 127, 55)", "added elements are green"
    expect(page.get_by_text("Eigenschaft dueIn: „10WD“ → „15WD“")).to_be_visible()
    screenshot(page, "model-diff")
    page.close()
