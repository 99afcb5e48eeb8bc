"""Indicator report latency on 10,000 cases (issue 5 item 5).

Fills a database with N cases opened over the last year, each with one instance and the
completed steps the indicators read (intake, consent, two counselling sessions, assessment,
pre-check, plan with two goals, two goals, identity assessment, permit application and decision,
both hand-over steps: 15 tasks per case, with form data), and times ``kpi_report`` for one
month and for the longest range allowed (3 years): median of 5 runs, on SQLite and PostgreSQL.

    python bench/kpis.py [--cases 10000] [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import statistics
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from _common import backends, bench_context, timed
from sqlalchemy import insert, select

from engine.domain.actors import Actor
from engine.persistence.models import CaseFile, HumanTask, Office, ProcessDefinition, ProcessInstance
from engine.services.context import EngineContext
from engine.services.reporting import kpis

STEPS: list[tuple[str, str, int, dict[str, Any]]] = [  # form, office, day after opening, data
    ("kim_intake", "CM", 5, {"intake_outcome": "CONTACT_MADE", "first_contact_on": "{d}"}),
    ("kim_consent", "CM", 9, {"consent_decision": "GRANTED"}),
    ("kim_counselling_session", "CM", 12, {"session_on": "{d}", "session_format": "IN_PERSON"}),
    ("kim_counselling_session", "CM", 19, {"session_on": "{d}", "session_format": "PHONE"}),
    ("kim_assessment", "CM", 25, {}),
    ("kim_abh_precheck", "ABH", 33, {"precheck_result": "CONFIRMED"}),
    ("kim_integration_plan", "CM", 40, {"plan_goals": [{"goal_type": "LANGUAGE_COURSE"}, {"goal_type": "LID_TEST"}]}),
    ("kim_goal", "CM", 90, {"goal_status": "ACHIEVED"}),
    ("kim_goal", "CM", 120, {"goal_status": "PARTLY"}),
    ("identity_assessment", "ABH", 70, {"identity_outcome": "CLARIFIED_PASSPORT"}),
    ("permit_document_request", "ABH", 80, {"application_received_on": "{d}", "applied_path": "25b"}),
    ("permit_decision", "ABH", 140, {"decided_on": "{d}", "permit_decision": "GRANTED"}),
    ("permit_handover_soz", "SOZ", 150, {}),
    ("permit_handover_jc", "JC", 152, {}),
    ("kim_monitoring", "CM", 200, {}),
]


def _data(template: dict[str, Any], day: datetime) -> dict[str, Any]:
    return {k: (v.replace("{d}", day.date().isoformat()) if isinstance(v, str) else v) for k, v in template.items()}


def _fill(ctx: EngineContext, total: int) -> None:
    now = datetime.now(UTC)
    with ctx.uow() as uow:
        definition_id = uow.session.scalar(select(ProcessDefinition.id).limit(1))
        offices = {o.code: o.id for o in uow.session.scalars(select(Office))}
    for start in range(0, total, 1000):
        case_rows, instance_rows, task_rows = [], [], []
        for n in range(start, min(total, start + 1000)):
            opened = now - timedelta(days=(n * 7) % 365, hours=n % 24)
            case_id, instance_id = uuid.uuid4(), uuid.uuid4()
            closed = opened + timedelta(days=200) if opened + timedelta(days=200) < now else None
            case_rows.append({"id": case_id, "reference": f"B-{n:06d}", "status": "closed" if closed else "open",
                              "owner_office_id": offices["CM"], "opened_at": opened, "closed_at": closed,
                              "closure_reason": "PERMIT_GRANTED" if closed else None, "given_name": "A",
                              "family_name": "B", "household": {}, "referral_source": ["ABH", "SOZ", "JC"][n % 3],
                              "referral_reason": "x", "referred_at": opened.date(), "created_by": "bench",
                              "version": 1})
            instance_rows.append({"id": instance_id, "definition_id": definition_id, "dependency_ids": {},
                                  "spec_key": "bench", "case_id": case_id, "status": "running", "state": "{}",
                                  "state_format": 1, "version": 1, "started_at": opened})
            for form, office, day, template in STEPS:
                done_at = opened + timedelta(days=day)
                finished = done_at < now
                task_rows.append({
                    "id": uuid.uuid4(), "instance_id": instance_id, "case_id": case_id, "spiff_task_id": uuid.uuid4(),
                    "process_id": "kim_pathway", "bpmn_id": form, "name": form, "office_id": offices[office],
                    "state": "completed" if finished else "open", "created_at": done_at - timedelta(days=3),
                    "due_at": done_at, "due_sort": done_at, "completed_at": done_at if finished else None,
                    "escalation_level": 0, "form_key": form, "data": _data(template, done_at) if finished else {},
                    "version": 1})
        with ctx.uow() as uow:
            uow.session.execute(insert(CaseFile), case_rows)
            uow.session.execute(insert(ProcessInstance), instance_rows)
            uow.session.execute(insert(HumanTask), task_rows)
            uow.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--backends", default=",".join(backends()))
    args = parser.parse_args()
    actor = Actor("ki", "supervisor", frozenset(), 1, frozenset({"KI"}))
    today = datetime.now(UTC).date()
    ranges = {"1 month": kpis.Range(today - timedelta(days=30), today),
              "3 years": kpis.Range(today - timedelta(days=3 * 366 - 1), today)}
    for backend in args.backends.split(","):
        with bench_context(backend) as ctx:
            _fill(ctx, args.cases)
            for label, period in ranges.items():
                ctx.run(kpis.kpi_report, actor, period)  # warm up
                times = [timed(lambda p=period: ctx.run(kpis.kpi_report, actor, p)) for _ in range(5)]
                print(f"{backend:8} {args.cases:>6} cases  {label:8}  median {statistics.median(times) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
