"""The OpenAPI document describes exactly the routes the app serves under /api/v1."""

from __future__ import annotations

import re

from tests.webapp.conftest import Web


def test_every_route_is_documented_and_every_documented_route_exists(web: Web) -> None:
    document = web.client().get("/api/v1/openapi.json").get_json()
    documented = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    served = set()
    for rule in web.app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule.endswith("openapi.json"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule[len("/api/v1"):])
        served |= {(path, m) for m in rule.methods or () if m not in ("HEAD", "OPTIONS")}
    assert served == documented


def test_document_is_valid_openapi(web: Web) -> None:
    from openapi_spec_validator import validate

    validate(web.client().get("/api/v1/openapi.json").get_json())
