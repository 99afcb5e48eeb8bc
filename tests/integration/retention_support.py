"""Cases opened and closed at a chosen moment, for the retention tests (engine and web)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select

from engine import clock
from engine.domain.actors import SYSTEM, Actor
from engine.persistence.models import HumanTask
from engine.services.admin import directory
from engine.services.casework import cases, consents
from engine.services.casework.instances import complete_task
from engine.services.context import EngineContext

CARLA = Actor("carla", "caseworker", frozenset({1}), None, frozenset({"CM"}))
PERSON = {"given_name": "Omid", "family_name": "Rahimi", "date_of_birth": "1988-02-03", "nationality": "afghanisch"}


def berlin(moment: str) -> datetime:
    return datetime.fromisoformat(moment).replace(tzinfo=clock.BERLIN)


def _open_task(ctx: EngineContext, case_id: UUID) -> HumanTask:
    with ctx.uow(write=False) as uow:
        task = uow.session.scalar(select(HumanTask).where(HumanTask.case_id == case_id, HumanTask.state == "open"))
    assert task is not None
    return task


def closed_case(ctx: EngineContext, closed_on: str, person: dict[str, Any] | None = None,
                household: list[dict[str, Any]] | None = None, actor: Actor = CARLA) -> UUID:
    """A beratung case opened and closed on ``closed_on`` (Berlin, 10:00), with a consent and a note."""
    clock.freeze(berlin(f"{closed_on}T10:00:00"))
    body = {"person": person or PERSON, "household": household or [],
            "referral": {"source": "SOZ", "reason": "Beratung zur Bleibeperspektive, Attest liegt vor"},
            "process_id": "beratung"}
    case = ctx.run(cases.open_case, actor, body)
    ctx.run(consents.record_consent, actor, case.id, {"office": "ABH", "purpose": "Vorprüfung §25b",
                                                      "categories": ["identity"]})
    ctx.run(complete_task, _open_task(ctx, case.id).id, SYSTEM,
            {"kontakt_am": closed_on, "sprache": "fa", "termine": 1})
    ctx.run(complete_task, _open_task(ctx, case.id).id, SYSTEM, {"closure_reason": "MOVED_AWAY"})
    return case.id


def add_admin(ctx: EngineContext, username: str = "ada") -> Actor:
    user = ctx.run(directory.add_user, username, "admin", [])
    return Actor(user.username, "admin", user_id=user.id)
