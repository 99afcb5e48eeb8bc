"""What wakes a sleeping scheduler: the alarm at the next ``fire_at`` and other processes' commits.

The scheduler sleeps on one :class:`threading.Event`. Three things set it:

* :class:`Alarm` - APScheduler, used strictly as an alarm clock: a single in-memory date job
  at the next ``fire_at``. The work itself stays in the ``timer`` table; APScheduler's job
  stores are per process and lose jobs on a crash (ARCHITECTURE.md decision 3).
* :class:`PostgresListener` - ``LISTEN kim_timers`` on a connection of its own; triggers
  ``NOTIFY`` in the transaction that inserts or moves timer rows or queues mail.
* :class:`SqliteWatcher` - SQLite has no notifications, but ``PRAGMA data_version`` changes
  whenever another connection (any process) commits; reading it costs microseconds, so we
  look four times a second and re-read ``next_fire_at`` only when it moved.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any, Protocol

import psycopg
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from sqlalchemy.engine import make_url

from engine import clock
from engine.persistence.database import Database
from engine.persistence.signals import NOTIFY_CHANNEL

log = logging.getLogger(__name__)

SQLITE_CHECK_SECONDS = 0.25
LISTEN_TIMEOUT_SECONDS = 0.25
RECONNECT_MAX_SECONDS = 30.0


class Watcher(Protocol):
    def start(self) -> None: ...
    def wait_ready(self, timeout: float) -> bool: ...
    def stop(self) -> None: ...


class Alarm:
    """One APScheduler date job that sets ``wake`` when the engine clock reaches ``fire_at``."""

    JOB_ID = "kim-next-timer"

    def __init__(self, wake: threading.Event) -> None:
        self._wake = wake
        self._at: datetime | None = None
        self._scheduler = BackgroundScheduler(
            timezone=UTC, executors={"default": {"type": "threadpool", "max_workers": 1}},
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1})

    def start(self) -> None:
        self._scheduler.start()

    def set(self, fire_at: datetime | None) -> None:
        """Ring at ``fire_at`` (engine time, translated to wall time for APScheduler)."""
        if fire_at == self._at:
            return
        self._at = fire_at
        if fire_at is None:
            if self._scheduler.get_job(self.JOB_ID) is not None:
                self._scheduler.remove_job(self.JOB_ID)
            return
        wall = datetime.now(UTC) + (fire_at - clock.now())
        self._scheduler.add_job(self._wake.set, DateTrigger(run_date=wall), id=self.JOB_ID,
                                replace_existing=True)

    def stop(self) -> None:
        self._scheduler.shutdown(wait=False)


class _WatcherThread(threading.Thread):
    def __init__(self, wake: threading.Event, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self._wake = wake
        self._stopping = threading.Event()
        self._ready = threading.Event()

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def stop(self) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join(timeout=5)


class SqliteWatcher(_WatcherThread):
    """Sets ``wake`` when another connection committed (``PRAGMA data_version`` changed)."""

    def __init__(self, db: Database, wake: threading.Event) -> None:
        super().__init__(wake, "kim-sqlite-watcher")
        self._db = db

    def run(self) -> None:
        conn = self._db.read.raw_connection()  # autocommit: the pragma sees every commit
        try:
            last = _data_version(conn)
            self._ready.set()
            while not self._stopping.wait(SQLITE_CHECK_SECONDS):
                current = _data_version(conn)
                if current != last:
                    last = current
                    self._wake.set()
        finally:
            conn.close()


def _data_version(conn: Any) -> int:
    cursor = conn.cursor()
    try:
        cursor.execute("PRAGMA data_version")
        return int(cursor.fetchone()[0])
    finally:
        cursor.close()


class PostgresListener(_WatcherThread):
    """Sets ``wake`` on ``NOTIFY kim_timers``; reconnects with backoff if the connection drops."""

    def __init__(self, db: Database, wake: threading.Event) -> None:
        super().__init__(wake, "kim-pg-listener")
        url = make_url(db.url)
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)

    def run(self) -> None:
        delay = 0.5
        while not self._stopping.is_set():
            try:
                self._listen()
                delay = 0.5
            except psycopg.Error as exc:
                log.warning("listening for timer changes failed (%s); retrying in %.1f s", exc, delay)
                self._stopping.wait(delay)
                delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    def _listen(self) -> None:
        with psycopg.connect(self._conninfo, autocommit=True) as conn:
            conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
            self._wake.set()  # anything committed while we were not listening: look again
            self._ready.set()
            while not self._stopping.is_set():
                for _ in conn.notifies(timeout=LISTEN_TIMEOUT_SECONDS, stop_after=1):
                    self._wake.set()


def change_watcher(db: Database, wake: threading.Event) -> Watcher:
    return SqliteWatcher(db, wake) if db.is_sqlite else PostgresListener(db, wake)
