"""Browser sign-in: password check with throttling, server-side sessions with idle timeout
and a maximum lifetime.

The answer to a failed sign-in never tells whether the account exists: unknown users cost
the same password hashing as known ones, and both count against the throttle.

Throttling never locks an account (anyone who knows a user name could otherwise lock its owner
out): after a few failures each further attempt on the account must wait a delay that doubles
with every failure, up to a minute; an attempt too early is refused without a password check
and without counting, and told how long to wait. Guessing from one address is limited hard:
after 20 failures within 15 minutes that address is refused until they age out. The address is
the real client's (``KIM_TRUSTED_PROXIES`` proxy hops are honoured by the web app).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.persistence.models import LoginFailure, User, WebSession
from engine.services.admin import directory
from engine.services.context import UnitOfWork

IDLE_TIMEOUT = timedelta(minutes=30)
DEFAULT_MAX_LIFETIME_HOURS = 12.0
TOUCH_EVERY = timedelta(seconds=30)
ACCOUNT_WINDOW = timedelta(hours=1)     # failures of an account this recent make the delay grow
FREE_ATTEMPTS = 3                       # failures before any delay
FIRST_DELAY = timedelta(seconds=1)      # then 1 s, 2 s, 4 s ... between attempts
MAX_DELAY = timedelta(minutes=1)        # never more: a delay, not a lock
ADDRESS_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ADDRESS = 20
_DUMMY_HASH = PasswordHasher().hash("not-a-real-password-but-same-cost")


@dataclass(frozen=True)
class SignedIn:
    session_id: str
    user_id: int


@dataclass(frozen=True)
class Throttled:
    """Too early: try again in ``retry_after`` seconds (nothing was checked or counted)."""

    retry_after: int


def account_delay(failures: int) -> timedelta:
    """The wait after the last failure before the account takes the next attempt."""
    if failures < FREE_ATTEMPTS:
        return timedelta(0)
    delay: timedelta = FIRST_DELAY * 2 ** min(failures - FREE_ATTEMPTS, 16)
    return min(delay, MAX_DELAY)


def _wait(session: Session, username: str, address: str, now: datetime) -> timedelta:
    """How long this attempt must still wait: the account's delay or the address's limit."""
    failures, last = session.execute(select(func.count(), func.max(LoginFailure.at)).where(
        LoginFailure.username == username, LoginFailure.at > now - ACCOUNT_WINDOW)).one()
    waits = [timedelta(0)]
    if last is not None:
        waits.append(last + account_delay(int(failures)) - now)
    oldest_counted = session.scalar(select(LoginFailure.at).where(
        LoginFailure.address == address, LoginFailure.at > now - ADDRESS_WINDOW)
        .order_by(LoginFailure.at.desc()).limit(1).offset(MAX_FAILURES_PER_ADDRESS - 1))
    if oldest_counted is not None:
        waits.append(oldest_counted + ADDRESS_WINDOW - now)
    return max(waits)


def sign_in(uow: UnitOfWork, username: str, password: str, address: str) -> SignedIn | Throttled | None:
    """A new server-side session; Throttled (try later); or None (recorded as a failure, to be
    committed by the caller)."""
    username = (username or "").strip().lower()[:100]
    address = (address or "unknown")[:64]
    session = uow.session
    now = clock.now()
    wait = _wait(session, username, address, now)
    if wait > timedelta(0):
        return Throttled(max(1, math.ceil(wait.total_seconds())))
    user = session.scalar(select(User).where(User.username == username))
    ok = user is not None and user.active and directory.verify_password(user, password or "")
    if user is None:
        directory.verify_password(User(password_hash=_DUMMY_HASH), password or "")
    if not ok or user is None:
        session.add(LoginFailure(username=username, address=address, at=now))
        session.flush()
        return None
    session_id = secrets.token_urlsafe(32)
    session.add(WebSession(id=session_id, user_id=user.id, created_at=now, last_seen_at=now, address=address))
    session.flush()
    return SignedIn(session_id, user.id)


def max_lifetime(config: Mapping[str, Any]) -> timedelta:
    """``KIM_SESSION_MAX_HOURS``: a session ends this long after sign-in, however active."""
    raw = config.get("KIM_SESSION_MAX_HOURS")
    try:
        hours = float(raw) if raw not in (None, "") else DEFAULT_MAX_LIFETIME_HOURS
    except (TypeError, ValueError):
        hours = DEFAULT_MAX_LIFETIME_HOURS
    return timedelta(hours=hours if hours > 0 else DEFAULT_MAX_LIFETIME_HOURS)


def resume(uow: UnitOfWork, session_id: str) -> User | None:
    """The user of a live session, touching its last-seen time; None if ended, idle too long,
    older than ``KIM_SESSION_MAX_HOURS`` or its user disabled.

    The touch is written at most every 30 seconds, at commit (a page view on SQLite stays a
    read until then).
    """
    now = clock.now()
    session = uow.session
    row = session.get(WebSession, session_id)
    if row is None or row.ended_at is not None:
        return None
    if now - row.last_seen_at > IDLE_TIMEOUT or now - row.created_at > max_lifetime(uow.ctx.config):
        uow.defer_write(lambda s: _touch(s, session_id, ended_at=now))
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if now - row.last_seen_at > TOUCH_EVERY:  # avoid a write on every request
        uow.defer_write(lambda s: _touch(s, session_id, last_seen_at=now))
    _ = user.offices  # load them with the user
    return user


def _touch(session: Session, session_id: str, **values: Any) -> None:
    session.execute(update(WebSession).where(WebSession.id == session_id).values(**values))


def sign_out(uow: UnitOfWork, session_id: str) -> None:
    uow.session.execute(update(WebSession).where(WebSession.id == session_id, WebSession.ended_at.is_(None))
                        .values(ended_at=clock.now()))
