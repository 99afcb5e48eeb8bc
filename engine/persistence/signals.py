"""Wake-up signals between processes: "the timer table changed".

Schedulers sleep until the next ``fire_at``; whoever inserts timer rows (or moves one earlier)
wakes them with :func:`notify_timers_changed` in the same transaction. On PostgreSQL that is
``NOTIFY`` (delivered on commit, folded within one transaction); on SQLite the scheduler
notices commits itself (``PRAGMA data_version``), so this is a no-op there.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

NOTIFY_CHANNEL = "kim_timers"


def notify_timers_changed(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))
