"""Human tasks land in the right office with the right due date (INTERFACES.md section 4)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import clock
from engine.domain.actors import SYSTEM
from engine.persistence.models import HumanTask, Office, User
from engine.services.admin import directory
from engine.services.casework.instances import start_instance
from engine.services.context import EngineContext
from tests.conftest import deploy_files


def _tasks(ctx: EngineContext) -> dict[str, HumanTask]:
    with ctx.uow(write=False) as uow:
        return {t.bpmn_id: t for t in uow.session.scalars(select(HumanTask))}


def _office(ctx: EngineContext, office_id: int) -> str:
    with ctx.uow(write=False) as uow:
        office = uow.session.get(Office, office_id)
        assert office is not None
        return office.code


def test_lane_by_code_or_name_and_candidate_groups_win(ctx: EngineContext, frozen_clock: object) -> None:
    ctx.run(directory.add_user, "jana", "caseworker", ["JC"])
    deploy_files(ctx, "routing.bpmn")
    ctx.run(start_instance, "routing", {}, SYSTEM)
    tasks = _tasks(ctx)
    assert _office(ctx, tasks["abh_check"].office_id) == "ABH"       # lane "abh" (code, any case)
    assert _office(ctx, tasks["soz_task"].office_id) == "SOZ"        # lane "Sozialamt" (office name)
    assert _office(ctx, tasks["jc_override"].office_id) == "JC"      # candidateGroups beats the ABH lane
    with ctx.uow(write=False) as uow:
        jana = uow.session.scalar(select(User).where(User.username == "jana"))
    assert jana is not None
    assert tasks["jc_override"].assignee_id == jana.id
    assert tasks["jc_override"].state == "claimed"
    assert tasks["jc_override"].form_key == "uebergabe_jc"
    assert tasks["abh_check"].state == "open"


def test_due_dates_in_working_days_and_calendar_days(ctx: EngineContext, frozen_clock: object) -> None:
    deploy_files(ctx, "routing.bpmn")
    ctx.run(start_instance, "routing", {}, SYSTEM)  # Friday 2026-11-20
    tasks = _tasks(ctx)
    assert tasks["abh_check"].due_at == datetime.fromisoformat("2026-12-04T23:59:59+01:00")  # 10WD
    assert tasks["soz_task"].due_at == datetime.fromisoformat("2026-12-04T23:59:59+01:00")   # P14D
    assert tasks["jc_override"].due_at is None


@pytest.mark.parametrize(("start", "due"), [
    ("2026-12-18T10:00:00+01:00", "2027-01-05"),  # Christmas 25/26 Dec and New Year skipped
    ("2027-05-26T10:00:00+02:00", "2027-06-10"),  # Corpus Christi (Thu 27 May) skipped
    ("2027-10-29T10:00:00+02:00", "2027-11-15"),  # All Saints' Day (Mon 1 Nov) skipped
    ("2026-11-21T10:00:00+01:00", "2026-12-04"),  # started on a Saturday
])
def test_working_days_skip_nrw_holidays(ctx: EngineContext, start: str, due: str) -> None:
    clock.freeze(datetime.fromisoformat(start))
    try:
        deploy_files(ctx, "routing.bpmn")
        ctx.run(start_instance, "routing", {}, SYSTEM)
        expected = datetime.fromisoformat(f"{due}T23:59:59").replace(tzinfo=clock.BERLIN)
        assert _tasks(ctx)["abh_check"].due_at == expected
    finally:
        clock.reset()


def test_configured_closing_days_are_not_working_days(database_url: str, tmp_path: Path) -> None:
    from engine.services.wiring import create_context
    from tests.conftest import fresh_database

    url = fresh_database(database_url, tmp_path)
    closing = create_context({"KIM_DATABASE_URL": url, "KIM_CLOSING_DAYS": "2026-11-23,2026-11-24"})
    try:
        clock.freeze(datetime.fromisoformat("2026-11-20T09:00:00+01:00"))
        closing.run(directory.seed_offices)
        deploy_files(closing, "routing.bpmn")
        closing.run(start_instance, "routing", {}, SYSTEM)
        # Mon 23 and Tue 24 closed: 10 working days end on Tue 8 Dec instead of Fri 4 Dec.
        assert _tasks(closing)["abh_check"].due_at == datetime.fromisoformat("2026-12-08T23:59:59+01:00")
    finally:
        clock.reset()
        closing.db.dispose()
