"""The auditor reads and verifies the audit trail; nobody else may."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.webapp.conftest import Web


def test_auditor_reads_the_trail_of_a_case_and_verifies_it(web: Web, open_case: Callable[..., Any]) -> None:
    case = open_case()
    web.api("conrad", "GET", f"/cases/{case['id']}")
    entries = web.api("aude", "GET", f"/audit?case_id={case['id']}").get_json()["items"]
    actions = [(e["actor"], e["action"]) for e in entries]
    assert ("carla", "case.open") in actions
    assert ("conrad", "case.read") in actions, "reads are audited too"
    verified = web.api("aude", "GET", "/audit/verify").get_json()
    assert verified["ok"] is True
    assert verified["checked"] >= len(entries)
    page = web.api("aude", "GET", "/audit?limit=2").get_json()
    after = web.api("aude", "GET", f"/audit?limit=2&after={page['next_after']}").get_json()
    assert after["items"][0]["id"] > page["items"][-1]["id"]


def test_only_auditors(web: Web) -> None:
    assert web.api("carla", "GET", "/audit").status_code == 403
    assert web.api("sina", "GET", "/audit/verify").status_code == 403
    assert web.api("aude", "GET", "/audit?limit=0").status_code == 422
    assert web.api("aude", "GET", "/audit?case_id=nope").status_code == 422


def test_inbox_lists_and_name_searches_are_audited(web: Web, open_case: Callable[..., Any]) -> None:
    open_case()
    found = web.api("carla", "GET", "/tasks?q=haddad&view=office").get_json()
    assert found["total"] == 1
    web.api("carla", "GET", "/tasks?view=mine&page=3")
    entries = web.api("aude", "GET", "/audit?limit=500").get_json()["items"]
    lists = [(e["actor"], e["details"]) for e in entries if e["action"] == "task.list"]
    assert ("carla", {"filter": {"view": "office", "state": "open", "q": "haddad", "sort": "due_at", "page": 1},
                      "rows": 1, "total": 1}) in lists, "who searched for whom, and what came back"
    assert ("carla", {"filter": {"view": "mine", "state": "open", "sort": "due_at", "page": 3},
                      "rows": 0, "total": 0}) in lists
    assert web.api("aude", "GET", "/audit/verify").get_json()["ok"] is True
