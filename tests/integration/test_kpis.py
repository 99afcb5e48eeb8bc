"""Indicators (engine.services.reporting.kpis) over cases walked through the real KIM models, on both databases.

November 2026: six cases go the whole way (identity clarified by passport, permit application,
five grants and one refusal, hand-over to the job centre for the five grants), five more are
closed because the person could not be reached. Every figure below is counted by hand from
that story; counts from 1 to 4 must come out suppressed.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from engine import clock
from engine.demo.samples import PROCESSES_DIR, form_data
from engine.demo.walker import CaseWalker, office_actors
from engine.domain.actors import SYSTEM, Actor
from engine.domain.errors import InvalidInput, NotAllowed
from engine.services.casework import cases
from engine.services.context import EngineContext
from engine.services.process_models import deployment
from engine.services.reporting import kpis
from engine.services.timers.firing import fire_due_timers

PERSON = {"given_name": "Amina", "family_name": "Haddad", "date_of_birth": "1990-05-10", "nationality": "syrisch"}
IDENTITY_OPEN = {"duldung_months": 60, "stay_years": 7, "identity": "NOT_CLARIFIED", "passport_valid": False,
                 "benefits": "ASYLBLG"}


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=clock.BERLIN)


@pytest.fixture
def actors(ctx: EngineContext) -> dict[str, Actor]:
    ctx.run(deployment.deploy, deployment.read_model_paths([PROCESSES_DIR]), SYSTEM)
    return office_actors(ctx)


def open_case(ctx: EngineContext, actors: dict[str, Actor], source: str, referred_at: str) -> CaseWalker:
    body = {"person": PERSON, "referral": {"source": source, "reason": "Perspektivberatung",
                                           "referred_at": referred_at}}
    case = ctx.run(cases.open_case, actors["CM"], body)
    return CaseWalker.for_case(ctx, actors, case.id)


def on(day: str, walkers: list[CaseWalker], step: str, **changes: Any) -> None:
    clock.freeze(at(day))
    for walker in walkers:
        walker.complete(step, **changes)


def walk_november(ctx: EngineContext, actors: dict[str, Actor]) -> None:
    clock.freeze(at("2026-11-02"))
    full = [open_case(ctx, actors, "ABH", "2026-11-02") for _ in range(6)]
    gone = [open_case(ctx, actors, "Schule" if i == 0 else "ABH", "2026-11-02") for i in range(5)]
    on("2026-11-03", gone, "intake", intake_outcome="NOT_REACHABLE", next_appointment_on=None)
    on("2026-11-04", gone, "closure", closure_reason="NO_COOPERATION")
    on("2026-11-06", full, "intake", first_contact_on="2026-11-06")
    clock.freeze(at("2026-11-09"))
    for walker in full:
        walker.record_consents(form_data("kim_consent")["consent_scope"])
    on("2026-11-09", full, "consent")
    on("2026-11-10", full, "counselling")
    on("2026-11-11", full, "assessment", **IDENTITY_OPEN)
    on("2026-11-11", full, "abh_inputs")
    on("2026-11-12", full, "abh_precheck")
    goals = [{"goal_type": kind, "title": kind, "owner_office": "CM", "due_on": "2027-05-01"}
             for kind in ("LANGUAGE_COURSE", "LID_TEST")]
    on("2026-11-13", full, "plan", plan_goals=goals)
    for step in ("request_steps", "support", "await_proof", "assess"):
        on("2026-11-16", full, step)
    on("2026-11-17", full, "request_documents")
    on("2026-11-18", full, "receive_documents")
    on("2026-11-18", full[:5], "examine")
    on("2026-11-18", full[5:], "examine", intended_decision="REFUSE")
    on("2026-11-18", full[5:], "hearing")
    on("2026-11-19", full[:5], "decide")
    on("2026-11-19", full[5:], "decide", permit_decision="REFUSED", permit_legal_basis=None,
       permit_valid_until=None, permit_card_number=None, notice_served_on="2026-11-19")
    on("2026-11-20", full[:5], "soz_end_benefits")
    on("2026-11-20", full[:5], "jc_take_over")
    on("2026-11-20", full, "goals_cm")
    on("2026-11-20", full[:1], "goals_cm", goal_status="NOT_ACHIEVED")


def by_key(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["key"]: i for i in report["indicators"]}


def cells(indicator: dict[str, Any]) -> dict[str, tuple[Any, bool]]:
    return {c["label"]: (c["value"], c["suppressed"]) for c in indicator["breakdown"]}


def test_november_figures_are_counted_exactly(ctx: EngineContext, actors: dict[str, Actor]) -> None:
    try:
        walk_november(ctx, actors)
        clock.freeze(at("2026-11-20", 18))
        report = ctx.run(kpis.kpi_report, actors["KI"], kpis.parse_range({}))  # default: this month
    finally:
        clock.reset()
    assert (report["from"], report["to"]) == ("2026-11-01", "2026-11-30")
    k = by_key(report)
    # 10 referrals from the ABH, 1 from a school: the school is suppressed, and so is the ABH cell,
    # which would reveal it by subtraction from the total.
    assert k["referrals"]["value"] == 11
    assert cells(k["referrals"]) == {"ABH": (None, True), "Schule": (None, True)}
    assert k["cases_opened"]["value"] == 11
    assert k["cases_active"]["value"] == 6
    assert k["cases_closed"]["value"] == 5
    assert cells(k["cases_closed"]) == {"Keine Mitwirkung": (5, False)}
    # referred Monday 2026-11-02, first contact Friday 2026-11-06: 4 working days, all within 10
    assert k["first_contact"]["value"] == 4
    assert cells(k["first_contact"]) == {"Fälle": (6, False), "Mittelwert": (4.0, False),
                                         "Anteil innerhalb von 10 Arbeitstagen": (100.0, False)}
    phases = {c["dimension"]["phase"]: (c["value"], c["n"]) for c in k["phase_durations"]["breakdown"]}
    assert phases == {"consent": (3.0, 6), "assessment": (2.0, 6), "precheck": (1.0, 6), "plan": (1.0, 6),
                      "permit": (2.0, 6), "handover": (1.0, 5)}
    assert k["counselling_sessions"]["value"] == 6
    assert cells(k["counselling_sessions"]) == {"Persönlich": (6, False)}
    assert k["counselled_cases"]["value"] == 6
    assert k["goals_set"]["value"] == 12
    assert cells(k["goals_set"]) == {"Sprachkurs": (6, False), "Test „Leben in Deutschland“": (6, False)}
    assert k["goals_achieved"]["value"] == 6
    assert cells(k["goals_achieved"]) == {"Erreicht": (6, False), "Nicht erreicht": (None, True)}
    assert k["precheck_results"]["value"] == 6
    assert cells(k["precheck_results"]) == {"Empfohlenen Weg bestätigt": (6, False)}
    assert k["screening_results"]["value"] == 6, "the stored screenings: one person per case"
    # the latest screening per person: each case was screened again at its decision (the status changed
    # then) with the identity its own identity clarification had just clarified. The five grants hold §25b
    # now; the refused case is ELIGIBLE for it (identity clarified) - a count of 1, suppressed. Screened with
    # the permit branch's stale inputs, its identity was still "not clarified" and its §25b only POSSIBLE.
    screened = cells(k["screening_results"])
    assert screened["§25b: besteht"] == (5, False)
    assert screened["§25b: erfüllt"] == (None, True)
    assert not any(label.startswith("§25b: möglich") for label in screened)
    path_25b = "§ 25b AufenthG \u2013 nachhaltige Integration"  # the title in the form
    assert (k["permits_filed"]["value"], cells(k["permits_filed"])) == (6, {path_25b: (6, False)})
    assert (k["permits_granted"]["value"], cells(k["permits_granted"])) == (5, {path_25b: (5, False)})
    assert (k["permits_refused"]["value"], k["permits_refused"]["suppressed"]) == (None, True)
    assert cells(k["permits_refused"]) == {path_25b: (None, True)}
    assert k["passports_presented"]["value"] == 6
    assert k["benefit_handovers"]["value"] == 5
    assert [c["value"] for c in k["benefit_handovers"]["breakdown"]] == [5, 5]
    assert k["overdue_tasks"]["value"] == 0
    assert k["escalations"]["value"] == 0


def test_ranges_outside_the_activity_count_nothing(ctx: EngineContext, actors: dict[str, Actor]) -> None:
    try:
        walk_november(ctx, actors)
        clock.freeze(at("2026-12-02"))
        october = ctx.run(kpis.kpi_report, actors["KI"], kpis.parse_range({"from": "2026-10-01", "to": "2026-10-31"}))
        second_half = ctx.run(kpis.kpi_report, actors["KI"], kpis.parse_range({"from": "2026-11-16",
                                                                             "to": "2026-11-30"}))
    finally:
        clock.reset()
    k = by_key(october)
    assert all(k[key]["value"] == 0 for key in ("referrals", "cases_opened", "cases_closed", "counselling_sessions",
                                                 "goals_set", "permits_filed", "passports_presented"))
    assert k["cases_active"]["value"] == 0  # nothing was open at the end of October
    k = by_key(second_half)  # decisions, passports and hand-overs fall in the second half of November
    assert k["cases_opened"]["value"] == 0
    assert k["passports_presented"]["value"] == 6
    assert k["permits_granted"]["value"] == 5
    assert k["counselling_sessions"]["value"] == 0


def test_overdue_tasks_and_escalations_by_office_and_age(ctx: EngineContext, actors: dict[str, Actor]) -> None:
    try:
        clock.freeze(at("2026-11-02"))
        for _ in range(5):  # intake due 10 working days after the referral: Monday 2026-11-16
            open_case(ctx, actors, "ABH", "2026-11-02")
        clock.freeze(at("2026-12-10"))
        fire_due_timers(ctx)  # level 1 (due) and level 2 (5 working days later) fire now
        first_half = ctx.run(kpis.kpi_report, actors["KI"],
                             kpis.parse_range({"from": "2026-11-01", "to": "2026-11-15"}))
        november = ctx.run(kpis.kpi_report, actors["KI"], kpis.parse_range({"from": "2026-11-01", "to": "2026-11-30"}))
        december = ctx.run(kpis.kpi_report, actors["KI"], kpis.parse_range({"from": "2026-12-01", "to": "2026-12-31"}))
    finally:
        clock.reset()
    assert by_key(first_half)["overdue_tasks"]["value"] == 0  # not yet due at the end of 15 November
    overdue = by_key(november)["overdue_tasks"]  # as of 1 December: 14 days past due
    assert (overdue["value"], cells(overdue)) == (5, {"CM: 8 bis 30 Tage": (5, False)})
    overdue = by_key(december)["overdue_tasks"]  # as of now (10 December): 23 days past due
    assert (overdue["value"], cells(overdue)) == (5, {"CM: 8 bis 30 Tage": (5, False)})
    assert by_key(november)["escalations"]["value"] == 0  # the scheduler only ran in December
    escalated = by_key(december)["escalations"]
    assert (escalated["value"], cells(escalated)) == (10, {"Stufe 1: CM": (5, False), "Stufe 2: CM": (5, False)})


def test_range_defaults_and_validation(frozen_clock: object) -> None:
    default = kpis.parse_range({})
    assert (default.first.isoformat(), default.last.isoformat()) == ("2026-11-01", "2026-11-30")
    for args, field in [({"from": "2026-13-01"}, "from"), ({"to": "gestern"}, "to"), ({"from": "2026-1-1"}, "from"),
                        ({"from": "2026-W45-1"}, "from"),
                        ({"from": "2026-11-10", "to": "2026-11-09"}, "to"),
                        ({"from": "2020-01-01", "to": "2026-01-01"}, "to")]:
        with pytest.raises(InvalidInput) as raised:
            kpis.parse_range(args)
        assert field in raised.value.fields, args
    assert kpis.parse_range({"from": "2024-01-01", "to": "2026-12-31"}).last.year == 2026  # 3 years is fine


def test_only_leads_coordination_admins_and_auditors_may_see_them() -> None:
    allowed = [Actor("lead", "supervisor", office_codes=frozenset({"SOZ"})), Actor("a", "admin"),
               Actor("dpo", "auditor"), Actor("ki", "caseworker", office_codes=frozenset({"KI"}))]
    denied = [Actor("cw", "caseworker", office_codes=frozenset({"CM"})), Actor("po", "process_owner")]
    assert all(kpis.may_see_kpis(a) for a in allowed)
    for actor in denied:
        with pytest.raises(NotAllowed):
            kpis.require_report_access(actor)


def test_csv_rows_mark_suppressed_values_and_use_german_numbers() -> None:
    report = {"from": "2026-11-01", "to": "2026-11-30", "indicators": [
        kpis.counted("x", "Fälle", "", 7, [({"a": "1"}, "A", 3), ({"a": "2"}, "B", 4)]).to_json(),
        kpis.Indicator("d", "Dauer", "days", "", None, False,
                       [kpis.Cell({"p": "1"}, "Phase", 2.5, "days", 6)]).to_json()]}
    rows = list(csv.reader(io.StringIO(kpis.kpi_csv(report).decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Kennzahl", "Aufschlüsselung", "Wert"]
    assert rows[1] == ["Fälle", "", "7", "Anzahl", "", "01.11.2026", "30.11.2026"]
    assert rows[2][1:3] == ["A", "<5"]
    assert rows[3][1:3] == ["B", "<5"]
    assert rows[4] == ["Dauer", "Phase", "2,5", "Kalendertage (Median)", "6", "01.11.2026", "30.11.2026"]


def test_csv_neutralises_text_excel_would_run_as_a_formula() -> None:
    """Labels come from people (referral sources) and process owners (option labels): the
    indicator CSV gets the same guard as the dashboard's."""
    report = {"from": "2026-11-01", "to": "2026-11-30", "indicators": [
        kpis.counted("referrals", "Zuweisungen", "", 9, [({"source": "x"}, '=HYPERLINK("http://evil")', 9)])
        .to_json()]}
    rows = list(csv.reader(io.StringIO(kpis.kpi_csv(report).decode("utf-8-sig")), delimiter=";"))
    assert rows[2][1] == "'=HYPERLINK(\"http://evil\")"


def test_secondary_suppression_hides_the_cell_that_would_reveal_a_small_one() -> None:
    indicator = kpis.counted("x", "X", "", 20, [({"k": "a"}, "a", 2), ({"k": "b"}, "b", 8), ({"k": "c"}, "c", 10)])
    assert [(c.value, c.suppressed) for c in indicator.breakdown] == [(None, True), (None, True), (10, False)]
    two_small = kpis.counted("x", "X", "", 13, [({"k": "a"}, "a", 2), ({"k": "b"}, "b", 3), ({"k": "c"}, "c", 8)])
    assert [c.value for c in two_small.breakdown] == [None, None, 8]
    assert kpis.counted("x", "X", "", 0).value == 0  # zero reveals nobody


def test_phase_cut_off_uses_berlin_days() -> None:
    period = kpis.Range(date(2026, 11, 1), date(2026, 11, 30))
    assert period.start == at("2026-11-01", 0)
    assert period.end == at("2026-12-01", 0)
    assert period.end - period.start == timedelta(days=30)


def test_medians_need_five_cases_and_nothing_is_not_withheld() -> None:
    from engine.services.reporting.kpi_figures import median_cell

    none, few, enough = (median_cell({}, "m", values, "days") for values in ([], [1, 2, 3], [1, 2, 3, 10, 20]))
    assert (none.value, none.suppressed) == (None, False)
    assert (few.value, few.suppressed) == (None, True)
    assert (enough.value, enough.n, enough.suppressed) == (3, 5, False)
