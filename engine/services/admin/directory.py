"""Offices, users and personal API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets

from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.domain.actors import Actor
from engine.domain.errors import Conflict, InvalidInput, NotFound
from engine.domain.permissions import Role
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


def _token_hash(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(uow: UnitOfWork, username: str) -> str:
    """A new personal API token; only its hash is stored, the token is shown once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    user = uow.session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"no user '{username}'")
    uow.session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), created_at=clock.now()))
    uow.session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The active user of a valid token (one query; offices come with the user)."""
    return session.scalar(select(User).join(ApiToken, ApiToken.user_id == User.id).where(
        ApiToken.token_hash == _token_hash(token), ApiToken.revoked_at.is_(None), User.active.is_(True)))


def actor_for(user: User) -> Actor:
    return Actor(username=user.username, role=user.role, user_id=user.id,
                 office_ids=frozenset(o.id for o in user.offices),
                 office_codes=frozenset(o.code for o in user.offices))


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User)) or 0)
