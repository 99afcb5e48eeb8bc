"""Which database errors mean "not now, try again" (503) and which are faults of ours (500)."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from tests.webapp.conftest import Web
from webapp.core.errors import UNAVAILABLE, database_unavailable


def wrapped(cls: type, orig: Exception) -> Exception:
    return cls("SELECT 1", {}, orig)  # type: ignore[no-any-return]


@pytest.mark.parametrize(("exc", "unavailable"), [
    (wrapped(OperationalError, sqlite3.OperationalError("database is locked")), True),
    (wrapped(OperationalError, sqlite3.OperationalError("unable to open database file")), True),
    (wrapped(OperationalError, sqlite3.OperationalError("disk I/O error")), True),
    (wrapped(OperationalError, sqlite3.OperationalError("no such table: case_file")), False),
    (wrapped(OperationalError, psycopg.OperationalError("connection refused")), True),
    (wrapped(DataError, psycopg.errors.NumericValueOutOfRange("integer out of range")), False),
    (wrapped(IntegrityError, sqlite3.IntegrityError("UNIQUE constraint failed")), False),
    (PoolTimeout("QueuePool limit of size 10 overflow 10 reached"), True),
    (ValueError("not a database error"), False),
])
def test_only_an_unreachable_or_locked_database_is_unavailable(exc: Exception, unavailable: bool) -> None:
    assert database_unavailable(exc) is unavailable


def test_a_fault_stays_a_500_and_a_locked_database_is_a_503(web: Web) -> None:
    def broken() -> str:
        raise wrapped(OperationalError, sqlite3.OperationalError("no such table: case_file"))

    def locked() -> str:
        raise wrapped(OperationalError, sqlite3.OperationalError("database is locked"))

    web.app.add_url_rule("/api/v1/test-broken", view_func=broken)
    web.app.add_url_rule("/api/v1/test-locked", view_func=locked)
    web.app.testing = False
    client = web.client()
    assert client.get("/api/v1/test-broken").status_code == 500
    response = client.get("/api/v1/test-locked")
    assert (response.status_code, response.headers["Retry-After"]) == (503, "5")
    assert response.get_json()["error"] == "unavailable"


def test_the_api_says_unavailable_in_the_language_the_client_asks_for(web: Web) -> None:
    """Like every other API error: German unless the client asks for English with Accept-Language."""
    def locked() -> str:
        raise wrapped(OperationalError, sqlite3.OperationalError("database is locked"))

    web.app.add_url_rule("/api/v1/test-locked", view_func=locked)
    web.app.testing = False
    german = web.api("carla", "GET", "/test-locked")
    english = web.api("carla", "GET", "/test-locked", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert (german.status_code, english.status_code) == (503, 503)
    assert german.get_json()["message"] == UNAVAILABLE
    assert english.get_json()["message"] == ("The database cannot be reached right now. "
                                             "Please try again in a few seconds.")
    assert english.headers["Retry-After"] == "5"
