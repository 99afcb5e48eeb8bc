"""Personal API tokens: who holds one (cached per process), list a user's tokens, revoke one.

A token works while it is not revoked, not expired (``KIM_TOKEN_DAYS`` after it was made) and
its user is active. The lookup of a token is cached for ``KIM_TOKEN_CACHE_SECONDS`` (see
:mod:`engine.services.admin.token_cache`), so a REST request with a known token costs no
statement for authentication; its last-used time is written at most once an hour, on a miss.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import SYSTEM, Actor
from engine.domain.errors import Conflict, NotFound
from engine.domain.permissions import Permission, require
from engine.persistence import audit_log
from engine.persistence.models import ApiToken, User
from engine.services.admin import directory
from engine.services.admin.token_cache import TOKENS
from engine.services.context import UnitOfWork

DEFAULT_CACHE_SECONDS = 5.0
LAST_USED_EVERY = timedelta(hours=1)  # "last used" is for people, to the hour; no write per request


@dataclass(frozen=True)
class TokenView:
    id: int
    username: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    state: str  # "active" | "expired" | "revoked"


def cache_seconds(config: Any) -> float:
    raw = config.get("KIM_TOKEN_CACHE_SECONDS")
    try:
        return max(0.0, float(raw)) if raw not in (None, "") else DEFAULT_CACHE_SECONDS
    except (TypeError, ValueError):
        return DEFAULT_CACHE_SECONDS


def actor_for_token(uow: UnitOfWork, token: str) -> Actor | None:
    """The holder of a valid token, or None (wrong, revoked, expired token or disabled user)."""
    digest = directory.token_hash(token)
    now = clock.now()
    cached = TOKENS.get(digest, cache_seconds(uow.ctx.config))
    if cached is not None:
        if cached.expires_at is not None and cached.expires_at <= now:
            TOKENS.forget_token(cached.token_id)
            return None
        return cached.actor
    generation = TOKENS.generation
    found = uow.session.execute(
        select(ApiToken.id, ApiToken.expires_at, ApiToken.last_used_at, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None), User.active.is_(True),
               ApiToken.expires_at > now)).first()
    if found is None:
        return None
    token_id, expires_at, last_used_at, user = found
    actor = directory.actor_for(user)
    if last_used_at is None or now - last_used_at > LAST_USED_EVERY:
        uow.defer_write(lambda s: _mark_used(s, token_id, now))
    TOKENS.put(digest, token_id, actor, expires_at, generation)
    return actor


def _mark_used(session: Session, token_id: int, at: datetime) -> None:
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=at))


def _state(row: ApiToken, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is None or row.expires_at <= now:
        return "expired"
    return "active"


def _allowed(actor: Actor) -> None:
    if not actor.is_system:
        require(actor, Permission.MANAGE_USERS)


def list_tokens(uow: UnitOfWork, actor: Actor, username: str) -> list[TokenView]:
    """A user's tokens, newest first (ids, dates and state; never the token itself)."""
    _allowed(actor)
    user = uow.session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"no user '{username}'")
    now = clock.now()
    rows = uow.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                               .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))
    return [TokenView(r.id, user.username, r.created_at, r.last_used_at, r.expires_at, r.revoked_at,
                      _state(r, now)) for r in rows]


def get_token(uow: UnitOfWork, actor: Actor, token_id: int) -> TokenView | None:
    _allowed(actor)
    row = uow.session.get(ApiToken, token_id) if 0 < token_id < 2**31 else None
    if row is None:
        return None
    user = uow.session.get(User, row.user_id)
    return TokenView(row.id, user.username if user is not None else "?", row.created_at, row.last_used_at,
                     row.expires_at, row.revoked_at, _state(row, clock.now()))


def revoke_token(uow: UnitOfWork, actor: Actor = SYSTEM, token_id: int = 0) -> TokenView:
    """Revoke a token: it stops at once in this process, within ``KIM_TOKEN_CACHE_SECONDS`` in
    the others. Audited; revoking a revoked token is a conflict."""
    _allowed(actor)
    row = uow.session.get(ApiToken, token_id) if 0 < token_id < 2**31 else None
    if row is None:
        raise NotFound(f"no token {token_id}")
    if row.revoked_at is not None:
        raise Conflict(f"token {token_id} is revoked already")
    now = clock.now()
    row.revoked_at = now
    uow.session.flush()
    user = uow.session.get(User, row.user_id)
    username = user.username if user is not None else "?"
    audit_log.record(uow.session, actor, "token.revoke", "api_token", row.id, details={"user": username})
    TOKENS.forget_token(row.id)
    uow.after_commit(lambda: TOKENS.forget_token(token_id))
    return TokenView(row.id, username, row.created_at, row.last_used_at, row.expires_at, row.revoked_at, "revoked")
