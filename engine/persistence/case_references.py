"""Case references ``KIM-<year>-<number>``: numbered per year, race-free, without a table lock.

PostgreSQL takes the number from the year's sequence (``kim_case_ref_<year>``, created by the
migrations for 2020-2100): no lock, no retry, concurrent openings never collide; a case whose
transaction rolls back leaves a gap in the numbers. SQLite has a single writer at a time: a
counter row per year, incremented in the case's own transaction.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from engine.persistence.direct import Statement

FIRST_YEAR, LAST_YEAR = 2020, 2100


def next_reference(session: Session, year: int) -> str:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"case references are numbered for the years {FIRST_YEAR}-{LAST_YEAR}, not {year}")
    if session.connection().dialect.name == "postgresql":
        number = _FROM_SEQUENCE.execute(session, {"sequence": f"kim_case_ref_{year:d}"}).one()[0]
    else:
        number = _FROM_COUNTER.execute(session, {"year": year}).one()[0]
    return f"KIM-{year}-{int(number):05d}"


# One statement for every year (the sequence is a value): prepared once, and the first statement
# of a case's start, so that the transaction's BEGIN goes along with it (engine.persistence.direct).
_FROM_SEQUENCE = Statement(text("SELECT nextval(CAST(:sequence AS regclass))"))
_FROM_COUNTER = Statement(text(
    "INSERT INTO case_reference_counter (year, last) VALUES (:year, 1) "
    "ON CONFLICT (year) DO UPDATE SET last = case_reference_counter.last + 1 RETURNING last"))
