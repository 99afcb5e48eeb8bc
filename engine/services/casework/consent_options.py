"""What the consent form on the case page offers: the offices and the data categories.

The categories are those of the consent form (forms/kim_consent.schema.json, ``cat_<key>``), so a
consent recorded on the case page and one recorded in the process read the same. Labels are the
German source strings; the web layer translates them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from engine.persistence.models import Office
from engine.services.context import UnitOfWork

CATEGORIES: tuple[tuple[str, str], ...] = (
    ("master_data", "Stammdaten"),
    ("residence", "Aufenthalt und Status"),
    ("identity_documents", "Identitätsdokumente"),
    ("work", "Arbeit und Ausbildung"),
    ("school", "Schule und Bildung"),
    ("benefits", "Leistungsbezug"),
    ("health", "Gesundheit (Art. 9 DSGVO)"),
)
CATEGORY_LABELS = dict(CATEGORIES)
AGE_OF_MAJORITY = 18


@dataclass(frozen=True)
class OfficeChoice:
    code: str
    name: str


def office_choices(uow: UnitOfWork) -> tuple[OfficeChoice, ...]:
    """Every office by name (the person may consent to any office of the municipality)."""
    rows = uow.session.execute(select(Office.code, Office.name).order_by(Office.name))
    return tuple(OfficeChoice(code, name) for code, name in rows)


def is_minor(date_of_birth: date | None, on: date) -> bool:
    """Under 18 on ``on``: a custodian signs for the person (unknown birth date: not a minor)."""
    if date_of_birth is None:
        return False
    try:
        adult_on = date_of_birth.replace(year=date_of_birth.year + AGE_OF_MAJORITY)
    except ValueError:  # born on 29 February
        adult_on = date(date_of_birth.year + AGE_OF_MAJORITY, 3, 1)
    return on < adult_on
