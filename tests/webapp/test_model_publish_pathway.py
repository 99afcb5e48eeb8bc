"""Publishing a change to the real KIM pathway: new cases get it, running cases keep theirs; our
models are valid BPMN 2.0 (OMG XSD, tests/data/bpmn-xsd) and stay so through the drafts API."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from engine.domain.actors import SYSTEM
from engine.services.admin import directory
from engine.services.process_models import deployment
from tests.conftest import DATA, fresh_database
from tests.webapp.conftest import NEW_CASE, Web, _password_hash
from webapp import create_app

PROCESSES = Path(__file__).parents[2] / "processes"


@cache
def bpmn_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(DATA / "bpmn-xsd" / "BPMN20.xsd")))


@pytest.mark.parametrize("path", sorted(PROCESSES.glob("*.bpmn")), ids=lambda p: p.name)
def test_our_models_validate_against_the_bpmn_xsd(path: Path) -> None:
    schema = bpmn_schema()
    assert schema.validate(etree.parse(str(path))), [str(e) for e in schema.error_log][:5]


@pytest.fixture
def pathway(database_url: str, tmp_path: Path) -> Iterator[Web]:
    """The app with the real models and forms (processes/, forms/)."""
    url = fresh_database(database_url, tmp_path)
    app = create_app({"KIM_DATABASE_URL": url, "KIM_INSTANCE_PATH": str(tmp_path / "instance"), "TESTING": True})
    ctx = app.extensions["kim"]
    ctx.run(directory.seed_offices)
    tokens = {}
    for name, role, offices in (("carla", "caseworker", ["CM"]), ("paul", "process_owner", [])):
        ctx.run(directory.add_user, name, role, offices, password_hash=_password_hash())
        tokens[name] = ctx.run(directory.create_token, name)
    ctx.run(deployment.deploy, deployment.read_model_paths([PROCESSES]), SYSTEM)
    yield Web(app, ctx, tokens)
    ctx.db.dispose()


def test_a_published_pathway_change_applies_to_new_cases_only(pathway: Web) -> None:
    case = {k: v for k, v in NEW_CASE.items() if k != "process_id"}  # the default process: kim_pathway
    old = pathway.api("carla", "POST", "/cases", json=case).get_json()
    assert [t["name"] for t in old["tasks"]] == ["Erstkontakt und Aufnahme"]
    original = (PROCESSES / "kim_pathway.bpmn").read_text(encoding="utf-8")
    changed = original.replace('name="Erstkontakt und Aufnahme"', 'name="Erstgespräch und Aufnahme"')
    assert changed != original
    draft = pathway.api("paul", "POST", "/model-drafts", json={"filename": "kim_pathway.bpmn", "content": changed})
    assert draft.status_code == 201
    assert [p for p in draft.get_json()["problems"] if p["severity"] == "error"] == []
    published = pathway.api("paul", "POST", f"/model-drafts/{draft.get_json()['id']}/publish")
    assert published.status_code == 201, published.get_json()
    assert (published.get_json()["process_id"], published.get_json()["version"]) == ("kim_pathway", 2)

    new = pathway.api("carla", "POST", "/cases", json=case).get_json()
    assert [t["name"] for t in new["tasks"]] == ["Erstgespräch und Aufnahme"]
    again = pathway.api("carla", "GET", f"/cases/{old['id']}").get_json()
    assert [t["name"] for t in again["tasks"]] == ["Erstkontakt und Aufnahme"], "the running case keeps v1"

    source = pathway.api("paul", "GET", "/process-models/kim_pathway/versions/2/source")
    assert source.data == changed.encode("utf-8"), "stored byte for byte, umlauts included"
    assert bpmn_schema().validate(etree.fromstring(source.data))
