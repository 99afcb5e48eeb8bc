"""Offices as the engine looks them up: by code or name, and code -> id."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.persistence.models import Office


def office_resolver(session: Session) -> dict[str, str]:
    """Lower-cased office code and name -> code; lanes may use either (INTERFACES.md 4)."""
    lookup: dict[str, str] = {}
    for office in session.scalars(select(Office)):
        lookup[office.name.strip().lower()] = office.code
        lookup[office.code.lower()] = office.code
    return lookup


def office_ids(session: Session) -> dict[str, int]:
    """Office code -> id (ids never change once an office exists)."""
    return {code: office_id for code, office_id in session.execute(select(Office.code, Office.id))}
