"""A person's data on request (GDPR Art. 15): every case of the person, their household entries
in other cases, consents, form data, documents and audit entries - for admins only, audited."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from engine import clock
from engine.domain.actors import Actor
from engine.domain.errors import NotAllowed, NotFound
from engine.persistence.models import AuditEntry
from engine.services.context import EngineContext
from engine.services.retention import person_export, runs
from tests.conftest import deploy_files
from tests.integration.retention_support import PERSON, add_admin, berlin, closed_case


@pytest.fixture
def export_ctx(ctx: EngineContext) -> Iterator[EngineContext]:
    deploy_files(ctx, "beratung.bpmn")
    yield ctx
    clock.reset()


def test_export_holds_every_case_of_the_person_and_is_audited(export_ctx: EngineContext) -> None:
    ctx = export_ctx
    admin = add_admin(ctx)
    first = closed_case(ctx, "2025-03-01")
    second = closed_case(ctx, "2026-04-01", person={**PERSON, "family_name": "RAHIMI"})  # same person
    umlaut = {"given_name": "Özlem", "family_name": "Öztürk", "date_of_birth": "1970-01-01"}
    turk = closed_case(ctx, "2026-04-02", person=umlaut)
    again = closed_case(ctx, "2026-04-03", person={**umlaut, "given_name": "özlem", "family_name": "ÖZTÜRK"})
    other = closed_case(ctx, "2026-05-01", person={"given_name": "Omid", "family_name": "Rahimi",
                                                   "date_of_birth": "1990-01-01"})  # a namesake
    mother = closed_case(ctx, "2026-06-01", person={"given_name": "Zahra", "family_name": "Rahimi"},
                         household=[{"given_name": "Omid", "relation": "CHILD", "date_of_birth": "1988-02-03"}])
    export = ctx.run(person_export.export_person, admin, str(first))

    assert export["subject"] == {"given_name": "Omid", "family_name": "Rahimi", "date_of_birth": "1988-02-03"}
    assert {c["case_id"] for c in export["cases"]} == {str(first), str(second)}
    assert str(other) not in repr(export)
    (membership,) = export["household_memberships"]
    assert membership["case_id"] == str(mother)
    assert membership["member"]["relation"] == "CHILD"
    assert "Zahra" not in repr(export)  # the mother's own data is hers, not part of his export
    case = next(c for c in export["cases"] if c["case_id"] == str(first))
    assert case["person"]["nationality"] == "afghanisch"
    assert case["referral"]["reason"].startswith("Beratung zur Bleibeperspektive")
    assert [(c["office"], c["purpose"]) for c in case["consents"]] == [("ABH", "Vorprüfung §25b")]
    assert {"kontakt_am": "2025-03-01", "sprache": "fa", "termine": 1} in [t["data"] for t in case["tasks"]]
    assert {"case.open", "consent.record"} <= {e["action"] for e in case["audit_entries"]}
    with ctx.uow(write=False) as uow:
        audited = list(uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "person.export")))
    assert {(e.case_id, e.actor, e.details["part"]) for e in audited} == {
        (first, "ada", "person"), (second, "ada", "person"), (mother, "ada", "household_member")}
    umlauts = ctx.run(person_export.export_person, admin, str(turk))
    assert {c["case_id"] for c in umlauts["cases"]} == {str(turk), str(again)}


def test_export_by_reference_and_after_deletion(export_ctx: EngineContext) -> None:
    ctx = export_ctx
    admin = add_admin(ctx)
    case_id = closed_case(ctx, "2025-03-01")
    clock.freeze(berlin("2030-01-03T09:00:00"))
    runs.run_retention(ctx)
    with ctx.uow(write=False) as uow:
        reference = uow.session.scalar(select(AuditEntry.details).where(AuditEntry.action == "retention.delete"))
    export = ctx.run(person_export.export_person, admin, reference["reference"])
    (case,) = export["cases"]
    assert case["case_id"] == str(case_id)
    assert case["content_deleted_at"] is not None
    assert case["person"]["family_name"] == ""
    assert "Rahimi" not in repr(export)
    with pytest.raises(NotFound):
        ctx.run(person_export.export_person, admin, "KIM-1999-99999")


@pytest.mark.parametrize("role", ["caseworker", "supervisor", "auditor", "process_owner"])
def test_only_admins_export(export_ctx: EngineContext, role: str) -> None:
    ctx = export_ctx
    case_id = closed_case(ctx, "2025-03-01")
    with pytest.raises(NotAllowed):
        ctx.run(person_export.export_person, Actor("someone", role, frozenset({1}), 99, frozenset({"CM"})),
                str(case_id))
    with ctx.uow(write=False) as uow:
        assert uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "person.export")).all() == []
