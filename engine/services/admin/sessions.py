"""Browser sign-in: password check with throttling, server-side sessions with idle timeout.

The answer to a failed sign-in never tells whether the account exists: unknown users cost
the same password hashing as known ones, and both count against the throttle.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from sqlalchemy import func, select, update

from engine import clock
from engine.domain.errors import NotAllowed
from engine.persistence.models import LoginFailure, User, WebSession
from engine.services.admin import directory
from engine.services.context import EngineContext

IDLE_TIMEOUT = timedelta(minutes=30)
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
_DUMMY_HASH = PasswordHasher().hash("not-a-real-password-but-same-cost")


class LoginFailed(NotAllowed):
    """Wrong name or password, or throttled: one message for all, by design."""

    code = "login_failed"


@dataclass(frozen=True)
class SignedIn:
    session_id: str
    user_id: int


def _throttled(ctx: EngineContext, username: str, address: str) -> bool:
    since = clock.now() - THROTTLE_WINDOW
    with ctx.uow(write=False) as uow:
        per_account = uow.session.scalar(select(func.count()).select_from(LoginFailure).where(
            LoginFailure.username == username, LoginFailure.at > since)) or 0
        per_address = uow.session.scalar(select(func.count()).select_from(LoginFailure).where(
            LoginFailure.address == address, LoginFailure.at > since)) or 0
    return per_account >= MAX_FAILURES_PER_ACCOUNT or per_address >= MAX_FAILURES_PER_ADDRESS


def sign_in(ctx: EngineContext, username: str, password: str, address: str) -> SignedIn:
    username = (username or "").strip().lower()[:100]
    address = (address or "unknown")[:64]
    if _throttled(ctx, username, address):
        PasswordHasher().verify(_DUMMY_HASH, "not-a-real-password-but-same-cost")  # same cost as a check
        raise LoginFailed("Anmeldung fehlgeschlagen")
    with ctx.uow() as uow:
        user = uow.session.scalar(select(User).where(User.username == username))
        ok = user is not None and user.active and directory.verify_password(user, password or "")
        if user is None:
            directory.verify_password(User(password_hash=_DUMMY_HASH), password or "")
        if not ok or user is None:
            uow.session.add(LoginFailure(username=username, address=address, at=clock.now()))
            uow.commit()
            raise LoginFailed("Anmeldung fehlgeschlagen")
        session_id = secrets.token_urlsafe(32)
        uow.session.add(WebSession(id=session_id, user_id=user.id, created_at=clock.now(),
                                   last_seen_at=clock.now(), address=address))
        uow.commit()
        return SignedIn(session_id, user.id)


def resume(ctx: EngineContext, session_id: str) -> User | None:
    """The user of a live session, touching its last-seen time; None if ended or idle too long."""
    now = clock.now()
    with ctx.uow() as uow:
        row = uow.session.get(WebSession, session_id)
        if row is None or row.ended_at is not None:
            return None
        if now - row.last_seen_at > IDLE_TIMEOUT:
            row.ended_at = now
            uow.commit()
            return None
        user = uow.session.get(User, row.user_id)
        if user is None or not user.active:
            return None
        if now - row.last_seen_at > timedelta(seconds=30):  # avoid a write on every request
            row.last_seen_at = now
        _ = user.offices  # load while the session is open
        uow.commit()
        return user


def sign_out(ctx: EngineContext, session_id: str) -> None:
    with ctx.uow() as uow:
        uow.session.execute(update(WebSession).where(WebSession.id == session_id, WebSession.ended_at.is_(None))
                            .values(ended_at=clock.now()))
        uow.commit()
