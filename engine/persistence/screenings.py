"""Stored residence-path screenings (tables ``screening`` and ``screening_path``): write and read.

Helpers that take a session (the transaction rule); the step that ran a screening writes it
(:mod:`engine.services.stepping.screening_outbox`), the case page and the indicators read it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import Actor
from engine.domain.residence_results import MAIN, PersonScreening
from engine.persistence import audit_log
from engine.persistence.models import Screening, ScreeningPath


def store_screening(session: Session, case_id: UUID, instance_id: UUID | None, actor: Actor,
                    inputs: Mapping[str, Any], household: Sequence[Mapping[str, Any]], result: Mapping[str, Any],
                    trigger: str) -> UUID:
    """One household run (``result`` as ScreeningResult.to_json()): a row per person and per path;
    returns the run id. Audited as ``screening.run``."""
    run_id, now = uuid4(), clock.now()
    previous = session.execute(select(Screening.run_seq, Screening.result)
                               .where(Screening.case_id == case_id, Screening.person == MAIN)
                               .order_by(Screening.run_seq.desc()).limit(1)).first()
    if previous is not None:
        _audit_deadlines_gone(session, actor, case_id, instance_id, previous.result, result)
    run_seq = previous.run_seq + 1 if previous is not None else 1
    members = {str(m.get("id")): m for m in household}
    people: list[tuple[str, Any, Mapping[str, Any], Mapping[str, Any]]] = [(MAIN, None, inputs, result)]
    for body in result.get("members") or ():
        member = members.get(str(body.get("id")), {})
        people.append((str(body["id"]), body.get("relation"), member.get("inputs") or {}, body))
    screening_rows: list[dict[str, Any]] = []
    path_rows: list[dict[str, Any]] = []
    for person, relation, person_inputs, body in people:
        screening_id = uuid4()
        stored = dict(body) if person != MAIN else {k: v for k, v in body.items() if k != "members"}
        screening_rows.append({
            "id": screening_id, "run_id": run_id, "run_seq": run_seq, "case_id": case_id, "instance_id": instance_id,
            "person": person[:64], "relation": relation, "evaluated_at": now,
            "eval_date": date.fromisoformat(str(body.get("eval_date") or inputs["eval_date"])),
            "inputs": dict(person_inputs), "recommended": (body.get("recommended") or None), "result": stored,
            "trigger": trigger[:64], "ran_by": actor.username[:100]})
        person_rows = PersonScreening.from_json(body, person).rows
        path_rows += [{"screening_id": screening_id, "path": row.path[:32], "status": row.status.value,
                       "missing": list(row.missing), "blocking": list(row.blocking),
                       "deadline": date.fromisoformat(row.deadline) if row.deadline else None,
                       "rules": list(row.rules), "derived_from": row.derived_from} for row in person_rows]
    session.execute(insert(Screening), screening_rows)
    if path_rows:
        session.execute(insert(ScreeningPath), path_rows)
    audit_log.record(session, actor, "screening.run", "screening", run_id, case_id=case_id,
                     instance_id=instance_id, details={"trigger": trigger, "people": len(people),
                                                       "recommended": result.get("recommended")})
    return run_id


def _deadline_keys(result: Mapping[str, Any] | None) -> dict[tuple[Any, ...], Mapping[str, Any]]:
    household = (result or {}).get("household") or {}
    return {(d.get("member"), d.get("path"), d.get("derived_from"), d.get("deadline")): d
            for d in household.get("deadlines") or ()}


def _audit_deadlines_gone(session: Session, actor: Actor, case_id: UUID, instance_id: UUID | None,
                          previous: Mapping[str, Any], result: Mapping[str, Any]) -> None:
    """A deadline of the previous run that the new run no longer has is audited: the pathway restarts
    its deadline watch with the new result, and the timers of the deadline that disappeared end with it."""
    now = _deadline_keys(result)
    for key, deadline in _deadline_keys(previous).items():
        if key not in now:
            audit_log.record(session, actor, "screening.deadline_gone", "case", case_id, case_id=case_id,
                             instance_id=instance_id, details={"member": deadline.get("member"),
                                                               "path": deadline.get("path"),
                                                               "deadline": deadline.get("deadline"),
                                                               "derived_from": deadline.get("derived_from")})


def runs_of_case(session: Session, case_id: UUID, limit: int = 2) -> list[list[Screening]]:
    """The newest ``limit`` runs of the case, newest first; each run's rows main person first."""
    newest = session.scalar(select(func.max(Screening.run_seq)).where(Screening.case_id == case_id))
    if newest is None:
        return []
    rows = session.scalars(select(Screening).where(Screening.case_id == case_id,
                                                   Screening.run_seq > newest - limit)).all()
    runs: dict[int, list[Screening]] = {}
    for row in rows:
        runs.setdefault(row.run_seq, []).append(row)
    return [sorted(runs[seq], key=lambda s: (s.person != MAIN, s.person)) for seq in sorted(runs, reverse=True)]
