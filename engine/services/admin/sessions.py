"""Browser sign-in: password check with throttling, server-side sessions with idle timeout.

The answer to a failed sign-in never tells whether the account exists: unknown users cost
the same password hashing as known ones, and both count against the throttle.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.persistence.models import LoginFailure, User, WebSession
from engine.services.admin import directory
from engine.services.context import UnitOfWork

IDLE_TIMEOUT = timedelta(minutes=30)
TOUCH_EVERY = timedelta(seconds=30)
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
_DUMMY_HASH = PasswordHasher().hash("not-a-real-password-but-same-cost")


@dataclass(frozen=True)
class SignedIn:
    session_id: str
    user_id: int


def _throttled(session: Session, username: str, address: str) -> bool:
    since = clock.now() - THROTTLE_WINDOW
    per_account = session.scalar(select(func.count()).select_from(LoginFailure).where(
        LoginFailure.username == username, LoginFailure.at > since)) or 0
    per_address = session.scalar(select(func.count()).select_from(LoginFailure).where(
        LoginFailure.address == address, LoginFailure.at > since)) or 0
    return per_account >= MAX_FAILURES_PER_ACCOUNT or per_address >= MAX_FAILURES_PER_ADDRESS


def sign_in(uow: UnitOfWork, username: str, password: str, address: str) -> SignedIn | None:
    """A new server-side session, or None (recorded as a failure, to be committed by the caller)."""
    username = (username or "").strip().lower()[:100]
    address = (address or "unknown")[:64]
    session = uow.session
    if _throttled(session, username, address):
        PasswordHasher().verify(_DUMMY_HASH, "not-a-real-password-but-same-cost")  # same cost as a check
        return None
    user = session.scalar(select(User).where(User.username == username))
    ok = user is not None and user.active and directory.verify_password(user, password or "")
    if user is None:
        directory.verify_password(User(password_hash=_DUMMY_HASH), password or "")
    if not ok or user is None:
        session.add(LoginFailure(username=username, address=address, at=clock.now()))
        session.flush()
        return None
    session_id = secrets.token_urlsafe(32)
    session.add(WebSession(id=session_id, user_id=user.id, created_at=clock.now(),
                           last_seen_at=clock.now(), address=address))
    session.flush()
    return SignedIn(session_id, user.id)


def resume(uow: UnitOfWork, session_id: str) -> User | None:
    """The user of a live session, touching its last-seen time; None if ended or idle too long.

    The touch is written at most every 30 seconds, at commit (a page view on SQLite stays a
    read until then).
    """
    now = clock.now()
    session = uow.session
    row = session.get(WebSession, session_id)
    if row is None or row.ended_at is not None:
        return None
    if now - row.last_seen_at > IDLE_TIMEOUT:
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
