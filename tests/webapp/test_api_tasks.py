"""REST: the inbox and working tasks (claim, release, assign, follow-up, draft, complete)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest

from engine import clock
from tests.webapp.conftest import Web

VALID = {"kontakt_am": "2026-11-20", "sprache": "ar", "termine": 2, "dolmetscher": True,
         "ziele": [{"titel": "Sprachkurs B1", "faellig_am": "2027-05-31"}]}


def _first_task(case: dict[str, Any]) -> str:
    task_id: str = case["tasks"][0]["id"]
    return task_id


def test_inbox_views_sorting_and_filters(web: Web, open_case: Callable[..., Any]) -> None:
    first, second = open_case(), open_case(person={"given_name": "Yusuf", "family_name": "Karimi"})
    office = web.api("carla", "GET", "/tasks").get_json()
    assert office["total"] == 2
    assert all(item["office"] == "CM" for item in office["items"])
    assert web.api("carla", "GET", "/tasks?view=mine").get_json()["total"] == 0
    web.api("carla", "POST", f"/tasks/{_first_task(second)}/claim")
    mine = web.api("carla", "GET", "/tasks?view=mine").get_json()
    assert [i["person_name"] for i in mine["items"]] == ["Yusuf Karimi"]
    assert web.api("carla", "GET", "/tasks?q=karimi").get_json()["total"] == 1
    assert web.api("carla", "GET", f"/tasks?q={first['reference']}").get_json()["total"] == 1
    assert web.api("achim", "GET", "/tasks").get_json()["total"] == 0, "other offices see nothing"
    assert web.api("carla", "GET", "/tasks?view=all").status_code == 403
    assert web.api("sina", "GET", "/tasks?view=all").get_json()["total"] == 2
    dues = [i["due_at"] for i in web.api("carla", "GET", "/tasks?sort=-due_at").get_json()["items"]]
    assert dues == sorted(dues, reverse=True)


@pytest.mark.parametrize("sort", ["due_at", "-due_at", "created_at", "-created_at", "name", "-name",
                                  "escalation_level", "-escalation_level"])
def test_inbox_pages_follow_each_sort_order(web: Web, open_case: Callable[..., Any], sort: str) -> None:
    """Each page is a slice of one order (the page is cut from the task table, then joined to
    names): pages of two put together are the whole list, in order, each task once."""
    for family in ("Karimi", "Haddad", "Nowak"):
        open_case(person={"given_name": "Test", "family_name": family})
    whole = web.api("carla", "GET", f"/tasks?sort={sort}&per_page=100").get_json()
    pages = [web.api("carla", "GET", f"/tasks?sort={sort}&per_page=2&page={n}").get_json() for n in (1, 2)]
    key = sort.lstrip("-")
    values = [(item[key], item["id"]) for item in whole["items"]]
    assert [v for v, _ in values] == sorted((v for v, _ in values), reverse=sort.startswith("-"))
    assert [i["id"] for p in pages for i in p["items"]] == [i for _, i in values]
    assert [p["total"] for p in pages] == [3, 3]
    assert {i["person_name"] for i in whole["items"]} == {"Test Karimi", "Test Haddad", "Test Nowak"}


@pytest.mark.parametrize("query", ["view=everything", "per_page=0", "per_page=5000", "page=-1", "overdue=maybe",
                                   "due_from=2026-13-01", "due_from=0001-01-01", "due_to=9999-12-31",
                                   "sort=password", "state=gone"])
def test_bad_inbox_filters_are_422(web: Web, query: str) -> None:
    response = web.api("carla", "GET", f"/tasks?{query}")
    assert response.status_code == 422
    assert response.get_json()["fields"]


def test_claim_release_assign(web: Web, open_case: Callable[..., Any]) -> None:
    task_id = _first_task(open_case())
    claimed = web.api("carla", "POST", f"/tasks/{task_id}/claim")
    assert claimed.get_json()["assignee"] == "carla"
    assert web.api("conrad", "POST", f"/tasks/{task_id}/claim").status_code == 409
    assert web.api("conrad", "POST", f"/tasks/{task_id}/release").status_code == 409
    assert web.api("achim", "POST", f"/tasks/{task_id}/claim").status_code == 404
    assert web.api("carla", "POST", f"/tasks/{task_id}/release").get_json()["state"] == "open"
    assigned = web.api("sina", "POST", f"/tasks/{task_id}/assign", json={"username": "conrad"})
    assert assigned.get_json()["assignee"] == "conrad"
    refused = web.api("sina", "POST", f"/tasks/{task_id}/assign", json={"username": "achim"})
    assert refused.status_code == 422
    assert refused.get_json()["fields"]["username"] == "nicht in dieser Stelle"


def test_follow_up_hides_the_task_until_the_day(web: Web, open_case: Callable[..., Any]) -> None:
    clock.freeze(datetime.fromisoformat("2026-11-20T09:00:00+01:00"))
    try:
        task_id = _first_task(open_case())
        response = web.api("carla", "POST", f"/tasks/{task_id}/follow-up", json={"date": "2026-11-25"})
        assert response.get_json()["follow_up_at"].startswith("2026-11-24T23:00:00")
        assert web.api("carla", "GET", "/tasks").get_json()["total"] == 0
        assert web.api("carla", "GET", "/tasks?include_follow_up=true").get_json()["total"] == 1
        clock.freeze(datetime.fromisoformat("2026-11-25T07:30:00+01:00"))
        assert web.api("carla", "GET", "/tasks").get_json()["total"] == 1
        past = web.api("carla", "POST", f"/tasks/{task_id}/follow-up", json={"date": "2026-11-01"})
        assert past.status_code == 422
        assert web.api("carla", "POST", f"/tasks/{task_id}/follow-up", json={}).status_code == 422
    finally:
        clock.reset()


def test_task_carries_its_form_and_draft(web: Web, open_case: Callable[..., Any]) -> None:
    task_id = _first_task(open_case())
    task = web.api("carla", "GET", f"/tasks/{task_id}").get_json()
    assert task["form"]["schema"]["properties"]["sprache"]["title"] == "Sprache des Gesprächs"
    saved = web.api("carla", "POST", f"/tasks/{task_id}/draft", json={"data": {"notiz": "halb fertig"}})
    assert saved.status_code == 200
    assert web.api("carla", "GET", f"/tasks/{task_id}").get_json()["data"] == {"notiz": "halb fertig"}


def test_complete_validates_on_the_server(web: Web, open_case: Callable[..., Any]) -> None:
    task_id = _first_task(open_case())
    bad = web.api("carla", "POST", f"/tasks/{task_id}/complete",
                  json={"data": {"kontakt_am": "gestern", "sprache": "xx", "termine": 99, "extra": 1}})
    assert bad.status_code == 422
    assert bad.get_json()["fields"] == {"kontakt_am": "ungültiges Format", "sprache": "kein zulässiger Wert",
                                        "termine": "zu groß", "data": "unbekanntes Feld"}
    assert web.api("carla", "GET", f"/tasks/{task_id}").get_json()["state"] == "open", "nothing was completed"
    done = web.api("carla", "POST", f"/tasks/{task_id}/complete", json={"data": VALID})
    assert done.status_code == 200
    assert done.get_json()["task"]["state"] == "completed"
    assert done.get_json()["task"]["completed_by"] == "carla"
    again = web.api("carla", "POST", f"/tasks/{task_id}/complete", json={"data": VALID})
    assert again.status_code == 409


def test_next_task_of_my_office_is_returned(web: Web, open_case: Callable[..., Any]) -> None:
    case = open_case()
    web.api("carla", "POST", f"/cases/{case['id']}/consents", json={"office": "ABH", "purpose": "Vorprüfung"})
    web.api("carla", "POST", f"/tasks/{_first_task(case)}/complete", json={"data": VALID})
    abh_task = web.api("achim", "GET", "/tasks").get_json()["items"][0]
    done = web.api("achim", "POST", f"/tasks/{abh_task['id']}/complete", json={"data": {"ergebnis": "OFFEN"}})
    assert done.get_json()["next_tasks"] == [], "the following step belongs to CM"
    assert web.api("carla", "GET", "/tasks").get_json()["items"][0]["name"] == "Ergebnis besprechen"


def test_concurrent_completion_over_http(web: Web, open_case: Callable[..., Any]) -> None:
    task_id = _first_task(open_case())
    barrier = threading.Barrier(8)

    def click(_n: int) -> int:
        barrier.wait()
        status: int = web.api("carla", "POST", f"/tasks/{task_id}/complete", json={"data": VALID}).status_code
        return status

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(click, range(8)))
    assert statuses == [200] + [409] * 7


def test_overdue_list_is_for_leads(web: Web, open_case: Callable[..., Any]) -> None:
    clock.freeze(datetime.fromisoformat("2026-11-20T09:00:00+01:00"))
    try:
        open_case()
        assert web.api("sina", "GET", "/overdue").get_json()["total"] == 0
        clock.freeze(datetime.fromisoformat("2026-12-07T09:00:00+01:00"))
        overdue = web.api("sina", "GET", "/overdue").get_json()
        assert overdue["total"] == 1
        assert web.api("carla", "GET", "/overdue").status_code == 403
    finally:
        clock.reset()
