"""Numbers in the path too large for any column are unknown objects: 404, never a server error."""

from __future__ import annotations

import pytest

from tests.webapp.conftest import Web, csrf_of, login

TOO_LARGE = ["99999999999999999999", "9223372036854775808", "3000000000"]  # > BIGINT, > INTEGER
PATHS = [("paul", "GET", "/process-models/intake/versions/{n}/source"),
         ("paul", "GET", "/model-drafts/{n}"),
         ("paul", "PUT", "/model-drafts/{n}"),
         ("paul", "POST", "/model-drafts/{n}/publish"),
         ("paul", "POST", "/model-drafts/{n}/approve"),
         ("paul", "POST", "/model-drafts/{n}/discard"),
         ("carla", "POST", "/notifications/{n}/read")]


@pytest.mark.parametrize("number", TOO_LARGE)
def test_oversized_integers_in_api_paths_are_not_found(web: Web, number: str) -> None:
    for user, method, path in PATHS:
        response = web.api(user, method, path.format(n=number), json={})
        assert response.status_code == 404, (method, path, response.status_code, response.get_data(as_text=True))
        assert response.get_json()["error"] == "not_found"


def test_oversized_notification_id_on_the_page_is_not_found(web: Web) -> None:
    client = web.client()
    login(client, "carla")
    token = csrf_of(client)
    for number in TOO_LARGE[:2]:
        response = client.post(f"/notifications/{number}/read", data={"csrf_token": token})
        assert response.status_code == 404, response.status_code


def test_in_range_numbers_still_route(web: Web) -> None:
    assert web.api("paul", "GET", "/process-models/intake/versions/1/source").status_code == 200
    assert web.api("carla", "POST", "/notifications/9223372036854775807/read").status_code == 404
