"""Accounts and tokens: tokens expire and can be revoked, accounts can be disabled and enabled
(CLI and admin page), sessions have a maximum lifetime, sign-in limits per real client address,
and a token lookup is cached per process (0 statements for a known token)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine import clock
from engine.persistence.store import AUDIT
from engine.services.admin import directory
from engine.services.admin.token_cache import TOKENS
from tests.conftest import DATA, fresh_database
from tests.sql_counting import counting
from tests.webapp.conftest import PASSWORD, Web, csrf_of, login
from webapp import create_app


def _cli(web: Web, *args: str) -> Any:
    result = web.app.test_cli_runner().invoke(args=list(args))
    return result


def _audit_actions(web: Web) -> list[tuple[str, str, str | None]]:
    with web.ctx.db.write.connect() as conn:
        return [(r.actor, r.action, r.object_id) for r in conn.execute(select(AUDIT).order_by(AUDIT.c.id))]


def test_a_token_expires_after_kim_token_days(web: Web) -> None:
    assert web.api("carla", "GET", "/tasks").status_code == 200  # now cached too
    try:
        clock.advance(timedelta(days=366))
        assert web.api("carla", "GET", "/tasks").status_code == 401, "expired, even while cached"
    finally:
        clock.reset()
    listing = _cli(web, "users", "token", "carla", "--list")
    assert listing.exit_code == 0, listing.output
    header, row = listing.output.strip().splitlines()
    assert header.split("\t") == ["id", "created", "last used", "expires", "state"]
    _token_id, _created, last_used, expires, state = row.split("\t")
    assert state == "active"
    assert last_used != "-", "the request above was noted (to the hour)"
    assert expires[:10] == (clock.now() + timedelta(days=365)).date().isoformat()


def test_token_days_are_configurable(database_url: str, tmp_path: Path) -> None:
    app = create_app({"KIM_DATABASE_URL": fresh_database(database_url, tmp_path),
                      "KIM_INSTANCE_PATH": str(tmp_path / "instance"), "KIM_FORMS_PATH": str(DATA / "forms"),
                      "KIM_TOKEN_DAYS": "30", "TESTING": True})
    ctx = app.extensions["kim"]
    try:
        ctx.run(directory.seed_offices)
        ctx.run(directory.add_user, "tina", "caseworker", ["CM"], password_hash=None)
        token = ctx.run(directory.create_token, "tina")
        client = app.test_client()
        assert client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        clock.advance(timedelta(days=31))
        assert client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    finally:
        clock.reset()
        ctx.db.dispose()


def test_a_revoked_token_stops_at_once_even_when_cached(web: Web) -> None:
    assert web.api("carla", "GET", "/tasks").status_code == 200  # cached now
    fresh = _cli(web, "users", "token", "carla")
    assert fresh.exit_code == 0
    second = fresh.output.strip()
    listing = _cli(web, "users", "token", "carla", "--list").output.strip().splitlines()[1:]
    old_id = min(int(line.split("\t")[0]) for line in listing)  # the fixture's token, made first
    revoked = _cli(web, "users", "revoke-token", str(old_id))
    assert revoked.exit_code == 0, revoked.output
    assert f"token {old_id} of carla revoked" in revoked.output
    assert web.api("carla", "GET", "/tasks").status_code == 401, "revoked: refused on the next request"
    headers = {"Authorization": f"Bearer {second}"}
    assert web.client().get("/api/v1/tasks", headers=headers).status_code == 200, "the other token still works"
    assert _cli(web, "users", "revoke-token", str(old_id)).exit_code == 2, "revoked already"
    assert _cli(web, "users", "revoke-token", "99999").exit_code == 2
    states = [line.split("\t")[-1] for line in _cli(web, "users", "token", "carla", "--list").output.splitlines()[1:]]
    assert sorted(states) == ["active", "revoked"]
    actions = _audit_actions(web)
    assert ("system", "token.revoke", str(old_id)) in actions
    assert sum(1 for a in actions if a[1] == "token.create") >= 2, "token creation is audited"


def test_disabling_a_user_stops_sessions_and_tokens_at_once(web: Web) -> None:
    browser = web.client()
    assert login(browser, "conrad").status_code == 302
    assert browser.get("/inbox").status_code == 200
    assert web.api("conrad", "GET", "/tasks").status_code == 200  # the token is cached now
    result = _cli(web, "users", "disable", "conrad")
    assert result.exit_code == 0, result.output
    assert web.api("conrad", "GET", "/tasks").status_code == 401, "the token stops on the next request"
    assert browser.get("/inbox").status_code == 302, "the session ended"
    assert login(web.client(), "conrad").status_code == 401, "no new sign-in either"
    assert _cli(web, "users", "disable", "conrad").exit_code == 2, "disabled already"
    assert _cli(web, "users", "enable", "conrad").exit_code == 0
    assert web.api("conrad", "GET", "/tasks").status_code == 200, "enabled again: the tokens work again"
    assert browser.get("/inbox").status_code == 302, "the ended session stays ended"
    assert login(web.client(), "conrad").status_code == 302
    actions = [(a, o) for _, a, o in _audit_actions(web)]
    assert ("user.disable", "conrad") in actions
    assert ("user.enable", "conrad") in actions


def test_a_session_ends_after_its_maximum_lifetime_however_active(web: Web) -> None:
    client = web.client()
    login(client, "carla")
    try:
        statuses = []
        for _ in range(25):  # active every 29 minutes: the idle timeout never strikes
            clock.advance(timedelta(minutes=29))
            statuses.append(client.get("/inbox").status_code)
        assert statuses[:24] == [200] * 24, "up to 11 h 36 min after sign-in"
        assert statuses[24] == 302, "12 h 5 min after sign-in the session is over"
    finally:
        clock.reset()


def test_a_cached_token_costs_no_statement(web: Web) -> None:
    assert web.api("carla", "GET", "/tasks").status_code == 200  # looked up and cached
    with counting(web.ctx.db) as count:
        assert web.api("carla", "GET", "/tasks").status_code == 200
    assert not [s for s in count.statements if "api_token" in s or "app_user" in s], count.statements
    TOKENS.clear()
    with counting(web.ctx.db) as count:
        assert web.api("carla", "GET", "/tasks").status_code == 200
    assert [s for s in count.statements if "api_token" in s], "after forgetting, the token is looked up again"


def _proxied_app(database_url: str, tmp_path: Path, hops: int) -> Any:
    app = create_app({"KIM_DATABASE_URL": fresh_database(database_url, tmp_path),
                      "KIM_INSTANCE_PATH": str(tmp_path / "instance"), "KIM_FORMS_PATH": str(DATA / "forms"),
                      "KIM_TRUSTED_PROXIES": str(hops), "TESTING": True})
    ctx = app.extensions["kim"]
    ctx.run(directory.seed_offices)
    ctx.run(directory.add_user, "carla", "caseworker", ["CM"], password=PASSWORD)
    return app


def _login_from(app: Any, address: str, username: str, password: str) -> int:
    client = app.test_client()
    page = client.get("/login")
    html = page.get_data(as_text=True)
    marker = 'name="csrf_token" value="'
    token = html[html.index(marker) + len(marker):].split('"', 1)[0]
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                           headers={"X-Forwarded-For": address})  # the proxy adds the client
    return int(response.status_code)


@pytest.mark.parametrize("hops", [1])
def test_the_address_limit_uses_the_real_client_behind_a_trusted_proxy(database_url: str, tmp_path: Path,
                                                                       hops: int) -> None:
    app = _proxied_app(database_url, tmp_path, hops)
    try:
        clock.freeze(clock.now())
        for i in range(20):  # one guesser, many names: each account stays below its delay
            assert _login_from(app, "10.0.0.1", f"name{i}", "falsch") == 401
        assert _login_from(app, "10.0.0.1", "carla", PASSWORD) == 429, "the guessing address is stopped"
        assert _login_from(app, "10.0.0.2", "carla", PASSWORD) == 302, "another client behind the same proxy is not"
    finally:
        clock.reset()
        app.extensions["kim"].db.dispose()


def test_without_trusted_proxies_the_forwarded_header_is_ignored(database_url: str, tmp_path: Path) -> None:
    app = _proxied_app(database_url, tmp_path, 0)
    try:
        clock.freeze(clock.now())
        for i in range(20):  # the guesser makes up a new forwarded address each time: it does not count
            assert _login_from(app, f"192.0.2.{i}", f"name{i}", "falsch") == 401
        assert _login_from(app, "192.0.2.200", "carla", PASSWORD) == 429
    finally:
        clock.reset()
        app.extensions["kim"].db.dispose()


def test_admins_disable_users_and_revoke_tokens_on_the_admin_page_after_confirming(web: Web) -> None:
    web.ctx.run(directory.add_user, "adele", "admin", [], password=PASSWORD)
    assert login(web.client(), "carla").status_code == 302
    caseworker = web.client()
    login(caseworker, "carla")
    assert caseworker.get("/admin/users").status_code == 403, "for admins only"
    admin = web.client()
    login(admin, "adele")
    listing = admin.get("/admin/users")
    assert listing.status_code == 200
    html = listing.get_data(as_text=True)
    assert "Benutzer und Tokens" in html
    assert 'data-user="conrad"' in html
    assert "Deaktivieren" in html
    confirm = admin.get("/admin/users/conrad/disable")
    assert "wirklich deaktivieren" in confirm.get_data(as_text=True), "a confirmation comes first"
    assert web.api("conrad", "GET", "/tasks").status_code == 200, "nothing happened yet"
    csrf = csrf_of(admin, "/admin/users")
    assert admin.post("/admin/users/conrad/disable", data={}).status_code == 403, "CSRF token required"
    done = admin.post("/admin/users/conrad/disable", data={"csrf_token": csrf})
    assert done.status_code == 302
    assert web.api("conrad", "GET", "/tasks").status_code == 401
    assert "deaktiviert" in admin.get("/admin/users").get_data(as_text=True)
    assert admin.post("/admin/users/adele/disable", data={"csrf_token": csrf}).status_code == 302
    assert login(web.client(), "adele").status_code == 302, "an admin cannot disable their own account"
    made = admin.post("/admin/users/carla/tokens", data={"csrf_token": csrf})
    assert made.status_code == 201
    new = made.get_data(as_text=True).split('id="token-value">', 1)[1].split("<", 1)[0]
    assert new.startswith("kim_")
    page = admin.get("/admin/users/carla").get_data(as_text=True)
    ids = sorted(int(part.split('"', 1)[0]) for part in page.split('data-token="')[1:])
    assert len(ids) == 2
    assert "wirklich widerrufen" in admin.get(f"/admin/tokens/{ids[0]}/revoke").get_data(as_text=True)
    assert admin.post(f"/admin/tokens/{ids[0]}/revoke", data={"csrf_token": csrf}).status_code == 302
    assert web.api("carla", "GET", "/tasks").status_code == 401, "the fixture's token is revoked"
    assert web.client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    assert admin.get("/admin/tokens/99999/revoke").status_code == 404
    actions = [(actor, action) for actor, action, _ in _audit_actions(web)]
    assert ("adele", "user.disable") in actions
    assert ("adele", "token.create") in actions
    assert ("adele", "token.revoke") in actions
