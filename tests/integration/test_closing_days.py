"""Municipal closing days stored in the database move working-day deadlines, in every process.

DOMAIN.md section 6: a referral on Friday 2026-11-20 is due for first contact 10 working days
later, on Friday 2026-12-04. A closing day on Tuesday 2026-11-24 pushes that to Monday
2026-12-07 for cases opened afterwards; deleting it brings 2026-12-04 back.
"""

from __future__ import annotations

import threading
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import clock
from engine.calendar import WorkingDayCalendar
from engine.demo.samples import PROCESSES_DIR
from engine.demo.walker import office_actors
from engine.domain.actors import SYSTEM, Actor
from engine.domain.errors import InvalidInput, NotAllowed, NotFound
from engine.persistence.models import AuditEntry, HumanTask, Timer
from engine.services import calendar as calendar_module
from engine.services.admin import closing_days
from engine.services.calendar import MunicipalCalendar
from engine.services.casework import cases
from engine.services.casework.instances import start_instance
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from engine.services.wiring import create_context
from tests.conftest import deploy_files

ADMIN = Actor("admin", "admin")
REFERRAL = {"source": "ABH", "reason": "Perspektivberatung", "referred_at": "2026-11-20"}


@pytest.fixture
def actors(ctx: EngineContext, frozen_clock: object) -> dict[str, Actor]:
    ctx.run(deployment.deploy, deployment.read_model_paths([PROCESSES_DIR]), SYSTEM)
    return office_actors(ctx, ("CM", "ABH"))


def intake_deadlines(ctx: EngineContext, actors: dict[str, Actor]) -> tuple[date, date]:
    """Open a case; the local due day of its intake task and the day its level-2 escalation fires."""
    case = ctx.run(cases.open_case, actors["CM"], {"person": {"given_name": "A", "family_name": "B"},
                                                "referral": REFERRAL})
    with ctx.uow(write=False) as uow:
        task = uow.session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).one()
        level2 = uow.session.scalar(select(Timer.fire_at).where(Timer.task_id == task.id, Timer.level == 2))
    assert task.due_at is not None
    assert level2 is not None
    return task.due_at.astimezone(clock.BERLIN).date(), level2.astimezone(clock.BERLIN).date()


def test_closing_day_moves_due_dates_and_escalations_of_new_tasks(ctx: EngineContext,
                                                                  actors: dict[str, Actor]) -> None:
    # due Fri 04.12.; escalation level 2 five working days after the due day: Fri 11.12.
    assert intake_deadlines(ctx, actors) == (date(2026, 12, 4), date(2026, 12, 11))
    ctx.run(closing_days.add_closing_day, ADMIN, {"day": "2026-11-24", "label": "Betriebsausflug"})
    ctx.run(closing_days.add_closing_day, ADMIN, {"day": "2026-12-09", "label": ""})
    assert intake_deadlines(ctx, actors) == (date(2026, 12, 7), date(2026, 12, 15))
    ctx.run(closing_days.delete_closing_day, ADMIN, date(2026, 11, 24))
    ctx.run(closing_days.delete_closing_day, ADMIN, date(2026, 12, 9))
    assert intake_deadlines(ctx, actors) == (date(2026, 12, 4), date(2026, 12, 11))


def test_another_process_sees_the_change_at_its_next_refresh(ctx: EngineContext, frozen_clock: object,
                                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = create_context({"KIM_DATABASE_URL": ctx.db.url, "KIM_INSTANCE_PATH": str(tmp_path)})
    try:
        with other.uow(write=False):
            pass
        assert other.calendar.is_working_day(date(2026, 11, 24))
        ctx.run(closing_days.add_closing_day, ADMIN, {"day": "2026-11-24", "label": "Personalversammlung"})
        with other.uow(write=False):  # within the refresh interval: still the old answer
            pass
        assert other.calendar.is_working_day(date(2026, 11, 24))
        monkeypatch.setattr(calendar_module, "REFRESH_SECONDS", 0.0)
        with other.uow(write=False):
            pass
        assert not other.calendar.is_working_day(date(2026, 11, 24))
        assert other.calendar.holiday_name(date(2026, 11, 24)) == "Schließtag"
        assert other.calendar.add_working_days(date(2026, 11, 20), 10) == date(2026, 12, 7)
    finally:
        other.db.dispose()


def test_adding_and_deleting_is_audited_and_listed(ctx: EngineContext, frozen_clock: object) -> None:
    added = ctx.run(closing_days.add_closing_day, ADMIN, {"day": "2026-12-24", "label": " Heiligabend "})
    assert added.label == "Heiligabend"
    assert added.created_by == "admin"
    assert [d.day.isoformat() for d in ctx.run(closing_days.list_closing_days, ADMIN, 2026)] == ["2026-12-24"]
    assert ctx.run(closing_days.list_closing_days, ADMIN, 2027) == []
    ctx.run(closing_days.delete_closing_day, ADMIN, date(2026, 12, 24))
    with ctx.uow(write=False) as uow:
        actions = list(uow.session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "closing_day")
                                           .order_by(AuditEntry.id)))
    assert actions == ["closing_day.add", "closing_day.delete"]
    with pytest.raises(NotFound):
        ctx.run(closing_days.delete_closing_day, ADMIN, date(2026, 12, 24))


@pytest.mark.parametrize(("body", "field"), [
    ({"day": "2026-11-31"}, "day"), ({"day": "24.12.2026"}, "day"), ({"day": "2026-W52-4"}, "day"),
    ({}, "day"), ({"day": 20261224}, "day"),
    ({"day": "2026-11-19"}, "day"),            # yesterday: past days are refused
    ({"day": "2026-12-25"}, "day"),            # 1. Weihnachtstag is a public holiday already
    ({"day": "2040-01-02"}, "day"),            # too far ahead
    ({"day": "2026-12-24", "label": "x" * 201}, "label"), ({"day": "2026-12-24", "label": 5}, "label"),
])
def test_bad_input_names_the_field(ctx: EngineContext, frozen_clock: object, body: dict[str, object],
                                   field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        ctx.run(closing_days.add_closing_day, ADMIN, body)
    assert field in raised.value.fields


def test_duplicates_and_configured_days_are_refused(ctx: EngineContext, frozen_clock: object,
                                                    tmp_path: Path) -> None:
    ctx.run(closing_days.add_closing_day, ADMIN, {"day": "2026-12-24"})
    with pytest.raises(InvalidInput) as raised:
        ctx.run(closing_days.add_closing_day, ADMIN, {"day": "2026-12-24"})
    assert raised.value.fields == {"day": "already a closing day"}
    configured = create_context({"KIM_DATABASE_URL": ctx.db.url, "KIM_INSTANCE_PATH": str(tmp_path),
                                 "KIM_CLOSING_DAYS": "2026-12-31"})
    try:
        with pytest.raises(InvalidInput) as raised:
            configured.run(closing_days.add_closing_day, ADMIN, {"day": "2026-12-31"})
        assert raised.value.fields == {"day": "already configured"}
    finally:
        configured.db.dispose()


def test_only_admins_manage_the_calendar(ctx: EngineContext, frozen_clock: object) -> None:
    for role in ("caseworker", "supervisor", "process_owner", "auditor"):
        with pytest.raises(NotAllowed):
            ctx.run(closing_days.add_closing_day, Actor("x", role), {"day": "2026-12-24"})
        with pytest.raises(NotAllowed):
            ctx.run(closing_days.calendar_year, Actor("x", role), 2026)


def test_year_view_lists_nrw_holidays_and_both_kinds_of_closing_days(ctx: EngineContext, frozen_clock: object,
                                                                     tmp_path: Path) -> None:
    configured = create_context({"KIM_DATABASE_URL": ctx.db.url, "KIM_INSTANCE_PATH": str(tmp_path),
                                 "KIM_CLOSING_DAYS": "2027-12-31"})
    try:
        configured.run(closing_days.add_closing_day, ADMIN, {"day": "2027-05-07", "label": "Brückentag"})
        year = configured.run(closing_days.calendar_year, ADMIN, 2027)
    finally:
        configured.db.dispose()
    holidays = {h.day.isoformat(): h.label for h in year.holidays}
    assert holidays["2027-05-27"] == "Fronleichnam"
    assert holidays["2027-11-01"] == "Allerheiligen"
    assert "2027-10-31" not in holidays  # Reformationstag is no holiday in NRW
    assert len(holidays) == 11
    assert [(d.day.isoformat(), d.source) for d in year.configured] == [("2027-12-31", "configuration")]
    assert [(d.day.isoformat(), d.label) for d in year.stored] == [("2027-05-07", "Brückentag")]
    # 261 weekdays in 2027, minus 7 holidays on weekdays, minus the two closing days
    assert year.working_days == 261 - 7 - 2
    assert {h.day.isoformat() for h in ctx.run(closing_days.calendar_year, ADMIN, 2026).holidays} >= {"2026-06-04",
                                                                                              "2026-11-01"}


def test_municipal_calendar_keeps_the_configured_answers() -> None:
    calendar = MunicipalCalendar(WorkingDayCalendar(closing_days=[date(2026, 12, 24)]))
    assert not calendar.is_working_day(date(2026, 12, 24))
    calendar.set_stored_closing_days([date(2026, 12, 30)])
    assert [d for d, _ in calendar.holidays_in(2026) if d.month == 12] == [date(2026, 12, 24), date(2026, 12, 25),
                                                                          date(2026, 12, 26), date(2026, 12, 30)]
    assert calendar.working_days_between(date(2026, 12, 23), date(2026, 12, 31)) == 3  # 28., 29., 31.


def test_two_admins_adding_the_same_day_at_once_get_201_and_422(ctx: EngineContext, frozen_clock: object) -> None:
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def add() -> None:
        barrier.wait()
        try:
            ctx.run(closing_days.add_closing_day, ADMIN, {"day": "2026-12-31", "label": "Silvester"})
            outcomes.append("added")
        except InvalidInput as exc:
            outcomes.append(exc.fields["day"])

    threads = [threading.Thread(target=add) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["added", *["already a closing day"] * 3]


def test_working_day_timer_events_skip_stored_closing_days(ctx: EngineContext, frozen_clock: object) -> None:
    deploy_files(ctx, "timers.bpmn")
    ctx.run(closing_days.add_closing_day, ADMIN, {"day": "2026-11-24", "label": "Betriebsausflug"})
    ctx.run(start_instance, "timer_intermediate", {}, SYSTEM)  # a "10WD" intermediate timer
    with ctx.uow(write=False) as uow:
        fire_at = uow.session.scalar(select(Timer.fire_at).where(Timer.kind == "bpmn"))
    assert fire_at == datetime.fromisoformat("2026-12-07T23:59:59+01:00")  # not Fri 04.12.
