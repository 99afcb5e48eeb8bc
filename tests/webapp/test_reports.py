"""GET /api/v1/reports/kpis (JSON and CSV) and the page /reports/kpis: who may see them, bad input."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from engine.persistence.models import AuditEntry
from engine.services.admin import directory
from tests.webapp.conftest import Web, _password_hash, login

NOVEMBER = "?from=2026-11-01&to=2026-11-30"


@pytest.fixture
def five_cases(web: Web, open_case: Callable[..., dict[str, Any]], frozen_clock: object) -> None:
    for _ in range(5):
        open_case()


def test_supervisor_gets_the_documented_shape(web: Web, five_cases: None) -> None:
    response = web.api("sina", "GET", f"/reports/kpis{NOVEMBER}")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["from"], body["to"], body["suppression_threshold"]) == ("2026-11-01", "2026-11-30", 5)
    indicators = {i["key"]: i for i in body["indicators"]}
    assert indicators["cases_opened"]["value"] == 5
    assert indicators["referrals"]["breakdown"] == [{"dimension": {"source": "ABH"}, "label": "ABH", "value": 5,
                                                     "unit": "count", "n": None, "suppressed": False}]
    assert {"first_contact", "phase_durations", "counselling_sessions", "goals_set", "goals_achieved",
            "overdue_tasks", "escalations", "screening_results", "precheck_results", "permits_filed", "permits_granted",
            "permits_refused", "passports_presented", "benefit_handovers"} <= set(indicators)
    assert all(i["definition"] for i in body["indicators"])


def test_small_counts_are_suppressed(web: Web, open_case: Callable[..., dict[str, Any]],
                                     frozen_clock: object) -> None:
    for _ in range(3):
        open_case()
    opened = {i["key"]: i for i in web.api("aude", "GET", f"/reports/kpis{NOVEMBER}").get_json()["indicators"]}
    assert (opened["cases_opened"]["value"], opened["cases_opened"]["suppressed"]) == (None, True)


@pytest.mark.parametrize("user", ["carla", "achim", "sofia", "paul"])
def test_caseworkers_and_process_owners_are_refused(web: Web, user: str) -> None:
    assert web.api(user, "GET", "/reports/kpis").status_code == 403
    assert web.api(user, "GET", "/reports/kpis.csv").status_code == 403


def test_anonymous_callers_get_401(web: Web) -> None:
    assert web.client().get("/api/v1/reports/kpis").status_code == 401


@pytest.mark.parametrize(("query", "field"), [
    ("?from=2026-02-30", "from"), ("?to=morgen", "to"), ("?from=2026-11-10&to=2026-11-01", "to"),
    ("?from=2020-01-01&to=2026-11-30", "to"), ("?format=xml", "format")])
def test_bad_parameters_give_422_with_the_field(web: Web, query: str, field: str) -> None:
    response = web.api("sina", "GET", f"/reports/kpis{query}")
    assert response.status_code == 422
    assert field in response.get_json()["fields"]


@pytest.mark.parametrize("path", [f"/reports/kpis{NOVEMBER}&format=csv", f"/reports/kpis.csv{NOVEMBER}"])
def test_csv_for_the_proof_of_use_report(web: Web, five_cases: None, path: str) -> None:
    response = web.api("sina", "GET", path)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "kim-kennzahlen_2026-11-01_2026-11-30.csv" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Kennzahl", "Aufschlüsselung", "Wert", "Einheit", "Fälle", "Zeitraum von", "Zeitraum bis"]
    assert ["Eröffnete Fälle", "", "5", "Anzahl", "", "01.11.2026", "30.11.2026"] in rows
    assert ["Zuweisungen nach zuweisender Stelle", "ABH", "5", "Anzahl", "", "01.11.2026", "30.11.2026"] in rows
    assert all(len(row) == 7 for row in rows)


def test_every_report_is_audited(web: Web, frozen_clock: object) -> None:
    web.api("aude", "GET", f"/reports/kpis{NOVEMBER}")
    web.api("aude", "GET", f"/reports/kpis.csv{NOVEMBER}")
    with web.ctx.uow(write=False) as uow:
        entries = uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "report.kpis")).all()
    assert [(e.actor, e.details["format"], e.details["from"]) for e in entries] == [
        ("aude", "json", "2026-11-01"), ("aude", "csv", "2026-11-01")]


def test_page_shows_tables_definitions_and_csv_link(web: Web, five_cases: None) -> None:
    client = web.client()
    login(client, "sina")
    page = client.get(f"/reports/kpis{NOVEMBER}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<h1>Kennzahlen</h1>" in html
    assert 'id="kpi-cases_opened"' in html
    assert "Definitionen der Kennzahlen" in html
    assert "/api/v1/reports/kpis.csv?from=2026-11-01&amp;to=2026-11-30" in html
    assert 'href="/reports/kpis"' in client.get("/inbox").get_data(as_text=True)  # in the navigation


def test_page_refuses_caseworkers_and_reports_bad_dates(web: Web) -> None:
    client = web.client()
    login(client, "carla")
    assert client.get("/reports/kpis").status_code == 403
    assert 'href="/reports/kpis"' not in client.get("/inbox").get_data(as_text=True)
    lead = web.client()
    login(lead, "sina")
    bad = lead.get("/reports/kpis?from=2026-11-31")
    assert bad.status_code == 422
    assert "from: kein Datum (TT.MM.JJJJ)" in bad.get_data(as_text=True)


def test_page_in_english(web: Web) -> None:
    client = web.client()
    login(client, "sina")
    html = client.get("/reports/kpis?lang=en").get_data(as_text=True)
    assert "<h1>Indicators</h1>" in html
    assert '<th scope="row">Time to first contact</th>' in html
    assert "Cases created in the period." in html


def test_coordination_caseworkers_find_the_indicators_in_the_navigation(web: Web) -> None:
    web.ctx.run(directory.add_user, "kim", "caseworker", ["KI"], password_hash=_password_hash())
    client = web.client()
    login(client, "kim")
    assert 'href="/reports/kpis"' in client.get("/inbox").get_data(as_text=True)
    assert client.get("/reports/kpis").status_code == 200
