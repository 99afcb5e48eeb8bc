"""The case conference (Fallkonferenz) as a step of its own, on the shipped model and both databases:
convened by case management or the KIM coordination from a case, inviting only offices that hold a
valid consent, a task per invited office (date and agenda), minutes for the convening office that only
the participants may read (everyone else: not found), everything audited - and the end of the
conference leaves the case open."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from engine import clock
from engine.demo.samples import PROCESSES_DIR, form_data
from engine.demo.walker import CaseWalker, office_actors, office_lead
from engine.domain.actors import SYSTEM, Actor
from engine.domain.errors import Conflict, InvalidInput, NotAllowed, NotFound
from engine.persistence.models import AuditEntry, CaseConference, CaseFile, HumanTask, Office
from engine.services.casework import case_page, cases, conferences, consents, inbox, task_actions
from engine.services.casework.instances import complete_task
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from engine.services.process_models.instance_view import instance_view

FRIDAY = datetime.fromisoformat("2026-11-20T09:00:00+01:00")
AGENDA = "Passbeschaffung und Antrag nach § 25b abstimmen"
CONFERENCE_MODEL = PROCESSES_DIR / "case_conference.bpmn"


@pytest.fixture
def actors(ctx: EngineContext) -> Iterator[dict[str, Actor]]:
    clock.freeze(FRIDAY)
    ctx.run(deployment.deploy, deployment.read_model_paths([PROCESSES_DIR]), SYSTEM)
    yield office_actors(ctx, ("CM", "ABH", "SOZ", "JC", "KI"))
    clock.reset()


def open_case(ctx: EngineContext, actors: dict[str, Actor], *consented: str) -> Any:
    case = ctx.run(cases.open_case, actors["CM"], {
        "person": {"given_name": "Amina", "family_name": "Haddad", "date_of_birth": "1990-05-10"},
        "referral": {"source": "ABH", "reason": "Duldung seit 2019"}})
    for office in consented:
        ctx.run(consents.record_consent, actors["CM"], case.id,
                {"office": office, "purpose": "Fallkonferenz", "categories": ["master_data", "residence"]})
    return case


def convene(ctx: EngineContext, who: Actor, case_id: Any, *offices: str, day: str = "2026-11-27") -> Any:
    return ctx.run(conferences.convene_conference, who, case_id, {"offices": list(offices), "date": day,
                                                                  "agenda": AGENDA})


def instance_of(ctx: EngineContext, conference: Any) -> Any:
    with ctx.uow(write=False) as uow:
        return uow.session.scalar(select(CaseConference.instance_id).where(CaseConference.id == conference.id))


def conference_tasks(ctx: EngineContext, conference: Any) -> list[tuple[str, str, str]]:
    with ctx.uow(write=False) as uow:
        rows = uow.session.execute(select(HumanTask.bpmn_id, Office.code, HumanTask.state)
                                   .join(Office, Office.id == HumanTask.office_id)
                                   .where(HumanTask.instance_id == instance_of(ctx, conference)))
        return sorted((b, o, s) for b, o, s in rows)


def walker_of(ctx: EngineContext, actors: dict[str, Actor], conference: Any) -> CaseWalker:
    return CaseWalker(ctx, actors, instance_of(ctx, conference), conference.case_id)


def test_each_invited_office_gets_its_task_with_date_and_agenda(ctx: EngineContext, actors: dict[str, Actor]) -> None:
    case = open_case(ctx, actors, "ABH", "SOZ")
    conference = convene(ctx, actors["CM"], case.id, "ABH", "SOZ", "CM")
    assert (conference.convener_office, conference.offices, conference.held_on) == ("CM", ("ABH", "SOZ"),
                                                                                    date(2026, 11, 27))
    assert conference_tasks(ctx, conference) == [("conference_invitation", "ABH", "open"),
                                                 ("conference_invitation", "SOZ", "open"),
                                                 ("conference_minutes", "CM", "open")]
    page = ctx.read(inbox.list_tasks, actors["ABH"], inbox.parse_filter({}))
    (invitation,) = [t for t in page.items if t.bpmn_id == "conference_invitation"]
    assert invitation.due_at is not None
    assert invitation.due_at.astimezone(clock.BERLIN).date() == date(2026, 11, 27), "due on the day"
    shown = ctx.read(conferences.conference_of_task, actors["ABH"], invitation.id)
    assert shown is not None
    assert (shown.agenda, shown.held_on, shown.convener_office) == (AGENDA, date(2026, 11, 27), "CM")
    assert "minutes" in shown.hidden
    with pytest.raises(NotFound):
        ctx.read(conferences.conference_of_task, actors["SOZ"], invitation.id)


def test_an_office_without_consent_is_refused_with_the_reason(ctx: EngineContext, actors: dict[str, Actor]) -> None:
    case = open_case(ctx, actors, "ABH")
    with pytest.raises(InvalidInput) as refused:
        convene(ctx, actors["CM"], case.id, "ABH", "SOZ", "JC")
    assert refused.value.fields == {"offices": "keine gültige Einwilligung der Person für: JC, SOZ"}
    assert "keine gültige Einwilligung" in str(refused.value)
    with ctx.uow(write=False) as uow:
        assert uow.session.scalar(select(HumanTask.id).where(HumanTask.bpmn_id.like("conference_%"))) is None
    options = ctx.read(conferences.conference_options, actors["CM"], case.id)
    assert (options.convener, options.invitable) == ("CM", ("ABH",))


def test_a_withdrawn_consent_is_no_consent(ctx: EngineContext, actors: dict[str, Actor]) -> None:
    case = open_case(ctx, actors, "ABH")
    (consent,) = ctx.read(cases.get_case, actors["CM"], case.id).consents
    ctx.run(consents.withdraw_consent, actors["CM"], case.id, consent.id)
    with pytest.raises(InvalidInput):
        convene(ctx, actors["CM"], case.id, "ABH")


@pytest.mark.parametrize(("body", "field"), [
    ({"offices": [], "date": "2026-11-27", "agenda": "x"}, "offices"),
    ({"offices": "ABH", "date": "2026-11-27", "agenda": "x"}, "offices"),
    ({"offices": ["ABH"], "date": "2026-11-19", "agenda": "x"}, "date"),
    ({"offices": ["ABH"], "date": "27.11.2026", "agenda": "x"}, "date"),
    ({"offices": ["ABH"], "date": "2026-11-27", "agenda": " "}, "agenda"),
    ({"offices": ["XY"], "date": "2026-11-27", "agenda": "x"}, "offices"),
    ({"offices": ["CM"], "date": "2026-11-27", "agenda": "x"}, "offices"),
])
def test_bad_requests_name_the_field(ctx: EngineContext, actors: dict[str, Actor], body: dict[str, Any],
                                     field: str) -> None:
    case = open_case(ctx, actors, "ABH")
    with pytest.raises(InvalidInput) as refused:
        ctx.run(conferences.convene_conference, actors["CM"], case.id, body)
    assert field in refused.value.fields


def test_only_case_management_and_the_coordination_convene(ctx: EngineContext, actors: dict[str, Actor]) -> None:
    case = open_case(ctx, actors, "ABH", "KI")
    convene(ctx, actors["CM"], case.id, "ABH")  # the ABH now holds a task of the case and sees it
    with pytest.raises(NotAllowed):
        convene(ctx, actors["ABH"], case.id, "CM")
    with pytest.raises(NotFound):
        convene(ctx, office_lead(ctx, "CM"), case.id, "ABH")  # leads see no case
    with pytest.raises(NotFound):
        convene(ctx, actors["SOZ"], case.id, "ABH")  # not involved: the case does not exist for them


def test_the_coordination_convenes_from_a_case_it_works_on_with_consent(
        ctx: EngineContext, actors: dict[str, Actor]) -> None:
    case = open_case(ctx, actors, "ABH")
    with pytest.raises(NotFound):
        convene(ctx, actors["KI"], case.id, "ABH", "CM")  # no consent for KI: the case does not exist for it
    with pytest.raises(InvalidInput):
        convene(ctx, actors["CM"], case.id, "ABH", "KI")  # nor may it be invited
    ctx.run(consents.record_consent, actors["CM"], case.id, {"office": "KI", "purpose": "Fallkonferenz"})
    convene(ctx, actors["CM"], case.id, "KI")  # KI takes part, so it may now see the case for conferences
    record = ctx.read(cases.get_case, actors["KI"], case.id)
    assert record.person is not None
    assert "nationality" in record.person.hidden, "name and date of birth only"
    assert "referral" in record.hidden
    assert "household" in record.hidden
    by_ki = convene(ctx, actors["KI"], case.id, "ABH", "CM", day="2026-12-01")
    assert (by_ki.convener_office, by_ki.offices) == ("KI", ("ABH", "CM"))
    assert conference_tasks(ctx, by_ki)[-1] == ("conference_minutes", "KI", "open")


def test_the_minutes_are_visible_to_the_participants_only_and_every_read_is_audited(
        ctx: EngineContext, actors: dict[str, Actor]) -> None:
    case = open_case(ctx, actors, "ABH", "SOZ", "KI")
    conference = convene(ctx, actors["CM"], case.id, "ABH")
    steps = walker_of(ctx, actors, conference)
    steps.complete("conference_invitation")
    steps.complete("conference_minutes", results="Antrag nach § 25b wird vorbereitet.")
    for participant in ("CM", "ABH"):
        read = ctx.read(conferences.get_conference, actors[participant], conference.id)
        assert read.minutes is not None
        assert read.minutes["results"] == "Antrag nach § 25b wird vorbereitet."
    for outsider in (actors["SOZ"], actors["KI"], actors["JC"], office_lead(ctx, "CM"), office_lead(ctx, "ABH")):
        with pytest.raises(NotFound):
            ctx.read(conferences.get_conference, outsider, conference.id)
    with ctx.uow(write=False) as uow:
        audit = [(a.actor, a.action, a.details) for a in uow.session.scalars(
            select(AuditEntry).where(AuditEntry.object_type == "case_conference").order_by(AuditEntry.id))]
    assert audit == [
        ("cm1", "conference.convene", {"convener": "CM", "offices": ["ABH"], "held_on": "2026-11-27"}),
        ("cm1", "conference.read", {"minutes": True, "as": ["CM"]}),
        ("abh1", "conference.read", {"minutes": True, "as": ["ABH"]})]


def test_the_case_manager_not_invited_by_the_coordination_does_not_read_the_minutes(
        ctx: EngineContext, actors: dict[str, Actor]) -> None:
    case = open_case(ctx, actors, "ABH", "KI")
    convene(ctx, actors["CM"], case.id, "KI")
    by_ki = convene(ctx, actors["KI"], case.id, "ABH", day="2026-12-01")
    listed = ctx.read(conferences.list_conferences, actors["CM"], case.id)
    assert {c.convener_office for c in listed} == {"CM", "KI"}, "case management knows of every conference"
    assert all("minutes" in c.hidden for c in listed), "never with minutes in the list"
    with pytest.raises(NotFound):
        ctx.read(conferences.get_conference, actors["CM"], by_ki.id)
    assert ctx.read(conferences.get_conference, actors["ABH"], by_ki.id).minutes is None, "not recorded yet"
    assert [c.id for c in ctx.read(conferences.list_conferences, actors["ABH"], case.id)] == [by_ki.id]


def test_a_withdrawn_consent_ends_the_access_to_the_minutes(ctx: EngineContext, actors: dict[str, Actor]) -> None:
    case = open_case(ctx, actors, "ABH")
    conference = convene(ctx, actors["CM"], case.id, "ABH")
    ctx.read(conferences.get_conference, actors["ABH"], conference.id)
    (consent,) = ctx.read(cases.get_case, actors["CM"], case.id).consents
    ctx.run(consents.withdraw_consent, actors["CM"], case.id, consent.id)
    with pytest.raises(NotFound):
        ctx.read(conferences.get_conference, actors["ABH"], conference.id)
    assert ("conference_invitation", "ABH", "held") in conference_tasks(ctx, conference), "its task is taken away"


def test_the_end_of_the_conference_leaves_the_case_open_and_its_own_process_on_the_page(
        ctx: EngineContext, actors: dict[str, Actor]) -> None:
    case = open_case(ctx, actors, "ABH", "SOZ")
    conference = convene(ctx, actors["CM"], case.id, "ABH", "SOZ")
    steps = walker_of(ctx, actors, conference)
    steps.complete("conference_invitation")
    steps.complete("conference_invitation", attendance="DECLINED")
    steps.complete("conference_minutes")
    assert steps.status() == "completed"
    with ctx.uow(write=False) as uow:
        assert uow.session.get(CaseFile, case.id).status == "open"  # type: ignore[union-attr]
    assert ctx.read(conferences.get_conference, actors["CM"], conference.id).status == "completed"
    process = ctx.read(case_page.case_process, actors["CM"], case.id)
    assert process is not None
    assert process.process_id == "kim_pathway", "the case's own process, not the conference"
    view = ctx.read(instance_view, office_lead(ctx, "CM"), case.id)
    assert view["process_id"] == "kim_pathway"


def test_no_conference_for_a_closed_case(ctx: EngineContext, actors: dict[str, Actor]) -> None:
    case = open_case(ctx, actors, "ABH")
    walker = CaseWalker.for_case(ctx, actors, case.id)
    walker.complete("intake", intake_outcome="NOT_REACHABLE", next_appointment_on=None)
    walker.complete("closure", closure_reason="NO_COOPERATION")
    with pytest.raises(Conflict):
        convene(ctx, actors["CM"], case.id, "ABH")


def test_invitation_and_minutes_are_worked_with_their_forms(ctx: EngineContext, actors: dict[str, Actor]) -> None:
    case = open_case(ctx, actors, "ABH")
    conference = convene(ctx, actors["CM"], case.id, "ABH")
    invitation = next(t for t in ctx.read(inbox.list_tasks, actors["ABH"], inbox.parse_filter({})).items
                      if t.bpmn_id == "conference_invitation")
    with pytest.raises(InvalidInput) as refused:
        ctx.run(complete_task, invitation.id, actors["ABH"], form_data("kim_conference_invitation",
                                                                       attendance="WRITTEN_ONLY", contribution=None))
    assert "contribution" in refused.value.fields
    assert ctx.run(complete_task, invitation.id, actors["ABH"],
                   form_data("kim_conference_invitation")).task.state == "completed"
    with pytest.raises(NotFound):
        ctx.read(task_actions.get_task, actors["ABH"], conference_minutes_id(ctx, conference))


def conference_minutes_id(ctx: EngineContext, conference: Any) -> Any:
    with ctx.uow(write=False) as uow:
        return uow.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_of(ctx, conference),
                                                             HumanTask.bpmn_id == "conference_minutes"))
