"""Disable and enable accounts (admins, or ``kim users disable|enable``), and list them.

Disabling ends the user's browser sessions and stops their tokens at once: in this process on
the next request, in other processes within ``KIM_TOKEN_CACHE_SECONDS`` (a token looked up
there just before). The tokens are not revoked: enabling the account again lets them work,
while the ended sessions stay ended (the person signs in anew). Both are audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from engine import clock
from engine.domain.actors import SYSTEM, Actor
from engine.domain.errors import Conflict, NotFound
from engine.domain.permissions import Permission, require
from engine.persistence import audit_log
from engine.persistence.models import ApiToken, User, WebSession
from engine.services.admin.token_cache import TOKENS
from engine.services.context import UnitOfWork


@dataclass(frozen=True)
class AccountView:
    username: str
    display_name: str
    role: str
    offices: tuple[str, ...]
    active: bool
    created_at: datetime
    active_tokens: int = 0


def _allowed(actor: Actor) -> None:
    if not actor.is_system:
        require(actor, Permission.MANAGE_USERS)


def _user(uow: UnitOfWork, username: str) -> User:
    user = uow.session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"no user '{username}'")
    return user


def _view(user: User, active_tokens: int = 0) -> AccountView:
    return AccountView(user.username, user.display_name, user.role, tuple(sorted(o.code for o in user.offices)),
                       bool(user.active), user.created_at, active_tokens)


def list_accounts(uow: UnitOfWork, actor: Actor) -> list[AccountView]:
    """Every account with its number of usable tokens (for the admin page)."""
    _allowed(actor)
    now = clock.now()
    usable = dict(uow.session.execute(
        select(ApiToken.user_id, func.count()).where(ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
        .group_by(ApiToken.user_id)).tuples().all())
    users = uow.session.scalars(select(User).order_by(User.username))
    return [_view(u, int(usable.get(u.id, 0))) for u in users]


def get_account(uow: UnitOfWork, actor: Actor, username: str) -> AccountView:
    _allowed(actor)
    return _view(_user(uow, username))


def disable_user(uow: UnitOfWork, actor: Actor = SYSTEM, username: str = "") -> AccountView:
    """The account stops working on its next request: sessions ended, tokens refused."""
    _allowed(actor)
    user = _user(uow, username)
    if user.id == actor.user_id:
        raise Conflict("you cannot disable your own account")
    if not user.active:
        raise Conflict(f"user '{user.username}' is disabled already")
    user.active = False
    live = update(WebSession).where(WebSession.user_id == user.id, WebSession.ended_at.is_(None))
    ended = uow.session.connection().execute(live.values(ended_at=clock.now())).rowcount
    uow.session.flush()
    audit_log.record(uow.session, actor, "user.disable", "user", user.username,
                     details={"sessions_ended": ended})
    user_id = user.id
    TOKENS.forget_user(user_id)
    uow.after_commit(lambda: TOKENS.forget_user(user_id))
    return _view(user)


def enable_user(uow: UnitOfWork, actor: Actor = SYSTEM, username: str = "") -> AccountView:
    _allowed(actor)
    user = _user(uow, username)
    if user.active:
        raise Conflict(f"user '{user.username}' is active already")
    user.active = True
    uow.session.flush()
    audit_log.record(uow.session, actor, "user.enable", "user", user.username)
    return _view(user)
