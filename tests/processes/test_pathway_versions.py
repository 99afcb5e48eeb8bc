"""Cases that run on the first shipped version of the pathway keep running after the new version is
deployed, and the migration dry run says which of them can move to it.

``tests/data/pathway_v1`` holds the three models as they were shipped before the pathway was brought
in line with DOMAIN.md, with the assessment form of that time (cases that passed their assessment
before the switch filled it). The screening answers through a stand-in, so these tests are about
versions, not about the rules inside the decision tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest
from sqlalchemy import select

from engine.demo.samples import PROCESSES_DIR, form_data
from engine.demo.walker import CaseWalker, office_actors
from engine.domain.actors import SYSTEM, Actor
from engine.forms import FormRegistry
from engine.persistence.models import ProcessDefinition, ProcessInstance
from engine.services.admin import directory
from engine.services.casework import cases
from engine.services.context import EngineContext
from engine.services.process_models import deployment, instance_migration
from tests.conftest import DATA
from tests.processes.walking import screening_result, screening_runs

V1 = DATA / "pathway_v1"
V1_FORMS = FormRegistry(V1 / "forms")
V1_ASSESSMENT = {"identity_in_time": True, "conviction": "NONE", "work_ban": False, "deportation_measures": False,
                 "identity_in_time_60c": None, "identity_in_time_60d": None, "fdgo": None,
                 "qualified_job_offer": None, "adequate_housing": None, "benefits": None,
                 "identity": "NOT_CLARIFIED", "passport_valid": False}
CASE = {"person": {"given_name": "Yonas", "family_name": "Tesfamariam", "date_of_birth": "1988-02-01"},
        "referral": {"source": "ABH", "reason": "Duldung seit 2018", "referred_at": "2026-11-18"}}


@pytest.fixture
def actors(ctx: EngineContext, frozen_clock: object) -> Iterator[dict[str, Actor]]:
    ctx.run(deployment.deploy, deployment.read_model_paths([V1]), SYSTEM)
    with screening_runs(ctx, screening_result("25b", p25b="POSSIBLE")):
        yield office_actors(ctx)


def open_case(ctx: EngineContext, actors: dict[str, Actor]) -> CaseWalker:
    return CaseWalker.for_case(ctx, actors, ctx.run(cases.open_case, actors["CM"], CASE).id)


def v1_to_plan(walker: CaseWalker) -> None:
    """Walked before the switch: the assessment with the form of that time."""
    walker.complete("intake")
    walker.record_consents(form_data("kim_consent")["consent_scope"])
    walker.complete("consent")
    walker.complete("counselling")
    current, walker.ctx.forms = walker.ctx.forms, V1_FORMS  # the assessment form of that time
    try:
        walker.complete("assessment", **V1_ASSESSMENT)
    finally:
        walker.ctx.forms = current
    walker.complete("abh_precheck")
    walker.complete("plan")


def version_of(walker: CaseWalker) -> int:
    with walker.ctx.uow(write=False) as uow:
        return int(uow.session.scalar(select(ProcessDefinition.version).join(
            ProcessInstance, ProcessInstance.definition_id == ProcessDefinition.id)
            .where(ProcessInstance.id == walker.instance_id)) or 0)


def process_owner(ctx: EngineContext) -> Actor:
    return directory.actor_for(ctx.run(directory.add_user, "paula", "process_owner", []))


def test_a_case_started_on_the_old_pathway_keeps_running_on_it(ctx: EngineContext,
                                                               actors: dict[str, Actor]) -> None:
    old = open_case(ctx, actors)
    v1_to_plan(old)
    assert "request_steps" in old.open_ids()
    assert "request_documents" not in old.open_ids(), "v1: identity first"
    deployed = ctx.run(deployment.deploy, deployment.read_model_paths([PROCESSES_DIR]), SYSTEM)
    assert {(d.key, d.version) for d in deployed if d.key in ("kim_pathway", "identity_clarification",
                                                              "permit_application")} == {
        ("kim_pathway", 2), ("identity_clarification", 2), ("permit_application", 2)}
    new = open_case(ctx, actors)
    assert (version_of(old), version_of(new)) == (1, 2)

    old.complete("request_steps")
    assert "await_proof" not in old.open_ids(), "the old identity clarification: support first, then proof"
    old.complete("support")
    old.complete("await_proof", proof_passport=True, passport_number="N7715342", passport_valid_until="2031-06-30")
    old.complete("assess", identity_outcome="CLARIFIED_PASSPORT")
    for step in ("request_documents", "receive_documents", "examine", "decide"):
        old.complete(step)
    assert {"soz_end_benefits", "jc_take_over"} <= set(old.open_ids()), \
        "the old permit application hands over to the Jobcenter for everyone"
    assert old.status() == "running"


def test_the_dry_run_reports_which_old_cases_can_move(ctx: EngineContext, actors: dict[str, Actor]) -> None:
    early = open_case(ctx, actors)
    early.complete("intake")
    early.complete("consent")  # waits in counselling, an element the new version has too
    planned = open_case(ctx, actors)
    v1_to_plan(planned)
    ctx.run(deployment.deploy, deployment.read_model_paths([PROCESSES_DIR]), SYSTEM)
    owner = process_owner(ctx)

    report = ctx.run(instance_migration.dry_run, owner, "kim_pathway", {"to_version": 2})
    items = {UUID(i["instance_id"]): i for i in report["items"]}
    assert set(items) == {early.instance_id, planned.instance_id}
    assert items[early.instance_id]["compatible"] is True
    assert [p["bpmn_id"] for p in items[early.instance_id]["positions"]] == ["counselling"]
    assert items[planned.instance_id]["compatible"] is False
    assert any("join_goals" in reason for reason in items[planned.instance_id]["reasons"]), \
        "its goals wait at a join that has more inputs now (every office may own goals)"

    moved = instance_migration.migrate(ctx, owner, "kim_pathway", {"to_version": 2, "all_compatible": True})
    assert moved["migrated"] == [str(early.instance_id)]
    assert [s["instance_id"] for s in moved["skipped"]] == [str(planned.instance_id)]
    early.complete("counselling")
    early.complete("assessment")
    assert early.open_ids() == ["abh_inputs"], "the moved case continues on the new version"
    assert version_of(early) == 2
    assert version_of(planned) == 1
