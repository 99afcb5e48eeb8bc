"""Indicators measured from completed process steps (the ``task`` projection and its form data).

Steps are recognised by their form (``form_key``): the form is a step's data contract and stays
the same when a process owner renames or moves tasks in the model.

Cost: the task table has no index on ``form_key`` or ``completed_at`` (and SQLite's planner,
given ``state = 'completed'``, would walk the state index and fetch most of the table row by
row - measured ten times slower than a scan). So :func:`load_steps` reads the completed steps
of all relevant forms from the start of the range in ONE scan, and every indicator below works
on that list in Python. Look-ups that must reach before the range (when did this case's phase
start, was the passport presented earlier) go by instance or case id through their indexes and
only for the cases the range touches. Dated answers (session on, decided on) are read from the
form data, so a session documented a few days late still counts in the month it was held.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import String, func, select, type_coerce
from sqlalchemy.orm import Session

from engine.calendar import WorkingDayCalendar
from engine.persistence.models import CaseFile, HumanTask, TaskState
from engine.services.reporting.kpi_figures import (
    MIN_COUNT,
    Cell,
    Indicator,
    Range,
    counted,
    median_cell,
    suppress,
    title,
)

T = HumanTask
DONE = TaskState.COMPLETED.value
FIRST_CONTACT_TARGET_WD = 10
HANDOVER_FORMS = ("permit_handover_soz", "permit_handover_jc")
# A phase runs from the first completion of one step to the first completion of the next, per
# case (process instance). (key, German label, start form, end form)
PHASES = [
    ("consent", "Erstkontakt bis Einwilligung", "kim_intake", "kim_consent"),
    ("assessment", "Einwilligung bis Assessment (Perspektivberatung)", "kim_consent", "kim_assessment"),
    ("precheck", "Assessment bis Vorprüfung der ABH", "kim_assessment", "kim_abh_precheck"),
    ("plan", "Vorprüfung bis Integrationsplan", "kim_abh_precheck", "kim_integration_plan"),
    ("permit", "Antrag bis Entscheidung der ABH", "permit_document_request", "permit_decision"),
    ("handover", "Entscheidung bis Einstellung der AsylbLG-Leistungen", "permit_decision", "permit_handover_soz"),
]
FORMS = sorted({"kim_counselling_session", "kim_goal", "identity_assessment", *HANDOVER_FORMS,
                *(form for phase in PHASES for form in phase[2:])})
CHUNK = 500


# Answers the indicators read, extracted in SQL (no JSON parsing in Python for every row).
FIELDS = ("intake_outcome", "first_contact_on", "session_on", "session_format", "goal_status", "precheck_result",
          "applied_path", "application_received_on", "decided_on", "permit_decision", "identity_outcome")
# Ids as the driver returns them (hex text on SQLite, uuid on PostgreSQL): turning 100,000 of them
# into UUID objects cost more than the query. The SQL is unchanged, so the indexes still apply.
INSTANCE = type_coerce(T.instance_id, String)
CASE = type_coerce(T.case_id, String)
CASE_ID = type_coerce(CaseFile.id, String)
Key = Hashable  # an id as the driver returns it


@dataclass(frozen=True)
class Step:
    form_key: str
    instance_id: Key
    case_id: Key | None
    completed_at: datetime
    data: dict[str, Any]


class Steps:
    """The completed steps of the relevant forms from the start of the range on."""

    def __init__(self, session: Session, period: Range, steps: list[Step]) -> None:
        self.session, self.period, self.all = session, period, steps
        self._by_form: dict[str, list[Step]] = defaultdict(list)
        for step in steps:
            self._by_form[step.form_key].append(step)

    def done(self, form_key: str) -> list[Step]:
        """Steps of a form completed within the range."""
        return [s for s in self._by_form[form_key] if self.period.start <= s.completed_at < self.period.end]

    def dated(self, form_key: str, field: str) -> list[Step]:
        """Steps of a form whose date answer ``field`` lies within the range."""
        return [s for s in self._by_form[form_key] if self.period.holds(_iso(s.data.get(field)))]

    def first_completions(self, forms: Iterable[str], instance_ids: set[Key]) -> dict[Key, dict[str, datetime]]:
        """instance -> form -> first completion ever, for the given instances.

        The loaded steps cover the range; only completions before its start are looked up, by the
        instance index and for these instances only.
        """
        wanted = set(forms)
        found: dict[Key, dict[str, datetime]] = defaultdict(dict)
        for chunk in _chunks(instance_ids):
            query = (select(INSTANCE, T.form_key, func.min(T.completed_at))
                     .where(INSTANCE.in_(chunk), T.state == DONE, T.form_key.in_(sorted(wanted)),
                            T.completed_at < self.period.start)
                     .group_by(T.instance_id, T.form_key))
            for instance_id, form_key, moment in self.session.execute(query):
                found[instance_id][form_key] = moment
        for step in self.all:
            if step.form_key in wanted and step.instance_id in instance_ids:
                known = found[step.instance_id].get(step.form_key)
                if known is None or step.completed_at < known:
                    found[step.instance_id][step.form_key] = step.completed_at
        return found


def load_steps(session: Session, period: Range) -> Steps:
    """One scan of the task table (see the module docstring for why one)."""
    answers = [T.data[name].as_string().label(name) for name in FIELDS]
    rows = session.execute(select(T.form_key, INSTANCE, CASE, T.completed_at, T.state, *answers)
                           .where(T.form_key.in_(FORMS), T.completed_at >= period.start))
    steps = [Step(r[0], r[1], r[2], r[3], dict(zip(FIELDS, r[5:], strict=True))) for r in rows if r[4] == DONE]
    return Steps(session, period, steps)


def plan_goal_types(steps: Steps) -> Counter[str]:
    """Goal types of the plans agreed in the range (a list inside the form data: read in Python)."""
    types: Counter[str] = Counter()
    rows = steps.session.execute(select(T.state, T.data).where(
        T.form_key == "kim_integration_plan", T.completed_at >= steps.period.start, T.completed_at < steps.period.end))
    for state, data in rows:
        goals = (data or {}).get("plan_goals") if state == DONE else None
        for goal in goals if isinstance(goals, list) else []:
            if isinstance(goal, dict):
                types[str(goal.get("goal_type") or "")] += 1
    return types


def _iso(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _chunks(ids: Iterable[Key]) -> Iterator[list[Key]]:
    ordered = sorted(set(ids), key=str)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start:start + CHUNK]


def first_contact(steps: Steps, calendar: WorkingDayCalendar) -> Indicator:
    intakes = [s for s in steps.done("kim_intake") if s.data.get("intake_outcome") == "CONTACT_MADE"]
    referred: dict[Key, date] = {}
    for chunk in _chunks(s.case_id for s in intakes if s.case_id):
        rows = steps.session.execute(select(CASE_ID, CaseFile.referred_at).where(CASE_ID.in_(chunk)))
        referred.update({case_id: day for case_id, day in rows})
    waits: list[float] = []
    for step in intakes:
        contact, start = _iso(step.data.get("first_contact_on")), referred.get(step.case_id)
        if contact is not None and start is not None:
            waits.append(max(0, calendar.working_days_between(start, contact)))
    median = median_cell({"stat": "median"}, "Median", waits, "working_days")
    enough = len(waits) >= MIN_COUNT
    share = round(100 * sum(1 for w in waits if w <= FIRST_CONTACT_TARGET_WD) / len(waits), 1) if enough else None
    cases, cases_hidden = suppress(len(waits))
    indicator = Indicator(
        "first_contact", "Zeit bis zum Erstkontakt", "working_days",
        "Arbeitstage von der Zuweisung bis zum dokumentierten Erstkontakt (Aufnahme mit Ergebnis \"Person "
        "erreicht\", im Zeitraum erledigt); Median, ab 5 Fällen.", median.value, median.suppressed)
    indicator.breakdown = [
        Cell({"stat": "cases"}, "Fälle", cases, "count", None, cases_hidden),
        Cell({"stat": "mean"}, "Mittelwert", round(statistics.fmean(waits), 1) if enough else None,
             "working_days", None, cases_hidden),
        Cell({"stat": "within_target"}, f"Anteil innerhalb von {FIRST_CONTACT_TARGET_WD} Arbeitstagen", share,
             "percent", None, cases_hidden),
    ]
    return indicator


def phase_durations(steps: Steps) -> Indicator:
    period = steps.period
    ends = {end for *_, end in PHASES}
    touched = {s.instance_id for s in steps.all if s.form_key in ends and period.start <= s.completed_at < period.end}
    firsts = steps.first_completions({f for p in PHASES for f in p[2:]}, touched)
    indicator = Indicator(
        "phase_durations", "Dauer je Phase", "days",
        "Kalendertage vom ersten Abschluss des Schritts, der eine Phase beginnt, bis zum ersten Abschluss des "
        "Schritts, der sie beendet, je Fall; gezählt im Zeitraum, in dem die Phase endete; Median, ab 5 Fällen.")
    for key, label, start_form, end_form in PHASES:
        values = [(done[end_form] - done[start_form]).total_seconds() / 86400
                  for done in firsts.values()
                  if start_form in done and end_form in done and period.start <= done[end_form] < period.end
                  and done[end_form] >= done[start_form]]
        indicator.breakdown.append(median_cell({"phase": key}, label, values, "days"))
    return indicator


def counselling(steps: Steps) -> list[Indicator]:
    sessions = steps.dated("kim_counselling_session", "session_on")
    formats = Counter(str(s.data.get("session_format") or "") for s in sessions)
    return [
        counted("counselling_sessions", "Beratungsgespräche",
                "Dokumentierte Perspektivberatungen, deren Gesprächsdatum im Zeitraum liegt, nach Form des "
                "Gesprächs.", len(sessions),
                [({"format": f}, title("kim_counselling_session", "session_format", f or None), n)
                 for f, n in sorted(formats.items())]),
        counted("counselled_cases", "Beratene Personen (Fälle)",
                "Fälle mit mindestens einem Beratungsgespräch im Zeitraum.", len({s.case_id for s in sessions})),
    ]


def goals(steps: Steps) -> list[Indicator]:
    types = plan_goal_types(steps)
    statuses = Counter(str(s.data.get("goal_status") or "") for s in steps.done("kim_goal"))
    return [
        counted("goals_set", "Vereinbarte Ziele im Integrationsplan",
                "Ziele der Integrationspläne, die im Zeitraum vereinbart (erledigt) wurden, nach Art des Ziels.",
                sum(types.values()),
                [({"goal_type": g}, title("kim_integration_plan", "goal_type", g or None, "plan_goals", "[]",
                                          "goal_type"), n) for g, n in sorted(types.items())]),
        counted("goals_achieved", "Erreichte Ziele",
                "Zielaufgaben, die im Zeitraum mit dem Stand \"Erreicht\" abgeschlossen wurden; Aufschlüsselung: "
                "alle im Zeitraum bewerteten Ziele nach Stand.", statuses.get("ACHIEVED", 0),
                [({"status": s}, title("kim_goal", "goal_status", s or None), n) for s, n in sorted(statuses.items())]),
    ]


def precheck_results(steps: Steps) -> Indicator:
    results = Counter(str(s.data.get("precheck_result") or "") for s in steps.done("kim_abh_precheck"))
    return counted("precheck_results", "Ergebnisse der Vorprüfung der ABH",
                   "Vorprüfungen der ABH zur Prüfung der Bleibewege (Entscheidungsunterstützung), die im Zeitraum "
                   "erledigt wurden, nach Ergebnis.", sum(results.values()),
                   [({"result": r}, title("kim_abh_precheck", "precheck_result", r or None), n)
                    for r, n in sorted(results.items())])


def permits(steps: Steps) -> list[Indicator]:
    filed = Counter(str(s.data.get("applied_path") or "")
                    for s in steps.dated("permit_document_request", "application_received_on"))
    decided = steps.dated("permit_decision", "decided_on")
    applied: dict[Key, list[tuple[datetime, str]]] = defaultdict(list)
    for chunk in _chunks(s.instance_id for s in decided):
        rows = steps.session.execute(select(INSTANCE, T.completed_at, T.data["applied_path"].as_string()).where(
            INSTANCE.in_(chunk), T.state == DONE, T.form_key == "permit_document_request"))
        for instance_id, completed_at, path in rows:
            applied[instance_id].append((completed_at, str(path or "")))
    outcome: dict[str, Counter[str]] = {"GRANTED": Counter(), "REFUSED": Counter()}
    for step in decided:
        decision = step.data.get("permit_decision")
        if decision in outcome:
            earlier = sorted(a for a in applied.get(step.instance_id, []) if a[0] <= step.completed_at)
            outcome[str(decision)][earlier[-1][1] if earlier else ""] += 1

    def by_path(counts: Counter[str]) -> list[tuple[dict[str, str], str, int]]:
        return [({"path": p}, title("permit_document_request", "applied_path", p or None), n)
                for p, n in sorted(counts.items())]

    return [
        counted("permits_filed", "Anträge auf Aufenthaltserlaubnis nach Weg",
                "Anträge, deren Eingangsdatum bei der ABH im Zeitraum liegt, nach beantragtem Weg.",
                sum(filed.values()), by_path(filed)),
        counted("permits_granted", "Erteilte Aufenthaltserlaubnisse nach Weg",
                "Entscheidungen \"erteilt\" mit Entscheidungsdatum im Zeitraum, nach dem beantragten Weg.",
                sum(outcome["GRANTED"].values()), by_path(outcome["GRANTED"])),
        counted("permits_refused", "Abgelehnte Anträge nach Weg",
                "Entscheidungen \"abgelehnt\" mit Entscheidungsdatum im Zeitraum, nach dem beantragten Weg.",
                sum(outcome["REFUSED"].values()), by_path(outcome["REFUSED"])),
    ]


def passports(steps: Steps) -> Indicator:
    """Cases whose FIRST passport assessment lies in the range, after the case was opened."""
    candidates = {s.case_id: s.completed_at for s in steps.done("identity_assessment")
                  if s.case_id and s.data.get("identity_outcome") == "CLARIFIED_PASSPORT"}
    counted_cases = 0
    for chunk in _chunks(candidates):
        opened = {case_id: at for case_id, at in steps.session.execute(
            select(CASE_ID, CaseFile.opened_at).where(CASE_ID.in_(chunk)))}
        # no "state = completed" in SQL: SQLite would walk the state index instead of the case index
        earlier = steps.session.execute(select(CASE, T.state, T.data["identity_outcome"].as_string()).where(
            CASE.in_(chunk), T.form_key == "identity_assessment", T.completed_at < steps.period.start))
        before = {case_id for case_id, state, outcome in earlier if state == DONE and outcome == "CLARIFIED_PASSPORT"}
        counted_cases += sum(1 for c in chunk if c not in before and c in opened and opened[c] <= candidates[c])
    return counted("passports_presented", "Pässe vorgelegt nach Programmstart",
                   "Fälle, deren Identität nach der Eröffnung des Falls erstmals als \"geklärt durch Pass\" bewertet "
                   "wurde, mit dieser Bewertung im Zeitraum.", counted_cases)


def handovers(steps: Steps) -> Indicator:
    period = steps.period
    touched = {s.instance_id for form in HANDOVER_FORMS for s in steps.done(form)}
    firsts = steps.first_completions(HANDOVER_FORMS, touched)

    def in_range(moment: datetime | None) -> bool:
        return moment is not None and period.start <= moment < period.end

    both = sum(1 for done in firsts.values() if all(f in done for f in HANDOVER_FORMS) and in_range(max(done.values())))
    soz = sum(1 for done in firsts.values() if in_range(done.get("permit_handover_soz")))
    jc = sum(1 for done in firsts.values() if in_range(done.get("permit_handover_jc")))
    return counted("benefit_handovers", "Abgeschlossene Übergänge in das SGB II (Rechtskreiswechsel)",
                   "Fälle, in denen nach einer Erteilung sowohl das Sozialamt die AsylbLG-Leistungen eingestellt "
                   "als auch das Jobcenter übernommen hat, mit dem letzten der beiden Schritte im Zeitraum.",
                   both, [({"step": "soz"}, "Sozialamt: AsylbLG-Leistungen eingestellt", soz),
                          ({"step": "jc"}, "Jobcenter: SGB-II-Leistungen übernommen", jc)])
