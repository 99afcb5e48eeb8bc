"""The one source of time for the engine.

Everything that asks "what time is it?" - due dates, BPMN timers, escalations - calls
:func:`now`. Tests and simulations move time with :func:`set_offset` or :func:`freeze`
instead of patching ``datetime`` in many places, and SpiffWorkflow's timers are routed
through here (see ``engine.bpmn.timers``).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")

_lock = threading.Lock()
_offset = timedelta(0)
_frozen: datetime | None = None


def now() -> datetime:
    """Current time, timezone-aware, in UTC."""
    with _lock:
        if _frozen is not None:
            return _frozen
        return datetime.now(UTC) + _offset


def local_now(tz: ZoneInfo = BERLIN) -> datetime:
    """Current time in the users' timezone (Europe/Berlin unless configured)."""
    return now().astimezone(tz)


def set_offset(offset: timedelta) -> None:
    """Shift the clock by ``offset`` against real time (simulations, fault tests)."""
    global _offset, _frozen
    with _lock:
        _offset = offset
        _frozen = None


def advance(delta: timedelta) -> None:
    """Move the clock forward; a frozen clock stays frozen at the new moment."""
    global _offset, _frozen
    with _lock:
        if _frozen is not None:
            _frozen = _frozen + delta
        else:
            _offset = _offset + delta


def freeze(moment: datetime) -> None:
    """Stop the clock at ``moment`` (must be timezone-aware)."""
    global _frozen
    if moment.tzinfo is None:
        raise ValueError("the engine clock only takes timezone-aware datetimes")
    with _lock:
        _frozen = moment.astimezone(UTC)


def reset() -> None:
    """Back to real time."""
    global _offset, _frozen
    with _lock:
        _offset = timedelta(0)
        _frozen = None
