"""Deploy and the model check refuse an unknown ``audience``, naming the element; ``lead`` passes and is
stored with the process version (on both databases)."""

from __future__ import annotations

import pytest

from engine.domain.actors import SYSTEM
from engine.domain.errors import ModelInvalid
from engine.domain.model import ModelSource
from engine.persistence.definitions import process_meta_of
from engine.persistence.models import ProcessDefinition
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from engine.services.process_models.model_check import check_model
from tests.integration.test_model_check import LINE, bpmn

AUDIENCE = ('<spiffworkflow:property name="formKey" value="kim_intake"/>'
            '<spiffworkflow:property name="audience" value="{value}"/>')


def model(value: str) -> bytes:
    return bpmn(LINE.replace('<spiffworkflow:property name="formKey" value="kim_intake"/>',
                             AUDIENCE.format(value=value)))


def test_deploy_refuses_an_unknown_audience_and_names_the_task(ctx: EngineContext) -> None:
    with pytest.raises(ModelInvalid) as refused:
        ctx.run(deployment.deploy, [ModelSource("pruefling.bpmn", model("Leitung"))], SYSTEM)
    assert "element 't1'" in str(refused.value)
    assert "audience 'Leitung' is not allowed" in str(refused.value)


def test_the_model_check_says_it_in_german_on_the_element(ctx: EngineContext) -> None:
    found = [(p.element_id, p.severity, p.message) for p in ctx.run(check_model, "pruefling.bpmn", model("alle"))]
    assert found == [("t1", "error", "Die Zielgruppe (audience) „alle“ ist nicht erlaubt; erlaubt ist 'lead' "
                                     "(die Leitung der Stelle).")]
    assert ctx.run(check_model, "pruefling.bpmn", model("lead")) == []


def test_lead_is_stored_with_the_deployed_version(ctx: EngineContext) -> None:
    ctx.run(deployment.deploy, [ModelSource("pruefling.bpmn", model("lead"))], SYSTEM)
    with ctx.uow(write=False) as uow:
        definition = uow.session.query(ProcessDefinition).filter_by(key="pruefling").one()
        assert process_meta_of(definition).human_tasks["t1"].audience == "lead"
