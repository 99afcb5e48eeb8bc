"""The modeler in a real browser: a process owner changes kim_pathway and the ABH sees the result.

Acceptance (issue 6): paul adds a user task to the ABH lane of kim_pathway with the palette,
drops it onto the flow into the ABH pre-check, types its name, turns it into a user task with
the context pad, sets dueIn 5WD and a form in the side panel and publishes. A new case walked
to that point shows the task in achim's ABH inbox, due 5 NRW working days after it became
ready (over Christmas), shown TT.MM.JJJJ.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from playwright.sync_api import expect

from engine import clock
from engine.demo.samples import form_data
from engine.demo.walker import CaseWalker, office_actors
from engine.domain.actors import Actor
from engine.services.casework import cases
from tests.browser.conftest import screenshot, sign_in
from tests.browser.modeler_support import (
    XSD,
    confirm_publish,
    console_errors,
    drag_from_palette,
    expect_error,
    expect_status,
    kim_server,
    open_modeler,
    published_versions,
    selected_ids,
    show_point,
)

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
CARLA = Actor("carla", "caseworker", frozenset({1}), None, frozenset({"CM"}))
NEW_CASE = {"person": {"given_name": "Amina", "family_name": "Haddad", "date_of_birth": "1990-05-10",
                       "nationality": "syrisch"},
            "referral": {"source": "ABH", "reason": "Duldung seit 2019, Perspektivberatung"}}
INTEGRATED = {"duldung_months": 60, "stay_years": 7, "identity": "NOT_CLARIFIED", "passport_valid": False}
TASK_NAME = "Übergabe prüfen (Ämter, Straße)"


@pytest.fixture
def kim(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """The app with the KIM models, on SQLite and (with KIM_TEST_POSTGRES_URL) on PostgreSQL."""
    with kim_server(database_url, tmp_path) as served:
        yield served


@pytest.fixture
def christmas_clock() -> Iterator[None]:
    """Tuesday 22.12.2026: five working days later is 30.12. (25.12. is a holiday in NRW)."""
    clock.freeze(datetime.fromisoformat("2026-12-22T10:00:00+01:00"))
    yield
    clock.reset()


def _published_source(page: Any, base: str, key: str, version: int) -> etree._Element:
    response = page.request.get(f"{base}/api/v1/process-models/{key}/versions/{version}/source")
    assert response.status == 200
    return etree.fromstring(response.body())


def _published_source_bytes(page: Any, base: str, key: str, version: int) -> bytes:
    response = page.request.get(f"{base}/api/v1/process-models/{key}/versions/{version}/source")
    assert response.status == 200
    body: bytes = response.body()
    return body


def _walk_to_the_abh(ctx: Any) -> CaseWalker:
    case = ctx.run(cases.open_case, CARLA, NEW_CASE)
    walker = CaseWalker.for_case(ctx, office_actors(ctx), case.id)
    walker.complete("intake")
    scope = form_data("kim_consent")["consent_scope"]
    walker.record_consents(scope)
    walker.complete("consent", consent_scope=scope)
    walker.complete("counselling")
    walker.complete("assessment", **INTEGRATED)
    walker.complete("abh_inputs")
    return walker


def test_process_owner_adds_an_abh_step_and_the_abh_gets_it_in_time(
        browser: Any, kim: tuple[str, Any], christmas_clock: None) -> None:
    base, ctx = kim
    page = browser.new_page(locale="de-DE", viewport={"width": 1600, "height": 1000})
    sign_in(page, base, "paul")
    open_modeler(page, f"{base}/modeler/bpmn/kim_pathway")

    # The flow from the deadline fork into the ABH pre-check runs along the ABH lane at y=3540.
    drop = show_point(page, 3000, 3540)
    drag_from_palette(page, "bpmn-icon-task", drop)
    page.keyboard.type(TASK_NAME)
    page.keyboard.press("Enter")
    assert len(selected_ids(page)) == 1, "the new task is selected after its name was typed"
    page.locator(".djs-context-pad .entry[data-action='replace']").click()
    page.locator(".djs-popup [data-id='replace-with-user-task']").click()
    (user_task_id,) = selected_ids(page)
    assert page.get_by_label("Name").input_value() == TASK_NAME
    page.get_by_label("Frist (dueIn)").fill("5WD")
    page.get_by_label("Formular (formKey)").fill("kim_abh_precheck")
    screenshot(page, "modeler-new-abh-step")

    page.get_by_role("button", name="Veröffentlichen", exact=True).click()
    summary = confirm_publish(page)
    assert summary.startswith("„KIM-Fallbegleitung: von der Zuweisung bis zum Abschluss“ (kim_pathway) wird als "
                              "Version 2 veröffentlicht. Änderungen gegenüber Version 1:")
    assert "Hinzugefügt (2):" in summary, "the task and its new flow"
    assert f"\n{TASK_NAME} ({user_task_id})\n" in summary
    assert f"flow_fork_deadlines_to_abh_precheck: Ziel: „abh_precheck“ → „{user_task_id}“" in summary
    expect_status(page, "Veröffentlicht als Version 2.")
    assert page.url.endswith("/modeler/bpmn/kim_pathway?version=2")
    expect(page.locator("#heading-meta")).to_have_text("kim_pathway · Version 2")

    root = _published_source(page, base, "kim_pathway", 2)
    (task,) = [t for t in root.iter(f"{BPMN}userTask") if t.get("id") == user_task_id]
    assert task.get("name") == TASK_NAME
    props = {p.get("name"): p.get("value") for p in task.iter(f"{SPIFF}property")}
    assert props == {"dueIn": "5WD", "formKey": "kim_abh_precheck"}
    lane_abh = next(lane for lane in root.iter(f"{BPMN}lane") if lane.get("name") == "ABH")
    assert user_task_id in [ref.text for ref in lane_abh.iter(f"{BPMN}flowNodeRef")]
    page.close()

    walker = _walk_to_the_abh(ctx)
    (ready,) = walker.tasks()
    assert ready.bpmn_id == user_task_id, "the case runs through the new step before the ABH pre-check"
    assert ready.office == "ABH"

    abh = browser.new_page(locale="de-DE")
    sign_in(abh, base, "achim")
    abh.get_by_role("link", name=re.compile("Mein Amt")).click()
    row = abh.get_by_role("row", name=re.compile(re.escape(TASK_NAME)))
    assert row.count() == 1
    due_column = abh.locator("thead th").all_inner_texts().index("Fällig")
    assert ctx.calendar.add_working_days(date(2026, 12, 22), 5) == date(2026, 12, 30)
    assert row.locator("td").nth(due_column).inner_text().strip() == "30.12.2026"
    screenshot(abh, "modeler-abh-inbox")
    abh.close()


def test_saved_xml_is_valid_bpmn_and_keeps_umlauts(browser: Any, kim: tuple[str, Any]) -> None:
    base, _ctx = kim
    page = browser.new_page(locale="de-DE", viewport={"width": 1600, "height": 1000})
    sign_in(page, base, "paul")
    open_modeler(page, f"{base}/modeler/bpmn/kim_pathway")
    original = _published_source(page, base, "kim_pathway", 1)
    show_point(page, 500, 300)
    page.locator(".djs-element[data-element-id='intake']").first.click()
    assert selected_ids(page) == ["intake"]
    page.get_by_label("Name").fill("Übergabe an die Ämter in der Straße")
    page.get_by_role("button", name="Entwurf speichern").click()
    expect_status(page, "Entwurf gespeichert (Stand 1).")
    draft_id = re.search(r"draft=(\d+)", page.url).group(1)  # type: ignore[union-attr]
    draft = page.request.get(f"{base}/api/v1/model-drafts/{draft_id}").json()
    content = draft["content"].encode("utf-8")

    schema = etree.XMLSchema(etree.parse(str(XSD)))
    saved = etree.fromstring(content)
    assert schema.validate(saved), schema.error_log
    names = {e.get("id"): e.get("name") for e in saved.iter() if e.get("name")}
    assert names["intake"] == "Übergabe an die Ämter in der Straße"
    before = {e.get("id"): e.get("name") for e in original.iter() if e.get("name")}
    assert {k: v for k, v in names.items() if k != "intake"} == {k: v for k, v in before.items() if k != "intake"}
    page.close()


def _click_shape(page: Any, element_id: str, x: float, y: float) -> None:
    show_point(page, x, y)
    page.locator(f".djs-element.djs-shape[data-element-id='{element_id}']").first.click()
    assert selected_ids(page) == [element_id]


def test_check_marks_problems_and_a_click_selects_the_element(browser: Any, kim: tuple[str, Any]) -> None:
    base, _ctx = kim
    page = browser.new_page(locale="de-DE", viewport={"width": 1600, "height": 1000})
    errors = console_errors(page)
    sign_in(page, base, "paul")
    open_modeler(page, f"{base}/modeler/bpmn/kim_pathway")
    _click_shape(page, "intake", 500, 300)
    page.get_by_label("Formular (formKey)").fill("gibt_es_nicht")
    page.get_by_role("button", name="Prüfen").click()
    problem = page.locator("#problem-list button[data-element-id='intake']")
    problem.wait_for(timeout=20_000)
    assert "gibt_es_nicht" in problem.inner_text()
    assert page.locator(".djs-element[data-element-id='intake'].kim-problem-error").count() == 1
    screenshot(page, "modeler-check-problems")

    _click_shape(page, "consent", 700, 300)
    problem.click()
    assert selected_ids(page) == ["intake"], "clicking a problem selects its element"
    assert page.get_by_label("Formular (formKey)").input_value() == "gibt_es_nicht"

    page.get_by_role("button", name="Veröffentlichen", exact=True).click()
    expect_error(page, "Es wurde nichts veröffentlicht: Die Prüfung hat 1 Fehler gefunden")
    assert page.locator("#publish-confirm").is_hidden(), "a refused model is not offered for publishing"
    assert page.locator("#problem-list button[data-element-id='intake']").count() == 1, "the problems are shown"
    assert published_versions(page, base, "kim_pathway") == [1], "nothing was published"
    assert page.request.get(f"{base}/api/v1/model-drafts").json()["items"] == [], "no draft left behind"
    assert errors == [], "no script or CSP errors on the page"
    page.close()


@pytest.fixture
def kim_with_approval(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Any]]:
    with kim_server(database_url, tmp_path, KIM_PUBLISH_APPROVAL="true") as served:
        yield served


def test_with_approval_a_second_process_owner_releases_the_draft(
        browser: Any, kim_with_approval: tuple[str, Any]) -> None:
    base, _ctx = kim_with_approval
    page = browser.new_page(locale="de-DE", viewport={"width": 1600, "height": 1000})
    sign_in(page, base, "paul")
    open_modeler(page, f"{base}/modeler/bpmn/kim_pathway")
    _click_shape(page, "intake", 500, 300)
    page.get_by_label("Name").fill("Erstkontakt (geändert)")
    page.get_by_role("button", name="Prüfen").click()
    expect_status(page, "Prüfung ohne Befund.")
    page.get_by_role("button", name="Veröffentlichen", exact=True).click()
    assert "Es wird zur Freigabe eingereicht" in confirm_publish(page, "Zur Freigabe einreichen")
    expect_status(page, "Zur Freigabe eingereicht.")
    assert page.get_by_role("button", name="Freigeben").is_hidden(), "nobody approves their own change"
    # a second thought after submitting: saving again is no conflict, and re-submitting works
    page.get_by_label("Name").fill("Erstkontakt (geändert, zweiter Stand)")
    page.get_by_role("button", name="Entwurf speichern").click()
    expect(page.locator("#modeler-status")).to_contain_text("Entwurf gespeichert", timeout=20_000)
    page.get_by_role("button", name="Veröffentlichen", exact=True).click()
    confirm_publish(page, "Zur Freigabe einreichen")
    expect_status(page, "Zur Freigabe eingereicht.")
    page.close()

    other = browser.new_page(locale="de-DE", viewport={"width": 1600, "height": 1000})
    sign_in(other, base, "petra")
    open_modeler(other, f"{base}/modeler/bpmn/kim_pathway")
    other.locator("#draft-links a").click()
    other.wait_for_selector("#canvas[data-ready='true']", timeout=20_000)
    other.get_by_role("button", name="Freigeben").click()
    summary = confirm_publish(other, "Freigeben und veröffentlichen")
    assert "Erstkontakt (geändert, zweiter Stand)" in summary, "the approver sees what changes"
    assert "zur Freigabe eingereicht" not in summary
    expect_status(other, "Freigegeben und veröffentlicht als Version 2.")
    expect(other.locator("#heading-meta")).to_have_text("kim_pathway · Version 2")
    root = _published_source(other, base, "kim_pathway", 2)
    assert [t.get("name") for t in root.iter(f"{BPMN}userTask") if t.get("id") == "intake"] == [
        "Erstkontakt (geändert, zweiter Stand)"]
    other.close()


def test_download_and_open_a_file_then_upload_and_publish_it(
        browser: Any, kim: tuple[str, Any], tmp_path: Path) -> None:
    base, _ctx = kim
    page = browser.new_page(locale="de-DE", viewport={"width": 1600, "height": 1000}, accept_downloads=True)
    sign_in(page, base, "paul")
    open_modeler(page, f"{base}/modeler/bpmn/identity_clarification")
    with page.expect_download() as info:
        page.get_by_role("button", name="Herunterladen").click()
    download = info.value
    assert download.suggested_filename == "identity_clarification.bpmn"
    saved = tmp_path / "identitaet.bpmn"
    download.save_as(saved)
    root = etree.parse(str(saved)).getroot()
    assert [p.get("id") for p in root.iter(f"{BPMN}process")] == ["identity_clarification"]
    saved.write_bytes(saved.read_bytes().replace(b'name="', b'name="Neu: ', 1))
    broken = tmp_path / "kaputt.bpmn"
    broken.write_bytes(saved.read_bytes().replace(b'value="identity_request"', b'value="gibt_es_nicht"'))
    assert broken.read_bytes() != saved.read_bytes()

    open_modeler(page, f"{base}/modeler/bpmn/kim_pathway")
    page.get_by_label("Datei öffnen").set_input_files(str(broken))
    expect_status(page, "Datei geladen: kaputt.bpmn")
    page.get_by_role("button", name="Hochladen und veröffentlichen").click()
    expect_error(page, "Es wurde nichts veröffentlicht: Die Prüfung hat 1 Fehler gefunden")
    assert "gibt_es_nicht" in page.locator("#problem-list").inner_text()
    page.get_by_label("Datei öffnen").set_input_files(str(saved))
    expect_status(page, "Datei geladen: identitaet.bpmn")
    assert page.evaluate("() => !!window.kimModeler.modeler.get('elementRegistry').get('request_steps')")
    page.get_by_role("button", name="Hochladen und veröffentlichen").click()
    summary = confirm_publish(page)
    assert "Achtung: Das veröffentlicht das Modell „identity_clarification“, nicht das geöffnete „kim_pathway“" \
        in summary
    assert "„Identitätsklärung (§ 60b AufenthG)“ (identity_clarification) wird als Version 2 veröffentlicht" in summary
    expect_status(page, "Veröffentlicht als Version 2.")
    assert page.url.endswith("/modeler/bpmn/identity_clarification?version=2")
    expect(page.locator("#heading-meta")).to_have_text("identity_clarification · Version 2")
    expect(page.locator("#heading-name")).to_have_text("Identitätsklärung (§ 60b AufenthG)")
    assert _published_source_bytes(page, base, "identity_clarification", 2) == saved.read_bytes(), \
        "the file's own bytes, not a re-serialisation"
    assert page.request.get(f"{base}/api/v1/model-drafts").json()["items"] == [], "no draft left behind"
    page.close()


def test_dmn_table_cell_edited_saved_and_published(browser: Any, kim: tuple[str, Any]) -> None:
    base, _ctx = kim
    page = browser.new_page(locale="de-DE", viewport={"width": 1600, "height": 1000})
    errors = console_errors(page)
    sign_in(page, base, "paul")
    open_modeler(page, f"{base}/modeler/dmn/residence_paths_25a")
    cell = page.locator("td[data-element-id='residence_paths_25a_r2_i1'] [contenteditable]")
    assert cell.inner_text().strip() == ">= 27"
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(">= 28")
    page.locator("h1").click()
    screenshot(page, "modeler-dmn")
    page.get_by_role("button", name="Entwurf speichern").click()
    expect_status(page, "Entwurf gespeichert (Stand 1).")
    draft_id = re.search(r"draft=(\d+)", page.url).group(1)  # type: ignore[union-attr]
    draft = page.request.get(f"{base}/api/v1/model-drafts/{draft_id}").json()
    assert draft["kind"] == "dmn"
    assert _dmn_cell(draft["content"].encode(), "residence_paths_25a_r2_i1") == ">= 28"
    page.get_by_role("button", name="Veröffentlichen", exact=True).click()
    assert "Geändert (1):" in confirm_publish(page)
    expect_status(page, "Veröffentlicht als Version 2.")
    source = page.request.get(f"{base}/api/v1/process-models/residence_paths_25a/versions/2/source").body()
    assert _dmn_cell(source, "residence_paths_25a_r2_i1") == ">= 28"
    assert errors == []
    page.close()


def _dmn_cell(content: bytes, cell_id: str) -> str:
    root = etree.fromstring(content)
    (entry,) = [e for e in root.iter() if e.get("id") == cell_id]
    return "".join(entry.itertext()).strip()


def test_side_panel_writes_what_the_engine_reads(browser: Any, kim: tuple[str, Any]) -> None:
    from engine.bpmn import metadata
    from engine.persistence.offices import office_resolver

    base, ctx = kim
    page = browser.new_page(locale="de-DE", viewport={"width": 1600, "height": 1000})
    sign_in(page, base, "paul")
    open_modeler(page, f"{base}/modeler/bpmn/kim_pathway")
    _click_shape(page, "intake", 500, 300)
    assert page.get_by_label("Frist (dueIn)").input_value() == "10WD", "the panel shows the stored value"
    page.get_by_label("Eskalation nach (escalateAfter)").fill("3WD")
    page.get_by_label("Erinnerung vorher (remindBefore)").fill("1WD")
    page.get_by_label("Amt abweichend von der Bahn (candidateGroups)").fill("SOZ")
    page.get_by_label("Vorab zugewiesen an (assignee)").fill("sofia")

    show_point(page, 165, 3340)  # the KI lane's header
    page.mouse.click(*_screen(page, 165, 3340))
    assert selected_ids(page) == ["lane_ki"]
    assert page.get_by_label("Amt der Bahn").input_value() == "KI"
    page.get_by_label("Amt der Bahn").select_option("JA")

    show_point(page, 2740, 500)  # a sequence flow out of a gateway
    page.mouse.click(*_screen(page, 2740, 500))
    assert selected_ids(page) == ["flow_gw_deadline_25a_to_watch_deadline_25a"]
    page.get_by_label("Bedingung").fill('deadlines["25a"]["applies"] and age < 27')

    _click_shape(page, "wait_monitoring", 6110, 140)
    assert page.get_by_label("Wert des Zeitgebers").input_value() == "P3M"
    page.get_by_label("Wert des Zeitgebers").fill("40WD")
    page.get_by_role("button", name="Entwurf speichern").click()
    expect_status(page, "Entwurf gespeichert (Stand 1).")
    draft_id = re.search(r"draft=(\d+)", page.url).group(1)  # type: ignore[union-attr]
    content = page.request.get(f"{base}/api/v1/model-drafts/{draft_id}").json()["content"].encode()
    page.close()

    root = etree.fromstring(content)
    with ctx.uow(write=False) as uow:
        lookup = office_resolver(uow.session)
    problems: list[Any] = []
    meta = metadata.process_meta(next(iter(metadata.executable_processes(root))),
                                 lambda name: lookup.get(name.strip().lower()), problems)
    intake = meta.human_tasks["intake"]
    assert (intake.office, intake.assignee, intake.due_in, intake.escalate_after, intake.form_key) == (
        "SOZ", "sofia", "10WD", "3WD", "kim_intake")
    assert intake.remind_before == "1WD"
    assert meta.human_tasks["escalate_deadline_104c_ki"].office == "JA", "the KI lane now routes to the Jugendamt"
    flows = {f.get("id"): f for f in root.iter(f"{BPMN}sequenceFlow")}
    condition = flows["flow_gw_deadline_25a_to_watch_deadline_25a"].find(f"{BPMN}conditionExpression")
    assert condition is not None
    assert condition.text == 'deadlines["25a"]["applies"] and age < 27'
    timer = next(e for e in root.iter(f"{BPMN}intermediateCatchEvent") if e.get("id") == "wait_monitoring")
    assert [d.text for d in timer.iter(f"{BPMN}timeDuration")] == ["40WD"]


def _screen(page: Any, x: float, y: float) -> tuple[float, float]:
    point = page.evaluate("""([x, y]) => {
        const canvas = window.kimModeler.modeler.get('canvas');
        const box = canvas.viewbox();
        const rect = canvas.getContainer().getBoundingClientRect();
        return [rect.left + (x - box.x) * box.scale, rect.top + (y - box.y) * box.scale];
    }""", [x, y])
    return point[0], point[1]


DATA = Path(__file__).resolve().parents[1] / "data"
# Files with a diagram (bpmn-js draws only what has BPMN DI): ours and the MIWG reference models.
# Two of those bind the prefix camunda to Activiti's namespace; the modeler renames that prefix.
ROUND_TRIP = sorted(p for p in [*Path(__file__).resolve().parents[2].joinpath("processes").glob("*.bpmn"),
                                *DATA.glob("*.bpmn"), *DATA.glob("miwg/*.bpmn")]
                    if b"BPMNShape" in p.read_bytes())
EXTENSION_NS = ("http://spiffworkflow.org/bpmn/schema/1.0/core", "http://camunda.org/schema/1.0/bpmn",
                "http://activiti.org/bpmn")


def _extensions(root: etree._Element) -> list[tuple[str, str, tuple[tuple[str, str], ...], str]]:
    """Every spiffworkflow/camunda element and attribute, with the id of its BPMN owner."""
    found = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        namespace = etree.QName(element).namespace
        attrs = tuple(sorted((k, v) for k, v in element.attrib.items() if etree.QName(k).namespace in EXTENSION_NS))
        if namespace in EXTENSION_NS or attrs:
            owner = element
            while owner is not None and not owner.get("id"):
                owner = owner.getparent()
            # a BPMN element's own attributes may lose defaults (isInterrupting="true"): not ours to compare
            compared = tuple(sorted(element.attrib.items())) if namespace in EXTENSION_NS else attrs
            found.append((owner.get("id") if owner is not None else "", element.tag, compared,
                          (element.text or "").strip()))
    return sorted(found)


def test_models_round_trip_through_the_modeler_without_losing_extensions(
        browser: Any, kim: tuple[str, Any]) -> None:
    base, _ctx = kim
    page = browser.new_page(locale="de-DE")
    sign_in(page, base, "paul")
    open_modeler(page, f"{base}/modeler/bpmn/kim_pathway")
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    assert {"C.1.0.bpmn", "C.1.1.bpmn"} <= {p.name for p in ROUND_TRIP}, "Activiti's camunda prefix included"
    for path in ROUND_TRIP:
        result = page.evaluate("""async (xml) => {
            const modeler = window.kimModeler.modeler;
            const imported = await modeler.importXML(window.kimModeler.withOwnPrefixes(xml));
            const saved = await modeler.saveXML({format: true});
            return {warnings: imported.warnings.map(w => w.message), xml: saved.xml};
        }""", etree.tostring(etree.parse(str(path)), encoding="unicode"))
        # Reference models carry defects of their own (a diagram edge without element in C.7.0,
        # references to vendor types in C.8.1); our own models must import without any warning.
        tolerated = ("unknown attribute",) + (("no bpmnElement referenced", "unresolved reference")
                                              if path.parent.name == "miwg" else ())
        lost = [w for w in result["warnings"] if not any(t in w for t in tolerated)]
        assert lost == [], f"{path.name}: {lost}"
        before = etree.fromstring(path.read_bytes())
        after = etree.fromstring(result["xml"].encode("utf-8"))
        assert _extensions(after) == _extensions(before), path.name
        assert schema.validate(after), f"{path.name}: {schema.error_log}"
    page.close()


def test_new_process_starts_with_office_lanes_and_saves_as_a_draft(browser: Any, kim: tuple[str, Any]) -> None:
    base, _ctx = kim
    page = browser.new_page(locale="de-DE", viewport={"width": 1600, "height": 1000})
    sign_in(page, base, "paul")
    page.get_by_role("link", name="Neues Prozessmodell").click()
    page.get_by_label("Prozess-ID").fill("sprachkurs")
    page.get_by_label("Name").fill("Sprachkurs vermitteln: Übergabe an die Ämter")
    page.get_by_label(re.compile(r"AA\W+Agentur für Arbeit")).check()
    page.get_by_role("button", name="Im Modeler öffnen").click()
    page.wait_for_selector("#canvas[data-ready='true']", timeout=20_000)
    lanes = page.evaluate("""() => window.kimModeler.modeler.get('elementRegistry')
        .filter(e => e.type === 'bpmn:Lane').map(e => e.businessObject.name)""")
    assert sorted(lanes) == ["AA", "CM"]
    page.get_by_role("button", name="Entwurf speichern").click()
    expect_status(page, "Entwurf gespeichert (Stand 1).")
    assert re.search(r"/modeler/bpmn/sprachkurs\?draft=\d+$", page.url)
    page.close()


def test_saving_over_a_newer_draft_is_refused_with_a_hint(browser: Any, kim: tuple[str, Any]) -> None:
    base, _ctx = kim
    first = browser.new_page(locale="de-DE", viewport={"width": 1600, "height": 1000})
    sign_in(first, base, "paul")
    open_modeler(first, f"{base}/modeler/bpmn/kim_pathway")
    first.get_by_role("button", name="Entwurf speichern").click()
    expect_status(first, "Entwurf gespeichert (Stand 1).")
    draft_url = first.url

    second = browser.new_page(locale="de-DE", viewport={"width": 1600, "height": 1000})
    sign_in(second, base, "petra")
    open_modeler(second, draft_url)
    _click_shape(second, "intake", 500, 300)
    second.get_by_label("Name").fill("Erstkontakt (Petra)")
    second.get_by_role("button", name="Entwurf speichern").click()
    expect_status(second, "Entwurf gespeichert (Stand 2).")

    _click_shape(first, "intake", 500, 300)
    first.get_by_label("Name").fill("Erstkontakt (Paul)")
    first.get_by_role("button", name="Entwurf speichern").click()
    error = first.locator("#modeler-error")
    error.wait_for(timeout=20_000)
    assert "inzwischen geändert" in error.inner_text()
    draft = second.request.get(base + "/api/v1/model-drafts/" + draft_url.rsplit("=", 1)[1]).json()
    assert "Erstkontakt (Petra)" in draft["content"], "the later save did not overwrite the other one"
    first.close()
    second.close()


def test_a_saved_draft_can_be_discarded(browser: Any, kim: tuple[str, Any]) -> None:
    base, _ctx = kim
    page = browser.new_page(locale="de-DE", viewport={"width": 1600, "height": 1000})
    sign_in(page, base, "paul")
    open_modeler(page, f"{base}/modeler/bpmn/permit_application")
    assert page.get_by_role("button", name="Entwurf verwerfen").is_hidden(), "nothing to discard yet"
    page.get_by_role("button", name="Entwurf speichern").click()
    expect_status(page, "Entwurf gespeichert (Stand 1).")
    draft_id = page.url.rsplit("=", 1)[1]
    open_modeler(page, f"{base}/modeler/bpmn/permit_application")
    assert page.locator("#draft-links a").get_attribute("href") == f"/modeler/bpmn/permit_application?draft={draft_id}"
    open_modeler(page, f"{base}/modeler/bpmn/permit_application?draft={draft_id}")
    questions: list[str] = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Entwurf verwerfen").click()
    expect_status(page, "Entwurf verworfen.")
    assert questions == ["Diesen Entwurf wirklich verwerfen? Die Änderungen gehen verloren."], "asked before"
    assert page.request.get(f"{base}/api/v1/model-drafts/{draft_id}").json()["status"] == "discarded"
    open_modeler(page, f"{base}/modeler/bpmn/permit_application")
    page.wait_for_selector("#modeler-app[data-drafts-loaded='true']")
    assert page.locator("#draft-links").is_hidden(), "a discarded draft is no longer offered"
    page.close()


GARBAGE = b"\x00\x01 das ist kein XML, sondern ein Foto"
DOCTYPE_WITHOUT_DIAGRAM = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE definitions [ <!ENTITY firma "Beispiel GmbH"> ]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" name="Export aus einem anderen Werkzeug" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t1"/>
    <bpmn:userTask id="t1" name="Pr\xc3\xbcfen"/>
    <bpmn:sequenceFlow id="f2" sourceRef="t1" targetRef="e"/>
    <bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _shows_identity_clarification(page: Any) -> bool:
    return bool(page.evaluate("() => !!window.kimModeler.modeler.get('elementRegistry').get('request_steps')"))


def test_a_garbage_file_publishes_nothing_and_says_why_in_german(
        browser: Any, kim: tuple[str, Any], tmp_path: Path) -> None:
    base, _ctx = kim
    garbage = tmp_path / "muell.bpmn"
    garbage.write_bytes(GARBAGE)
    page = browser.new_page(locale="de-DE", viewport={"width": 1400, "height": 900})
    errors = console_errors(page)
    sign_in(page, base, "paul")
    open_modeler(page, f"{base}/modeler/bpmn/identity_clarification")

    page.get_by_label("Datei öffnen").set_input_files(str(garbage))
    expect_error(page, "Die Datei „muell.bpmn“ ließ sich nicht öffnen: Sie ist kein lesbares XML. Das bisherige "
                       "Modell bleibt geöffnet; es wurde nichts veröffentlicht.")
    expect(page.locator("#problem-list")).to_have_text(
        "Fehler \N{EN DASH} ganzes Modell: Kein wohlgeformtes XML (Zeile 1): Die Datei enthält kein XML-Dokument.")
    assert "unparsable" not in page.locator("main").inner_text(), "bpmn-js's English error is not shown"
    assert _shows_identity_clarification(page), "the diagram that was open stays open"
    screenshot(page, "modeler-file-refused")

    page.get_by_role("button", name="Hochladen und veröffentlichen").click()
    expect_error(page, "Es wurde nichts veröffentlicht: Die Datei „muell.bpmn“ ließ sich nicht öffnen.")
    assert page.locator("#publish-confirm").is_hidden()
    assert published_versions(page, base, "identity_clarification") == [1], "the previous diagram was not re-published"

    page.get_by_role("button", name="Veröffentlichen", exact=True).click()  # asks before anything happens
    dialog = page.locator("#publish-confirm")
    expect(dialog).to_be_visible(timeout=20_000)
    assert "„Identitätsklärung (§ 60b AufenthG)“ (identity_clarification)" in dialog.inner_text()
    dialog.get_by_role("button", name="Abbrechen").click()
    expect_status(page, "Nicht veröffentlicht: abgebrochen.")
    assert published_versions(page, base, "identity_clarification") == [1]
    assert page.request.get(f"{base}/api/v1/model-drafts").json()["items"] == [], "no draft left behind"
    assert errors == []
    page.close()


def test_a_doctype_file_without_a_diagram_publishes_nothing_and_says_why_in_german(
        browser: Any, kim: tuple[str, Any], tmp_path: Path) -> None:
    base, _ctx = kim
    exported = tmp_path / "export.bpmn"
    exported.write_bytes(DOCTYPE_WITHOUT_DIAGRAM)
    page = browser.new_page(locale="de-DE", viewport={"width": 1400, "height": 900})
    errors = console_errors(page)
    sign_in(page, base, "paul")
    open_modeler(page, f"{base}/modeler/bpmn/identity_clarification")

    page.get_by_label("Datei öffnen").set_input_files(str(exported))
    expect_error(page, "Die Datei „export.bpmn“ ließ sich nicht öffnen: Sie enthält kein Diagramm (keine Angaben "
                       "zur Darstellung der Elemente); der Modeler öffnet nur Modelle mit Diagramm.")
    problems = page.locator("#problem-list").inner_text()
    assert problems.startswith("Fehler \N{EN DASH} ganzes Modell: DOCTYPE-Deklarationen sind nicht erlaubt"), \
        "the server checked the file's own bytes, DOCTYPE included"
    assert "no diagram to display" not in page.locator("main").inner_text()
    assert _shows_identity_clarification(page)

    page.get_by_role("button", name="Hochladen und veröffentlichen").click()
    expect_error(page, "Es wurde nichts veröffentlicht: Die Datei „export.bpmn“ ließ sich nicht öffnen.")
    models = [m["process_id"] for m in page.request.get(f"{base}/api/v1/process-models").json()["items"]]
    assert "p" not in models, "no process was made up from the file"
    assert published_versions(page, base, "identity_clarification") == [1]
    assert page.request.get(f"{base}/api/v1/model-drafts").json()["items"] == []
    page.goto(f"{base}/models")
    assert page.locator("tr[data-key='p']").count() == 0, "nothing new in Prozessmodelle"
    assert errors == []
    page.close()


@pytest.mark.parametrize("width", [1400, 1024])
def test_the_palette_leaves_the_lane_labels_free(browser: Any, kim: tuple[str, Any], width: int) -> None:
    base, _ctx = kim
    page = browser.new_page(locale="de-DE", viewport={"width": width, "height": 900})
    sign_in(page, base, "paul")
    open_modeler(page, f"{base}/modeler/bpmn/kim_pathway")
    palette = page.locator(".djs-palette").bounding_box()
    assert palette is not None
    assert palette["width"] > 40, "the palette is shown"
    diagram_left = page.evaluate("""() => Math.min(...Array.from(
        document.querySelectorAll('.djs-element.djs-shape[data-element-id^="lane_"] .djs-visual'),
        e => e.getBoundingClientRect().left))""")
    assert palette["x"] + palette["width"] <= diagram_left, "the palette is left of the lane labels, not on them"
    screenshot(page, f"modeler-{width}")
    page.close()


@pytest.mark.parametrize("width", [1400, 1024])
def test_the_modeler_fits_the_screen_and_the_palette_leaves_the_lane_labels_free(
        browser: Any, kim: tuple[str, Any], width: int) -> None:
    """Screenshots of the modeler at 1400 and 1024 px; the canvas fits the window, and the
    palette does not cover the lane labels when the diagram is shown whole."""
    base, _ctx = kim
    page = browser.new_page(locale="de-DE", viewport={"width": width, "height": 900})
    sign_in(page, base, "paul")
    open_modeler(page, f"{base}/modeler/bpmn/kim_pathway")
    canvas = page.locator("#canvas").bounding_box()
    assert canvas is not None
    assert canvas["x"] >= 0
    assert canvas["x"] + canvas["width"] <= width + 1, f"the canvas fits {width} px"
    palette = page.locator(".djs-palette").bounding_box()
    lane_labels = page.locator(".djs-element[data-element-id^='Lane'] text, "
                               ".djs-element[data-element-id*='lane'] text").evaluate_all(
        "ts => ts.map(t => t.getBoundingClientRect()).filter(r => r.width > 0).map(r => [r.left, r.right])")
    if palette is not None and lane_labels:
        palette_right = palette["x"] + palette["width"]
        assert all(left >= palette_right - 1 for left, _right in lane_labels), \
            f"lane labels start right of the palette at {width} px"
    screenshot(page, f"modeler-{width}")
    page.close()
