"""The working-day calendar for admins: /admin/calendar and /api/v1/calendar/closing-days."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.services.admin import directory
from tests.webapp.conftest import Web, _password_hash, csrf_of, login


@pytest.fixture
def admin(web: Web) -> str:
    web.ctx.run(directory.add_user, "adele", "admin", [], password_hash=_password_hash())
    web.tokens["adele"] = web.ctx.run(directory.create_token, "adele")
    return "adele"


def admin_client(web: Web, admin: str) -> FlaskClient:
    client = web.client()
    login(client, admin)
    return client


def test_year_page_lists_nrw_holidays(web: Web, admin: str) -> None:
    client = admin_client(web, admin)
    html = client.get("/admin/calendar?year=2027").get_data(as_text=True)
    assert "Arbeitskalender 2027" in html
    assert "27.05.2027</td><td>Do</td><td>Fronleichnam" in html
    assert "01.11.2027</td><td>Mo</td><td>Allerheiligen" in html
    html = client.get("/admin/calendar?year=2026").get_data(as_text=True)
    assert "04.06.2026</td><td>Do</td><td>Fronleichnam" in html
    assert 'href="/admin/calendar"' in html  # the navigation entry
    assert client.get("/admin/calendar?year=20x7").status_code == 422


def test_configured_closing_days_are_shown_read_only(web: Web, admin: str) -> None:
    client = admin_client(web, admin)
    assert "Keine (KIM_CLOSING_DAYS ist leer)." in client.get("/admin/calendar?year=2026").get_data(as_text=True)
    calendar = web.app.extensions["kim"].calendar  # as if KIM_CLOSING_DAYS=2026-12-31 were configured
    calendar.closing_days = frozenset({date(2026, 12, 31)})
    html = client.get("/admin/calendar?year=2026").get_data(as_text=True)
    configured = html[html.index('id="configured-days"'):html.index('id="holidays"')]
    assert "31.12.2026</td><td>Do</td>" in configured
    assert "aus der Konfiguration" in configured
    assert "/admin/calendar/closing-days/2026-12-31/delete" not in html  # nothing to delete there
    listing = web.api(admin, "GET", "/calendar/closing-days?year=2026").get_json()
    assert listing == {"items": [], "configured": [{"day": "2026-12-31", "source": "configuration"}]}


def test_closing_day_moves_the_due_date_of_a_new_task(web: Web, admin: str,
                                                      open_case: Callable[..., dict[str, Any]],
                                                      frozen_clock: object) -> None:
    def due_of_new_case() -> str:
        return str(open_case()["tasks"][0]["due_at"])[:10]

    assert due_of_new_case() == "2026-12-04"  # Fri 20.11. + 10 working days
    created = web.api(admin, "POST", "/calendar/closing-days", json={"day": "2026-11-24", "label": "Betriebsausflug"})
    assert created.status_code == 201
    assert created.get_json()["day"] == "2026-11-24"
    assert due_of_new_case() == "2026-12-07"
    listing = web.api(admin, "GET", "/calendar/closing-days?year=2026").get_json()
    assert [(d["day"], d["label"]) for d in listing["items"]] == [("2026-11-24", "Betriebsausflug")]
    assert web.api(admin, "DELETE", "/calendar/closing-days/2026-11-24").status_code == 204
    assert due_of_new_case() == "2026-12-04"
    assert web.api(admin, "DELETE", "/calendar/closing-days/2026-11-24").status_code == 404
    assert web.api(admin, "DELETE", "/calendar/closing-days/kein-datum").status_code == 404


@pytest.mark.parametrize("user", ["carla", "sina", "paul", "aude"])
def test_non_admins_get_403(web: Web, user: str) -> None:
    assert web.api(user, "GET", "/calendar/closing-days").status_code == 403
    assert web.api(user, "POST", "/calendar/closing-days", json={"day": "2027-01-04"}).status_code == 403
    assert web.api(user, "DELETE", "/calendar/closing-days/2027-01-04").status_code == 403
    client = web.client()
    login(client, user)
    assert client.get("/admin/calendar").status_code == 403
    assert 'href="/admin/calendar"' not in client.get("/inbox").get_data(as_text=True)


@pytest.mark.parametrize(("body", "field"), [({"day": "2026-02-30"}, "day"), ({"label": "x"}, "day"),
                                             ({"day": "2020-01-02"}, "day"), ({"day": "2027-01-01"}, "day"),
                                             ({"day": "2027-01-04", "label": "x" * 201}, "label")])
def test_bad_input_gives_422_with_the_field(web: Web, admin: str, body: dict[str, Any], field: str) -> None:
    response = web.api(admin, "POST", "/calendar/closing-days", json=body)
    assert response.status_code == 422
    assert field in response.get_json()["fields"]


def test_duplicate_gives_422(web: Web, admin: str) -> None:
    assert web.api(admin, "POST", "/calendar/closing-days", json={"day": "2030-01-04"}).status_code == 201
    duplicate = web.api(admin, "POST", "/calendar/closing-days", json={"day": "2030-01-04"})
    assert (duplicate.status_code, duplicate.get_json()["fields"]) == (422, {"day": "bereits ein Schließtag"})


def test_page_form_adds_and_deletes_with_csrf(web: Web, admin: str) -> None:
    client = admin_client(web, admin)
    token = csrf_of(client, "/admin/calendar")
    assert client.post("/admin/calendar/closing-days", data={"day": "2030-02-25", "label": "Rosenmontag"}
                       ).status_code == 403  # no CSRF token
    added = client.post("/admin/calendar/closing-days",
                        data={"day": "2030-02-25", "label": "<b>Rosenmontag</b>", "csrf_token": token})
    assert added.status_code == 302
    html = client.get(added.headers["Location"]).get_data(as_text=True)
    assert "25.02.2030</td><td>Mo</td><td>&lt;b&gt;Rosenmontag&lt;/b&gt;" in html
    assert "<b>Rosenmontag</b>" not in html
    bad = client.post("/admin/calendar/closing-days", data={"day": "2030-02-25", "csrf_token": token})
    assert bad.status_code == 422
    assert "bereits ein Schließtag" in bad.get_data(as_text=True)
    deleted = client.post("/admin/calendar/closing-days/2030-02-25/delete", data={"csrf_token": token})
    assert deleted.status_code == 302
    assert 'data-day="2030-02-25"' not in client.get("/admin/calendar?year=2030").get_data(as_text=True)


def test_page_in_english(web: Web, admin: str) -> None:
    html = admin_client(web, admin).get("/admin/calendar?year=2027&lang=en").get_data(as_text=True)
    assert "Working-day calendar 2027" in html
    assert "27.05.2027</td><td>Thu</td><td>Fronleichnam" in html
