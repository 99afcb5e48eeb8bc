"""Who sees why (DOMAIN.md sections 5 and 7): a screening result as one audience may see it.

Criminal records are Art. 10 GDPR data held by the ABH. The ABH sees every row with every
reason. Case management (municipal or at a welfare organisation) sees the outcome, but a reason
about a conviction (``conviction`` or ``conviction_*``, as a blocking code or a note) is replaced
by :data:`WITHHELD` and the rule ids are dropped (a rule id would name the conviction rule).
Offices that see the residence status only (SOZ, JC, AA, JA) get each row's path and status.
Whoever may not see a case's status gets nothing (None). The view comes from
:func:`engine.domain.visibility.case_view`. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from engine.domain.residence_results import HouseholdSummary, PathResult, PersonScreening, ScreeningResult
from engine.domain.visibility import CaseView, visible_sections

WITHHELD: Final = "reason_held_by_abh"
WITHHELD_TEXT: Final = "gesperrt - Grund liegt bei der ABH"
"""German text for :data:`WITHHELD` in pages and notifications."""


def view_of_offices(office_codes: frozenset[str]) -> CaseView:
    """How a caller sees a screening that belongs to no case (``POST /decisions/residence_paths/evaluate``).

    Only the ABH sees every reason; everybody else sees the outcome with conviction reasons
    withheld, like case management (DOMAIN.md section 7: criminal records reach the ABH only).
    """
    return CaseView.AUTHORITY if "ABH" in office_codes else CaseView.MANAGER


def is_conviction_code(code: str) -> bool:
    return code == "conviction" or code.startswith("conviction_")


def for_audience(result: ScreeningResult, view: CaseView) -> ScreeningResult | None:
    """``result`` as ``view`` may see it; None when the view includes no residence status."""
    if view is CaseView.AUTHORITY:
        return result
    if "status" not in visible_sections(view):
        return None
    people = [_person(person, view) for person in result.people]
    household = result.household
    if household is not None and view is not CaseView.MANAGER:
        household = HouseholdSummary(household.recommended, household.carried, ())
    return replace(result, main=people[0], members=tuple(people[1:]), household=household)


def _person(person: PersonScreening, view: CaseView) -> PersonScreening:
    if view is CaseView.MANAGER:
        return replace(person, rows=tuple(_without_convictions(row) for row in person.rows))
    return replace(person, rows=tuple(_status_only(row) for row in person.rows),
                   recommendation=replace(person.recommendation, date=None, text=""))


def _without_convictions(row: PathResult) -> PathResult:
    return replace(row, blocking=_withheld(row.blocking), notes=_withheld(row.notes), rules=())


def _withheld(codes: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(WITHHELD if is_conviction_code(code) else code for code in codes))


def _status_only(row: PathResult) -> PathResult:
    return PathResult(row.path, row.status, derived_from=row.derived_from)

