"""``kim scheduler``: fire timer rows as they come due, in as many processes as you like.

The ``timer`` table is the queue (ARCHITECTURE.md decision 3). A cycle fires everything that
is due in batches until nothing is left (so a scheduler that was down catches up), reads the
next ``fire_at`` and sleeps until then. It wakes early when the alarm rings, when another
process commits new timers (LISTEN/NOTIFY on PostgreSQL, ``PRAGMA data_version`` on SQLite,
see :mod:`engine.scheduling.wakeup`) or when told to stop. Firing happens one instance per
transaction with the instance row locked (``SKIP LOCKED`` on PostgreSQL), so schedulers
share the work without firing anything twice, and one killed mid-batch leaves its
uncommitted rows due for the others or for its own restart.

Each cycle also writes the daily digest of new office tasks once its time has come, runs the
daily deletion of case content past its retention period (engine.services.retention), and wakes
the mail sender: a thread of its own that sends pending notification mails (the outbox in
:mod:`engine.services.notifications.mail`), so a slow or refusing mail server never delays a timer,
and gives up those older than ``KIM_MAIL_MAX_AGE_DAYS`` that nobody sent.

Time comes from :func:`engine.clock.now`. The alarm translates engine time into wall time
when it is set; code that moves the engine clock while a scheduler sleeps calls
:meth:`Scheduler.wake`.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import FrameType

from engine import clock
from engine.scheduling.wakeup import Alarm, change_watcher
from engine.services.admin import audit_trail
from engine.services.context import EngineContext
from engine.services.notifications import digest, mail
from engine.services.retention import runs as retention
from engine.services.timers.firing import FireReport, fire_due_timers, next_fire_at
from engine.services.wiring import create_context

log = logging.getLogger(__name__)

DEFAULT_BATCH_LIMIT = 100
"""Instances per batch: one log line each, and the longest a stop request waits for."""
RECHECK_AFTER = timedelta(seconds=60)
"""Safety net only (a notification lost with a dropped connection); wake-ups do the real work."""
RETENTION_EVERY = timedelta(days=1)
"""The deletion of case content past its retention period runs daily (and once at start-up)."""
RETENTION_RETRY = timedelta(hours=1)
RETENTION_BATCH = 100
"""Cases deleted per cycle, so timers wait for one batch at most (a first run may find years of cases)."""
BLOCKED_RETRY = timedelta(seconds=1)
"""Due rows all held by other schedulers: look again after this, instead of spinning."""
MAX_ERROR_BACKOFF_SECONDS = 60
STOP_CHECK_SECONDS = 0.25
WATCHER_READY_SECONDS = 10.0


@dataclass
class SchedulerStats:
    cycles: int = 0                 # wake-ups: each reads what is due and re-arms the alarm
    batches: int = 0
    errors: int = 0                 # cycles that failed as a whole (e.g. database unreachable)
    fired: FireReport = field(default_factory=FireReport)


class Scheduler:
    """One scheduler loop; :meth:`run` blocks until ``stop`` is set."""

    def __init__(self, ctx: EngineContext, batch_limit: int = DEFAULT_BATCH_LIMIT) -> None:
        if batch_limit < 1:
            raise ValueError("batch_limit must be at least 1")
        self.ctx = ctx
        self.batch_limit = batch_limit
        self.stats = SchedulerStats()
        self.idle = threading.Event()   # set while sleeping (tests and health checks look at it)
        self._wake = threading.Event()
        self._mail_wake = threading.Event()
        self._digest_next: datetime | None = None  # when to look at the daily digest again
        self._checkpoint_next: datetime | None = None  # when to sign the audit chain heads again
        self._retention_next: datetime | None = None  # when to run the daily retention job again

    def wake(self) -> None:
        """Look at the timer table now (e.g. after moving the engine clock)."""
        self._wake.set()

    def run(self, stop: threading.Event) -> SchedulerStats:
        watcher = change_watcher(self.ctx.db, self._wake)
        alarm = Alarm(self._wake)
        watcher.start()  # listen before the first read, so no commit falls in between
        if not watcher.wait_ready(WATCHER_READY_SECONDS):
            log.warning("not yet listening for timer changes; relying on the alarm until then")
        alarm.start()
        mailer = threading.Thread(target=self._mail_loop, args=(stop,), name="kim-mail", daemon=True)
        mailer.start()
        log.info("scheduler started (%s, batch limit %d)", self.ctx.db.write.dialect.name, self.batch_limit)
        try:
            self._loop(stop, alarm)
        finally:
            self._mail_wake.set()
            mailer.join(timeout=30)
            alarm.stop()
            watcher.stop()
            log.info("scheduler stopped: %d timers and %d escalations fired in %d batches",
                     self.stats.fired.bpmn_timers, self.stats.fired.escalations, self.stats.batches)
        return self.stats

    def _loop(self, stop: threading.Event, alarm: Alarm) -> None:
        failures = 0
        while not stop.is_set():
            self._wake.clear()  # before reading: a commit from now on wakes the next sleep
            self.stats.cycles += 1
            try:
                until = self._cycle(stop)
                failures = 0
            except Exception:  # the database went away, say: keep the process, back off
                failures += 1
                self.stats.errors += 1
                delay = min(2 ** failures, MAX_ERROR_BACKOFF_SECONDS)
                log.exception("scheduler cycle failed; trying again in %d s", delay)
                stop.wait(delay)  # wake-ups do not shorten this: a failing cycle must not spin
                continue
            alarm.set(until)
            self._sleep(stop)

    def _cycle(self, stop: threading.Event) -> datetime:
        """Fire what is due; return when to look again."""
        drained = self._catch_up(stop)
        self._digest()
        self._checkpoint()
        self._retention()
        self._mail_wake.set()  # firing may have queued mail; the sender looks now
        with self.ctx.uow(write=False) as uow:
            next_at = next_fire_at(uow.session)
        now = clock.now()
        until = now + RECHECK_AFTER if next_at is None else min(next_at, now + RECHECK_AFTER)
        for planned in (self._digest_next, self._checkpoint_next, self._retention_next):
            if planned is not None:
                until = min(until, max(planned, now))
        return until if drained else max(until, now + BLOCKED_RETRY)

    def _catch_up(self, stop: threading.Event) -> bool:
        """Batches until nothing is due; False if due rows are left that others hold."""
        while not stop.is_set():
            began = time.perf_counter()
            report = fire_due_timers(self.ctx, self.batch_limit, should_stop=stop.is_set)
            if report.candidates == 0:
                return True
            self.stats.batches += 1
            self.stats.fired.add(report)
            log.info("fired %d timers and %d escalations on %d instances (%d held elsewhere, %d failed) "
                     "in %.2f s", report.bpmn_timers, report.escalations, report.instances, report.skipped,
                     report.failed, time.perf_counter() - began)
            if report.instances == 0 and report.failed == 0:
                return False
        return True

    def _digest(self) -> None:
        """Today's digest once its time has come (other schedulers doing it too is harmless)."""
        now = clock.now()
        if self._digest_next is not None and now < self._digest_next:
            return
        try:
            written = digest.send_digests(self.ctx)
            if written:
                log.info("daily digest: %d notifications", written)
        except Exception:  # the digest must never stop timers; try again at the next cycle
            log.exception("daily digest failed")
            return
        self._digest_next = digest.next_digest_at(self.ctx, now)

    def _checkpoint(self) -> None:
        """Sign the audit chain heads that changed, every KIM_AUDIT_CHECKPOINT_MINUTES."""
        now = clock.now()
        if self._checkpoint_next is not None and now < self._checkpoint_next:
            return
        try:
            written = audit_trail.write_checkpoint(self.ctx)
            if written:
                log.info("audit checkpoint: %d chains signed", len(written["heads"]))
        except Exception:  # the checkpoint must never stop timers; the next cycle tries again
            log.exception("audit checkpoint failed")
        self._checkpoint_next = now + timedelta(seconds=audit_trail.checkpoint_interval_seconds(self.ctx.config))

    def _retention(self) -> None:
        """Delete case content past its retention period, once a day (engine.services.retention)."""
        now = clock.now()
        if self._retention_next is not None and now < self._retention_next:
            return
        self._retention_next = now + RETENTION_EVERY
        try:
            report = retention.run_retention(self.ctx, limit=RETENTION_BATCH)
            if report.deleted or report.failed:
                log.info("retention: content of %d cases deleted, %d skipped, %d failed, %d left for the next cycle",
                         len(report.deleted), len(report.skipped), len(report.failed), report.remaining)
            if report.remaining:
                self._retention_next = now  # more are due: the next cycle goes on after the timers
        except Exception:  # retention must never stop timers; try again in an hour
            log.exception("retention job failed")
            self._retention_next = now + RETENTION_RETRY

    def _mail_loop(self, stop: threading.Event) -> None:
        """Give up mails past their maximum age, send due mails; sleep until the next one is due, a
        cycle wakes us, or a minute passes. Runs without a mail server too: old mail expires anyway."""
        failures = 0
        while not stop.is_set():
            self._mail_wake.clear()
            if stop.is_set():  # stopping set the wake-up just before our clear(): do not sleep through it
                break
            try:
                if mail.expire_stale_mails(self.ctx) == mail.EXPIRE_BATCH:
                    continue  # more may be as old: give them up before sending
                report = mail.send_due_mails(self.ctx)
                failures = 0
                if report.claimed:
                    log.info("mail: %d sent, %d to retry, %d given up", report.sent, report.retried, report.failed)
                    if report.sent:
                        continue  # maybe more are due
                wait = RECHECK_AFTER.total_seconds()
                if self.ctx.config.get("KIM_SMTP_URL"):
                    with self.ctx.uow(write=False) as uow:
                        due = mail.next_mail_at(uow.session)
                    if due is not None:  # at least a second: due rows may be held by another sender
                        wait = min(max((due - clock.now()).total_seconds(), 1.0), wait)
            except Exception:  # database or configuration trouble: back off, keep the scheduler alive
                failures += 1
                log.exception("mail sender failed")
                wait = min(2 ** failures, MAX_ERROR_BACKOFF_SECONDS)
            self._mail_wake.wait(wait)

    def _sleep(self, stop: threading.Event) -> None:
        self.idle.set()
        try:
            while not stop.is_set() and not self._wake.wait(STOP_CHECK_SECONDS):
                pass
        finally:
            self.idle.clear()


def run_scheduler(ctx: EngineContext, stop_event: threading.Event | None = None,
                  batch_limit: int = DEFAULT_BATCH_LIMIT) -> SchedulerStats:
    """Run a scheduler in this thread until ``stop_event`` is set (for ever without one)."""
    return Scheduler(ctx, batch_limit).run(stop_event or threading.Event())


def scheduler_command(ctx: EngineContext, batch_limit: int = DEFAULT_BATCH_LIMIT) -> int:
    """``kim scheduler``: run until SIGTERM or SIGINT, then finish the instance at hand and exit 0."""
    if batch_limit < 1:
        raise ValueError("--batch-limit must be at least 1")
    configure_logging()
    stop = threading.Event()
    with stop_on_signals(stop):
        run_scheduler(ctx, stop, batch_limit)
    return 0


def configure_logging() -> None:
    """One line per batch on stderr, unless the host application configured logging already."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # it logs every alarm at INFO
    logging.getLogger("spiff").setLevel(logging.WARNING)  # and SpiffWorkflow every state change


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stop``; handlers are only installable from the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("%s received: stopping after the instance at hand", signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, handle) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m engine.scheduling``: the scheduler without the rest of the CLI."""
    parser = argparse.ArgumentParser(prog="kim-scheduler", description="fire timer rows as they come due")
    parser.add_argument("--batch-limit", type=int, default=DEFAULT_BATCH_LIMIT,
                        help=f"instances fired per batch (default {DEFAULT_BATCH_LIMIT})")
    args = parser.parse_args(argv)
    if args.batch_limit < 1:
        parser.error("--batch-limit must be at least 1")
    ctx = create_context()
    try:
        return scheduler_command(ctx, args.batch_limit)
    finally:
        ctx.db.dispose()
