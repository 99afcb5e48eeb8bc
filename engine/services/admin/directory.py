"""Offices, users and personal API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import SYSTEM, Actor
from engine.domain.errors import Conflict, InvalidInput, NotFound
from engine.domain.permissions import Permission, Role, require
from engine.persistence import audit_log
from engine.persistence.models import ApiToken, Office, User
from engine.services.context import UnitOfWork

# DOMAIN.md section 2: seeded by `kim init-db`.
DEFAULT_OFFICES = {
    "CM": "KIM-Case-Management (kommunal)",
    "FW": "KIM-Case-Management bei einem Wohlfahrtsverband",
    "KI": "KIM-Koordinierung (Kommunales Integrationszentrum)",
    "ABH": "Ausländerbehörde",
    "EBB": "Einbürgerungsbehörde",
    "SOZ": "Sozialamt",
    "JC": "Jobcenter",
    "AA": "Agentur für Arbeit",
    "JA": "Jugendamt",
    "SCH": "Schule / Schulamt",
}
OFFICE_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,15}$")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,99}$")
TOKEN_PREFIX = "kim_"  # noqa: S105  # a visible prefix, not a secret

_hasher = PasswordHasher()


def seed_offices(uow: UnitOfWork) -> int:
    """Add the offices of DOMAIN.md that are missing; returns how many were added."""
    existing = set(uow.session.scalars(select(Office.code)))
    added = [Office(code=c, name=n) for c, n in DEFAULT_OFFICES.items() if c not in existing]
    uow.session.add_all(added)
    uow.session.flush()
    return len(added)


def add_office(uow: UnitOfWork, code: str, name: str) -> Office:
    code = code.strip().upper()
    if not OFFICE_CODE.match(code):
        raise InvalidInput(f"office code '{code}' must be 1-16 capital letters or digits",
                           {"code": "invalid"})
    if not name.strip():
        raise InvalidInput("the office needs a name", {"name": "required"})
    if uow.session.scalar(select(Office).where(Office.code == code)) is not None:
        raise Conflict(f"office '{code}' exists already")
    office = Office(code=code, name=name.strip())
    uow.session.add(office)
    uow.session.flush()
    return office


def add_user(uow: UnitOfWork, username: str, role: str, office_codes: list[str],
             password: str | None = None, display_name: str = "", email: str | None = None,
             password_hash: str | None = None) -> User:
    """Add a person; ``password_hash`` takes an existing argon2 hash (imports, seeding)."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise InvalidInput(f"username '{username}' may only use a-z, 0-9, '.', '_' and '-'",
                           {"username": "invalid"})
    if role not in {r.value for r in Role}:
        raise InvalidInput(f"unknown role '{role}' (one of {', '.join(r.value for r in Role)})", {"role": "invalid"})
    if password is not None and len(password) < 10:
        raise InvalidInput("the password must have at least 10 characters", {"password": "too short"})
    session = uow.session
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise Conflict(f"user '{username}' exists already")
    offices = []
    for code in office_codes:
        office = session.scalar(select(Office).where(Office.code == code.strip().upper()))
        if office is None:
            raise InvalidInput(f"unknown office '{code}'", {"office": "unknown"})
        offices.append(office)
    user = User(username=username, role=role, display_name=display_name or username, email=email,
                password_hash=_hasher.hash(password) if password else password_hash,
                active=True, created_at=clock.now(), offices=offices)
    session.add(user)
    session.flush()
    return user


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User, password: str) -> bool:
    if not user.password_hash:
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except Exception:  # argon2 raises several exception types for a mismatch
        return False


def token_hash(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(token.encode()).hexdigest()


DEFAULT_TOKEN_DAYS = 365


def token_days(config: Mapping[str, Any]) -> int:
    """``KIM_TOKEN_DAYS``: how long a new token works (default 365 days)."""
    raw = config.get("KIM_TOKEN_DAYS")
    try:
        days = int(raw) if raw not in (None, "") else DEFAULT_TOKEN_DAYS
    except (TypeError, ValueError):
        raise ValueError(f"KIM_TOKEN_DAYS must be a whole number of days, not {raw!r}") from None
    if not 1 <= days <= 3650:
        raise ValueError("KIM_TOKEN_DAYS must lie between 1 and 3650 days")
    return days


def create_token(uow: UnitOfWork, username: str, actor: Actor = SYSTEM) -> str:
    """A new personal API token, valid for ``KIM_TOKEN_DAYS``; only its hash is stored, the
    token is shown once. Audited (who made a token for whom, its id and expiry)."""
    if not actor.is_system:
        require(actor, Permission.MANAGE_USERS)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    user = uow.session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"no user '{username}'")
    now = clock.now()
    row = ApiToken(user_id=user.id, token_hash=token_hash(token), created_at=now,
                   expires_at=now + timedelta(days=token_days(uow.ctx.config)))
    uow.session.add(row)
    uow.session.flush()
    audit_log.record(uow.session, actor, "token.create", "api_token", row.id,
                     details={"user": user.username, "expires_at": row.expires_at})
    return token


def actor_for(user: User) -> Actor:
    return Actor(username=user.username, role=user.role, user_id=user.id,
                 office_ids=frozenset(o.id for o in user.offices),
                 office_codes=frozenset(o.code for o in user.offices))


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User)) or 0)
