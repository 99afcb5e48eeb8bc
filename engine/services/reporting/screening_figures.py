"""The indicator "path screening results" (DOMAIN.md section 8) from the stored screenings.

Counted from the tables ``screening`` and ``screening_path`` (every run is stored, DOMAIN.md
section 5), not from a form: for every person screened in the range, their latest screening in
the range counts once, and each of its rows with an outcome (not NOT_APPLICABLE) counts for its
path and status - so a family of four with §25b for the father and §25b Abs. 4 for the others
gives one "§25b: erfüllt" and three "§25b Abs. 4: erfüllt". Small counts are suppressed like
every other figure.
"""

from __future__ import annotations

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from engine.domain.residence import PathStatus
from engine.domain.residence_results import path_label
from engine.persistence.models import Screening, ScreeningPath
from engine.services.reporting.kpi_figures import Indicator, Range, counted

STATUS_TITLES = {
    PathStatus.ELIGIBLE.value: "erfüllt", PathStatus.POSSIBLE.value: "möglich (Ermessen)",
    PathStatus.NOT_YET.value: "noch nicht", PathStatus.NOT_MET.value: "nicht erfüllt",
    PathStatus.BLOCKED.value: "gesperrt", PathStatus.CLOSED.value: "geschlossen",
    PathStatus.LEGAL_REVIEW.value: "rechtliche Prüfung", PathStatus.ACTIVE.value: "besteht",
}


def screening_results(session: Session, period: Range) -> Indicator:
    in_range = and_(Screening.evaluated_at >= period.start, Screening.evaluated_at < period.end)
    latest = (select(Screening.case_id, Screening.person, func.max(Screening.run_seq).label("seq"))
              .where(in_range).group_by(Screening.case_id, Screening.person).subquery())
    chosen = (select(Screening.id).join(latest, and_(Screening.case_id == latest.c.case_id,
                                                    Screening.person == latest.c.person,
                                                    Screening.run_seq == latest.c.seq))).subquery()
    people = session.scalar(select(func.count()).select_from(chosen)) or 0
    rows = session.execute(
        select(ScreeningPath.path, ScreeningPath.status, func.count(func.distinct(ScreeningPath.screening_id)))
        .where(ScreeningPath.screening_id.in_(select(chosen.c.id)),
               ScreeningPath.status != PathStatus.NOT_APPLICABLE.value)
        .group_by(ScreeningPath.path, ScreeningPath.status)
        .order_by(ScreeningPath.path, ScreeningPath.status)).all()
    return counted("screening_results", "Ergebnisse der Wege-Prüfung",
                   "Personen (Haushaltsmitglieder eingeschlossen), deren Bleibewege im Zeitraum geprüft wurden; "
                   "je Person zählt die letzte Prüfung im Zeitraum. Aufschlüsselung: Personen je Weg und Ergebnis "
                   "(abgeleitete Wege der Familie eigens).", people,
                   [({"path": path, "status": status}, f"{path_label(path)}: {STATUS_TITLES.get(status, status)}", n)
                    for path, status, n in rows])
