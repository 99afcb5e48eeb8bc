"""Acceptance: the 21 BPMN MIWG reference models (tests/data/miwg, CC BY 3.0) through every way in.

Models the product did not write must either deploy or be refused with readable German reasons
that name the element - never a server error. The table pins the outcome per file, so a change in
parsing or checking shows up here. None of them deploys: they are not executable (the A and B
series declare ISO-8859-1 but are plain ASCII, so they parse), or route user tasks to lanes that
are no KIM office.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.conftest import DATA
from tests.webapp.conftest import Web

MIWG = DATA / "miwg"
NOT_EXECUTABLE = (None, "Die Datei enthält keinen ausführbaren Prozess")
NO_OFFICE = "Die Aufgabe hat keine Stelle"

EXPECTED: dict[str, tuple[str | None, str]] = {  # file: (element id of the first problem, message start)
    **{name: NOT_EXECUTABLE for name in ("A.1.0.bpmn", "A.2.0.bpmn", "A.2.1.bpmn", "A.3.0.bpmn", "A.4.0.bpmn",
                                         "A.4.1.bpmn", "B.1.0.bpmn", "B.2.0.bpmn")},
    "C.1.0.bpmn": ("approveInvoice", "Die Lane „Approver“ ist kein bekanntes Stellenkürzel"),
    "C.1.1.bpmn": ("approveInvoice", NO_OFFICE),
    "C.2.0.bpmn": NOT_EXECUTABLE,
    "C.3.0.bpmn": ("_c73a5f4a-72f1-4e11-bb40-2f98da75fb9a", NO_OFFICE),
    "C.4.0.bpmn": ("_f8973a92-3d84-4672-a1a3-b0df154121e1", "Die Lane „HR Department“ ist kein bekanntes"),
    "C.5.0.bpmn": ("_945cd271-46b6-4d71-83a1-530e445af820",
                   "Die Lane „Private Customer Account Manager“ ist kein bekanntes"),
    "C.6.0.bpmn": ("_87baeef0-f32e-4a93-b802-fdd588aaf729", "Der Timer hat keinen Wert"),
    "C.7.0.bpmn": ("_392c86ba-38b5-4dc9-b98d-f97ad4c2add5", "Die Lane „Hiring manager“ ist kein bekanntes"),
    "C.8.0.bpmn": NOT_EXECUTABLE,
    "C.8.1.bpmn": ("_79523269-7444-4b01-90e9-e23957a9d020", NO_OFFICE),
    "C.9.0.bpmn": ("UserTask_HandleTimeout", NO_OFFICE),
    "C.9.1.bpmn": ("UserTask_CallCustomer", NO_OFFICE),
    "C.9.2.bpmn": ("UserTask_DecideOnApplication", NO_OFFICE),
}


def test_the_table_covers_all_21_reference_files() -> None:
    assert sorted(p.name for p in MIWG.glob("*.bpmn")) == sorted(EXPECTED)
    assert len(EXPECTED) == 21
    licence = (MIWG / "LICENCE.md").read_text(encoding="utf-8")
    assert "Creative Commons Attribution 3.0" in licence
    assert "https://github.com/bpmn-miwg/bpmn-miwg-test-suite" in licence


def _first(problems: list[dict[str, str | None]]) -> tuple[str | None, str]:
    assert problems, "a refusal always gives a reason"
    assert all(p["severity"] in ("error", "warning") and p["message"] for p in problems)
    return problems[0]["element_id"], str(problems[0]["message"])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reference_model_is_refused_with_a_readable_reason_everywhere(web: Web, name: str) -> None:
    element, fragment = EXPECTED[name]
    content = (MIWG / name).read_bytes()

    check = web.api("paul", "POST", "/model-checks", json={"filename": name, "content": content.decode("utf-8")})
    assert check.status_code == 200
    assert check.get_json()["ok"] is False
    assert _first(check.get_json()["problems"])[0] == element
    assert _first(check.get_json()["problems"])[1].startswith(fragment)

    upload = web.api("paul", "POST", "/process-models", data={"file": (io.BytesIO(content), name)})
    assert upload.status_code == 422, upload.get_json()
    assert _first(upload.get_json()["problems"]) == _first(check.get_json()["problems"])
    assert upload.get_json()["fields"][element or "file"].startswith(fragment)

    draft = web.api("paul", "POST", "/model-drafts", json={"filename": name, "content": content.decode("utf-8")})
    assert draft.status_code == 201, draft.get_json()
    assert _first(draft.get_json()["problems"]) == _first(check.get_json()["problems"])
    published = web.api("paul", "POST", f"/model-drafts/{draft.get_json()['id']}/publish")
    assert published.status_code == 422
    assert _first(published.get_json()["problems"]) == (element, _first(check.get_json()["problems"])[1])
    assert [d["process_id"] for d in web.api("paul", "GET", "/process-models").get_json()["items"]] == ["intake"]


def test_xsd_folder_is_complete() -> None:
    folder = Path(DATA / "bpmn-xsd")
    assert {p.name for p in folder.iterdir()} >= {"BPMN20.xsd", "Semantic.xsd", "BPMNDI.xsd", "DC.xsd", "DI.xsd",
                                                   "README.md"}
