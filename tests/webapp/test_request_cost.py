"""What a request costs the database: one transaction, and a statement budget per use case.

A request is one unit of work (ARCHITECTURE.md decision 10): authentication, the use case and
what the response shows. Counted with engine events on the request's real database.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from engine.domain.actors import SYSTEM
from engine.services.process_models import deployment
from tests.conftest import DATA
from tests.sql_counting import SqlCount, counting, round_trips
from tests.webapp.conftest import NEW_CASE, Web

COMPLETION_BUDGET = 8  # measured 8; authentication by a cached token costs none
START_BUDGET = 7  # measured 7 (the issue asks for at most 10)
INBOX_BUDGET = 3  # measured 3: the page in one statement, its audit entry (head, row)
# Round trips to PostgreSQL (libpq's trace): the locking read with the BEGIN, the audit chain's
# head (the step's writes and the instance's save go with it), the audit entry with the COMMIT.
COMPLETION_ROUND_TRIPS = 3
INBOX_ROUND_TRIPS = 2  # the page with the BEGIN and the audit chain's head, the audit entry with the COMMIT
START_ROUND_TRIPS = 4  # the case reference with the BEGIN, the case, the model, the start with the COMMIT


def _case_on_four_steps(web: Web) -> dict[str, Any]:
    web.ctx.run(deployment.deploy, deployment.read_model_paths([DATA / "four_steps.bpmn"]), SYSTEM)
    response = web.api("carla", "POST", "/cases", json={**NEW_CASE, "process_id": "four_steps"})
    assert response.status_code == 201
    body: dict[str, Any] = response.get_json()
    return body


def _complete(web: Web, task_id: str) -> tuple[Any, SqlCount]:
    with counting(web.ctx.db) as count:
        response = web.api("carla", "POST", f"/tasks/{task_id}/complete", json={"data": {}})
    return response, count


def test_completing_a_task_through_the_api_is_one_transaction(web: Web) -> None:
    case = _case_on_four_steps(web)
    first, _warm = _complete(web, case["tasks"][0]["id"])  # compiled specs and caches warm up here
    assert first.status_code == 200, first.get_json()
    (second_task,) = first.get_json()["next_tasks"]
    response, count = _complete(web, second_task["id"])
    assert response.status_code == 200
    assert [t["name"] for t in response.get_json()["next_tasks"]] == ["Planung"]
    print(f"completion via API: {len(count.statements)} statements in {count.transactions} transactions")
    for s in count.statements:
        print("   ", s)
    assert count.transactions == 1, count.statements
    assert len(count.statements) <= COMPLETION_BUDGET, count.statements


def test_starting_a_case_through_the_api_is_one_transaction(web: Web) -> None:
    _case_on_four_steps(web)  # compiled specs and caches warm up here
    with counting(web.ctx.db) as count:
        response = web.api("carla", "POST", "/cases", json={**NEW_CASE, "process_id": "four_steps"})
    assert response.status_code == 201
    print(f"case start via API: {len(count.statements)} statements in {count.transactions} transactions")
    for s in count.statements:
        print("   ", s)
    assert count.transactions == 1, count.statements
    assert len(count.statements) <= START_BUDGET, count.statements


def test_an_inbox_page_through_the_api_is_one_transaction(web: Web) -> None:
    for _ in range(3):
        _case_on_four_steps(web)
    web.api("carla", "GET", "/tasks?view=office")
    with counting(web.ctx.db) as count:
        response = web.api("carla", "GET", "/tasks?view=office&per_page=100")
    assert response.status_code == 200
    assert len(response.get_json()["items"]) == 3
    print(f"inbox page via API: {len(count.statements)} statements in {count.transactions} transactions")
    for s in count.statements:
        print("   ", s)
    # SQLite: a read transaction cannot safely become a writer, so the audit entry of a read
    # goes in a short write transaction of its own right after it (engine/persistence/uow.py)
    assert count.transactions == (2 if web.ctx.db.is_sqlite else 1), count.statements
    assert len(count.statements) <= INBOX_BUDGET, count.statements


def test_the_inbox_page_carries_its_size_in_the_sql(web: Web) -> None:
    """PostgreSQL plans a prepared statement once only if the plan does not hang on a parameter:
    with the LIMIT bound it planned the page anew on every request (the sort-ordered index walk
    is the right plan only for a small limit). The page size is written into the SQL instead."""
    _case_on_four_steps(web)
    pages: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        flat = " ".join(statement.split())
        if " FROM task" in flat and "LIMIT" in flat:
            pages.append(flat)

    event.listen(web.ctx.db.read, "before_cursor_execute", capture)
    try:
        for size in (100, 25):
            assert web.api("carla", "GET", f"/tasks?view=office&per_page={size}").status_code == 200
    finally:
        event.remove(web.ctx.db.read, "before_cursor_execute", capture)
    assert len(pages) == 2, pages
    assert re.search(r"LIMIT 100\b", pages[0]), pages
    assert re.search(r"LIMIT 25\b", pages[1]), pages
    assert re.search(r"LIMIT 1001\b", pages[0]), "the count's cap is written in too"
    assert not any(re.search(r"LIMIT [%:?(]", page) for page in pages), "no LIMIT is a bound parameter"


@pytest.mark.postgres
def test_a_completion_and_an_inbox_page_take_few_round_trips(web: Web, tmp_path: Path) -> None:
    """Writes nobody waits for travel with the next statement, and the last ones (the audit
    entry) with the COMMIT: each round trip costs both processes a wake-up."""
    if web.ctx.db.is_sqlite:
        pytest.skip("SQLite runs in the web process: no round trips")
    case = _case_on_four_steps(web)
    with round_trips(web.ctx.db, tmp_path / "start.trace") as start:
        assert web.api("carla", "POST", "/cases", json={**NEW_CASE, "process_id": "four_steps"}).status_code == 201
    first = web.api("carla", "POST", f"/tasks/{case['tasks'][0]['id']}/complete", json={"data": {}})
    (second_task,) = first.get_json()["next_tasks"]
    web.api("carla", "GET", "/tasks?view=office")
    with round_trips(web.ctx.db, tmp_path / "completion.trace") as completion:
        response = web.api("carla", "POST", f"/tasks/{second_task['id']}/complete", json={"data": {}})
    assert response.status_code == 200
    with round_trips(web.ctx.db, tmp_path / "inbox.trace") as inbox:
        assert web.api("carla", "GET", "/tasks?view=office").status_code == 200
    print(f"round trips: start {start.count}, completion {completion.count}, inbox page {inbox.count}")
    assert start.count <= START_ROUND_TRIPS, start.trace.read_text()
    assert completion.count <= COMPLETION_ROUND_TRIPS, completion.trace.read_text()
    assert inbox.count <= INBOX_ROUND_TRIPS, inbox.trace.read_text()
