"""The database gone and back: 503 with Retry-After while it is gone, nothing half-written, and
the first request after it is back works (stale pooled connections are noticed, not served).

PostgreSQL is reached through a TCP proxy the test stops and starts (a restart or a network
cut). SQLite cannot go away like a server; what it does have is a database file another process
holds locked longer than a request waits - that is the outage there.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from engine.domain.actors import SYSTEM
from engine.persistence import database
from engine.persistence.models import AuditEntry, CaseFile
from engine.services.admin import directory
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from engine.services.wiring import create_context
from tests.conftest import DATA, fresh_database
from tests.faults.proxy import TcpProxy
from tests.webapp.conftest import NEW_CASE, PASSWORD, _password_hash, csrf_of, login
from webapp import create_app


@dataclass
class Site:
    app: Flask
    direct: EngineContext  # beside the app, not through the proxy: what is really in the database
    token: str

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.app.test_client().open(f"/api/v1{path}", method=method,
                                           headers={"Authorization": f"Bearer {self.token}"}, **kwargs)

    def cases(self) -> int:
        with self.direct.uow(write=False) as uow:
            return int(uow.session.scalar(select(func.count()).select_from(CaseFile)) or 0)

    def audit_entries(self) -> int:
        with self.direct.uow(write=False) as uow:
            return int(uow.session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def _site(url: str, app_url: str, tmp_path: Path) -> Iterator[Site]:
    direct = create_context({"KIM_DATABASE_URL": url, "KIM_INSTANCE_PATH": str(tmp_path / "instance")})
    direct.run(directory.seed_offices)
    direct.run(directory.add_user, "carla", "caseworker", ["CM"], password_hash=_password_hash())
    token = direct.run(directory.create_token, "carla")
    direct.run(deployment.deploy, deployment.read_model_paths([DATA / "intake.bpmn"]), SYSTEM)
    app = create_app({"KIM_DATABASE_URL": app_url, "KIM_INSTANCE_PATH": str(tmp_path / "instance"),
                      "KIM_FORMS_PATH": str(DATA / "forms"), "KIM_DEFAULT_PROCESS": "intake"})
    app.testing = False  # a server error must come back as a 500 here, as it would in production
    yield Site(app, direct, token)
    app.extensions["kim"].db.dispose()
    direct.db.dispose()


@pytest.fixture
def backend(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgres"


def assert_unavailable(response: Any, *, page: bool = False) -> None:
    assert response.status_code == 503, (response.status_code, response.get_data(as_text=True)[:500])
    assert int(response.headers["Retry-After"]) > 0
    if page:
        assert response.mimetype == "text/html"
        assert "Datenbank" in response.get_data(as_text=True), "a German page for people"
    else:
        body = response.get_json()
        assert body["error"] == "unavailable"
        assert body["message"]


def signed_in(site: Site) -> tuple[FlaskClient, str]:
    client = site.app.test_client()
    assert login(client, "carla", PASSWORD).status_code in (302, 303)
    return client, csrf_of(client)


def test_database_gone_and_back(database_url: str, backend: str, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    if backend == "postgres":
        postgres_gone_and_back(database_url, tmp_path)
    else:
        sqlite_locked_and_free_again(database_url, tmp_path, monkeypatch)


def postgres_gone_and_back(database_url: str, tmp_path: Path) -> None:
    url = fresh_database(database_url, tmp_path)
    parsed = make_url(url)
    with TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432) as proxy:
        app_url = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        for site in _site(url, app_url, tmp_path):
            client, csrf = signed_in(site)
            for _ in range(3):  # fill the pool with connections that are about to go stale
                assert site.api("POST", "/cases", json=NEW_CASE).status_code == 201
                assert site.api("GET", "/tasks").status_code == 200
            before = (site.cases(), site.audit_entries())

            proxy.stop()
            assert_unavailable(site.api("GET", "/tasks"))
            assert_unavailable(site.api("POST", "/cases", json=NEW_CASE))
            assert_unavailable(client.get("/inbox"), page=True)
            english = client.get("/inbox?lang=en")  # pages are German unless English was chosen
            assert "Temporarily unavailable" in english.get_data(as_text=True), "English on request"
            assert_unavailable(client.get("/inbox?lang=de"), page=True)  # and back to German
            assert_unavailable(client.post("/cases/new", data={"csrf_token": csrf}), page=True)
            assert (site.cases(), site.audit_entries()) == before, "nothing half-written"

            proxy.start()
            statuses = [site.api("GET", "/tasks").status_code for _ in range(12)]
            assert statuses == [200] * 12, "the first request after the outage works, and every one after it"
            assert site.api("POST", "/cases", json=NEW_CASE).status_code == 201
            assert client.get("/inbox").status_code == 200
            assert site.cases() == before[0] + 1, "nothing lost, nothing twice"


def sqlite_locked_and_free_again(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 200)  # a request waits this long for the lock
    url = fresh_database(database_url, tmp_path)
    for site in _site(url, url, tmp_path):
        client, csrf = signed_in(site)
        assert site.api("POST", "/cases", json=NEW_CASE).status_code == 201
        before = (site.cases(), site.audit_entries())

        holder = sqlite3.connect(make_url(url).database or "", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock and does not let go
        try:
            assert_unavailable(site.api("POST", "/cases", json=NEW_CASE))
            assert_unavailable(client.post("/cases/new", data={"csrf_token": csrf}), page=True)
            assert_unavailable(site.api("GET", "/tasks"))  # reads are audited: they write too
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert (site.cases(), site.audit_entries()) == before, "nothing half-written"

        assert site.api("POST", "/cases", json=NEW_CASE).status_code == 201
        assert site.cases() == before[0] + 1


def test_postgres_connection_cut_in_the_middle_of_a_request(database_url: str, backend: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The ping guards the checkout only: a connection that dies after it must still give 503."""
    if backend != "postgres":
        pytest.skip("SQLite has no connection to cut: its outage is the locked file above")
    url = fresh_database(database_url, tmp_path)
    parsed = make_url(url)
    with TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432) as proxy:
        app_url = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        for site in _site(url, app_url, tmp_path):
            assert site.api("POST", "/cases", json=NEW_CASE).status_code == 201
            before = (site.cases(), site.audit_entries())
            monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 3600)  # as if the cut came after the ping
            proxy.stop()
            proxy.start()  # back at once: only the pooled connection is broken

            assert_unavailable(site.api("POST", "/cases", json=NEW_CASE))
            assert (site.cases(), site.audit_entries()) == before, "nothing half-written"
            assert site.api("POST", "/cases", json=NEW_CASE).status_code == 201, "a fresh connection next time"
            assert site.cases() == before[0] + 1


def test_postgres_restarted_while_the_pool_lay_idle(database_url: str, backend: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection in steady use is not pinged (a round trip per request); one that lay idle is,
    so the first request after a quiet restart (say, at night) gets a live connection."""
    if backend != "postgres":
        pytest.skip("SQLite has no connection to lose")
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.2)
    url = fresh_database(database_url, tmp_path)
    parsed = make_url(url)
    with TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432) as proxy:
        app_url = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        for site in _site(url, app_url, tmp_path):
            for _ in range(3):
                assert site.api("POST", "/cases", json=NEW_CASE).status_code == 201
            pings = _count_pings(site.app)
            for _ in range(3):
                assert site.api("GET", "/tasks").status_code == 200
            assert pings() == 0, "connections in steady use are not pinged"
            proxy.stop()
            proxy.start()  # the server is back; every pooled connection is dead
            time.sleep(0.3)
            statuses = [site.api("GET", "/tasks").status_code for _ in range(12)]
            assert statuses == [200] * 12, "the idle connection was pinged, found dead and replaced"
            assert pings() >= 1


def _count_pings(app: Flask) -> Any:
    """A counter of the pings the app's pool sends from now on."""
    engine = app.extensions["kim"].db.write
    seen: list[int] = []
    original = engine.dialect.do_ping

    def counting(dbapi_connection: Any) -> bool:
        seen.append(1)
        return bool(original(dbapi_connection))

    engine.dialect.do_ping = counting
    return lambda: len(seen)
