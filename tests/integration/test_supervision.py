"""The supervisor dashboard's aggregates on SQLite and PostgreSQL, with hand-counted expectations.

Rows are inserted directly (one process instance per task): the numbers under test are then
exactly the ones written here. The clock stands on Wednesday 2026-11-25 10:00 Berlin.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine import clock
from engine.domain.errors import InvalidInput, NotAllowed
from engine.persistence.models import AuditEntry
from engine.services.admin import directory
from engine.services.context import EngineContext
from engine.services.reporting import csv_export as export
from engine.services.reporting.supervision.dashboard import Dashboard, build_dashboard, process_diagram
from engine.services.reporting.supervision.scope import DashboardQuery, Period, parse_query
from tests.supervision_seed import BERLIN, NOW, Seed


@pytest.fixture
def now() -> Iterator[datetime]:
    clock.freeze(NOW)
    yield NOW
    clock.reset()


def _row(dashboard: Dashboard, table: str, **labels: Any) -> dict[str, Any]:
    rows = dashboard.to_json()["tables"][table]["rows"]
    found = [r for r in rows if all(r["values"][k] == v for k, v in labels.items())]
    assert len(found) == 1, (labels, rows)
    return dict(found[0])


def _query(start: date = date(2026, 10, 27), end: date = date(2026, 11, 25), office: str | None = None) -> Any:
    return DashboardQuery(Period(start, end), office)


@pytest.fixture
def overdue_seed(ctx: EngineContext, now: datetime) -> Seed:
    seed = Seed(ctx)
    for due, n in ((date(2026, 11, 24), 5), (date(2026, 11, 18), 1),   # 1 and 5 working days overdue
                   (date(2026, 11, 17), 3), (date(2026, 11, 11), 2),   # 6 and 10
                   (date(2026, 11, 10), 1), (date(2026, 10, 28), 1),   # 11 and 20
                   (date(2026, 10, 27), 7)):                           # 21
        for _ in range(n):
            seed.task("CM", step="planung" if due.month == 10 else "erstkontakt", due=due,
                      level=2 if due == date(2026, 10, 27) else 0)
    seed.task("CM", due=date(2026, 11, 25))  # due tonight: not overdue
    seed.task("CM")                          # no due date
    for _ in range(5):
        seed.task("ABH", step="pruefung", due=date(2026, 11, 20), level=1)
    return seed


def test_working_day_age_buckets_and_small_cells_hidden(ctx: EngineContext, overdue_seed: Seed) -> None:
    cal = ctx.calendar
    assert [cal.working_days_between(d, NOW.date()) for d in (date(2026, 11, 18), date(2026, 11, 17),
            date(2026, 11, 11), date(2026, 11, 10), date(2026, 10, 28), date(2026, 10, 27))] == [5, 6, 10, 11, 20, 21]
    board = ctx.run(build_dashboard, overdue_seed.actor("admin"), _query())
    cm = _row(board, "overdue", office="CM")
    assert cm["values"] == {"office": "CM", "wd_1_5": 6, "wd_6_10": 5, "wd_11_20": None, "wd_over_20": 7,
                            "total": None}
    assert cm["suppressed"] == ["total", "wd_11_20"], "one hidden cell: the row total would reveal it"
    assert _row(board, "overdue", office="ABH")["values"]["wd_1_5"] == 5
    assert _row(board, "overdue", office="SOZ")["values"]["total"] == 0, "zero is shown"
    total = board.to_json()["tables"]["overdue"]["total"]
    assert total["values"] == {"office": "Gesamt", "wd_1_5": 11, "wd_6_10": 5, "wd_11_20": None, "wd_over_20": 7,
                               "total": None}


def test_supervisor_sees_own_office_only(ctx: EngineContext, overdue_seed: Seed) -> None:
    board = ctx.run(build_dashboard, overdue_seed.actor("supervisor", "CM"), _query())
    data = board.to_json()
    assert data["offices"] == ["CM"]
    assert [r["values"]["office"] for r in data["tables"]["overdue"]["rows"]] == ["CM"]
    assert all(r["values"]["step"] != "pruefung" for r in data["tables"]["overdue_steps"]["rows"]), "ABH step hidden"
    assert all(item["office"] == "CM" for item in data["escalated_tasks"])
    with pytest.raises(NotAllowed):
        ctx.run(build_dashboard, overdue_seed.actor("supervisor", "CM"), _query(office="ABH"))
    with pytest.raises(InvalidInput) as bad:
        ctx.run(build_dashboard, overdue_seed.actor("supervisor", "CM"), _query(office="XYZ"))
    assert bad.value.fields == {"office": "unknown office code"}


@pytest.mark.parametrize("role", ["caseworker", "process_owner", "auditor"])
def test_other_roles_are_refused(ctx: EngineContext, overdue_seed: Seed, role: str) -> None:
    with pytest.raises(NotAllowed):
        ctx.run(build_dashboard, overdue_seed.actor(role, "CM"), _query())


def test_coordination_sees_every_office(ctx: EngineContext, overdue_seed: Seed) -> None:
    board = ctx.run(build_dashboard, overdue_seed.actor("supervisor", "KI"), _query())
    assert "ABH" in board.offices
    assert "CM" in board.offices
    assert _row(board, "overdue", office="ABH")["values"]["total"] == 5


def test_overdue_by_step_workload_and_escalations(ctx: EngineContext, overdue_seed: Seed) -> None:
    board = ctx.run(build_dashboard, overdue_seed.actor("supervisor", "CM"), _query())
    assert _row(board, "overdue_steps", step="erstkontakt")["values"]["overdue"] == 12  # 5+1+3+2+1
    planung = _row(board, "overdue_steps", step="planung")
    assert planung["values"]["overdue"] == 8
    assert planung["values"]["escalated"] == 7
    workload = _row(board, "workload", office="CM")["values"]
    assert workload == {"office": "CM", "open": 22, "assigned": 0, "unassigned": 22}
    escalations = _row(board, "escalations", office="CM")["values"]
    assert escalations == {"office": "CM", "level_1": 0, "level_2": 7, "total": 7}


def test_workload_hides_the_total_next_to_one_small_part(ctx: EngineContext, now: datetime) -> None:
    seed = Seed(ctx)
    carla = ctx.run(directory.add_user, "carla", "caseworker", ["CM"], password_hash="x")
    for i in range(8):
        seed.task("CM", state="claimed" if i < 3 else "open", assignee=carla.id if i < 3 else None)
    board = ctx.run(build_dashboard, seed.actor("supervisor", "CM"), _query())
    row = _row(board, "workload", office="CM")
    assert row["values"] == {"office": "CM", "open": None, "assigned": None, "unassigned": 5}
    assert row["suppressed"] == ["assigned", "open"], "8 - 5 would give away the 3"


def test_escalated_list_shows_references_only_to_the_office_lead(ctx: EngineContext, now: datetime) -> None:
    seed = Seed(ctx)
    seed.task("CM", due=date(2026, 11, 10), level=2, case_ref="KIM-2026-0007")
    seed.task("ABH", due=date(2026, 11, 20), level=1, case_ref="KIM-2026-0008")
    lead = ctx.run(build_dashboard, seed.actor("supervisor", "CM"), _query()).escalated
    assert [(i["office"], i["case_reference"], i["escalation_level"], i["overdue_working_days"])
            for i in lead] == [("CM", "KIM-2026-0007", 2, 11)]
    assert lead[0]["task_id"] is not None
    assert lead[0]["case_id"] is not None
    for actor in (seed.actor("admin"), seed.actor("supervisor", "KI")):
        items = ctx.run(build_dashboard, actor, _query()).escalated
        assert {i["office"] for i in items} == {"CM", "ABH"}
        assert all(i["case_reference"] is None and i["task_id"] is None and i["case_id"] is None for i in items)


def test_escalations_reached_within_the_period(ctx: EngineContext, now: datetime) -> None:
    seed = Seed(ctx)
    inside, before = datetime(2026, 11, 20, 12, tzinfo=BERLIN), datetime(2026, 10, 1, 12, tzinfo=BERLIN)
    for _ in range(6):
        seed.task("CM", due=date(2026, 11, 10), level=2, fired=[(1, inside), (2, inside)])
    seed.task("CM", due=date(2026, 9, 20), level=2, fired=[(1, before), (2, before)])
    board = ctx.run(build_dashboard, seed.actor("supervisor", "CM"), _query())
    assert _row(board, "escalations_period", office="CM")["values"] == {"office": "CM", "fired_1": 6, "fired_2": 6}
    longer = ctx.run(build_dashboard, seed.actor("supervisor", "CM"), _query(start=date(2026, 9, 1)))
    assert _row(longer, "escalations_period", office="CM")["values"]["fired_1"] == 7


def test_waiting_time_median_and_p90_per_step(ctx: EngineContext, now: datetime) -> None:
    seed = Seed(ctx)
    start = datetime(2026, 11, 2, 9, tzinfo=BERLIN)
    for days in (10, 1, 3, 2, 4):
        seed.task("CM", step="erstkontakt", state="completed", created=start, completed=start + timedelta(days=days))
    seed.task("CM", step="erstkontakt", state="completed", created=datetime(2026, 9, 1, tzinfo=BERLIN),
              completed=datetime(2026, 9, 30, tzinfo=BERLIN))  # before the period
    for days in (1, 2, 3):
        seed.task("CM", step="planung", state="completed", created=start, completed=start + timedelta(days=days))
    for age in (5, 1, 4, 2, 3, 6):
        seed.task("CM", step="pruefung", created=NOW - timedelta(days=age))
    board = ctx.run(build_dashboard, seed.actor("supervisor", "CM"), _query())
    first = _row(board, "waiting", step="erstkontakt")["values"]
    assert (first["completed"], first["median_days"], first["p90_days"], first["open"]) == (5, 3.0, 10.0, 0)
    small = _row(board, "waiting", step="planung")
    assert small["values"]["completed"] is None
    assert small["values"]["median_days"] is None
    assert set(small["suppressed"]) == {"completed", "median_days", "p90_days"}
    ages = _row(board, "waiting", step="pruefung")["values"]
    assert (ages["open"], ages["open_median_age"], ages["open_p90_age"]) == (6, 3.0, 6.0)


def test_due_against_completed_per_local_day(ctx: EngineContext, now: datetime) -> None:
    seed = Seed(ctx)
    for _ in range(5):
        seed.task("CM", due=date(2026, 11, 23))
    seed.task("CM", due=date(2026, 11, 23), state="cancelled")  # cancelled: not due any more
    late_evening = datetime(2026, 11, 23, 23, 30, tzinfo=BERLIN)  # 22:30 UTC: still the 23rd in Berlin
    for _ in range(6):
        seed.task("CM", state="completed", completed=late_evening)
    seed.task("CM", state="completed", completed=datetime(2026, 11, 24, 0, 30, tzinfo=BERLIN))
    board = ctx.run(build_dashboard, seed.actor("supervisor", "CM"), _query(date(2026, 11, 22), date(2026, 11, 24)))
    table = board.to_json()["tables"]["daily"]
    assert [(r["values"]["day"], r["values"]["due"], r["values"]["completed"]) for r in table["rows"]] == [
        ("2026-11-22", 0, 0), ("2026-11-23", 5, 6), ("2026-11-24", 0, None)]
    assert table["total"]["values"] == {"day": "Gesamt", "due": 5, "completed": None}


def test_heatmap_counts_waiting_and_late_per_element(ctx: EngineContext, now: datetime) -> None:
    seed = Seed(ctx)
    for i in range(10):
        seed.task("CM", step="erstkontakt", due=date(2026, 11, 20) if i < 5 else date(2026, 12, 20))
    for _ in range(6):
        seed.task("CM", step="planung", due=date(2026, 11, 20) if _ < 2 else None)
    for _ in range(5):
        seed.timer("warten")
    seed.timer("warten", owner="ABH")
    board = ctx.run(build_dashboard, seed.actor("supervisor", "CM"), _query())
    first = _row(board, "heatmap", step="erstkontakt")["values"]
    assert (first["waiting"], first["late"], first["late_share"]) == (10, 5, 50)
    plan = _row(board, "heatmap", step="planung")
    assert (plan["values"]["waiting"], plan["values"]["late"], plan["values"]["late_share"]) == (6, None, None)
    assert _row(board, "heatmap", step="warten")["values"]["waiting"] == 5, "timer of an ABH-owned case not counted"
    everything = ctx.run(build_dashboard, seed.actor("admin"), _query())
    assert _row(everything, "heatmap", step="warten")["values"]["waiting"] == 6
    diagram = ctx.run(process_diagram, seed.actor("supervisor", "CM"), "beratung")
    assert 'id="erstkontakt"' in diagram["xml"]
    assert diagram["version"] == 1


def test_dashboard_reads_are_audited(ctx: EngineContext, overdue_seed: Seed) -> None:
    ctx.run(build_dashboard, overdue_seed.actor("supervisor", "CM", name="sina"), _query())
    with ctx.uow(write=False) as uow:
        entry = uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "report.dashboard")).one()
    assert entry.actor == "sina"
    assert entry.details["offices"] == ["CM"]


def test_csv_for_german_excel(ctx: EngineContext, overdue_seed: Seed) -> None:
    board = ctx.run(build_dashboard, overdue_seed.actor("supervisor", "CM"), _query())
    raw = export.table_csv(board.tables["overdue"])
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 byte order mark for Excel"
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert lines[0] == ["Amt", "bis 5 AT", "6-10 AT", "11-20 AT", "über 20 AT", "Gesamt",
                        "unterdrückt (weniger als 5)"]
    assert lines[1] == ["CM", "6", "5", "", "7", "", "11-20 AT, Gesamt"]
    assert lines[2][0] == "Gesamt"
    items = board.escalated
    escalated = list(csv.reader(io.StringIO(export.escalated_csv(items).decode("utf-8-sig")), delimiter=";"))
    assert escalated[1][5] == "27.10.2026"
    assert escalated[1][4] == "2"


def test_waiting_csv_uses_decimal_comma(ctx: EngineContext, now: datetime) -> None:
    seed = Seed(ctx)
    start = datetime(2026, 11, 2, 9, tzinfo=BERLIN)
    for hours in (36, 36, 36, 36, 36):
        seed.task("CM", state="completed", created=start, completed=start + timedelta(hours=hours))
    board = ctx.run(build_dashboard, seed.actor("supervisor", "CM"), _query())
    lines = export.table_csv(board.tables["waiting"]).decode("utf-8-sig").splitlines()
    assert lines[1].split(";")[3:6] == ["5", "1,5", "1,5"]


def test_csv_neutralises_formulas() -> None:
    assert export.cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert export.cell(date(2026, 1, 2)) == "02.01.2026"
    assert export.cell(None) == ""


@pytest.mark.parametrize(("args", "field"), [
    ({"from": "2026-13-01"}, "from"), ({"to": "gestern"}, "to"), ({"from": "01.12.2026", "to": "30.11.2026"}, "from"),
    ({"from": "01.01.2025", "to": "31.12.2026"}, "to"), ({"office": "<script>"}, "office"),
    ({"from": "9999-12-31"}, "from")])
def test_bad_filters_name_the_field(now: datetime, args: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as bad:
        parse_query(args)
    assert field in bad.value.fields


def test_filters_accept_german_and_iso_dates(now: datetime) -> None:
    query = parse_query({"from": "01.11.2026", "to": "2026-11-20", "office": "cm"})
    assert (query.period.first, query.period.last, query.office) == (date(2026, 11, 1), date(2026, 11, 20), "CM")
    default = parse_query({})
    assert (default.period.first, default.period.last) == (date(2026, 10, 27), date(2026, 11, 25))


def test_age_buckets_count_working_days_of_the_municipal_calendar() -> None:
    from engine.calendar import WorkingDayCalendar
    from engine.services.reporting.supervision.queries import kth_working_day_back

    plain = WorkingDayCalendar()
    closed = WorkingDayCalendar(closing_days=[date(2026, 11, 23)])
    wednesday, saturday = date(2026, 11, 25), date(2026, 11, 28)
    assert kth_working_day_back(plain, wednesday, 1) == wednesday
    assert kth_working_day_back(plain, wednesday, 6) == date(2026, 11, 18)  # due the 17th: 6 WD overdue
    assert kth_working_day_back(closed, wednesday, 6) == date(2026, 11, 17), "a closing day is no working day"
    assert kth_working_day_back(plain, saturday, 1) == date(2026, 11, 27)
    assert kth_working_day_back(plain, date(2026, 12, 28), 2) == date(2026, 12, 24), "25 December is a holiday"
