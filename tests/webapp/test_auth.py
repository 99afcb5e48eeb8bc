"""Sign-in: argon2 passwords, throttling without revealing accounts, server-side sessions, CSRF."""

from __future__ import annotations

import re
from datetime import timedelta

from engine import clock
from tests.webapp.conftest import PASSWORD, Web, csrf_of, login


def test_login_sets_hardened_cookie_and_shows_the_inbox(web: Web) -> None:
    client = web.client()
    response = login(client, "carla")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    page = client.get("/inbox")
    assert page.status_code == 200
    assert "Mein Amt" in page.get_data(as_text=True)


def test_wrong_password_and_unknown_user_look_the_same(web: Web) -> None:
    wrong = login(web.client(), "carla", "falsch")
    unknown = login(web.client(), "niemand", "falsch")
    assert wrong.status_code == unknown.status_code == 401
    assert "Anmeldung fehlgeschlagen" in wrong.get_data(as_text=True)
    def normal(html: str, name: str) -> str:
        return re.sub(r'name="csrf_token" value="[^"]+"', "", html).replace(name, "X")

    assert normal(wrong.get_data(as_text=True), "carla") == normal(unknown.get_data(as_text=True), "niemand")


def test_throttling_per_account_is_a_growing_delay_not_a_lock(web: Web) -> None:
    """Whoever knows a user name cannot lock its owner out: after a few failures each attempt
    waits a delay that doubles (up to a minute); after the delay the right password works."""
    try:
        clock.freeze(clock.now())
        for _ in range(3):
            assert login(web.client(), "conrad", "falsch").status_code == 401
        early = login(web.client(), "conrad", PASSWORD)
        assert early.status_code == 429, "too early after three failures: refused without a password check"
        assert early.headers["Retry-After"] == "1"
        assert "Sekunden" in early.get_data(as_text=True)
        clock.advance(timedelta(seconds=1))
        assert login(web.client(), "conrad", "falsch").status_code == 401
        assert login(web.client(), "conrad", "falsch").headers["Retry-After"] == "2", "the delay doubles"
        for _ in range(20):  # a flood of attempts in the delay is refused and not counted
            assert login(web.client(), "conrad", "falsch").status_code == 429
        assert login(web.client(), "carla", PASSWORD).status_code == 302, "other accounts are not affected"
        clock.advance(timedelta(minutes=1))  # never longer than a minute, however many attempts
        assert login(web.client(), "conrad", PASSWORD).status_code == 302, "no lock: the owner gets in"
    finally:
        clock.reset()


def test_logout_ends_the_session_on_the_server(web: Web) -> None:
    client = web.client()
    login(client, "carla")
    stolen = client.get_cookie("session")
    assert stolen is not None
    client.post("/logout", data={"csrf_token": csrf_of(client)})
    thief = web.client()
    thief.set_cookie("session", stolen.value)
    assert thief.get("/inbox").status_code == 302, "the old cookie no longer signs anyone in"


def test_idle_timeout(web: Web) -> None:
    client = web.client()
    login(client, "carla")
    try:
        clock.advance(timedelta(minutes=31))
        assert client.get("/inbox").status_code == 302
    finally:
        clock.reset()


def test_forms_need_the_csrf_token(web: Web, open_case: object) -> None:
    client = web.client()
    login(client, "carla")
    response = client.post("/cases/new", data={"given_name": "A", "family_name": "B", "source": "ABH", "reason": "x"})
    assert response.status_code == 403
    with_session_api = client.post("/api/v1/cases", json={})
    assert with_session_api.status_code == 403, "session-authenticated API calls need X-CSRF-Token too"


def test_pages_require_sign_in(web: Web) -> None:
    response = web.client().get("/inbox")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_open_redirect_is_refused(web: Web) -> None:
    client = web.client()
    page = client.get("/login")
    assert page.status_code == 200
    response = client.post("/login", data={"username": "carla", "password": PASSWORD,
                                           "next": "https://evil.example/", "csrf_token": csrf_of(client, "/login")})
    assert response.headers["Location"].endswith("/inbox")
