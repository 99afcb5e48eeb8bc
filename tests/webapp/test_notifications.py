"""In-app notifications: the page, the navigation badge and /api/v1/notifications, each person
seeing only their own."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from engine.persistence.models import User
from engine.services.notifications import notify as notifications
from tests.webapp.conftest import Web, csrf_of, login


def _assigned_to_carla(web: Web, open_case: Callable[..., Any]) -> dict[str, Any]:
    task = open_case()["tasks"][0]
    response = web.api("sina", "POST", f"/tasks/{task['id']}/assign", json={"username": "carla"})
    assert response.status_code == 200, response.get_json()
    return task  # type: ignore[no-any-return]


def _notify(web: Web, username: str, subject: str, body: str = "Text", link: str | None = None) -> None:
    with web.ctx.uow() as uow:
        user_id = uow.session.scalar(select(User.id).where(User.username == username))
        assert user_id is not None
        message = notifications.Message(notifications.Kind.DUE_SOON, subject, body, link)
        notifications.notify(uow.session, [user_id], message, f"test:{subject}", mail=False)
        uow.commit()


def _badge(html: str) -> str:
    found = re.search(r'Benachrichtigungen <span class="count">(\d+)</span>', html)
    assert found, "nav entry with badge"
    return found.group(1)


def test_api_lists_only_the_callers_notifications(web: Web, open_case: Callable[..., Any]) -> None:
    task = _assigned_to_carla(web, open_case)
    body = web.api("carla", "GET", "/notifications").get_json()
    assert body["unread"] == 1
    (item,) = body["items"]
    assert item["kind"] == "assigned"
    assert item["task_id"] == task["id"]
    assert item["subject"].startswith("Aufgabe zugewiesen: Erstkontakt dokumentieren")
    assert item["read_at"] is None
    assert item["mail_state"] == "none", "no mail server configured"
    assert web.api("conrad", "GET", "/notifications").get_json() == {"items": [], "unread": 0}
    assert web.api("sina", "GET", "/notifications").get_json()["items"] == [], "assigning is not news to oneself"


def test_api_marks_read_and_hides_other_peoples_notifications(web: Web, open_case: Callable[..., Any]) -> None:
    _assigned_to_carla(web, open_case)
    (item,) = web.api("carla", "GET", "/notifications").get_json()["items"]
    other = web.api("conrad", "POST", f"/notifications/{item['id']}/read")
    assert other.status_code == 404
    assert other.get_json()["error"] == "not_found"
    assert web.api("carla", "GET", "/notifications?unread=true").get_json()["unread"] == 1, "untouched"
    done = web.api("carla", "POST", f"/notifications/{item['id']}/read")
    assert done.status_code == 200
    assert done.get_json()["read_at"] is not None
    assert web.api("carla", "GET", "/notifications?unread=true").get_json() == {"items": [], "unread": 0}
    assert web.api("carla", "POST", "/notifications/999999/read").status_code == 404
    assert web.api("carla", "POST", f"/notifications/{2**63 + 5}/read").status_code == 404
    assert web.client().get("/api/v1/notifications").status_code == 401


def test_api_read_all_and_bad_queries(web: Web) -> None:
    _notify(web, "carla", "Eins")
    _notify(web, "carla", "Zwei")
    _notify(web, "conrad", "Drei")
    assert [i["subject"] for i in web.api("carla", "GET", "/notifications").get_json()["items"]] == ["Zwei", "Eins"]
    assert web.api("carla", "GET", "/notifications?limit=1").get_json()["items"][0]["subject"] == "Zwei"
    assert web.api("carla", "POST", "/notifications/read-all").get_json() == {"marked": 2}
    assert web.api("conrad", "GET", "/notifications").get_json()["unread"] == 1, "only the caller's"
    bad = web.api("carla", "GET", "/notifications?limit=0&unread=maybe")
    assert bad.status_code == 422
    assert set(bad.get_json()["fields"]) == {"limit", "unread"}


def test_page_lists_marks_unread_and_the_badge_counts(web: Web, open_case: Callable[..., Any]) -> None:
    _assigned_to_carla(web, open_case)
    _notify(web, "carla", "Zweite Nachricht", link="/inbox")
    client = web.client()
    login(client, "carla")
    assert _badge(client.get("/inbox").get_data(as_text=True)) == "2"
    html = client.get("/notifications").get_data(as_text=True)
    assert html.index("Zweite Nachricht") < html.index("Aufgabe zugewiesen"), "newest first"
    assert html.count('class="notification unread"') == 2
    ids = re.findall(r'data-id="(\d+)"', html)
    assert client.post(f"/notifications/{ids[1]}/read").status_code == 403, "CSRF token required"
    token = csrf_of(client, "/notifications")
    response = client.post(f"/notifications/{ids[1]}/read", data={"csrf_token": token})
    assert response.status_code == 302
    html = client.get("/notifications").get_data(as_text=True)
    assert html.count('class="notification unread"') == 1
    assert _badge(html) == "1"
    opened = client.post(f"/notifications/{ids[0]}/read", data={"csrf_token": token, "open": "1"})
    assert opened.headers["Location"].endswith("/inbox"), "Öffnen marks read and follows the link"
    assert _badge(client.get("/inbox").get_data(as_text=True)) == "0"


def test_page_read_all_other_users_and_escaping(web: Web) -> None:
    _notify(web, "carla", "<script>alert(1)</script>", body="<b>fett</b>")
    _notify(web, "carla", "Noch eine")
    client = web.client()
    login(client, "carla")
    html = client.get("/notifications").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;fett&lt;/b&gt;" in html
    ids = re.findall(r'data-id="(\d+)"', html)
    other = web.client()
    login(other, "conrad")
    token = csrf_of(other, "/notifications")
    assert other.post(f"/notifications/{ids[0]}/read", data={"csrf_token": token}).status_code == 404
    assert "Keine Benachrichtigungen." in other.get("/notifications").get_data(as_text=True)
    client.post("/notifications/read-all", data={"csrf_token": csrf_of(client, "/notifications")})
    html = client.get("/notifications").get_data(as_text=True)
    assert 'class="notification unread"' not in html
    assert "2 Benachrichtigungen als gelesen markiert." in html


def test_session_api_needs_csrf_and_page_speaks_english(web: Web) -> None:
    _notify(web, "paul", "Für den Prozessverantwortlichen")
    client = web.client()
    login(client, "paul")  # every role has notifications
    (item,) = client.get("/api/v1/notifications").get_json()["items"]
    assert client.post(f"/api/v1/notifications/{item['id']}/read").status_code == 403
    token = csrf_of(client, "/notifications")
    ok = client.post(f"/api/v1/notifications/{item['id']}/read", headers={"X-CSRF-Token": token})
    assert ok.status_code == 200
    english = client.get("/notifications?lang=en").get_data(as_text=True)
    assert "Notifications" in english
    assert "0 unread" in english
