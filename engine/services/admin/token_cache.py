"""Who holds a token, remembered per process for a few seconds (``KIM_TOKEN_CACHE_SECONDS``).

A REST client sends its token with every request; looking it up costs two statements (the
user and their offices). A hit here costs none. The cache is keyed by the token's hash, never
the token, and holds only what authorisation needs (the actor and the token's expiry).

Revoking a token or disabling a user in this process forgets the entries at once (before and
after the commit, so a lookup racing the change cannot put the old answer back: a lookup
that began before a change does not store its result). Other processes keep a cached token
until its entry is ``KIM_TOKEN_CACHE_SECONDS`` old: that is the longest a revoked token or a
disabled user's token still works there. ``0`` switches the cache off.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from engine.domain.actors import Actor

MAX_ENTRIES = 10_000  # beyond this the cache starts over (a flood of valid tokens is no normal load)


@dataclass(frozen=True)
class CachedToken:
    token_id: int
    actor: Actor
    expires_at: datetime | None
    stored_at: float  # time.monotonic() when looked up


class TokenCache:
    """Token hash -> holder, shared by the threads of one process."""

    def __init__(self) -> None:
        self._entries: dict[str, CachedToken] = {}
        self._lock = threading.Lock()
        self.generation = 0  # moves on with every forgetting; a lookup begun before it stores nothing

    def get(self, token_hash: str, ttl: float) -> CachedToken | None:
        entry = self._entries.get(token_hash)
        if entry is None or ttl <= 0:
            return None
        if time.monotonic() - entry.stored_at >= ttl:
            with self._lock:
                self._entries.pop(token_hash, None)
            return None
        return entry

    def put(self, token_hash: str, token_id: int, actor: Actor, expires_at: datetime | None,
            generation: int) -> None:
        with self._lock:
            if generation != self.generation:
                return  # a token was revoked or a user disabled while this lookup ran
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[token_hash] = CachedToken(token_id, actor, expires_at, time.monotonic())

    def forget_token(self, token_id: int) -> None:
        self._forget(lambda e: e.token_id == token_id)

    def forget_user(self, user_id: int) -> None:
        self._forget(lambda e: e.actor.user_id == user_id)

    def clear(self) -> None:
        self._forget(lambda _e: True)

    def _forget(self, matches: Callable[[CachedToken], bool]) -> None:
        with self._lock:
            self.generation += 1
            self._entries = {h: e for h, e in self._entries.items() if not matches(e)}


TOKENS = TokenCache()
"""The process's cache (module level: one per process, whatever the number of apps in it)."""
