"""Drafts at the service level: concurrent publishing, the one-transaction publish, the check's inputs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from engine.domain.actors import Actor
from engine.domain.errors import Conflict, InvalidInput
from engine.persistence.models import ModelDraft, ProcessDefinition
from engine.services.casework import cases
from engine.services.context import EngineContext
from engine.services.process_models import model_drafts
from engine.services.process_models.model_check import check_model
from engine.services.process_models.model_drafts import ModelCheckFailed, Published
from tests.conftest import DATA, deploy_files

PAUL = Actor("paul", "process_owner", user_id=1)
PETRA = Actor("petra", "process_owner", user_id=2)
INTAKE = (DATA / "intake.bpmn").read_text(encoding="utf-8")


def _variant(n: int) -> bytes:
    return INTAKE.replace('name="Erledigt"', f'name="Erledigt {n}"').encode()


def test_concurrent_publishes_of_one_key_never_fail_with_a_server_error(ctx: EngineContext) -> None:
    deploy_files(ctx, "intake.bpmn")
    drafts = [ctx.run(model_drafts.create_draft, PAUL if n % 2 else PETRA, "intake.bpmn", _variant(n)).id
              for n in range(4)]

    def publish(draft_id: int) -> str:
        try:
            result = ctx.run(model_drafts.publish_draft, PAUL, draft_id)
        except Conflict:
            return "conflict"
        assert isinstance(result, Published)
        return f"v{result.version}"

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(publish, drafts))
    published = sorted(o for o in outcomes if o != "conflict")
    assert published, outcomes
    assert published == [f"v{n}" for n in range(2, 2 + len(published))], "versions count up without gaps"
    with ctx.uow(write=False) as uow:
        versions = uow.session.scalar(select(func.count()).select_from(ProcessDefinition)
                                      .where(ProcessDefinition.key == "intake"))
        marked = uow.session.scalar(select(func.count()).select_from(ModelDraft)
                                    .where(ModelDraft.status == "published"))
    assert versions == 1 + len(published)
    assert marked == len(published), "a draft is marked published exactly when its version was stored"


def test_a_refused_publish_changes_nothing(ctx: EngineContext) -> None:
    deploy_files(ctx, "intake.bpmn")
    bad = INTAKE.replace('name="CM"', 'name="Hausmeisterei"').encode()
    draft = ctx.run(model_drafts.create_draft, PAUL, "intake.bpmn", bad)
    refusal = r"^Das Modell hat 2 Fehler und wurde nicht veröffentlicht\.$"
    with pytest.raises(ModelCheckFailed, match=refusal) as refused:
        ctx.run(model_drafts.publish_draft, PAUL, draft.id)
    assert {p.element_id for p in refused.value.checked} == {"erstkontakt", "abschluss"}
    assert ctx.run(model_drafts.get_draft, PAUL, draft.id).version == 1, "the draft row was not touched"


def test_the_check_accepts_a_unit_of_work_as_well(ctx: EngineContext) -> None:
    from tests.integration.test_model_check import LINE, bpmn

    assert ctx.run(check_model, "pruefling.bpmn", bpmn(LINE)) == [], "forms/ of the product: kim_intake exists"
    with ctx.uow() as uow:
        assert check_model(uow, "pruefling.bpmn", bpmn(LINE.replace("CM", "XYZ")))[0].element_id == "t1"


@pytest.mark.parametrize("approval", ["false", "true"])
def test_a_refused_upload_leaves_nothing_behind(ctx: EngineContext, approval: str) -> None:
    deploy_files(ctx, "intake.bpmn")
    ctx.config["KIM_PUBLISH_APPROVAL"] = approval  # type: ignore[index]  # a plain dict
    bad = INTAKE.replace('name="CM"', 'name="Hausmeisterei"').encode()
    with pytest.raises(ModelCheckFailed):
        ctx.run(model_drafts.publish_upload, PAUL, "intake.bpmn", bad)
    with pytest.raises(InvalidInput):
        ctx.run(model_drafts.publish_upload, PAUL, "intake.exe", INTAKE.encode())
    with ctx.uow(write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(ModelDraft)) == 0, "no draft left behind"
        assert uow.session.scalar(select(func.count()).select_from(ProcessDefinition)) == 1
    submitted = ctx.run(model_drafts.publish_upload, PAUL, "intake.bpmn", _variant(1))
    if approval == "true":
        assert isinstance(submitted, model_drafts.DraftView)
        assert (submitted.status, submitted.submitted_by) == ("submitted", "paul")
    else:
        assert isinstance(submitted, Published)
        assert (submitted.version, submitted.name) == (2, "Erstkontakt und Vorprüfung")


def test_a_model_a_case_called_cannot_be_withdrawn(ctx: EngineContext) -> None:
    from engine.services.process_models import model_retirement

    deploy_files(ctx, "called_child.bpmn", "shapes.bpmn")
    carla = Actor("carla", "caseworker", frozenset({1}), None, frozenset({"CM"}))
    ctx.run(cases.open_case, carla, {"person": {"given_name": "Amina", "family_name": "Haddad"},
                                 "referral": {"source": "ABH", "reason": "Test"}, "process_id": "call_loop"})
    shapes = (DATA / "shapes.bpmn").read_bytes().replace(b'calledElement="called_child"',
                                                          b'calledElement="parallel_loop"')
    ctx.run(model_drafts.publish_upload, PAUL, "shapes.bpmn", shapes)  # no live model calls called_child now
    assert ctx.run(model_retirement.retirement_status, PAUL, "called_child")["blockers"] == [
        "Mit „Aufgerufener Prozess“ ist schon ein Fall gelaufen. Ein Modell mit Fällen bleibt für deren Verlauf "
        "bestehen und kann nicht zurückgezogen werden; veröffentlichen Sie stattdessen eine neue Version."]
    with pytest.raises(Conflict, match="ist schon ein Fall gelaufen"):
        ctx.run(model_retirement.retire_model, PAUL, "called_child")
    assert ctx.run(model_retirement.retire_model, PAUL, "inclusive_loop")["versions"] == [2, 1]
    with ctx.uow(write=False) as uow:
        retired = uow.session.scalars(select(ProcessDefinition.key).where(ProcessDefinition.retired_at.is_not(None)))
        assert sorted(set(retired)) == ["inclusive_loop"]
