"""The supervisor dashboard in the web app: who gets in, the page, CSV downloads and the JSON API."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date

import pytest
from flask.testing import FlaskClient

from engine import clock
from engine.services.admin import directory
from tests.supervision_seed import NOW, Seed
from tests.webapp.conftest import Web, _password_hash, login


@pytest.fixture
def seeded(web: Web) -> Iterator[Web]:
    clock.freeze(NOW)
    for name, role, offices in (("adele", "admin", []), ("kira", "supervisor", ["KI"])):
        web.ctx.run(directory.add_user, name, role, offices, password_hash=_password_hash())
        web.tokens[name] = web.ctx.run(directory.create_token, name)
    seed = Seed(web.ctx)
    for _ in range(6):
        seed.task("CM", due=date(2026, 11, 24), level=1)
    seed.task("CM", due=date(2026, 10, 1), level=2, case_ref="KIM-2026-0042")
    for _ in range(7):
        seed.task("ABH", step="pruefung", due=date(2026, 11, 20), level=1, case_ref=None)
    yield web
    clock.reset()


def _signed_in(web: Web, user: str) -> FlaskClient:
    client = web.client()
    login(client, user)
    return client


def test_supervisor_page_shows_own_office_with_suppression(seeded: Web) -> None:
    client = _signed_in(seeded, "sina")
    page = client.get("/supervision?from=01.11.2026&to=25.11.2026")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<h1>Steuerung</h1>" in html
    assert 'href="/supervision/overdue.csv?from=2026-11-01&amp;to=2026-11-25' in html
    assert "&lt;5</abbr>" in html, "a count of 1 is shown as <5"
    assert "KIM-2026-0042" in html, "the CM lead sees the reference of a CM task"
    assert "pruefung" not in html, "nothing of the ABH"
    assert 'data-url="/api/v1/reports/dashboard?from=2026-11-01' in html
    assert "<script>" not in html.replace('<script src="', ""), "no inline script under the CSP"


def test_nav_entry_only_for_leads_and_admins(seeded: Web) -> None:
    assert 'href="/supervision">Steuerung' in _signed_in(seeded, "sina").get("/inbox").get_data(as_text=True)
    assert "/supervision" not in _signed_in(seeded, "carla").get("/inbox").get_data(as_text=True)


@pytest.mark.parametrize("user", ["carla", "achim", "paul", "aude"])
def test_others_are_refused(seeded: Web, user: str) -> None:
    assert _signed_in(seeded, user).get("/supervision").status_code == 403
    assert _signed_in(seeded, user).get("/supervision/overdue.csv").status_code == 403
    response = seeded.api(user, "GET", "/reports/dashboard")
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"


def test_signed_out_goes_to_login(seeded: Web) -> None:
    response = seeded.client().get("/supervision")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert seeded.client().get("/api/v1/reports/dashboard").status_code == 401


def test_bad_filter_is_a_422_naming_the_field(seeded: Web) -> None:
    page = _signed_in(seeded, "sina").get("/supervision?from=31.02.2026")
    assert page.status_code == 422
    assert 'id="f-from-err"' in page.get_data(as_text=True)
    response = seeded.api("sina", "GET", "/reports/dashboard?from=2026-12-01&to=2026-11-01")
    assert response.status_code == 422
    assert response.get_json()["fields"] == {"from": "darf nicht nach „bis“ liegen"}
    english = seeded.api("sina", "GET", "/reports/dashboard?from=2026-12-01&to=2026-11-01",
                         headers={"Accept-Language": "en"})
    assert english.get_json()["fields"] == {"from": "must not be after 'to'"}
    other = seeded.api("sina", "GET", "/reports/dashboard?office=ABH")
    assert other.status_code == 403


def test_csv_download_for_excel(seeded: Web) -> None:
    response = _signed_in(seeded, "sina").get("/supervision/overdue.csv?from=2026-11-01&to=2026-11-25")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="steuerung-overdue-2026-11-01-2026-11-25.csv"' in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert lines[1] == ["CM", "6", "0", "0", "", "", "über 20 AT, Gesamt"]


def test_escalated_csv_has_references_for_the_lead_only(seeded: Web) -> None:
    lead = _signed_in(seeded, "sina").get("/supervision/escalated.csv")
    rows = list(csv.reader(io.StringIO(lead.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[1][0] == "CM"
    assert rows[1][5] == "01.10.2026"
    assert rows[1][8] == "KIM-2026-0042"
    admin = _signed_in(seeded, "adele").get("/supervision/escalated.csv")
    admin_rows = list(csv.reader(io.StringIO(admin.data.decode("utf-8-sig")), delimiter=";"))[1:]
    assert {r[0] for r in admin_rows} == {"CM", "ABH"}
    assert all(r[7] == "" and r[8] == "" for r in admin_rows)


def test_lead_follows_an_escalated_case_to_its_instance_view(seeded: Web) -> None:
    client = _signed_in(seeded, "sina")
    html = client.get("/supervision").get_data(as_text=True)
    links = re.findall(r'href="(/cases/[0-9a-f-]{36}/instance)"', html)
    assert links, "the office lead reaches the process instance of an escalated case"
    assert re.search(r'href="/cases/[0-9a-f-]{36}/instance"[^>]*>KIM-2026-0042</a>', html)
    admin_html = _signed_in(seeded, "adele").get("/supervision").get_data(as_text=True)
    assert "/instance" not in admin_html, "no case link for those who may not open the task"


def test_api_for_integrators(seeded: Web) -> None:
    body = seeded.api("kira", "GET", "/reports/dashboard?from=2026-11-01&to=2026-11-25").get_json()
    assert body["from"] == "2026-11-01"
    assert "ABH" in body["offices"]
    rows = {r["values"]["office"]: r for r in body["tables"]["overdue"]["rows"]}
    assert rows["ABH"]["values"]["wd_1_5"] == 7
    assert rows["CM"]["values"]["wd_over_20"] is None
    assert rows["CM"]["suppressed"] == ["total", "wd_over_20"]
    assert all(item["case_reference"] is None for item in body["escalated_tasks"]), "KI sees no case"
    narrowed = seeded.api("adele", "GET", "/reports/dashboard?office=ABH").get_json()
    assert narrowed["offices"] == ["ABH"]


def test_heatmap_diagram_source(seeded: Web) -> None:
    client = _signed_in(seeded, "sina")
    diagram = client.get("/supervision/heatmap/beratung.json").get_json()
    assert diagram["process_id"] == "beratung"
    assert "<bpmn:userTask" in diagram["xml"]
    assert client.get("/supervision/heatmap/unbekannt.json").status_code == 404
    assert _signed_in(seeded, "carla").get("/supervision/heatmap/beratung.json").status_code == 403


def test_english_labels(seeded: Web) -> None:
    html = _signed_in(seeded, "sina").get("/supervision?lang=en").get_data(as_text=True)
    assert "<h1>Supervision</h1>" in html
    assert "Download CSV" in html


def test_generated_time_is_berlin(seeded: Web) -> None:
    html = _signed_in(seeded, "sina").get("/supervision").get_data(as_text=True)
    assert "Stand: 25.11.2026 10:00" in html


def test_api_answer_matches_its_openapi_schema(seeded: Web) -> None:
    from jsonschema import Draft202012Validator

    document = seeded.client().get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/reports/dashboard"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"from", "to", "office"}
    schema = {**operation["responses"]["200"]["content"]["application/json"]["schema"],
              "components": document["components"]}
    body = seeded.api("sina", "GET", "/reports/dashboard").get_json()
    assert list(Draft202012Validator(schema).iter_errors(body)) == []
    assert set(body["tables"]) == {"overdue", "overdue_steps", "workload", "escalations", "escalations_period",
                                   "waiting", "daily", "heatmap"}


def test_office_filter_lists_only_the_callers_offices(seeded: Web) -> None:
    lead = _signed_in(seeded, "sina").get("/supervision").get_data(as_text=True)
    assert '<option value="CM">CM</option>' in lead
    assert '<option value="ABH">' not in lead
    admin = _signed_in(seeded, "adele").get("/supervision?office=ABH").get_data(as_text=True)
    assert '<option value="ABH" selected>ABH</option>' in admin
    assert "Ämter: ABH ·" in admin


def test_escalated_list_is_capped_and_says_so(seeded: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    import webapp.supervision.pages
    from engine.services.reporting.supervision import dashboard as service

    monkeypatch.setattr(service, "ESCALATED_LIMIT", 10)
    monkeypatch.setattr(webapp.supervision.pages, "ESCALATED_LIMIT", 10)
    html = _signed_in(seeded, "adele").get("/supervision").get_data(as_text=True)  # 14 escalated tasks
    section = html[html.index('id="t-escalated"'):html.index('id="t-overdue_steps"')]
    assert section.count("<tr><td>") == 10
    assert "Gezeigt werden die ersten 10, höchste Stufe zuerst." in section
    assert "Gezeigt werden" not in _signed_in(seeded, "sina").get("/supervision").get_data(as_text=True)  # 7


def _overdue_row(html: str, office: str) -> str:
    table = html[html.index('id="t-overdue"'):html.index('id="t-workload"')]
    start = table.index(f'<th scope="row">{office}</th>')
    return table[start:table.index("</tr>", start)]


def test_a_withheld_total_is_not_called_below_five(seeded: Web) -> None:
    """CM has 6 + 1 overdue: the 1 is "<5"; the row total 7 would reveal it, so it is withheld -
    but it is not "<5", it reads "nicht ausgewiesen"."""
    html = _signed_in(seeded, "sina").get("/supervision").get_data(as_text=True)
    row = _overdue_row(html, "CM")
    assert row.count('data-withheld="small"') == 1
    assert row.count("&lt;5</abbr>") == 1
    assert 'data-withheld="reveals"' in row
    assert "nicht ausgewiesen</abbr>" in row
    assert "In den Diagrammen bleiben diese Werte Lücken mit schraffierter Markierung." in html


def test_a_median_over_fewer_than_five_cases_says_so(seeded: Web) -> None:
    seed = Seed(seeded.ctx)
    for _ in range(2):
        seed.task("CM", step="beratung", due=date(2026, 12, 10))
    html = _signed_in(seeded, "sina").get("/supervision").get_data(as_text=True)
    waiting = html[html.index('id="t-waiting"'):html.index('id="t-daily"')]
    assert 'data-withheld="few">nicht ausgewiesen (unter 5 Fällen)</span>' in waiting


def test_a_share_of_none_late_is_shown(seeded: Web) -> None:
    seed = Seed(seeded.ctx)
    for _ in range(6):
        seed.task("CM", step="beratung", due=date(2026, 12, 10))
    body = seeded.api("sina", "GET", "/reports/dashboard").get_json()
    cell = next(r for r in body["tables"]["heatmap"]["rows"] if r["values"]["step"] == "beratung")
    assert (cell["values"]["waiting"], cell["values"]["late"], cell["values"]["late_share"]) == (6, 0, 0)
