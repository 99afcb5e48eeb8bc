"""Wake-up signals between processes: "the timer table changed", "mail is waiting".

Schedulers sleep until the next ``fire_at``. On PostgreSQL triggers send ``NOTIFY kim_timers``
when timer rows are inserted or moved and when a notification waits for mail (migration 0005):
delivered on commit, folded within one transaction, and no writer can forget it. On SQLite the
scheduler notices every commit itself (``PRAGMA data_version``).
"""

from __future__ import annotations

NOTIFY_CHANNEL = "kim_timers"
